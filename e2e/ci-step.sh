#!/usr/bin/env bash
# Sourced by e2e/ci.sh; tested by test/ci/step-limit.test.ts.
declare -a timings=()
# step NAME LIMIT_SECONDS COMMAND...: runs COMMAND (a program or a function of this script) with a time
# limit, so a step that never ends (a test that leaves a server open keeps mocha alive) fails the run
# with its name instead of hanging CI. The limits are several times a warm run's; `tools` covers a cold build.
# timeout(1) signals the step's whole process group; IMAAS_CI_STEP_LIMIT_SCALE multiplies every limit.
step() {
  local name="$1" limit="$2"; shift 2
  limit=$(( limit * ${IMAAS_CI_STEP_LIMIT_SCALE:-1} ))
  printf '\n== %s  (%s, limit %d s)\n' "$name" "$(date -u +%H:%M:%S)" "$limit"
  local t=$SECONDS rc=0
  timeout --kill-after=30 "$limit" bash -c '"$@"' _ "$@" || rc=$?
  timings+=("$(printf '%-28s %4d s' "$name" $((SECONDS - t)))")
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    printf 'e2e step "%s" exceeded its limit of %d s and was stopped (exit %d): a process it started did not end\n' \
      "$name" "$limit" "$rc" >&2
  fi
  return "$rc"
}
