#!/bin/sh
# Installs the Debian PostgreSQL server (initdb, postgres) and pgbench when
# they are missing; does nothing when they are there. Non-interactive.
set -eu

have() {
  for f in /usr/lib/postgresql/*/bin/"$1"; do [ -x "$f" ] && return 0; done
  return 1
}
all_there() { have initdb && have postgres && have pgbench; }

all_there && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
echo "installing PostgreSQL and pgbench with apt-get" >&2
$SUDO apt-get update -q
# On Debian 12, pgbench is in postgresql-15, which `postgresql` depends on.
$SUDO apt-get install -y -q postgresql
# Should another release ship pgbench in a different package, these are where it would be.
have pgbench || $SUDO apt-get install -y -q postgresql-contrib postgresql-client
all_there || { echo "PostgreSQL or pgbench still missing under /usr/lib/postgresql/*/bin after apt-get install" >&2; exit 1; }
