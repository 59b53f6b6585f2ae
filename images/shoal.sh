#!/bin/sh
# shoal COMPONENT [FLAG]...: the image's entry point; runs one Shoal component with node.
#   shoal kvpod --help       shoal sqlpod ...      shoal proxy ...      shoal operator ...
#   shoal certs ...          (the development certificate tool, shared/certs/cli.ts)
# Node flags go in NODE_OPTIONS (e.g. NODE_OPTIONS=--max-old-space-size=512).
set -e
app=${SHOAL_APP:-/app}

components() {
  for m in "$app"/dist/*/main.js; do
    [ -f "$m" ] && basename "$(dirname "$m")"
  done
  [ -f "$app/dist/shared/certs/cli.js" ] && echo certs
  return 0
}

usage() {
  echo "shoal ${SHOAL_VERSION:-} (node $(node --version))"
  echo "usage: shoal COMPONENT [FLAG]...   (shoal COMPONENT --help lists a component's settings)"
  echo "components: $(components | tr '\n' ' ')"
}

component=${1:-help}
case $component in
  help | --help | -h) usage; exit 0 ;;
  version | --version) echo "${SHOAL_VERSION:-unknown}"; exit 0 ;;
  certs) main=$app/dist/shared/certs/cli.js ;;
  */* | .*) main= ;;
  *) main=$app/dist/$component/main.js ;;
esac
if [ -z "$main" ] || [ ! -f "$main" ]; then
  echo "shoal: no component '$component' in this image" >&2
  usage >&2
  exit 2
fi
shift
exec node "$main" "$@"
