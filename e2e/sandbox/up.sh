#!/usr/bin/env bash
# Starts a local Kubernetes control plane for the e2e tier: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler (no nodes), on free random 127.0.0.1
# ports, with the CRDs from e2e/tools/build.sh installed.
#
# State (pids, logs, kubeconfig, ports, keys) lives in ${IMAAS_SANDBOX_DIR:-<repo>/.sandbox};
# sandboxes with different IMAAS_SANDBOX_DIR run side by side. Stop with down.sh.
# Afterwards `source "$IMAAS_SANDBOX_DIR/env.sh"` sets KUBECONFIG, PATH, PULUMI_HOME, ...
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export IMAAS_TOOLS_DIR="${IMAAS_TOOLS_DIR:-$HOME/.cache/imaas-tools}"
STATE="${IMAAS_SANDBOX_DIR:-$REPO/.sandbox}"
BIN="$IMAAS_TOOLS_DIR/bin"
READY_TIMEOUT="${IMAAS_SANDBOX_TIMEOUT:-120}"
PULUMI_K8S_VERSION=v4.34.2  # the plugin slot @pulumi/kubernetes asks for (package.json)

log() { printf '%s [sandbox] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=lib.sh
source "$HERE/lib.sh"

if [[ -f "$STATE/ports.env" ]]; then
  if sandbox_running "$STATE"; then
    log "already up in $STATE (source $STATE/env.sh)"; exit 0
  fi
  log "stale state in $STATE: cleaning up first"
  "$HERE/down.sh"
fi

"$REPO/e2e/tools/build.sh" kube etcd crds

mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"
mkdir -p "$STATE/pki" "$STATE/logs" "$STATE/run" "$STATE/etcd"
chmod 700 "$STATE/pki" "$STATE/etcd"

# --- ports ---------------------------------------------------------------------
ETCD_PORT=$(free_port); ETCD_PEER_PORT=$(free_port)
API_PORT=$(free_port); CM_PORT=$(free_port); SCHED_PORT=$(free_port)
cat > "$STATE/ports.env" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
API_PORT=$API_PORT
CONTROLLER_MANAGER_PORT=$CM_PORT
SCHEDULER_PORT=$SCHED_PORT
EOF
log "state $STATE; ports: etcd $ETCD_PORT/$ETCD_PEER_PORT, apiserver $API_PORT, controller-manager $CM_PORT, scheduler $SCHED_PORT"

# --- credentials -----------------------------------------------------------------
# Service-account signing key pair; an admin bearer token in group system:masters.
openssl genrsa -out "$STATE/pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$STATE/pki/sa.key" -pubout -out "$STATE/pki/sa.pub" 2>/dev/null
TOKEN="$(openssl rand -hex 24)"
printf '%s\n' "$TOKEN" > "$STATE/admin.token"
printf '%s,imaas-admin,imaas-admin,"system:masters"\n' "$TOKEN" > "$STATE/pki/tokens.csv"
chmod 600 "$STATE/admin.token" "$STATE/pki/tokens.csv" "$STATE/pki/sa.key"

# --- etcd ------------------------------------------------------------------------
start etcd "$BIN/etcd" --name sandbox --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "sandbox=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new
wait_for "etcd" 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

# --- kube-apiserver ----------------------------------------------------------------
start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --cert-dir "$STATE/pki" \
  --service-cluster-ip-range 10.0.0.0/24 \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$STATE/pki/sa.pub" \
  --service-account-signing-key-file "$STATE/pki/sa.key" \
  --token-auth-file "$STATE/pki/tokens.csv" \
  --authorization-mode Node,RBAC \
  --enable-admission-plugins NamespaceLifecycle,LimitRanger,ServiceAccount,PodSecurity,ResourceQuota,ValidatingAdmissionPolicy,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,DefaultStorageClass,DefaultTolerationSeconds \
  --allow-privileged=true \
  --endpoint-reconciler-type none \
  --profiling=false
API="https://127.0.0.1:$API_PORT"
wait_for "kube-apiserver serving cert" 30 test -s "$STATE/pki/apiserver.crt"
wait_for "kube-apiserver /readyz" "$READY_TIMEOUT" \
  curl -fsS --cacert "$STATE/pki/apiserver.crt" -H "Authorization: Bearer $TOKEN" "$API/readyz"

# --- kubeconfig ------------------------------------------------------------------------
write_kubeconfig "$STATE/kubeconfig" "$API" "$STATE/pki/apiserver.crt" "$TOKEN"

# --- kube-controller-manager and kube-scheduler ------------------------------------------
KC="$STATE/kubeconfig"
start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig "$KC" --authentication-kubeconfig "$KC" --authorization-kubeconfig "$KC" \
  --bind-address 127.0.0.1 --secure-port "$CM_PORT" --cert-dir "$STATE/pki/controller-manager" \
  --leader-elect=false \
  --service-account-private-key-file "$STATE/pki/sa.key" \
  --root-ca-file "$STATE/pki/apiserver.crt" \
  --use-service-account-credentials=false \
  --cluster-name imaas-sandbox \
  --controllers '*'
start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig "$KC" --authentication-kubeconfig "$KC" --authorization-kubeconfig "$KC" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --cert-dir "$STATE/pki/scheduler" \
  --leader-elect=false
wait_for "kube-controller-manager /healthz" 60 curl -fsSk "https://127.0.0.1:$CM_PORT/healthz"
wait_for "kube-scheduler /healthz" 60 curl -fsSk "https://127.0.0.1:$SCHED_PORT/healthz"

KUBECTL=("$BIN/kubectl" --kubeconfig "$KC")
wait_for "default service account" 60 "${KUBECTL[@]}" get serviceaccount default -n default

# --- CRDs -------------------------------------------------------------------------------
log "installing CRDs from $IMAAS_TOOLS_DIR/crds"
"${KUBECTL[@]}" apply --server-side -f "$IMAAS_TOOLS_DIR/crds" >"$STATE/logs/crds.log"
"${KUBECTL[@]}" wait --for condition=established --timeout 60s crd --all >>"$STATE/logs/crds.log"

# --- Pulumi ----------------------------------------------------------------------------
# A private PULUMI_HOME (plugins) and a file backend per sandbox. The Kubernetes
# provider is installed from the local build into the slot @pulumi/kubernetes asks for,
# so the CLI never tries to download it.
mkdir -p "$STATE/pulumi-home" "$STATE/pulumi-state"
if [[ -x "$BIN/pulumi" && -x "$BIN/pulumi-resource-kubernetes" ]]; then
  log "installing pulumi-resource-kubernetes as resource plugin kubernetes $PULUMI_K8S_VERSION"
  PULUMI_HOME="$STATE/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=1 \
    "$BIN/pulumi" plugin install resource kubernetes "$PULUMI_K8S_VERSION" \
    --file "$BIN/pulumi-resource-kubernetes" >"$STATE/logs/pulumi-plugin.log" 2>&1 \
    || die "pulumi plugin install failed: see $STATE/logs/pulumi-plugin.log"
else
  log "pulumi or pulumi-resource-kubernetes not built (e2e/tools/build.sh pulumi kubernetes-provider): skipping plugin install"
fi

cat > "$STATE/env.sh" <<EOF
# Generated by e2e/sandbox/up.sh: source it to use this sandbox.
export IMAAS_TOOLS_DIR="$IMAAS_TOOLS_DIR"
export IMAAS_SANDBOX_DIR="$STATE"
export PATH="$BIN:\$PATH"
export KUBECONFIG="$STATE/kubeconfig"
export IMAAS_SANDBOX_API="$API"
export IMAAS_SANDBOX_TOKEN_FILE="$STATE/admin.token"
export PULUMI_HOME="$STATE/pulumi-home"
export PULUMI_BACKEND_URL="file://$STATE/pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="\${PULUMI_CONFIG_PASSPHRASE-sandbox}"
export PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
EOF
log "up: kubeconfig $STATE/kubeconfig, API $API; use: source $STATE/env.sh"
