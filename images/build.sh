#!/usr/bin/env bash
# The image steps behind images/images.mk. Run from the repository root:
#
#   images/build.sh engine     prints the engine in use: docker (a running engine), podman, buildah
#   images/build.sh tools      installs podman, buildah, runc and debootstrap (Debian) when no engine is there
#   images/build.sh base       makes docker.io/library/node:24-bookworm-slim available (images/base/bootstrap.sh)
#   images/build.sh context    stages the build context in $IMAGES_STATE/context
#   images/build.sh build      base + context + builds $SHOAL_IMAGE
#   images/build.sh save       writes $IMAGES_STATE/shoal-<version>.tar (docker-archive, for ctr images import)
#   images/build.sh smoke      --help of every component, then a kvpod with host networking answering /readyz
#
# Environment: IMAGE_ENGINE (docker|podman|buildah, default: detected), IMAGES_STATE (state/images),
# OCI_RUNTIME for podman and buildah (runc: crun fails on hosts with hybrid cgroups), BUILD_CA
# (default $NODE_EXTRA_CA_CERTS: the CA of an HTTPS-intercepting proxy, for npm ci in the build).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGES_STATE=${IMAGES_STATE:-state/images}
VERSION=${SHOAL_VERSION:-$(node -p 'require("./package.json").version')}
SHOAL_IMAGE=${SHOAL_IMAGE:-localhost/shoal/shoal:$VERSION}
NODE_IMAGE=${NODE_IMAGE:-docker.io/library/node:24-bookworm-slim}
OCI_RUNTIME=${OCI_RUNTIME:-runc}

log() { printf 'images: %s\n' "$*" >&2; }

detect_engine() {
  if [[ -n ${IMAGE_ENGINE:-} ]]; then echo "$IMAGE_ENGINE"; return; fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; return; fi
  if command -v podman >/dev/null; then echo podman; return; fi
  if command -v buildah >/dev/null; then echo buildah; return; fi
  echo none
}

tools() {
  local engine
  engine=$(detect_engine)
  # A running Docker engine pulls the base; podman and buildah here also need runc (crun fails
  # on hybrid cgroups) and debootstrap (for the base when no registry answers).
  [[ $engine == docker ]] && return
  if [[ $engine != none ]] && command -v runc >/dev/null && command -v debootstrap >/dev/null; then
    return
  fi
  command -v apt-get >/dev/null || { log "no container engine: install docker or podman"; exit 1; }
  log "installing podman, buildah, runc, debootstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap uidmap >/dev/null
}

ENGINE=
engine_flags=()
run_flags=()
setup() {
  ENGINE=$(detect_engine)
  [[ $ENGINE != none ]] || { log "no container engine (make images-tools installs podman)"; exit 1; }
  if [[ $ENGINE != docker ]]; then
    # podman's default limits exceed what this kind of host lets a container set: stay at or
    # below the hard limits (nproc above 32768 is refused here even below the hard limit).
    local nofile nproc
    nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
    [[ $nofile == unlimited || $nofile -gt 1048576 ]] && nofile=1048576
    [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
    engine_flags=(--runtime "$OCI_RUNTIME")
    run_flags=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
  fi
}

base() {
  setup
  images/base/bootstrap.sh "$ENGINE" "$IMAGES_STATE/base"
}

context() {
  local ctx=$IMAGES_STATE/context dirs=(kvpod sqlpod proxy shared)
  [[ -d operator ]] && dirs+=(operator)
  rm -rf "$ctx"
  mkdir -p "$ctx/images"
  cp package.json package-lock.json tsconfig.json "$ctx/"
  cp images/tsconfig.build.json images/shoal.sh "$ctx/images/"
  tar -c --exclude='*.test.ts' --exclude=testing --exclude=node_modules --exclude=sqlpod/conformance --exclude=sqlpod/compat "${dirs[@]}" |
    tar -x -C "$ctx"
}

build() {
  base
  context
  local t0=$SECONDS secret=()
  # The CA of an HTTPS-intercepting egress proxy, for npm ci in the build stage (a build secret).
  local ca=${BUILD_CA:-${NODE_EXTRA_CA_CERTS:-}}
  [[ -n $ca && -s $ca ]] && secret=(--secret "id=build-ca,src=$ca")
  # The native module's stage is keyed on its version alone (see images/Dockerfile).
  local rocksdb
  rocksdb=$(node -p 'require("./package-lock.json").packages["node_modules/rocksdb"].version')
  log "building $SHOAL_IMAGE with $ENGINE (rocksdb $rocksdb)"
  case $ENGINE in
    docker)
      docker build "${secret[@]}" -f images/Dockerfile --build-arg "VERSION=$VERSION" --build-arg "NODE_IMAGE=$NODE_IMAGE" \
        --build-arg "ROCKSDB_VERSION=$rocksdb" \
        -t "$SHOAL_IMAGE" "$IMAGES_STATE/context" ;;
    podman | buildah)
      # Host networking for RUN (apt-get, npm ci): no bridge networking or registry needed.
      nice -n 10 "$ENGINE" build "${engine_flags[@]}" "${run_flags[@]}" "${secret[@]}" --network host --layers \
        --pull=never -f images/Dockerfile --build-arg "VERSION=$VERSION" --build-arg "NODE_IMAGE=$NODE_IMAGE" \
        --build-arg "ROCKSDB_VERSION=$rocksdb" \
        -t "$SHOAL_IMAGE" "$IMAGES_STATE/context" ;;
  esac
  log "built $SHOAL_IMAGE in $((SECONDS - t0)) s"
  images
}

images() {
  case $ENGINE in
    buildah) buildah images | grep -E "REPOSITORY|shoal/shoal|library/node" ;;
    *) $ENGINE images | grep -E "REPOSITORY|shoal/shoal|library/node" ;;
  esac
}

save() {
  setup
  local out=$IMAGES_STATE/shoal-$VERSION.tar
  mkdir -p "$IMAGES_STATE"
  rm -f "$out.tmp"
  case $ENGINE in
    docker) docker save -o "$out.tmp" "$SHOAL_IMAGE" ;;
    podman) podman save --format docker-archive -o "$out.tmp" "$SHOAL_IMAGE" ;;
    buildah) buildah push "$SHOAL_IMAGE" "docker-archive:$out.tmp:$SHOAL_IMAGE" ;;
  esac
  mv "$out.tmp" "$out"
  log "wrote $out ($(du -h "$out" | cut -f1); docker-archive of $SHOAL_IMAGE)"
}

# Runs the image: podman/docker directly, buildah through a working container.
run() {
  case $ENGINE in
    docker | podman) "$ENGINE" run "${engine_flags[@]}" "${run_flags[@]}" "$@" ;;
    buildah) log "smoke needs podman or docker"; exit 1 ;;
  esac
}

# A KV round trip with the repository's client; the script lands in $IMAGES_STATE (state/images
# when run through make), where its relative imports reach the repository's shared/.
smoke_kv_script() {
  cat <<'TS'
// A KV round trip against a kvpod (the image smoke test runs one in a container):
//   node --import tsx state/images/smoke-kv.ts HOST:PORT CERT_DIR
// (written by images/build.sh under the scratch directory, outside typecheck and lint)
// Creates tenant 2 with CERT_DIR/operator.{crt,key}, then writes and reads back one of its keys
// with CERT_DIR/tenant-2.{crt,key} over gRPC + mTLS,
// which exercises the kvpod's RocksDB (the native module) end to end.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { KvClient } from '../../shared/kv/client/index.js';
import { tenantPrefix } from '../../shared/keys/index.js';

const [address, dir] = process.argv.slice(2);
if (!address || !dir) throw new Error('usage: smoke-kv.ts HOST:PORT CERT_DIR');
const clientAs = (name: string) =>
  new KvClient({
    seeds: [address],
    tls: { ca: readFileSync(join(dir, 'ca.crt')), cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) },
    attempts: 3,
  });
// The operator creates the tenant's keyspace (the kvpod is fresh), then the tenant writes in it.
const operator = clientAs('operator');
const tenant = await operator.createTenant('image-smoke', 2);
operator.close();
const client = clientAs('tenant-2');
const key = Buffer.concat([tenantPrefix(2), Buffer.from(`image-smoke-${process.pid}`)]);
const value = Buffer.from(`written at ${new Date().toISOString()}`);
const ts = await client.commit([{ put: { key, value } }]);
const got = await client.get(key);
if (!got.value?.equals(value)) throw new Error(`read back ${String(got.value)} instead of ${value.toString()}`);
process.stdout.write(`kv round trip ok: tenant ${tenant.tenantId} created, commit at ${inspect(ts, { breakLength: Infinity })}, read back "${got.value.toString()}"\n`);
client.close();
TS
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

smoke() {
  setup
  local c
  run --rm "$SHOAL_IMAGE"
  for c in kvpod sqlpod proxy; do
    run --rm "$SHOAL_IMAGE" "$c" --help | head -3
  done
  [[ $(run --rm "$SHOAL_IMAGE" version) == "$VERSION" ]]
  [[ $(run --rm --entrypoint id "$SHOAL_IMAGE" -u) == 10001 ]]

  # A real kvpod: the development certificates, a fresh data directory, host networking.
  local certs=${CERTS:-state/certs}
  [[ -f $certs/kvpod.key ]] || { log "no $certs/kvpod.key: run make certs"; exit 1; }
  local dir grpc ops name=shoal-smoke-kvpod-$$
  dir=$(mktemp -d "${TMPDIR:-/tmp}/shoal-image-smoke.XXXXXX")
  mkdir -p "$dir/certs" "$dir/data"
  cp "$certs/ca.crt" "$certs/kvpod.crt" "$certs/kvpod.key" "$dir/certs/"
  chown -R 10001:10001 "$dir/certs" "$dir/data" 2>/dev/null || chmod -R a+rwX "$dir"
  grpc=$(free_port); ops=$(free_port)
  run -d --name "$name" --network host -v "$dir/certs:/certs:ro" -v "$dir/data:/data" "$SHOAL_IMAGE" \
    kvpod --listen "127.0.0.1:$grpc" --metrics-listen "127.0.0.1:$ops" --data-dir /data \
    --ca-cert /certs/ca.crt --cert /certs/kvpod.crt --key /certs/kvpod.key >/dev/null
  local ok=0 i
  for i in $(seq 1 60); do
    if curl -fsS "http://127.0.0.1:$ops/readyz" 2>/dev/null; then ok=1; break; fi
    sleep 0.5
  done
  [[ $ok == 1 ]] || log "kvpod in the container did not become ready"
  if [[ $ok == 1 ]]; then
    log "kvpod in the container is ready after ~$((i / 2)) s (gRPC 127.0.0.1:$grpc, ops 127.0.0.1:$ops)"
    if [[ -f node_modules/tsx/package.json && -f $certs/tenant-2.key && -f $certs/operator.key ]]; then
      smoke_kv_script >"$IMAGES_STATE/smoke-kv.ts"
      node --import tsx "$IMAGES_STATE/smoke-kv.ts" "127.0.0.1:$grpc" "$certs" || { ok=0; log "the KV round trip failed"; }
    fi
    curl -fsS "http://127.0.0.1:$ops/metrics" | grep -m1 -E '^process_resident_memory_bytes' || true
  fi
  $ENGINE logs "$name" 2>&1 | tail -5 >&2
  $ENGINE stop -t 20 "$name" >/dev/null || true
  log "exit code after SIGTERM: $($ENGINE inspect -f '{{.State.ExitCode}}' "$name" 2>/dev/null || echo '?')"
  $ENGINE rm -f "$name" >/dev/null 2>&1 || true
  find "$dir/data" -maxdepth 1 -type f -printf "%f " >&2; echo >&2
  rm -rf "$dir"
  [[ $ok == 1 ]] || { log "smoke failed"; exit 1; }
  log "smoke passed"
}

case ${1:-} in
  engine) detect_engine ;;
  tools) tools ;;
  base) base ;;
  context) context ;;
  build) build ;;
  save) save ;;
  smoke) smoke ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
