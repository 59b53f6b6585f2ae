#!/usr/bin/env bash
# Builds the cluster's binaries from the Go modules under cluster/ and caches them
# under state/cluster/bin/<component>-<version>/. A binary that is already there is
# not rebuilt, so a rerun is instant. Usage: cluster/build.sh [component...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false -mod=readonly" CGO_ENABLED=0
# Two cores, and other work shares them: build one package graph at a time, niced.
GO_P="${SHOAL_GO_P:-2}"
TIMINGS="$STATE_DIR/build-timings.txt"
mkdir -p "$BIN_DIR" "$STATE_DIR"

k8s_ldflags() {
  local v="$K8S_VERSION" major minor
  major="$(echo "${v#v}" | cut -d. -f1)"
  minor="$(echo "${v#v}" | cut -d. -f2)"
  local date="${SOURCE_DATE:-2025-01-01T00:00:00Z}" f=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    f+=" -X $pkg.gitCommit=shoal-module-build -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "-s -w$f"
}

# build <module dir> <import path> <output> [ldflags]
build() {
  local dir="$1" pkg="$2" out="$3" ldflags="${4:--s -w}"
  if [[ -x "$out" ]]; then
    log "cached: $out"
    return 0
  fi
  log "building $pkg -> $out"
  local t0 t1
  t0=$(date +%s)
  (cd "$dir" && nice -n 10 go build -p "$GO_P" -ldflags "$ldflags" -o "$out.tmp" "$pkg")
  mv "$out.tmp" "$out"
  t1=$(date +%s)
  echo "$(date -u +%FT%TZ) $(basename "$out") $((t1 - t0))s" >> "$TIMINGS"
  log "built $(basename "$out") in $((t1 - t0))s"
}

build_k8s() {
  local c
  for c in "$@"; do
    case "$c" in
      etcd) build "$CLUSTER_SRC/k8s" go.etcd.io/etcd/server/v3 "$BIN_DIR/etcd" ;;
      *) build "$CLUSTER_SRC/k8s" "k8s.io/kubernetes/cmd/$c" "$BIN_DIR/$c" "$(k8s_ldflags)" ;;
    esac
  done
}

build_coredns() {
  [[ -n "$COREDNS_VERSION" ]] || die "cluster/coredns/go.mod has no github.com/coredns/coredns requirement"
  mkdir -p "$COREDNS_BIN_DIR"
  build "$CLUSTER_SRC/coredns" . "$COREDNS_BIN_DIR/coredns" \
    "-s -w -X github.com/coredns/coredns/coremain.GitCommit=shoal-module-build"
}

build_pause() {
  mkdir -p "$STATE_DIR/bin/pause"
  build "$CLUSTER_SRC/pause" . "$STATE_DIR/bin/pause/pause"
}

ALL=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy coredns pause)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
  case "$t" in
    coredns) build_coredns ;;
    pause) build_pause ;;
    *) build_k8s "$t" ;;
  esac
done
log "binaries in $BIN_DIR"
