#!/usr/bin/env bash
# Builds helm v3.21.4 from its Go module once (about 2.5 minutes on two cores,
# through the Go module proxy) into state/cluster/bin/helm-v3.21.4/helm and
# prints the binary's path. A binary that is already there is not rebuilt.
# Usage: charts/helm.sh   (then: "$(charts/helm.sh)" lint charts/shoal)
set -euo pipefail
HELM_VERSION=v3.21.4
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$repo_root/state/cluster/bin/helm-$HELM_VERSION"
if [[ ! -x "$bin_dir/helm" ]]; then
  mkdir -p "$bin_dir"
  echo "building helm $HELM_VERSION into $bin_dir (a few minutes)" >&2
  (cd "$bin_dir" && GOBIN="$bin_dir" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >&2
fi
echo "$bin_dir/helm"
