#!/usr/bin/env bash
# Brings up the single-node Shoal cluster: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, containerd (+runc, CNI bridge), kubelet, kube-proxy (iptables) and
# CoreDNS (in-cluster). Background processes with pid files, no systemd. Idempotent:
# components already running are left alone.
#
#   cluster/up.sh             everything
#   cluster/up.sh control     only the control plane (etcd, apiserver, controller-manager, scheduler)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $EUID -eq 0 ]] || die "cluster-up needs root (containerd, kubelet, iptables)"
SCOPE="${1:-all}"
T_START=$(date +%s)
NODE_IP="$(node_ip)"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$CONF_DIR" "$DATA_DIR"

elapsed() { echo "$(( $(date +%s) - T_START ))s"; }

# ---- helpers -------------------------------------------------------------------------

# running <name>: the component's pid file names a live process of the expected binary.
running() {
  local pidf="$RUN_DIR/$1.pid" pid
  [[ -f "$pidf" ]] || return 1
  pid="$(cat "$pidf")"
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
  [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(cat "$RUN_DIR/$1.exe" 2>/dev/null)" ]]
}

# start <name> <binary> [args...]: start in the background (own session), log to logs/<name>.log.
start() {
  local name="$1"; shift
  if running "$name"; then
    log "$name: already running (pid $(cat "$RUN_DIR/$name.pid"))"
    return 0
  fi
  local exe
  exe="$(readlink -f "$1")"
  {
    echo "===== $(date -u +%FT%TZ) starting $name"
    echo "+ $*"
  } >> "$LOG_DIR/$name.log"
  setsid nohup "$@" >> "$LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/$name.pid"
  echo "$exe" > "$RUN_DIR/$name.exe"
  log "$name: started (pid $!, log $LOG_DIR/$name.log)"
}

# write_conf <file> [component]: write stdin to file only when the content differs (kube-proxy
# exits when its config file is rewritten). A running component whose config changed is
# stopped here so that start() brings it back with the new config.
write_conf() {
  local file="$1" comp="${2:-}" tmp
  tmp="$(mktemp "$file.XXXXXX")"
  cat > "$tmp"
  if [[ -f "$file" ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 0
  fi
  mv "$tmp" "$file"
  if [[ -n "$comp" ]] && running "$comp"; then
    log "$comp: configuration changed, restarting"
    local pid
    pid="$(cat "$RUN_DIR/$comp.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do [[ -d "/proc/$pid" ]] || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# fail <name> <what>: report the failing component, its log, and the log's tail.
fail() {
  local name="$1" what="$2"
  printf '\033[31m[cluster] FAILED: %s: %s\033[0m\n' "$name" "$what" >&2
  if [[ -f "$LOG_DIR/$name.log" ]]; then
    echo "----- last lines of $LOG_DIR/$name.log -----" >&2
    tail -n 25 "$LOG_DIR/$name.log" >&2
    echo "-----" >&2
  fi
  echo "[cluster] log: $LOG_DIR/$name.log   (stop everything with: make cluster-down)" >&2
  exit 1
}

# wait_for <name> <timeout s> <command...>: poll until the command succeeds.
wait_for() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" > /dev/null 2>&1; do
    if [[ "$name" != - ]] && [[ -f "$RUN_DIR/$name.pid" ]] && ! running "$name"; then
      fail "$name" "process exited"
    fi
    if (( $(date +%s) > deadline )); then
      fail "$name" "not ready after ${timeout}s (check: $*)"
    fi
    sleep 1
  done
}

# ---- build, images, PKI --------------------------------------------------------------

"$CLUSTER_SRC/deps.sh" || fail deps "installing Debian packages failed"
log "building binaries (cached under $STATE_DIR/bin; a cold build takes ~10-15 min on 2 cores)"
# progress: the build's own [cluster] lines; everything (go's output too) goes to the log.
show() { tee "$LOG_DIR/$1.log" | { grep --line-buffered -F '[cluster]' || true; } | sed -u 's/^/  /' >&2; }
if [[ "$SCOPE" == control ]]; then
  "$CLUSTER_SRC/build.sh" etcd kube-apiserver kube-controller-manager kube-scheduler kubectl 2>&1 \
    | show build || fail build "go build failed"
else
  "$CLUSTER_SRC/build.sh" 2>&1 | show build || fail build "go build failed"
  "$CLUSTER_SRC/images.sh" > "$LOG_DIR/images.log" 2>&1 || fail images "assembling OCI images failed"
fi
"$CLUSTER_SRC/pki.sh" 2>&1 | show pki || fail pki "generating certificates failed"
log "build + images + pki done ($(elapsed))"

# ---- etcd ----------------------------------------------------------------------------

start etcd "$BIN_DIR/etcd" \
  --name shoal --data-dir "$DATA_DIR/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster shoal=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
  --quota-backend-bytes 2147483648 --snapshot-count 10000 --log-level warn
wait_for etcd 60 curl -fsS http://127.0.0.1:2379/health
log "etcd: healthy ($(elapsed))"

# ---- kube-apiserver ------------------------------------------------------------------

start kube-apiserver "$BIN_DIR/kube-apiserver" \
  --etcd-servers=http://127.0.0.1:2379 \
  --advertise-address="$NODE_IP" --bind-address=0.0.0.0 --secure-port="$APISERVER_PORT" \
  --service-cluster-ip-range="$SERVICE_CIDR" --service-node-port-range=30000-32767 \
  --tls-cert-file="$PKI_DIR/apiserver.crt" --tls-private-key-file="$PKI_DIR/apiserver.key" \
  --client-ca-file="$PKI_DIR/ca.crt" \
  --kubelet-client-certificate="$PKI_DIR/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$PKI_DIR/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI_DIR/ca.crt" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-key-file="$PKI_DIR/sa.pub" \
  --service-account-signing-key-file="$PKI_DIR/sa.key" \
  --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
  --requestheader-client-ca-file="$PKI_DIR/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI_DIR/front-proxy-client.crt" \
  --proxy-client-key-file="$PKI_DIR/front-proxy-client.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --profiling=false --enable-bootstrap-token-auth=true \
  --endpoint-reconciler-type=lease --v=1
wait_for kube-apiserver 120 kc get --raw /readyz
log "kube-apiserver: /readyz ok ($(elapsed))"

# ---- controller-manager, scheduler ---------------------------------------------------

start kube-controller-manager "$BIN_DIR/kube-controller-manager" \
  --kubeconfig="$CONF_DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$CONF_DIR/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$CONF_DIR/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false \
  --cluster-signing-cert-file="$PKI_DIR/ca.crt" --cluster-signing-key-file="$PKI_DIR/ca.key" \
  --root-ca-file="$PKI_DIR/ca.crt" --service-account-private-key-file="$PKI_DIR/sa.key" \
  --use-service-account-credentials=true --controllers='*,bootstrapsigner,tokencleaner' \
  --allocate-node-cidrs=true --cluster-cidr=10.244.0.0/16 --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$SERVICE_CIDR" --v=1
start kube-scheduler "$BIN_DIR/kube-scheduler" \
  --kubeconfig="$CONF_DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig="$CONF_DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig="$CONF_DIR/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --v=1
wait_for kube-controller-manager 60 curl -fsSk https://127.0.0.1:10257/healthz
wait_for kube-scheduler 60 curl -fsSk https://127.0.0.1:10259/healthz
# The token controller has issued the default ServiceAccount: the controllers work.
wait_for kube-controller-manager 60 kc -n default get serviceaccount default
log "control plane up ($(elapsed))"

if [[ "$SCOPE" == control ]]; then
  log "KUBECONFIG=$KUBECONFIG_FILE"
  exit 0
fi

# ---- containerd ----------------------------------------------------------------------

mkdir -p "$CNI_CONF_DIR" "$CONTAINERD_ROOT" "$(dirname "$CONTAINERD_SOCK")" "$DATA_DIR/cni-ipam"
write_conf "$CONF_DIR/containerd.toml" containerd <<EOF
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"

[grpc]
  address = "$CONTAINERD_SOCK"

[debug]
  level = "warn"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$DATA_DIR/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_selinux = false
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$CLUSTER_SRC/runc-wrapper.sh"
        Root = "$RUNC_ROOT"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
EOF

write_conf "$CNI_CONF_DIR/10-shoal.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "shoal",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$DATA_DIR/cni-ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF

command -v runc > /dev/null || die "runc missing: apt-get install runc"
SHOAL_RUNC="$(command -v runc)"
export SHOAL_RUNC
command -v containerd > /dev/null || die "containerd missing: apt-get install containerd runc containernetworking-plugins"
[[ -x "$CNI_BIN_DIR/bridge" ]] || die "CNI plugins missing in $CNI_BIN_DIR: apt-get install containernetworking-plugins"
# Kept until cluster-down has finished: if this machine loses the cluster's processes
# without a cluster-down, the next one still knows which orphaned sandbox netns are ours.
[[ -f "$RUN_DIR/containerd.since" ]] || date +%s > "$RUN_DIR/containerd.since"
start containerd "$(command -v containerd)" --config "$CONF_DIR/containerd.toml"
ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }
wait_for containerd 60 ctr --address "$CONTAINERD_SOCK" version
log "containerd: up ($(elapsed))"

# Import each image archive unless containerd already has that name at that digest.
for img in pause busybox coredns kubectl; do
  tarball="$IMAGES_DIR/$img.tar"
  name="$(python3 -c 'import json,sys,tarfile; t=tarfile.open(sys.argv[1]); i=json.load(t.extractfile("index.json")); m=i["manifests"][0]; print(m["annotations"]["io.containerd.image.name"], m["digest"])' "$tarball")"
  if ctr_ images ls 2>/dev/null | awk '{print $1, $3}' | grep -qxF "$name"; then
    continue
  fi
  ctr_ images import --no-unpack=false "$tarball" >> "$LOG_DIR/images.log" 2>&1 \
    || { ctr_ images import "$tarball" >> "$LOG_DIR/images.log" 2>&1 || fail images "ctr import $tarball failed"; }
  log "image imported: ${name% *}"
done

# ---- kubelet -------------------------------------------------------------------------

mkdir -p "$KUBELET_ROOT"
write_conf "$CONF_DIR/kubelet.yaml" kubelet <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: "$PKI_DIR/ca.crt" }
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
cgroupsPerQOS: ${SHOAL_CGROUPS_PER_QOS:-true}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: ["$CLUSTER_DNS_IP"]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: /etc/resolv.conf
failSwapOn: false
# Root here lacks CAP_SYS_RESOURCE: no negative oom_score_adj (see runc-wrapper.sh).
oomScoreAdj: 0
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
tlsCertFile: "$PKI_DIR/kubelet.crt"
tlsPrivateKeyFile: "$PKI_DIR/kubelet.key"
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
protectKernelDefaults: false
localStorageCapacityIsolation: true
maxPods: 110
EOF
start kubelet "$BIN_DIR/kubelet" \
  --config="$CONF_DIR/kubelet.yaml" --kubeconfig="$CONF_DIR/kubelet.kubeconfig" \
  --root-dir="$KUBELET_ROOT" --cert-dir="$PKI_DIR/kubelet-certs" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
wait_for kubelet 90 curl -fsS http://127.0.0.1:10248/healthz
node_ready() { [[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
wait_for kubelet 120 node_ready
log "kubelet: node $NODE_NAME Ready ($(elapsed))"

# ---- kube-proxy ----------------------------------------------------------------------

write_conf "$CONF_DIR/kube-proxy.yaml" kube-proxy <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
oomScoreAdj: 0
clientConnection:
  kubeconfig: "$CONF_DIR/kube-proxy.kubeconfig"
clusterCIDR: 10.244.0.0/16
hostnameOverride: $NODE_NAME
bindAddress: 0.0.0.0
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
nodePortAddresses: [primary]
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
start kube-proxy "$BIN_DIR/kube-proxy" --config="$CONF_DIR/kube-proxy.yaml" --v=1
wait_for kube-proxy 60 curl -fsS http://127.0.0.1:10256/healthz
log "kube-proxy: healthy ($(elapsed))"

# ---- CoreDNS -------------------------------------------------------------------------

sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" -e "s|@CLUSTER_DNS_IP@|$CLUSTER_DNS_IP|g" \
  -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" "$CLUSTER_SRC/manifests/coredns.yaml" > "$CONF_DIR/coredns.yaml"
kc apply -f "$CONF_DIR/coredns.yaml" > "$LOG_DIR/coredns-apply.log" 2>&1 || fail coredns-apply "kubectl apply of CoreDNS failed"
coredns_ready() { [[ "$(kc -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}')" == 1 ]]; }
deadline=$(( $(date +%s) + 120 ))
until coredns_ready || (( $(date +%s) > deadline )); do sleep 1; done
if ! coredns_ready; then
  kc -n kube-system logs deploy/coredns --tail=20 > "$LOG_DIR/coredns.log" 2>&1 || true
  kc -n kube-system describe pods -l k8s-app=kube-dns >> "$LOG_DIR/coredns.log" 2>&1 || true
  fail coredns "Deployment kube-system/coredns not Ready"
fi
log "coredns: Ready ($(elapsed))"

echo "$(date -u +%FT%TZ) cluster-up $(elapsed)" >> "$STATE_DIR/up-timings.txt"
log "cluster is up in $(elapsed)"
log "export KUBECONFIG=$KUBECONFIG_FILE"
echo "$KUBECONFIG_FILE"
