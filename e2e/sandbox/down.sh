#!/usr/bin/env bash
# Stops the sandbox started by up.sh (scheduler, controller-manager, apiserver, etcd)
# and removes its state directory; with KEEP_LOGS=1 only logs/ is kept.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
STATE="${IMAAS_SANDBOX_DIR:-$REPO/.sandbox}"

log() { printf '%s [sandbox] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=e2e/sandbox/lib.sh
source "$HERE/lib.sh"

[[ -d "$STATE" ]] || { log "nothing to stop: $STATE does not exist"; exit 0; }
STATE="$(cd "$STATE" && pwd)"
[[ -f "$STATE/ports.env" || -d "$STATE/run" ]] || die "$STATE does not look like a sandbox (no ports.env or run/): not touching it"

# Parts the orchestrator started beside the control plane (Argo CD, Redis, the local Git world:
# e2e/sandbox/parts/) stop first, through the same typed code that started them.
if [[ -d "$STATE/parts" && "${IMAAS_PARTS_STOPPED:-}" != 1 ]]; then
  IMAAS_SANDBOX_DIR="$STATE" "$REPO/node_modules/.bin/tsx" "$HERE/parts/cli.ts" stop \
    || log "stopping the sandbox parts failed (see above)"
fi

for name in kube-scheduler kube-controller-manager kube-apiserver etcd; do
  f="$STATE/run/$name.pid"
  [[ -f "$f" ]] || continue
  pid="$(cat "$f")"
  if is_ours "$pid"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do is_ours "$pid" || break; sleep 0.25; done
    if is_ours "$pid"; then log "$name did not stop in 15s: killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
done

# The node part keeps its record of the host (sysctls, iptables chains, paths it found) only while it has
# not restored it: removing the directory would lose what to restore. Keep it; down.sh again retries.
if [[ -f "$STATE/parts/node/host-state.json" ]]; then
  die "the node part did not restore the host (see above); kept $STATE for its record parts/node/host-state.json: fix the cause and run down.sh again"
fi

if [[ "${KEEP_LOGS:-}" == 1 ]]; then
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
  log "stopped; logs kept in $STATE/logs"
else
  rm -rf "$STATE"
  log "stopped; removed $STATE"
fi
