#!/usr/bin/env bash
# Assembles the cluster's OCI image archives (no registry, no container engine):
#   pause    the pod sandbox image (our Go pause binary)
#   busybox  Debian's busybox-static with its applets, for test pods
#   coredns  our CoreDNS build, for the in-cluster DNS Deployment
#   kubectl  kubectl + busybox, for the in-cluster client check
# Archives land in state/cluster/images/<name>.tar; import.sh loads them into containerd.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$IMAGES_DIR"

BUSYBOX="${BUSYBOX:-/bin/busybox}"
[[ -x "$BUSYBOX" ]] || BUSYBOX=/usr/bin/busybox
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' || die "$BUSYBOX is not a static busybox: apt-get install busybox-static"

mk() { python3 "$CLUSTER_SRC/mkimage.py" "$@"; }

# Symlink arguments for every busybox applet under /bin.
busybox_args() {
  local a args=(--file "$BUSYBOX:/bin/busybox:0755" --dir /tmp --dir /root --dir /etc
    --text "/etc/passwd:root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
    --text "/etc/group:root:x:0:\nnogroup:x:65534:\n")
  for a in $("$BUSYBOX" --list); do
    [[ "$a" == busybox ]] && continue
    args+=(--symlink "/bin/$a:busybox")
  done
  printf '%s\n' "${args[@]}"
}

# stale <archive> <input...>: true when the archive is missing or older than an input.
stale() {
  local out="$1"; shift
  [[ -f "$out" ]] || return 0
  local f
  for f in "$@" "$CLUSTER_SRC/mkimage.py"; do [[ "$f" -nt "$out" ]] && return 0; done
  return 1
}

PAUSE_BIN="$STATE_DIR/bin/pause/pause"
[[ -x "$PAUSE_BIN" ]] || "$CLUSTER_SRC/build.sh" pause
if stale "$IMAGES_DIR/pause.tar" "$PAUSE_BIN"; then
  mk --name "$PAUSE_IMAGE" --out "$IMAGES_DIR/pause.tar" --entrypoint /pause --user 65535:65535 \
    --file "$PAUSE_BIN:/pause:0755"
fi

mapfile -t BB < <(busybox_args)
if stale "$IMAGES_DIR/busybox.tar" "$BUSYBOX"; then
  mk --name "$BUSYBOX_IMAGE" --out "$IMAGES_DIR/busybox.tar" --cmd /bin/sh "${BB[@]}"
fi

COREDNS_BIN="$COREDNS_BIN_DIR/coredns"
[[ -x "$COREDNS_BIN" ]] || "$CLUSTER_SRC/build.sh" coredns
if stale "$IMAGES_DIR/coredns.tar" "$COREDNS_BIN"; then
  mk --name "$COREDNS_IMAGE" --out "$IMAGES_DIR/coredns.tar" --entrypoint /coredns \
    --file "$COREDNS_BIN:/coredns:0755" --dir /etc/coredns --dir /tmp
fi

[[ -x "$BIN_DIR/kubectl" ]] || "$CLUSTER_SRC/build.sh" kubectl
if stale "$IMAGES_DIR/kubectl.tar" "$BIN_DIR/kubectl" "$BUSYBOX"; then
  mk --name "$KUBECTL_IMAGE" --out "$IMAGES_DIR/kubectl.tar" --cmd /bin/sh \
    --file "$BIN_DIR/kubectl:/bin/kubectl:0755" "${BB[@]}"
fi
ls -la "$IMAGES_DIR" >&2
