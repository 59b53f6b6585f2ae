#!/usr/bin/env bash
# Stops the Shoal cluster and removes what it left on the machine: its processes (by pid
# file, and containerd shims by our private socket), pod sandboxes' network namespaces,
# mounts under its own directories, the cni0 bridge and its veths, and the KUBE-* / CNI-*
# iptables chains. Other iptables rules, netns, mounts and processes are not touched.
#
# Keeps: binaries, image archives, PKI and containerd's image store (so the next
# cluster-up is warm). Wipes: etcd data (every cluster-up starts a fresh cluster), kubelet
# and CNI state. PURGE=1 also deletes containerd's image store.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die "cluster-down needs root"
mkdir -p "$RUN_DIR"

pid_of() {
  local pidf="$RUN_DIR/$1.pid" pid
  [[ -f "$pidf" ]] || return 1
  pid="$(cat "$pidf")"
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(cat "$RUN_DIR/$1.exe" 2>/dev/null)" ]] || return 1
  echo "$pid"
}

# stop <grace seconds> <name>...: SIGTERM to all, wait for all, SIGKILL the stragglers;
# only the pids in our pid files.
stop() {
  local grace="$1"; shift
  local name pid pids=() names=() i
  for name in "$@"; do
    if pid="$(pid_of "$name")"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid"); names+=("$name")
    fi
  done
  for ((i = 0; i < grace * 10; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do [[ -d "/proc/$pid" ]] && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    if [[ -d "/proc/${pids[$i]}" ]]; then
      log "${names[$i]}: still running after ${grace}s, SIGKILL"
      kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
    log "${names[$i]}: stopped (pid ${pids[$i]})"
  done
  for name in "$@"; do rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.exe"; done
}

ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# 1. Nothing may recreate pods while we tear down: controllers and scheduler go first.
stop 15 kube-controller-manager kube-scheduler

# 2. Let the kubelet tear down pods properly (CNI DEL: veths, IPs, netns) while it runs.
if pid_of kubelet > /dev/null && pid_of kube-apiserver > /dev/null && [[ -f "$KUBECONFIG_FILE" ]]; then
  log "deleting all pods through the kubelet"
  kc delete pods --all --all-namespaces --grace-period=0 --force --wait=false > /dev/null 2>&1 || true
  for _ in $(seq 1 40); do
    n="$(ctr_ tasks ls -q 2>/dev/null | wc -l || echo 0)"
    [[ "$n" == 0 ]] && break
    sleep 0.5
  done
fi

stop 15 kubelet kube-proxy

# 3. Remember our sandboxes' network namespaces, then remove every container we own.
NETNS_LIST="$RUN_DIR/netns.list"
touch "$NETNS_LIST"
if ctr --address "$CONTAINERD_SOCK" version > /dev/null 2>&1; then
  for c in $(ctr_ containers ls -q 2>/dev/null); do
    ctr_ containers info "$c" 2>/dev/null | python3 -c '
import json, sys
try:
    spec = json.load(sys.stdin).get("Spec", {})
except Exception:
    sys.exit(0)
for ns in spec.get("linux", {}).get("namespaces", []):
    if ns.get("type") == "network" and ns.get("path"):
        print(ns["path"])' >> "$NETNS_LIST" || true
  done
  for t in $(ctr_ tasks ls -q 2>/dev/null); do
    ctr_ tasks kill -s SIGKILL "$t" > /dev/null 2>&1 || true
  done
  sleep 0.5
  for t in $(ctr_ tasks ls -q 2>/dev/null); do
    ctr_ tasks delete -f "$t" > /dev/null 2>&1 || true
  done
  for c in $(ctr_ containers ls -q 2>/dev/null); do
    ctr_ containers delete "$c" > /dev/null 2>&1 || true
  done
fi
stop 20 containerd

# Shims started by our containerd carry our private socket on their command line.
for p in /proc/[0-9]*; do
  cmd="$(tr '\0' ' ' 2>/dev/null < "$p/cmdline" || true)"
  if [[ "$cmd" == *containerd-shim*"-address $CONTAINERD_SOCK"* ]]; then
    log "killing leftover shim ${p#/proc/}"
    kill -KILL "${p#/proc/}" 2>/dev/null || true
  fi
done

stop 15 kube-apiserver
stop 15 etcd

# 4. Mounts under our directories (deepest first), then our netns bind mounts.
umount_under() {
  local root="$1" m
  [[ -e "$root" ]] || return 0
  root="$(readlink -f "$root")"
  awk '{print $2}' /proc/self/mounts | sed 's/\\040/ /g' | { grep -E "^$root(/|$)" || true; } | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
}
umount_under "$KUBELET_ROOT"
umount_under "$DATA_DIR/containerd"
umount_under "$CONTAINERD_STATE"
umount_under /run/shoal-cluster

sort -u "$NETNS_LIST" | while read -r ns; do
  [[ -n "$ns" && -e "$ns" ]] || continue
  umount "$ns" 2>/dev/null || umount -l "$ns" 2>/dev/null || true
  rm -f "$ns"
  log "removed netns $ns"
done
rm -f "$NETNS_LIST"
# Sandboxes containerd no longer knew about (a pod half created or half removed when the
# cluster stopped, or a cluster whose processes died without a cluster-down).
if [[ -f "$RUN_DIR/containerd.since" ]]; then
  orphan_cni_netns "$(cat "$RUN_DIR/containerd.since")" | while read -r ns; do
    umount "$ns" 2>/dev/null || umount -l "$ns" 2>/dev/null || true
    rm -f "$ns"
    log "removed orphaned netns $ns"
  done
  rm -f "$RUN_DIR/containerd.since"
fi

# 5. Network devices: veths on our bridge, then the bridge.
if ip link show "$CNI_BRIDGE" > /dev/null 2>&1; then
  for v in $(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link delete "$v" 2>/dev/null || true
  done
  ip link delete "$CNI_BRIDGE" 2>/dev/null || true
  log "removed bridge $CNI_BRIDGE"
fi
# kube-proxy's dummy device exists only in ipvs mode, but remove it if an old run left it.
ip link delete kube-ipvs0 2>/dev/null || true

# 6. iptables: our chains only (KUBE-* from kube-proxy and kubelet, CNI-* from the CNI plugins).
clean_iptables() {
  local cmd="$1" table chains rule
  command -v "$cmd" > /dev/null || return 0
  for table in filter nat mangle raw; do
    "$cmd" -w -t "$table" -S > /dev/null 2>&1 || continue
    # Rules in any chain that jump to one of ours.
    "$cmd" -w -t "$table" -S 2>/dev/null | { grep -E -- '^-A .*-j (KUBE|CNI)-' || true; } \
      | { grep -vE '^-A (KUBE|CNI)-' || true; } | while read -r rule; do
        eval "$cmd -w -t $table -D ${rule#-A }" 2>/dev/null || true
      done
    chains="$("$cmd" -w -t "$table" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^(KUBE|CNI)-/ {print $2}')"
    for c in $chains; do "$cmd" -w -t "$table" -F "$c" 2>/dev/null || true; done
    for c in $chains; do "$cmd" -w -t "$table" -X "$c" 2>/dev/null || true; done
  done
}
clean_iptables iptables
clean_iptables ip6tables
log "removed KUBE-*/CNI-* iptables chains"

# 7. Empty cgroups the kubelet created under each hierarchy.
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/unified/; do
  [[ -d "$h/kubepods" ]] || continue
  find "$h/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null || true
done

# 8. State that must not survive into the next cluster-up.
rm -rf "$DATA_DIR/etcd" "$KUBELET_ROOT" "$DATA_DIR/cni-ipam" "$CONTAINERD_STATE" /run/shoal-cluster "$PKI_DIR/kubelet-certs"
# containerd 1.6 puts shim sockets and fifos under /run/containerd whatever its state dir;
# remove those directories only when empty and no other containerd runs.
if ! pgrep -x containerd > /dev/null; then
  for d in /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd/s /run/containerd/fifo /run/containerd; do
    rmdir "$d" 2>/dev/null || true
  done
fi
if [[ "${PURGE:-0}" == 1 ]]; then
  rm -rf "$DATA_DIR/containerd"
  log "purged containerd image store"
fi
log "cluster is down"
