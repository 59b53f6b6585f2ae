#!/bin/sh
# runc wrapper used as containerd's runc BinaryName.
#
# On this machine root's capability bounding set lacks CAP_SYS_RESOURCE, so no process may
# lower its oom_score_adj below 0. The kubelet asks for negative values (-998 for every pod
# sandbox, -997 for Guaranteed pods), which makes runc fail with
#   nsexec: failed to update /proc/self/oom_score_adj: Permission denied
#   runc create failed: unable to start container process: can't get final child's PID from pipe: EOF
# This wrapper clamps negative oomScoreAdj values in the bundle's config.json (create/run)
# and in exec's process.json to 0, then runs the real runc. Positive values pass unchanged.
RUNC="${SHOAL_RUNC:-/usr/sbin/runc}"
prev=""
for a in "$@"; do
  case "$prev" in
    --bundle|-b)
      [ -f "$a/config.json" ] && sed -i -E 's/"oomScoreAdj": ?-[0-9]+/"oomScoreAdj":0/' "$a/config.json" ;;
    --process|-p)
      [ -f "$a" ] && sed -i -E 's/"oomScoreAdj": ?-[0-9]+/"oomScoreAdj":0/' "$a" ;;
  esac
  prev="$a"
done
exec "$RUNC" "$@"
