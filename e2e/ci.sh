#!/usr/bin/env bash
# CI for the real-engine tier: build the tools (cold: from empty Go caches, tens of minutes and ~15 GB of
# caches — docs/verification.md has the measured figures; warm: seconds), then every real-engine suite, each
# under a time limit, with timings.
# Meant to run after `npm ci` (it uses node_modules), e.g. from .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
export IMAAS_TOOLS_DIR="${IMAAS_TOOLS_DIR:-$HOME/.cache/imaas-tools}"

# step NAME LIMIT_SECONDS COMMAND... (e2e/ci-step.sh): each step with a time limit and its timing.
source e2e/ci-step.sh
report() {
  local rc=$?
  printf '\n== e2e timings\n'
  for t in "${timings[@]}"; do printf '  %s\n' "$t"; done
  printf '  %-28s %4d s (exit %d)\n' total "$SECONDS" "$rc"
}
trap report EXIT

bash e2e/preflight.sh

step "tools (e2e/tools/build.sh)" 4500 bash e2e/tools/build.sh
step "npm run test:chart" 600 npm run test:chart
step "npm run test:telemetry (promtool, amtool, otelcol validate, actionlint, Alertmanager, Prometheus + prom-label-proxy, LuaJIT)" 900 npm run test:telemetry
# the command of `npm run test:e2e` (so this works before package.json names it)
step "test:e2e (lifecycle)" 1800 npx mocha 'e2e/lifecycle/**/*.test.ts'
step "npm run test:gitops (the real Argo CD v3.2.11 on the local Git world)" 1800 npx mocha 'e2e/gitops/**/*.test.ts'

# The guard rails (admission policies, RBAC escalation, Pod Security) against a real API server, in a
# sandbox of their own; skipped in plain `npm test`, required here.
guard_rails() {
  local dir rc=0
  dir="$(mktemp -d /tmp/imaas-guardrails-XXXXXX)"
  IMAAS_SANDBOX_DIR="$dir" bash e2e/sandbox/up.sh || rc=$?
  if [[ $rc -eq 0 ]]; then
    IMAAS_ADMISSION_SANDBOX="$dir" npx mocha --forbid-pending test/components/tenant-space/admission.sandbox.test.ts || rc=$?
  fi
  IMAAS_SANDBOX_DIR="$dir" bash e2e/sandbox/down.sh >/dev/null 2>&1 || true
  rm -rf "$dir"
  return "$rc"
}
export -f guard_rails
step "guard rails on a real API server" 900 guard_rails
step "imaas deploy with the real engine (tenant stacks in parallel)" 900 npx mocha e2e/deploy.test.ts
step "registry robot rotation with the real engine (fake Harbor)" 600 npx mocha e2e/registry/rotation.test.ts
step "coordination databases with the real engine (Debian PostgreSQL)" 600 npx mocha --forbid-pending e2e/coordination/coordination.test.ts
step "npm run test:dataplane (real pods on a sandbox node: packets, rollout, rings, promotion gate)" 3600 npm run test:dataplane
step "npm run test:security (multi-tenancy benchmark)" 1800 npx tsx e2e/security/run.ts
