#!/usr/bin/env bash
# Preflight of the real-engine tier: warns when a cold tool build lacks disk room. Never fails a run:
# on a fresh machine the Go caches ($(go env GOCACHE), GOMODCACHE), ~/.cache and the tool folder do not
# exist yet, so every path is measured at its nearest existing ancestor.
# Tested by test/ci/fresh-machine.test.ts with caches and HOME that do not exist.
set -euo pipefail
IMAAS_TOOLS_DIR="${IMAAS_TOOLS_DIR:-$HOME/.cache/imaas-tools}"

# free_kb PATH: free kilobytes on the file system that holds PATH, or that would hold it once created.
free_kb() {
  local p="$1"
  while [[ -n "$p" && "$p" != "/" && ! -e "$p" ]]; do p="$(dirname "$p")"; done
  df -Pk "${p:-/}" 2>/dev/null | awk 'NR==2 {print $4}' || true
}

gocache="$(go env GOCACHE 2>/dev/null || true)"
avail_kb="$(free_kb "${gocache:-$HOME}")"
# A cold build needs room for the Go module and build caches (about 7 + 12 GB, measured) and the binaries.
if [[ "$avail_kb" =~ ^[0-9]+$ && "$avail_kb" -lt $((21 * 1024 * 1024)) && ! -x "$IMAAS_TOOLS_DIR/bin/kube-apiserver" ]]; then
  echo "warning: $((avail_kb / 1024 / 1024)) GB free; a cold tool build needs about 21 GB" >&2
fi
# Debian's PostgreSQL (the coordination-database suite): build.sh installs it with apt-get, which needs root.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && [[ $(id -u) -ne 0 ]]; then
  echo "warning: Debian's postgresql is not installed and only root can apt-get it; e2e/tools/build.sh postgres will stop (run: sudo apt-get install postgresql)" >&2
fi
echo "preflight: GOCACHE=${gocache:-unset} ($( [[ -d "$gocache" ]] && echo present || echo 'not created yet')), tools in $IMAAS_TOOLS_DIR ($( [[ -d "$IMAAS_TOOLS_DIR" ]] && echo present || echo 'not created yet')), ${avail_kb:-?} kB free"
