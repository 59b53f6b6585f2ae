# Shared settings for the cluster scripts. Sourced, not run.
# shellcheck shell=bash
# shellcheck disable=SC2034  # variables used by the scripts that source this file

CLUSTER_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CLUSTER_SRC/.." && pwd)"
STATE_DIR="${SHOAL_CLUSTER_STATE:-$REPO_ROOT/state/cluster}"

# Versions come from the Go modules so there is exactly one place to bump them.
K8S_VERSION="$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$CLUSTER_SRC/k8s/go.mod")"
ETCD_VERSION="$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' "$CLUSTER_SRC/k8s/go.mod")"
COREDNS_VERSION="$(awk '$1=="github.com/coredns/coredns"{print $2; exit} $1=="require" && $2=="github.com/coredns/coredns"{print $3; exit}' "$CLUSTER_SRC/coredns/go.mod" 2>/dev/null || true)"

BIN_DIR="$STATE_DIR/bin/k8s-$K8S_VERSION"
COREDNS_BIN_DIR="$STATE_DIR/bin/coredns-${COREDNS_VERSION:-none}"
IMAGES_DIR="$STATE_DIR/images"
PKI_DIR="$STATE_DIR/pki"
RUN_DIR="$STATE_DIR/run"
LOG_DIR="$STATE_DIR/logs"
CONF_DIR="$STATE_DIR/conf"
DATA_DIR="$STATE_DIR/data"
KUBECONFIG_FILE="$STATE_DIR/kubeconfig"

# Network layout (one node).
NODE_NAME="${SHOAL_NODE_NAME:-shoal-node}"
SERVICE_CIDR="10.96.0.0/16"
KUBERNETES_SVC_IP="10.96.0.1"
CLUSTER_DNS_IP="10.96.0.10"
POD_CIDR="10.244.0.0/24"
CLUSTER_DOMAIN="cluster.local"
CNI_BRIDGE="cni0"
APISERVER_PORT=6443

# containerd is project-private: own socket, root and state, so it cannot clash
# with a containerd the machine may run for something else.
CONTAINERD_ROOT="$DATA_DIR/containerd/root"
CONTAINERD_STATE="/run/shoal-cluster/containerd"
CONTAINERD_SOCK="/run/shoal-cluster/containerd/containerd.sock"
RUNC_ROOT="/run/shoal-cluster/runc"
KUBELET_ROOT="$DATA_DIR/kubelet"
CNI_CONF_DIR="$CONF_DIR/cni"
CNI_BIN_DIR="/usr/lib/cni"

PAUSE_IMAGE="localhost/shoal/pause:3.10"
BUSYBOX_IMAGE="localhost/shoal/busybox:1.35"
COREDNS_IMAGE="localhost/shoal/coredns:${COREDNS_VERSION:-none}"
KUBECTL_IMAGE="localhost/shoal/kubectl:${K8S_VERSION}"

log() { printf '\033[1m[cluster]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[cluster] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

# The node's primary IPv4 address (the one with the default route, else the first non-loopback).
node_ip() {
  local ip
  ip="$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for(i=1;i<=NF;i++) if($i=="src"){print $(i+1); exit}}')"
  if [[ -z "$ip" ]]; then
    ip="$(ip -4 -o addr show scope global | awk '{split($4,a,"/"); print a[1]; exit}')"
  fi
  echo "${ip:-127.0.0.1}"
}

kc() { "$BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# Pod sandbox network namespaces (/run/netns/cni-*) that no process is in any more: what a
# containerd leaves behind when it is killed with its pods. With a name of "epoch seconds",
# only those created at or after that time.
orphan_cni_netns() {
  local since="${1:-0}" n ino p inuse
  local -A live=()
  for p in /proc/[0-9]*/ns/net; do
    ino="$(stat -L -c %i "$p" 2>/dev/null)" && live[$ino]=1
  done
  for n in /run/netns/cni-*; do
    [[ -e "$n" ]] || continue
    ino="$(stat -L -c %i "$n" 2>/dev/null)" || continue
    inuse="${live[$ino]:-}"
    [[ -z "$inuse" && "$(stat -c %Y "$n")" -ge "$since" ]] && echo "$n"
  done
  return 0
}
