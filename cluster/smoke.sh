#!/usr/bin/env bash
# End-to-end smoke test of the Shoal dev cluster. Brings the cluster up if needed, then:
#   1. the node is Ready
#   2. a Deployment becomes Ready through a readiness probe
#   3. pod -> pod through the ClusterIP Service, by IP and by DNS name
#   4. an in-cluster client (kubectl with the pod's service account) reaches
#      https://kubernetes.default
#   5. cluster-down leaves no processes, mounts, netns, network devices or chains behind
# SMOKE_KEEP=1 skips step 5 (leaves the cluster running).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); printf '\033[32mok\033[0m   %s\n' "$*"; }
bad() { FAIL=$((FAIL + 1)); printf '\033[31mFAIL\033[0m %s\n' "$*"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

NS=shoal-smoke
T0=$(date +%s)

# Sandbox netns that no process was in before we started belong to someone else's run on
# this machine; step 5 judges only what this cluster left.
NETNS_BEFORE="$(orphan_cni_netns)"

"$CLUSTER_SRC/up.sh"

# 1. node Ready
node_ready() { [[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
check "node $NODE_NAME is Ready" node_ready
kc get nodes -o wide

# 2. Deployment Ready through a readiness probe (the file appears only after 3 s).
kc delete namespace "$NS" --ignore-not-found --wait=true > /dev/null
kc create namespace "$NS" > /dev/null
kc apply -n "$NS" -f - > /dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
      - name: httpd
        image: $BUSYBOX_IMAGE
        imagePullPolicy: Never
        command: [sh, -c, 'mkdir -p /www; hostname > /www/index.html; { sleep 3; echo ready > /www/ready; } & exec httpd -f -p 8080 -h /www']
        ports: [{ containerPort: 8080 }]
        readinessProbe:
          httpGet: { path: /ready, port: 8080 }
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: client
    image: $BUSYBOX_IMAGE
    imagePullPolicy: Never
    command: [sleep, "3600"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: default-view }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view }
subjects: [{ kind: ServiceAccount, name: default, namespace: $NS }]
---
apiVersion: v1
kind: Pod
metadata: { name: incluster }
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: kubectl
    image: $KUBECTL_IMAGE
    imagePullPolicy: Never
    command: [sleep, "3600"]
EOF
check "Deployment web rolled out (2/2 Ready via readiness probe)" \
  kc -n "$NS" rollout status deploy/web --timeout=90s
kc -n "$NS" get pods -o wide
check "pods client and incluster Ready" kc -n "$NS" wait --for=condition=Ready pod/client pod/incluster --timeout=60s

# 3. pod -> pod via ClusterIP and DNS. (Debian's static busybox wget segfaults with -T, so
#    the time limit is busybox timeout instead.)
SVC_IP="$(kc -n "$NS" get svc web -o jsonpath='{.spec.clusterIP}')"
pods="$(kc -n "$NS" get pods -l app=web -o jsonpath='{.items[*].metadata.name}')"
body_is_a_web_pod() { local b; b="$(kc -n "$NS" exec client -- timeout 10 wget -qO- "$1")" && [[ " $pods " == *" $b "* ]]; }
check "client -> ClusterIP http://$SVC_IP/ answered by a web pod" body_is_a_web_pod "http://$SVC_IP/"
check "client -> http://web.$NS.svc.$CLUSTER_DOMAIN/ (DNS name)" body_is_a_web_pod "http://web.$NS.svc.$CLUSTER_DOMAIN/"
check "client -> http://web/ (search path)" body_is_a_web_pod "http://web/"
resolves_to_svc() { kc -n "$NS" exec client -- nslookup "web.$NS.svc.$CLUSTER_DOMAIN" | grep -q "Address: $SVC_IP"; }
check "nslookup web.$NS.svc.$CLUSTER_DOMAIN -> $SVC_IP" resolves_to_svc
kc -n "$NS" exec client -- nslookup "web.$NS.svc.$CLUSTER_DOMAIN" || true

# 4. in-cluster client reaches the API server, by the Service's DNS name, with TLS verified
SA=/var/run/secrets/kubernetes.io/serviceaccount
incluster_by_name() {
  kc -n "$NS" exec incluster -- sh -c "kubectl --server=https://kubernetes.default --certificate-authority=$SA/ca.crt --token=\$(cat $SA/token) get --raw /version" | grep -q "\"gitVersion\": \"$K8S_VERSION\""
}
check "in-cluster client -> https://kubernetes.default/version ($K8S_VERSION, CA verified)" incluster_by_name
incluster_config() { kc -n "$NS" exec incluster -- kubectl -n "$NS" get pods -l app=web -o name | grep -c pod/ | grep -qx 2; }
check "in-cluster client (in-cluster config, service account RBAC) lists the web pods" incluster_config

echo "checks on the running cluster took $(( $(date +%s) - T0 ))s"

# 5. cluster-down leaves nothing behind
if [[ "${SMOKE_KEEP:-0}" == 1 ]]; then
  echo "SMOKE_KEEP=1: cluster left running"
else
  "$CLUSTER_SRC/down.sh"
  no_processes() {
    local p exe cmd found=0
    for p in /proc/[0-9]*; do
      exe="$(readlink "$p/exe" 2>/dev/null || true)"
      cmd="$(tr '\0' ' ' 2>/dev/null < "$p/cmdline" || true)"
      if [[ "$exe" == "$STATE_DIR"/* || "$cmd" == *"$CONTAINERD_SOCK"* || "$cmd" == *"$CONF_DIR/containerd.toml"* ]]; then
        echo "  left: ${p#/proc/} $cmd"; found=1
      fi
    done
    [[ $found == 0 ]]
  }
  check "no cluster processes left (binaries under $STATE_DIR, shims of our containerd)" no_processes
  no_mounts() { ! awk '{print $2}' /proc/self/mounts | grep -E "^($(readlink -f "$STATE_DIR")|/run/shoal-cluster)(/|$)"; }
  check "no mounts under $STATE_DIR or /run/shoal-cluster" no_mounts
  no_cni_netns() {
    local n found=0
    for n in /run/netns/cni-*; do
      [[ -e "$n" ]] || continue
      grep -qxF "$n" <<< "$NETNS_BEFORE" && { echo "  (not ours, there before: $n)"; continue; }
      echo "  left: $n"; found=1
    done
    [[ $found == 0 ]]
  }
  check "no pod network namespaces left (/run/netns/cni-*)" no_cni_netns
  no_links() { ! ip link show "$CNI_BRIDGE" > /dev/null 2>&1 && ! ip -o link show type veth | grep -q "master $CNI_BRIDGE"; }
  check "no $CNI_BRIDGE bridge or its veths" no_links
  no_chains() { ! { iptables-save; ip6tables-save; } 2>/dev/null | grep -E '^(:|-A )(KUBE|CNI)-|-j (KUBE|CNI)-'; }
  check "no KUBE-*/CNI-* iptables chains or jumps" no_chains
fi

echo "smoke: $PASS passed, $FAIL failed"
[[ $FAIL == 0 ]]
