#!/usr/bin/env bash
# Restarts one process of a running sandbox (default kube-apiserver) with the command line
# up.sh started it with (run/NAME.cmd): SIGKILL if it is still alive, start again, wait
# until it is healthy. The e2e tests use it after killing the API server mid-update.
#   e2e/sandbox/restart.sh [kube-apiserver|etcd|kube-controller-manager|kube-scheduler]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
STATE="${IMAAS_SANDBOX_DIR:-$REPO/.sandbox}"
NAME="${1:-kube-apiserver}"

log() { printf '%s [sandbox] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=e2e/sandbox/lib.sh
source "$HERE/lib.sh"

[[ -d "$STATE" ]] || die "no sandbox in $STATE"
STATE="$(cd "$STATE" && pwd)"
[[ -f "$STATE/run/$NAME.cmd" ]] || die "$STATE/run/$NAME.cmd missing (sandbox started by an older up.sh?): run down.sh and up.sh"
# shellcheck disable=SC1091
source "$STATE/ports.env"

pid="$(cat "$STATE/run/$NAME.pid" 2>/dev/null || true)"
if is_ours "$pid"; then
  log "killing $NAME (pid $pid)"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do is_ours "$pid" || break; sleep 0.25; done
fi

mapfile -d '' cmd < "$STATE/run/$NAME.cmd"
start "$NAME" "${cmd[@]}"

TOKEN="$(cat "$STATE/admin.token")"
case "$NAME" in
  kube-apiserver)
    wait_for "kube-apiserver /readyz" "${IMAAS_SANDBOX_TIMEOUT:-120}" \
      curl -fsS --cacert "$STATE/pki/apiserver.crt" -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$API_PORT/readyz" ;;
  etcd) wait_for "etcd" 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health" ;;
  kube-controller-manager) wait_for "$NAME /healthz" 60 curl -fsSk "https://127.0.0.1:$CONTROLLER_MANAGER_PORT/healthz" ;;
  kube-scheduler) wait_for "$NAME /healthz" 60 curl -fsSk "https://127.0.0.1:$SCHEDULER_PORT/healthz" ;;
  *) die "unknown process $NAME" ;;
esac
log "$NAME restarted (pid $(cat "$STATE/run/$NAME.pid"))"
