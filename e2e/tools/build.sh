#!/usr/bin/env bash
# Builds the real toolchain for the e2e tier from Go modules (no release downloads):
#   helm, pulumi (+ pulumi-language-nodejs), pulumi-resource-kubernetes,
#   kube-apiserver / kube-controller-manager / kube-scheduler, etcd, CRDs.
#
# Usage: e2e/tools/build.sh [TOOL...]     (default: all, in the order below)
#   TOOL: helm pulumi kubernetes-provider kube etcd crds
#
# Output: ${IMAAS_TOOLS_DIR:-$HOME/.cache/imaas-tools}/bin/<binary>, CRDs in .../crds/.
# Idempotent: a tool is skipped while its stamp (.../stamps/<tool>) matches the
# pinned version and the wrapper module's files; delete the stamp to force a rebuild.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAAS_TOOLS_DIR="${IMAAS_TOOLS_DIR:-$HOME/.cache/imaas-tools}"
BIN="$IMAAS_TOOLS_DIR/bin"
STAMPS="$IMAAS_TOOLS_DIR/stamps"
mkdir -p "$BIN" "$STAMPS"

export PATH="/usr/local/go/bin:$PATH"
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -trimpath"
NICE=(nice -n 10)

# Pinned versions. The wrapper modules under e2e/tools/<tool>/ pin the same ones.
HELM_VERSION=v3.22.0
PULUMI_VERSION=v3.248.0          # matches @pulumi/pulumi in package.json
PULUMI_K8S_VERSION=v4.34.2       # matches @pulumi/kubernetes in package.json
KUBE_VERSION=v1.33.13
ALL_TOOLS=(helm pulumi kubernetes-provider kube etcd crds)

log() { printf '%s [build] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# stamp_key TOOL VERSION: the version plus a hash of the tool's wrapper module and of
# its build function in this script, so editing either rebuilds that tool only.
stamp_key() {
  local tool="$1" version="$2"
  printf '%s %s\n' "$version" "$( { declare -f "build_${tool//-/_}"; [[ ! -d "$HERE/$tool" ]] || cat "$HERE/$tool"/*; } \
    | sha256sum | cut -c1-16)"
}
# up_to_date TOOL VERSION BINARY...: true if the stamp matches and all outputs exist.
up_to_date() {
  local tool="$1" version="$2"; shift 2
  [[ -f "$STAMPS/$tool" && "$(cat "$STAMPS/$tool")" == "$(stamp_key "$tool" "$version")" ]] || return 1
  local f; for f in "$@"; do [[ -e "$f" ]] || return 1; done
}
write_stamp() { stamp_key "$1" "$2" > "$STAMPS/$1"; }

# go_build WRAPPER_DIR PACKAGE OUTPUT [LDFLAGS]: builds PACKAGE in the wrapper module's
# context (so its requires and replaces apply) into OUTPUT, atomically.
go_build() {
  local dir="$1" pkg="$2" out="$3" ldflags="${4:-}"
  log "  go build $pkg -> $out"
  (cd "$dir" && "${NICE[@]}" go build -ldflags "-s -w $ldflags" -o "$out.tmp" "$pkg")
  mv -f "$out.tmp" "$out"
}

build_helm() {
  local v="$HELM_VERSION" k8s major minor
  up_to_date helm "$v" "$BIN/helm" && { log "helm $v: up to date"; return; }
  # Helm derives its default Kubernetes version (lint, template) from client-go's.
  k8s="$(cd "$HERE/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)"  # v0.MINOR.PATCH
  major=1; minor="$(cut -d. -f2 <<<"$k8s")"
  go_build "$HERE/helm" helm.sh/helm/v3/cmd/helm "$BIN/helm" \
    "-X helm.sh/helm/v3/internal/version.version=$v -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
     -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor \
     -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  local got; got="$("$BIN/helm" version --short)"
  [[ "$got" == "$v"* ]] || die "helm reports $got, expected $v"
  write_stamp helm "$v"
}

tools=("$@"); [[ ${#tools[@]} -gt 0 ]] || tools=("${ALL_TOOLS[@]}")
for t in "${tools[@]}"; do
  start=$SECONDS
  log "== $t"
  case "$t" in
    helm) build_helm ;;
    *) die "unknown tool '$t' (known: ${ALL_TOOLS[*]})" ;;
  esac
  log "== $t done in $((SECONDS - start))s"
done
log "binaries in $BIN"
