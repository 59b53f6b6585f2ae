#!/bin/sh
# Installs the Debian PgBouncer package (the baseline of `make bench-proxy`)
# when it is missing; does nothing when it is there. Non-interactive.
#
# The bench starts its own PgBouncer (its own ini, a free port, as the
# postgres user), never the packaged service: the install keeps the service
# from starting (a temporary policy-rc.d, unless one is already there), and
# afterwards the service is disabled (and stopped, where systemd runs).
set -eu

have() { command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; }

have && exit 0

if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
echo "installing PgBouncer with apt-get" >&2

POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  # 101: "action forbidden by policy"; invoke-rc.d and deb-systemd-invoke then leave the service alone.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  trap '$SUDO rm -f "$POLICY"' EXIT
fi

$SUDO apt-get update -q
$SUDO apt-get install -y -q pgbouncer

# The package enables the service for the next boot; installed for the bench, it should not run by itself.
if command -v systemctl >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now pgbouncer.service >/dev/null 2>&1 || true
  else
    # No running systemd (a container): disabling only removes the boot-time links.
    $SUDO systemctl disable pgbouncer.service >/dev/null 2>&1 || true
  fi
fi

have || { echo "pgbouncer still missing after apt-get install" >&2; exit 1; }
