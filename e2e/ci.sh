#!/usr/bin/env bash
# CI for the real-engine tier: build the tools (cold: from empty Go caches, tens of minutes and ~21 GB of
# caches — docs/verification.md has the measured figures; warm: seconds), then every real-engine suite, each
# under a time limit, with timings.
# Meant to run after `npm ci` (it uses node_modules), e.g. from .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
export IMAAS_TOOLS_DIR="${IMAAS_TOOLS_DIR:-$HOME/.cache/imaas-tools}"

# The tools in two halves (see below): the first suites' and the later suites'.
FIRST_TOOLS=(kube etcd crds helm pulumi kubernetes-provider)
LATER_TOOLS=(argocd redis postgres prometheus alertmanager prom-label-proxy actionlint lua otelcol node kube-network-policies)
# --early-build: only build the first half (.ci/run starts it in the background before its own checks).
if [[ "${1:-}" == --early-build ]]; then
  exec bash e2e/tools/build.sh "${FIRST_TOOLS[@]}"
fi

# step NAME LIMIT_SECONDS COMMAND... (e2e/ci-step.sh): each step with a time limit and its timing.
source e2e/ci-step.sh
later_pid=""
later_log="$(mktemp /tmp/imaas-ci-later-tools-XXXXXX.log)"
report() {
  local rc=$?
  if [[ -n "$later_pid" ]] && kill -0 "$later_pid" 2>/dev/null; then
    kill -TERM -- "-$later_pid" 2>/dev/null || kill -TERM "$later_pid" 2>/dev/null || true
  fi
  printf '\n== e2e timings\n'
  for t in "${timings[@]}"; do printf '  %s\n' "$t"; done
  printf '  %-28s %4d s (exit %d)\n' total "$SECONDS" "$rc"
  if [[ -s "$later_log" ]]; then
    printf '\n== the background build of the later suites'"'"' tools (%s), last lines\n' "$later_log"
    tail -n 15 "$later_log"
  fi
}
trap report EXIT

bash e2e/preflight.sh

# The tools in two halves. The first suites (chart, lifecycle, guard rails, deploy, rotation) need the control
# plane, helm, the Pulumi CLI and the Kubernetes provider: built first, in the foreground. Every other tool is
# built in the background at the lowest priority while those suites run — they spend much of their time
# waiting (for processes to start, for pulumi, for sync intervals), which a cold build fills; warm, it is a
# second. Each later suite first asks build.sh for its own tools (a step of its own, so its wait shows): the
# per-tool locks make that wait for the background's build of the tool, or build it here if that failed.
# (From .ci/run, the first half has been building since it started: this step then waits for it.)
step "tools for the first suites (e2e/tools/build.sh ${FIRST_TOOLS[*]})" 4500 bash e2e/tools/build.sh "${FIRST_TOOLS[@]}"
# setsid: its own process group, stopped as a whole if CI ends first.
IMAAS_BUILD_NICE=19 setsid bash e2e/tools/build.sh "${LATER_TOOLS[@]}" >"$later_log" 2>&1 &
later_pid=$!
tools_step() { step "tools: $* (built in the background; waits for it)" 4500 bash e2e/tools/build.sh "$@"; }
step "npm run test:chart" 600 npm run test:chart
# the command of `npm run test:e2e` (so this works before package.json names it)
step "test:e2e (lifecycle)" 1800 npx mocha 'e2e/lifecycle/**/*.test.ts'

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

# The later suites, in the order the background builds their tools.
tools_step argocd redis
step "npm run test:gitops (the real Argo CD v3.2.11 on the local Git world)" 1800 npx mocha 'e2e/gitops/**/*.test.ts'
tools_step postgres
step "coordination databases with the real engine (Debian PostgreSQL)" 600 npx mocha --forbid-pending e2e/coordination/coordination.test.ts
tools_step prometheus alertmanager prom-label-proxy actionlint lua otelcol
step "npm run test:telemetry (promtool, amtool, otelcol validate, actionlint, Alertmanager, Prometheus + prom-label-proxy, LuaJIT)" 900 npm run test:telemetry
tools_step node kube-network-policies
step "npm run test:dataplane (real pods on a sandbox node: packets, rollout, rings, promotion gate)" 3600 npm run test:dataplane
step "npm run test:security (multi-tenancy benchmark)" 1800 npx tsx e2e/security/run.ts

# Everything is built by now; a failed background build was built again by its tools step (or failed it).
wait "$later_pid" 2>/dev/null || true
later_pid=""
