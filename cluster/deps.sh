#!/usr/bin/env bash
# Installs the cluster's Debian packages when one is missing: containerd, runc, the CNI
# plugins, iptables, conntrack, busybox-static (test images) and openssl (PKI).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
command -v containerd > /dev/null || missing+=(containerd)
command -v runc > /dev/null || missing+=(runc)
[[ -x "$CNI_BIN_DIR/bridge" && -x "$CNI_BIN_DIR/host-local" && -x "$CNI_BIN_DIR/portmap" && -x "$CNI_BIN_DIR/loopback" ]] \
  || missing+=(containernetworking-plugins)
command -v iptables > /dev/null || missing+=(iptables)
command -v conntrack > /dev/null || missing+=(conntrack)
file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || missing+=(busybox-static)
command -v openssl > /dev/null || missing+=(openssl)
command -v python3 > /dev/null || missing+=(python3)
command -v curl > /dev/null || missing+=(curl)
command -v file > /dev/null || missing+=(file)

if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
command -v go > /dev/null || die "go is missing (Go >= 1.24 is needed to build the cluster)"
