#!/usr/bin/env bash
# Builds the real toolchain for the e2e tier from Go modules (no release downloads):
#   helm, pulumi (+ pulumi-language-nodejs), pulumi-resource-kubernetes,
#   kube-apiserver / kube-controller-manager / kube-scheduler, etcd, CRDs,
#   prometheus + promtool, alertmanager + amtool, prom-label-proxy, actionlint, luajit (Debian), otelcol-imaas,
#   Argo CD application-controller + repo-server + notifications controller, redis-server, PostgreSQL (Debian),
#   a node: containerd, runc, CNI plugins, catatonit, umoci, skopeo, busybox (Debian), kubelet, kube-proxy.
#   kube-network-policies (NetworkPolicy on real packets; patched for kernels without nft_queue).
#
# Usage: e2e/tools/build.sh [TOOL...]     (default: all, in the order below)
#   TOOL: helm pulumi kubernetes-provider kube etcd crds argocd redis postgres prometheus alertmanager prom-label-proxy actionlint lua otelcol node
#         kube-network-policies
#
#        e2e/tools/build.sh --download   (fetch every wrapper module's Go modules, build nothing)
#
# Output: ${IMAAS_TOOLS_DIR:-$HOME/.cache/imaas-tools}/bin/<binary>, CRDs in .../crds/.
# Idempotent: a tool is skipped while its stamp (.../stamps/<tool>) matches the
# pinned version and the wrapper module's files; delete the stamp to force a rebuild.
# Several runs at once are safe (e2e/ci.sh builds the later suites' tools in the background while the
# first suites run, and each suite asks for its own tools): a tool is built under a lock of its own, so a
# second run waits for the first's build of that tool and then finds it up to date, and apt-get runs one
# at a time. IMAAS_BUILD_NICE sets the builds' nice level (default 10).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAAS_TOOLS_DIR="${IMAAS_TOOLS_DIR:-$HOME/.cache/imaas-tools}"
BIN="$IMAAS_TOOLS_DIR/bin"
STAMPS="$IMAAS_TOOLS_DIR/stamps"
mkdir -p "$BIN" "$STAMPS"

export PATH="/usr/local/go/bin:$PATH"
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -trimpath"
NICE=(nice -n "${IMAAS_BUILD_NICE:-10}")

# Pinned versions. The wrapper modules under e2e/tools/<tool>/ pin the same ones.
HELM_VERSION=v3.22.0
PULUMI_VERSION=v3.248.0          # matches @pulumi/pulumi in package.json
PULUMI_K8S_VERSION=v4.34.2       # matches @pulumi/kubernetes in package.json
KUBE_VERSION=v1.33.13
PROMETHEUS_VERSION=v0.316.0      # the Go module version of Prometheus 3.16.0
PROMETHEUS_APP_VERSION=3.16.0
ALERTMANAGER_VERSION=v0.35.0
PROM_LABEL_PROXY_VERSION=v0.11.1
ACTIONLINT_VERSION=v1.7.12
OTELCOL_VERSION=v0.149.0         # = OTEL_COLLECTOR_VERSION in components/observability/values/otel-collector.ts
ARGOCD_VERSION=v3.2.11           # matches e2e/tools/argocd/go.mod; its CRDs below are the same release
KNP_VERSION=v0.8.0               # sigs.k8s.io/kube-network-policies; matches e2e/tools/kube-network-policies/go.mod
ALL_TOOLS=(helm pulumi kubernetes-provider kube etcd crds argocd redis postgres prometheus alertmanager prom-label-proxy actionlint lua otelcol node kube-network-policies)

log() { printf '%s [build] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# stamp_key TOOL VERSION: the version plus a hash of the tool's wrapper module and of
# its build function in this script, so editing either rebuilds that tool only.
stamp_key() {
  local tool="$1" version="$2"
  printf '%s %s\n' "$version" "$( { declare -f "build_${tool//-/_}"
    [[ ! -d "$HERE/$tool" ]] || find "$HERE/$tool" -type f -print0 | LC_ALL=C sort -z | xargs -0 cat; } \
    | sha256sum | cut -c1-16)"
}
# up_to_date TOOL VERSION BINARY...: true if the stamp matches and all outputs exist.
up_to_date() {
  local tool="$1" version="$2"; shift 2
  [[ -f "$STAMPS/$tool" && "$(cat "$STAMPS/$tool")" == "$(stamp_key "$tool" "$version")" ]] || return 1
  local f; for f in "$@"; do [[ -e "$f" ]] || return 1; done
}
write_stamp() { stamp_key "$1" "$2" > "$STAMPS/$1"; }

# apt_install TOOL PACKAGE...: Debian packages for TOOL, one apt-get at a time across concurrent runs.
apt_install() {
  local tool="$1"; shift
  command -v apt-get >/dev/null || die "$tool: Debian's $* missing and no apt-get"
  [[ $(id -u) -eq 0 ]] || die "$tool: run as root (or install Debian's $* yourself)"
  log "  apt-get install $*"
  (
    flock 9
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  ) 9>"$STAMPS/.apt.lock" || die "$tool: apt-get install $* failed"
}

# go_build WRAPPER_DIR PACKAGE OUTPUT [LDFLAGS]: builds PACKAGE in the wrapper module's
# context (so its requires and replaces apply) into OUTPUT, atomically.
go_build() {
  local dir="$1" pkg="$2" out="$3" ldflags="${4:-}"
  log "  go build $pkg -> $out"
  # A temp name of this run's own: two builds of one tool (two checkouts) never move each other's file.
  local tmp="$out.tmp.$$"
  (cd "$dir" && "${NICE[@]}" go build -gcflags=all=-dwarf=false -ldflags "-s -w $ldflags" -o "$tmp" "$pkg") || { rm -f "$tmp"; return 1; }
  mv -f "$tmp" "$out"
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

build_pulumi() {
  local v="$PULUMI_VERSION"
  up_to_date pulumi "$v" "$BIN/pulumi" && { log "pulumi $v: up to date"; return; }
  go_build "$HERE/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$BIN/pulumi" \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v"
  local got; got="$(PULUMI_SKIP_UPDATE_CHECK=1 "$BIN/pulumi" version)"
  [[ "$got" == "$v" ]] || die "pulumi reports $got, expected $v"
  write_stamp pulumi "$v"
}

# Our own small Node.js language host (upstream's module is not served here); the CLI
# finds it next to its own binary.
build_pulumi_language_nodejs() {
  local v="$PULUMI_VERSION-imaas"
  up_to_date pulumi-language-nodejs "$v" "$BIN/pulumi-language-nodejs" \
    && { log "pulumi-language-nodejs $v: up to date"; return; }
  go_build "$HERE/pulumi-language-nodejs" . "$BIN/pulumi-language-nodejs" "-X main.version=${v#v}"
  write_stamp pulumi-language-nodejs "$v"
}

# The provider binary reports its true origin; the CLI is pointed at it under the
# version @pulumi/kubernetes requests (see the note in kubernetes-provider/go.mod).
build_kubernetes_provider() {
  local v="$PULUMI_K8S_VERSION" mod=github.com/pulumi/pulumi-kubernetes/provider/v4
  up_to_date kubernetes-provider "$v" "$BIN/pulumi-resource-kubernetes" \
    && { log "pulumi-resource-kubernetes (for $v): up to date"; return; }
  local dir="$HERE/kubernetes-provider" pv moddir work
  pv="$(cd "$dir" && go list -m -f '{{.Version}}' "$mod")"
  local own="4.24.0+git.${pv##*-}"  # v4.0.0-20260115033456-f47bc2d6f199 is 4.24.0 plus unreleased commits
  moddir="$(cd "$dir" && go mod download -json "$mod" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -f "$moddir/cmd/pulumi-resource-kubernetes/schema.json" ]] || die "no schema.json in $moddir"
  # The embedded schema-embed.json and terraform-mapping-embed.json are generated in
  # the provider's repository, not shipped in its module zip, and the module cache is
  # read-only (and -overlay may not cover it): build from a writable copy of the module,
  # wired in by a replace in a scratch copy of the wrapper module.
  work="$IMAAS_TOOLS_DIR/src/kubernetes-provider"
  rm -rf "$work"; mkdir -p "$work"
  cp -r "$moddir" "$work/provider"; chmod -R u+w "$work/provider"
  cp "$dir"/go.mod "$dir"/go.sum "$dir"/tools.go "$work/"; cp -r "$dir/embed" "$work/"
  log "  generating schema-embed.json and terraform-mapping-embed.json"
  (cd "$work" && go mod edit -replace "$mod=./provider" \
    && go run ./embed "$own" provider/cmd/pulumi-resource-kubernetes provider/cmd/pulumi-resource-kubernetes)
  go_build "$work" "$mod/cmd/pulumi-resource-kubernetes" "$BIN/pulumi-resource-kubernetes" \
    "-X $mod/pkg/version.Version=$own"
  rm -rf "$work"
  write_stamp kubernetes-provider "$v"
}

KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
build_kube() {
  local v="$KUBE_VERSION" b minor
  local outs=(); for b in "${KUBE_BINARIES[@]}"; do outs+=("$BIN/$b"); done
  up_to_date kube "$v" "${outs[@]}" && { log "kubernetes $v: up to date"; return; }
  minor="$(cut -d. -f2 <<<"$v")"
  # Without a real version the binaries say v0.0.0 and clients (pulumi-kubernetes)
  # treat the cluster as pre-1.24.
  local ld="-X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1"
  ld+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  ld+=" -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1"
  ld+=" -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  for b in "${KUBE_BINARIES[@]}"; do
    go_build "$HERE/kube" "k8s.io/kubernetes/cmd/$b" "$BIN/$b" "$ld"
  done
  local got; got="$("$BIN/kube-apiserver" --version)"
  [[ "$got" == "Kubernetes $v" ]] || die "kube-apiserver reports '$got', expected 'Kubernetes $v'"
  write_stamp kube "$v"
}

# etcd: Debian's etcd-server package (3.4.23 on bookworm), linked into bin/.
build_etcd() {
  local v=debian-etcd-server
  if [[ ! -x /usr/bin/etcd ]]; then
    apt_install etcd etcd-server
  fi
  ln -sfn /usr/bin/etcd "$BIN/etcd"
  log "  $("$BIN/etcd" --version | head -1)"
}

# The sandbox's node (e2e/sandbox/parts/node.ts): Debian's containerd (CRI), runc, the CNI plugins, catatonit
# (the pause process), umoci and skopeo (local OCI images; the registry part uses them too) and busybox-static
# (the test images' userland), linked into bin/ (the CNI plugins stay in /usr/lib/cni); plus kubelet and
# kube-proxy from the kube wrapper module. A tool of its own rather than two more KUBE_BINARIES: the control
# plane's binaries are not rebuilt when the node changes, and suites without a node never build a kubelet. It
# builds in a scratch copy of the wrapper, so that what `go build -mod=mod` adds to go.sum for the node's extra
# packages stays out of e2e/tools/kube (which would rebuild the control plane), with k8s.io/kubernetes's own
# `godebug default=go1.24` (in a dependency's go.mod it does not apply; the main module must say it).
NODE_PACKAGES=(containerd runc containernetworking-plugins catatonit umoci skopeo busybox-static)
NODE_LINKS=(/usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/bin/ctr /usr/sbin/runc /usr/bin/catatonit
  /usr/bin/umoci /usr/bin/skopeo /bin/busybox)
NODE_BINARIES=(kubelet kube-proxy)
build_node() {
  local p missing=() f b
  for p in "${NODE_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] || missing+=("$p")
  done
  if ((${#missing[@]} > 0)); then
    apt_install node "${missing[@]}"
  fi
  for f in "${NODE_LINKS[@]}"; do
    [[ -x "$f" ]] || die "node: $f missing after installing ${NODE_PACKAGES[*]}"
    ln -sfn "$f" "$BIN/$(basename "$f")"
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] \
    || die "node: /usr/lib/cni lacks bridge, host-local or loopback (containernetworking-plugins)"
  log "  $("$BIN/containerd" --version), $("$BIN/runc" --version | head -1)"

  local v="$KUBE_VERSION" minor work
  v+=" kube-wrapper-$(cat "$HERE/kube/go.mod" "$HERE/kube/go.sum" | sha256sum | cut -c1-12)"
  local outs=(); for b in "${NODE_BINARIES[@]}"; do outs+=("$BIN/$b"); done
  up_to_date node "$v" "${outs[@]}" && { log "kubelet and kube-proxy $KUBE_VERSION: up to date"; return; }
  work="$IMAAS_TOOLS_DIR/src/kube-node"
  rm -rf "$work"; mkdir -p "$work"
  cp "$HERE/kube/go.mod" "$HERE/kube/go.sum" "$work/"
  (cd "$work" && go mod edit -godebug default=go1.24)
  minor="$(cut -d. -f2 <<<"$KUBE_VERSION")"
  local ld="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1"
  ld+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  ld+=" -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1"
  ld+=" -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  for b in "${NODE_BINARIES[@]}"; do go_build "$work" "k8s.io/kubernetes/cmd/$b" "$BIN/$b" "$ld"; done
  rm -rf "$work"
  local got; got="$("$BIN/kubelet" --version)"
  [[ "$got" == "Kubernetes $KUBE_VERSION" ]] || die "kubelet reports '$got', expected 'Kubernetes $KUBE_VERSION'"
  write_stamp node "$v"
}

# CRDs from the projects' own Go modules: "module@version path-in-module" per line.
CRDS=(
  "github.com/argoproj/argo-cd/v3@v3.2.11 manifests/crds/application-crd.yaml"
  "github.com/argoproj/argo-cd/v3@v3.2.11 manifests/crds/appproject-crd.yaml"
  "github.com/argoproj/argo-cd/v3@v3.2.11 manifests/crds/applicationset-crd.yaml"
  "github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"
  "github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml"
  "github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
  "github.com/external-secrets/external-secrets@v0.16.2 config/crds/bases/external-secrets.io_secretstores.yaml"
  "github.com/external-secrets/external-secrets@v0.16.2 config/crds/bases/external-secrets.io_clustersecretstores.yaml"
  "github.com/external-secrets/external-secrets@v0.16.2 config/crds/bases/external-secrets.io_externalsecrets.yaml"
  "github.com/cert-manager/cert-manager@v1.21.2 deploy/crds/cert-manager.io_certificates.yaml"
  "github.com/cert-manager/cert-manager@v1.21.2 deploy/crds/cert-manager.io_issuers.yaml"
  "github.com/cert-manager/cert-manager@v1.21.2 deploy/crds/cert-manager.io_clusterissuers.yaml"
)
build_crds() {
  local v; v="$(printf '%s\n' "${CRDS[@]}" | sha256sum | cut -c1-12)"
  up_to_date crds "$v" "$IMAAS_TOOLS_DIR/crds" && { log "CRDs: up to date"; return; }
  local out="$IMAAS_TOOLS_DIR/crds" tmp entry mv path dir name
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' RETURN
  (cd "$tmp" && go mod init imaas.local/crds >/dev/null 2>&1)
  rm -rf "$out.new"; mkdir -p "$out.new"
  for entry in "${CRDS[@]}"; do
    read -r mv path <<<"$entry"
    dir="$(cd "$tmp" && go mod download -json "$mv" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [[ -f "$dir/$path" ]] || die "CRD $path not found in $mv"
    name="$(basename "$path")"; name="${name#*_}"; name="${name%-crd.yaml}"; name="${name%.yaml}"
    local prefix="${mv%@*}"; prefix="${prefix#github.com/}"; prefix="${prefix%%/*}"
    { echo "# Source: $mv $path"; cat "$dir/$path"; } > "$out.new/$prefix-$name.yaml"
    log "  $prefix-$name.yaml  <- $mv/$path"
  done
  rm -rf "$out"; mv "$out.new" "$out"
  write_stamp crds "$v"
}

# Argo CD's application-controller, repo-server and notifications controller (and argocd-git-ask-pass, which
# the repo-server runs as GIT_ASKPASS=argocd): one binary switched on its name, as upstream's cmd/main.go does.
ARGOCD_NAMES=(argocd-application-controller argocd-repo-server argocd-git-ask-pass argocd-notifications)
build_argocd() {
  local v="$ARGOCD_VERSION" n
  local outs=("$BIN/argocd"); for n in "${ARGOCD_NAMES[@]}"; do outs+=("$BIN/$n"); done
  up_to_date argocd "$v" "${outs[@]}" && { log "argocd $v: up to date"; return; }
  # Without the stamp the components report v99.99.99 (upstream prefixes the v; the commit is not
  # known from the module, so they log v3.2.11+unknown).
  go_build "$HERE/argocd" . "$BIN/argocd" "-X github.com/argoproj/argo-cd/v3/common.version=${v#v}"
  for n in "${ARGOCD_NAMES[@]}"; do ln -sfn argocd "$BIN/$n"; done
  local got; got="$(go version -m "$BIN/argocd" | awk '$2 == "github.com/argoproj/argo-cd/v3" { print $3 }')"
  [[ "$got" == "$v" ]] || die "bin/argocd is built from argo-cd $got, expected $v"
  write_stamp argocd "$v"
}

# redis-server for Argo CD's caches: Debian's package (7.0 on bookworm), linked into bin/. The
# sandbox runs its own instance on a private port (where apt starts services, Debian's own
# instance on 6379 may run too; the sandbox never uses it).
build_redis() {
  if [[ ! -x /usr/bin/redis-server ]]; then
    apt_install redis redis-server
  fi
  ln -sfn /usr/bin/redis-server "$BIN/redis-server"
  log "  $("$BIN/redis-server" --version)"
}

# PostgreSQL for the coordination databases (e2e/coordination): Debian's server (15 on bookworm), its
# postgres, initdb and pg_ctl linked into bin/. The suite runs a private cluster on a loopback port
# (where apt starts services, Debian's own cluster on 5432 may run too; the suite never uses it).
# The program talks to it with the `pg` npm package: @pulumi/postgresql's provider (Go module
# github.com/pulumi/pulumi-postgresql/provider/v3) is not served by the module proxy here (403 for every
# version, as is the upstream terraform provider), so it cannot be built (docs/coordination-db.md).
build_postgres() {
  local bindir
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [[ -z "$bindir" || ! -x "$bindir/postgres" ]]; then
    apt_install postgres postgresql
    bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  fi
  local b; for b in postgres initdb pg_ctl; do ln -sfn "$bindir/$b" "$BIN/$b"; done
  log "  $("$BIN/postgres" --version)"
}

# The telemetry suite's tools (npm run test:telemetry): Prometheus + promtool, Alertmanager + amtool,
# prom-label-proxy, actionlint, and Debian's LuaJIT for the Fluent Bit Lua filter.
# Prometheus's Go module versions are v0.<major><minor>.<patch> of release <major>.<minor>.<patch>.
# No service discovery is compiled in (remove_all_sd): the suite scrapes static loopback targets.
build_prometheus() {
  local v="$PROMETHEUS_VERSION" app="$PROMETHEUS_APP_VERSION" b
  up_to_date prometheus "$v" "$BIN/prometheus" "$BIN/promtool" && { log "prometheus $app: up to date"; return; }
  local ld="-X github.com/prometheus/common/version.Version=$app -X github.com/prometheus/common/version.Branch=HEAD"
  ld+=" -X github.com/prometheus/common/version.Revision=$v -X github.com/prometheus/common/version.BuildUser=imaas"
  for b in prometheus promtool; do
    GOFLAGS="$GOFLAGS -tags=remove_all_sd" go_build "$HERE/prometheus" "github.com/prometheus/prometheus/cmd/$b" "$BIN/$b" "$ld"
  done
  local got; got="$("$BIN/promtool" --version 2>&1 | head -1)"
  [[ "$got" == "promtool, version $app "* ]] || die "promtool reports '$got', expected $app"
  write_stamp prometheus "$v"
}

# Alertmanager's web UI assets (ui/app/dist, embedded) are built by npm upstream and are not in the module
# zip, so the build uses a writable copy of the module with a placeholder there (the UI is absent; the API
# under /api/v2 is complete), wired in by a replace in a scratch copy of the wrapper module.
build_alertmanager() {
  local v="$ALERTMANAGER_VERSION" mod=github.com/prometheus/alertmanager b
  up_to_date alertmanager "$v" "$BIN/alertmanager" "$BIN/amtool" && { log "alertmanager $v: up to date"; return; }
  local dir="$HERE/alertmanager" work="$IMAAS_TOOLS_DIR/src/alertmanager" moddir
  moddir="$(cd "$dir" && go mod download -json "$mod" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$moddir/ui" ]] || die "no ui/ in $moddir"
  rm -rf "$work"; mkdir -p "$work"
  cp -r "$moddir" "$work/alertmanager"; chmod -R u+w "$work/alertmanager"
  mkdir -p "$work/alertmanager/ui/app/dist"
  echo "Alertmanager's web UI is not built here (e2e/tools/build.sh); use the API under /api/v2." \
    > "$work/alertmanager/ui/app/dist/NOT-BUILT.txt"
  cp "$dir"/go.mod "$dir"/go.sum "$dir"/tools.go "$work/"
  (cd "$work" && go mod edit -replace "$mod=./alertmanager")
  local ld="-X github.com/prometheus/common/version.Version=${v#v} -X github.com/prometheus/common/version.Branch=HEAD"
  ld+=" -X github.com/prometheus/common/version.Revision=$v -X github.com/prometheus/common/version.BuildUser=imaas"
  for b in alertmanager amtool; do go_build "$work" "$mod/cmd/$b" "$BIN/$b" "$ld"; done
  rm -rf "$work"
  local got; got="$("$BIN/amtool" --version 2>&1 | head -1)"
  [[ "$got" == "amtool, version ${v#v} "* ]] || die "amtool reports '$got', expected ${v#v}"
  write_stamp alertmanager "$v"
}

build_prom_label_proxy() {
  local v="$PROM_LABEL_PROXY_VERSION"
  up_to_date prom-label-proxy "$v" "$BIN/prom-label-proxy" && { log "prom-label-proxy $v: up to date"; return; }
  go_build "$HERE/prom-label-proxy" github.com/prometheus-community/prom-label-proxy "$BIN/prom-label-proxy"
  "$BIN/prom-label-proxy" -h >/dev/null 2>&1 || die "prom-label-proxy -h failed"
  write_stamp prom-label-proxy "$v"
}

build_actionlint() {
  local v="$ACTIONLINT_VERSION"
  up_to_date actionlint "$v" "$BIN/actionlint" && { log "actionlint $v: up to date"; return; }
  go_build "$HERE/actionlint" github.com/rhysd/actionlint/cmd/actionlint "$BIN/actionlint" \
    "-X github.com/rhysd/actionlint.version=${v#v}"
  local got; got="$("$BIN/actionlint" -version | head -1)"
  [[ "$got" == "${v#v}" ]] || die "actionlint reports '$got', expected ${v#v}"
  write_stamp actionlint "$v"
}

# LuaJIT (the Lua Fluent Bit embeds), from Debian's luajit package, linked into bin/.
build_lua() {
  if [[ ! -x /usr/bin/luajit ]]; then
    apt_install lua luajit
  fi
  ln -sfn /usr/bin/luajit "$BIN/luajit"
  log "  $("$BIN/luajit" -v)"
}

# The test OpenTelemetry Collector: the builder-generated module in e2e/tools/otelcol (its builder-config.yaml
# says how it was generated), with exactly the components of the generated collector config at v0.149.0.
build_otelcol() {
  local v="$OTELCOL_VERSION"
  up_to_date otelcol "$v" "$BIN/otelcol-imaas" && { log "otelcol-imaas $v: up to date"; return; }
  go_build "$HERE/otelcol" . "$BIN/otelcol-imaas"
  local got; got="$("$BIN/otelcol-imaas" --version)"
  [[ "$got" == "otelcol-imaas version ${v#v}" ]] || die "otelcol-imaas reports '$got', expected ${v#v}"
  write_stamp otelcol "$v"
}

# kube-network-policies (the sandbox's `netpol` part): NetworkPolicy enforced on real packets by a
# userspace controller that nftables hands each new connection's first packet through NFQUEUE.
# As published (v0.8.0) it queues with nftables' native `queue` expression; this machine's kernel has no
# nft_queue (and loads no modules), so the kernel refuses the controller's whole rule set and it enforces
# nothing — silently, failing open. Of the two fixes measured here we patch (nfqueue-xt-target.patch,
# applied to a writable copy of the module): the xtables NFQUEUE target (nft_compat) in the controller's
# own table, rather than iptables-nft NFQUEUE rules beside the unpatched controller, because then the
# controller still owns all of its rules — only the pods its policies select are queued, its
# `ct established accept` and root-traffic exemptions stay in front, and its SIGINT cleanup removes
# everything — so the sandbox changes no host firewall state of its own that `down` must undo.
build_kube_network_policies() {
  local v="$KNP_VERSION" mod=sigs.k8s.io/kube-network-policies
  # Debian's nft: the part reads the controller's table (ready) and deletes one a killed controller left.
  if [[ ! -x /usr/sbin/nft ]]; then
    apt_install kube-network-policies nftables
  fi
  up_to_date kube-network-policies "$v" "$BIN/kube-network-policies" \
    && { log "kube-network-policies $v: up to date"; return; }
  local dir="$HERE/kube-network-policies" work="$IMAAS_TOOLS_DIR/src/kube-network-policies" moddir
  moddir="$(cd "$dir" && go mod download -json "$mod" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [[ -f "$moddir/pkg/networkpolicy/controller.go" ]] || die "no pkg/networkpolicy/controller.go in $moddir"
  rm -rf "$work"; mkdir -p "$work"
  cp -r "$moddir" "$work/kube-network-policies"; chmod -R u+w "$work/kube-network-policies"
  (cd "$work/kube-network-policies" && patch -p1 --forward --quiet < "$dir/nfqueue-xt-target.patch") \
    || die "nfqueue-xt-target.patch does not apply to $mod $v"
  cp "$dir"/go.mod "$dir"/go.sum "$dir"/tools.go "$work/"
  (cd "$work" && go mod edit -replace "$mod=./kube-network-policies")
  go_build "$work" "$mod/cmd" "$BIN/kube-network-policies"
  rm -rf "$work"
  local usage; usage="$("$BIN/kube-network-policies" -h 2>&1 || true)"
  [[ "$usage" == *"-nfqueue-id"* ]] || die "bin/kube-network-policies -h does not list -nfqueue-id: $usage"
  write_stamp kube-network-policies "$v"
}

# --download: every wrapper module's Go modules into the module cache, in build order, building nothing —
# mostly network, so it can run beside a build (the Go module cache takes its own locks).
if [[ "${1:-}" == --download ]]; then
  start=$SECONDS
  for dir in helm pulumi pulumi-language-nodejs kubernetes-provider kube argocd prometheus alertmanager \
    prom-label-proxy actionlint otelcol kube-network-policies; do
    (cd "$HERE/$dir" && "${NICE[@]}" go mod download) || log "go mod download in e2e/tools/$dir failed (its build fetches what it needs)"
  done
  log "modules downloaded in $((SECONDS - start))s"
  exit 0
fi

tools=("$@"); [[ ${#tools[@]} -gt 0 ]] || tools=("${ALL_TOOLS[@]}")
for t in "${tools[@]}"; do
  # One build of a tool at a time (another run may be building it): wait, then find it up to date.
  exec 8>"$STAMPS/.lock-$t"
  if ! flock -n 8; then
    log "== $t: another run is building it; waiting"
    flock 8
  fi
  start=$SECONDS
  log "== $t"
  case "$t" in
    helm) build_helm ;;
    pulumi) build_pulumi; build_pulumi_language_nodejs ;;
    kubernetes-provider) build_kubernetes_provider ;;
    kube) build_kube ;;
    etcd) build_etcd ;;
    crds) build_crds ;;
    prometheus) build_prometheus ;;
    alertmanager) build_alertmanager ;;
    prom-label-proxy) build_prom_label_proxy ;;
    actionlint) build_actionlint ;;
    lua) build_lua ;;
    otelcol) build_otelcol ;;
    argocd) build_argocd ;;
    redis) build_redis ;;
    postgres) build_postgres ;;
    kube-network-policies) build_kube_network_policies ;;
    node) build_node ;;
    *) die "unknown tool '$t' (known: ${ALL_TOOLS[*]})" ;;
  esac
  log "== $t done in $((SECONDS - start))s"
  exec 8>&-
done
log "binaries in $BIN"
