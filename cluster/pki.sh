#!/usr/bin/env bash
# Generates the cluster's PKI and kubeconfigs with openssl under state/cluster/pki and
# state/cluster/conf. Existing files are kept (idempotent); the apiserver and kubelet
# serving certificates are re-issued when the node IP changed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_IP="$(node_ip)"
mkdir -p "$PKI_DIR" "$CONF_DIR"
cd "$PKI_DIR"
umask 077

if [[ ! -f ca.crt ]]; then
  log "pki: cluster CA"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
    -subj "/CN=shoal-cluster-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
fi

if [[ ! -f front-proxy-ca.crt ]]; then
  log "pki: front-proxy CA (aggregation layer)"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout front-proxy-ca.key -out front-proxy-ca.crt -days 3650 \
    -subj "/CN=shoal-front-proxy-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
fi

if [[ ! -f sa.key ]]; then
  log "pki: service-account key pair"
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
fi

# issue <name> <subject> <extendedKeyUsage> [subjectAltName]; ISSUER=<ca name> (default ca)
issue() {
  local name="$1" subj="$2" eku="$3" san="${4:-}" ca="${ISSUER:-ca}"
  if [[ -f "$name.crt" && -f "$name.san" && "$(cat "$name.san")" == "$san" ]]; then
    return 0
  fi
  log "pki: $name ($subj)"
  local ext
  ext="$(mktemp)"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -n "$san" ]] && echo "subjectAltName=$san"
  } > "$ext"
  [[ -f "$name.key" ]] || openssl genrsa -out "$name.key" 2048 2>/dev/null
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 3650 \
    -extfile "$ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$ext"
  printf '%s' "$san" > "$name.san"
}

issue apiserver "/CN=kube-apiserver" serverAuth \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost,IP:127.0.0.1,IP:$KUBERNETES_SVC_IP,IP:$NODE_IP"
issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
issue admin "/O=system:masters/CN=shoal-admin" clientAuth
issue controller-manager "/CN=system:kube-controller-manager" clientAuth
issue scheduler "/CN=system:kube-scheduler" clientAuth
issue kube-proxy "/CN=system:kube-proxy" clientAuth
issue kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
ISSUER=front-proxy-ca issue front-proxy-client "/CN=front-proxy-client" clientAuth
issue kubelet "/CN=$NODE_NAME" serverAuth "DNS:$NODE_NAME,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP"

# kubeconfig <file> <cert name> <user> <server>
kubeconfig() {
  local file="$1" cert="$2" user="$3" server="$4"
  cat > "$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: shoal
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 < "$PKI_DIR/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 < "$PKI_DIR/$cert.crt")
    client-key-data: $(base64 -w0 < "$PKI_DIR/$cert.key")
contexts:
- name: $user@shoal
  context:
    cluster: shoal
    user: $user
current-context: $user@shoal
EOF
  mv "$file.tmp" "$file"
}

LOCAL="https://127.0.0.1:$APISERVER_PORT"
kubeconfig "$KUBECONFIG_FILE" admin shoal-admin "$LOCAL"
kubeconfig "$CONF_DIR/controller-manager.kubeconfig" controller-manager system:kube-controller-manager "$LOCAL"
kubeconfig "$CONF_DIR/scheduler.kubeconfig" scheduler system:kube-scheduler "$LOCAL"
kubeconfig "$CONF_DIR/kube-proxy.kubeconfig" kube-proxy system:kube-proxy "$LOCAL"
kubeconfig "$CONF_DIR/kubelet.kubeconfig" kubelet-client "system:node:$NODE_NAME" "$LOCAL"
chmod 600 "$KUBECONFIG_FILE" "$CONF_DIR"/*.kubeconfig
