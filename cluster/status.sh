#!/usr/bin/env bash
# Shows each cluster component's process state and log path, and the node if the API answers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for c in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy; do
  state=stopped
  if [[ -f "$RUN_DIR/$c.pid" ]]; then
    pid="$(cat "$RUN_DIR/$c.pid")"
    if [[ -d "/proc/$pid" && "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(cat "$RUN_DIR/$c.exe" 2>/dev/null)" ]]; then
      state="running (pid $pid)"
    else
      state="dead (stale pid $pid)"
    fi
  fi
  printf '%-24s %-22s %s\n' "$c" "$state" "$LOG_DIR/$c.log"
done
if [[ -x "$BIN_DIR/kubectl" && -f "$KUBECONFIG_FILE" ]] && kc get --raw /readyz > /dev/null 2>&1; then
  kc get nodes -o wide
  kc get pods -A -o wide
fi
echo "KUBECONFIG=$KUBECONFIG_FILE"
