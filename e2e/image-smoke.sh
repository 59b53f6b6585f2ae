#!/usr/bin/env bash
# The Shoal image in the local cluster: an unbound SQL pod pool Deployment
# (imagePullPolicy Never, the image from `make images-load`) must become Ready
# through its readiness probe, and its pod must answer /load as unbound.
# Needs `make cluster-up` and `make images-load`. Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
export KUBECONFIG="$PWD/state/cluster/kubeconfig"
KUBECTL="$(ls -d state/cluster/bin/k8s-v*/kubectl | tail -1)"
VERSION="$(node -p 'require("./package.json").version')"
NS=shoal-image-smoke
CERTS=state/e2e-certs
[[ -f "$CERTS/pool.crt" ]] || node --import tsx shared/certs/cli.ts dev --dir "$CERTS" >/dev/null
trap '"$KUBECTL" delete namespace "$NS" --wait=false >/dev/null 2>&1 || true' EXIT
"$KUBECTL" create namespace "$NS" >/dev/null
"$KUBECTL" -n "$NS" create secret generic pool-certs --from-file=ca.crt="$CERTS/ca.crt" --from-file=pool.crt="$CERTS/pool.crt" --from-file=pool.key="$CERTS/pool.key" >/dev/null
sed "s/@VERSION@/$VERSION/" e2e/manifests/sqlpod-pool.yaml | "$KUBECTL" -n "$NS" apply -f - >/dev/null
"$KUBECTL" -n "$NS" rollout status deploy/sqlpod-pool --timeout=120s
POD="$("$KUBECTL" -n "$NS" get pods -l shoal.dev/pool=prewarmed -o jsonpath='{.items[0].metadata.name}')"
IP="$("$KUBECTL" -n "$NS" get pod "$POD" -o jsonpath='{.status.podIP}')"
LOAD="$(curl -fsS "http://$IP:8080/load")"
echo "pod $POD ($IP) /load: $LOAD"
grep -q '"state":"unbound"' <<<"$LOAD" || { echo "image smoke: $POD is not unbound" >&2; exit 1; }
echo "image smoke: passed"
