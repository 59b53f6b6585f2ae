#!/usr/bin/env bash
# The end-to-end suite (e2e/*.e2e.ts) against a real cluster:
#   e2e/run.sh local   the cluster of `make cluster-up`, image from `make images-load`
#   e2e/run.sh local operator.e2e -t sqlPodResources   extra arguments go to vitest (a file, a test name)
#   e2e/run.sh kind    a kind cluster (needs docker, kind and kubectl on PATH): created,
#                      the image built with docker and `kind load`ed, then the same suite
# An earlier run is removed here; the suite then installs the Helm chart itself
# (namespace shoal-e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="$(node -p 'require("./package.json").version')"
IMAGE="localhost/shoal/shoal:$VERSION"
NS=shoal-e2e
export SHOAL_HELM="$(charts/helm.sh)"
mode="${1:-local}"

# An earlier run's tenants go while its operator still runs to finalize them (else their
# finalizers are dropped: deleting the namespace first would strand them), then the
# release and the namespace. Before anything of this run exists, so that an earlier
# claim cannot take this run's volume.
remove_earlier_run() {
  "$KUBECTL" get namespace "$NS" >/dev/null 2>&1 || return 0
  "$KUBECTL" -n "$NS" delete crdbtenants --all --wait=true --timeout=90s >/dev/null 2>&1 || {
    for t in $("$KUBECTL" -n "$NS" get crdbtenants -o name 2>/dev/null); do
      "$KUBECTL" -n "$NS" patch "$t" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1 || true
    done
  }
  "$SHOAL_HELM" uninstall shoal -n "$NS" --wait >/dev/null 2>&1 || true
  "$KUBECTL" delete namespace "$NS" --wait=true --timeout=300s >/dev/null
}

case "$mode" in
  local)
    export KUBECONFIG="$PWD/state/cluster/kubeconfig"
    KUBECTL="$(ls -d state/cluster/bin/k8s-v*/kubectl | tail -1)"
    [[ -f "$KUBECONFIG" ]] || { echo "e2e: no local cluster (run make cluster-up)" >&2; exit 1; }
    remove_earlier_run
    # No volume provisioner on the local cluster: a static hostPath PersistentVolume for
    # the kvpod's claim, bound by the real PV controller.
    run_id="$(date +%s)"
    dir="/var/lib/shoal-e2e/kvpod-$run_id"
    "$KUBECTL" delete pv -l shoal.dev/e2e=true --wait=false >/dev/null
    rm -rf /var/lib/shoal-e2e && mkdir -p "$dir" && chown 10001:10001 "$dir"
    "$KUBECTL" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: { name: shoal-e2e-kvpod-$run_id, labels: { shoal.dev/e2e: "true" } }
spec:
  capacity: { storage: 1Gi }
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: shoal-e2e
  hostPath: { path: $dir, type: Directory }
YAML
    export SHOAL_E2E_HELM_FLAGS="--set kvpod.persistence.storageClassName=shoal-e2e --set kvpod.persistence.size=1Gi --set image.pullPolicy=Never"
    ;;
  kind)
    for tool in docker kind kubectl; do
      command -v "$tool" >/dev/null || { echo "e2e-kind: $tool is not on PATH (kind needs a Docker engine; see docs/local-cluster.md)" >&2; exit 1; }
    done
    KUBECTL=kubectl
    kind get clusters 2>/dev/null | grep -qx shoal-e2e || kind create cluster --name shoal-e2e --wait 120s
    mkdir -p state
    kind get kubeconfig --name shoal-e2e > state/kind-kubeconfig
    export KUBECONFIG="$PWD/state/kind-kubeconfig"
    remove_earlier_run
    make images
    kind load docker-image "$IMAGE" --name shoal-e2e
    # kind's nodes are containers: the proxy Service is reached through a port-forward.
    export SHOAL_E2E_PORT_FORWARD=15432
    export SHOAL_E2E_HELM_FLAGS="--set kvpod.persistence.size=1Gi --set image.pullPolicy=Never"
    ;;
  *) echo "usage: e2e/run.sh local|kind" >&2; exit 2 ;;
esac

SHOAL_KUBECTL="$KUBECTL" SHOAL_E2E_NAMESPACE="$NS" npx vitest run --config e2e/vitest.config.ts "${@:2}"
