#!/usr/bin/env bash
# Checks a running sandbox (up.sh): admission (PodSecurity restricted refuses a
# privileged pod, admits a compliant one), the controller-manager (root CA config map,
# namespace deletion, garbage collection) and the installed CRDs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
STATE="${IMAAS_SANDBOX_DIR:-$REPO/.sandbox}"
[[ -f "$STATE/env.sh" ]] || { echo "no sandbox in $STATE: run e2e/sandbox/up.sh" >&2; exit 1; }
# shellcheck disable=SC1091
source "$STATE/env.sh"

NS="smoke-$RANDOM"
fails=0
ok() { printf 'ok    %s\n' "$*"; }
bad() { printf 'FAIL  %s\n' "$*"; fails=$((fails + 1)); }
k() { kubectl "$@"; }
trap 'k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true' EXIT

# The bare API with the admin token, no kubectl involved.
TOKEN="$(cat "$IMAAS_SANDBOX_TOKEN_FILE")"
version="$(curl -fsS --cacert "$STATE/pki/apiserver.crt" -H "Authorization: Bearer $TOKEN" "$IMAAS_SANDBOX_API/version")"
if grep -q '"gitVersion": "v1\.' <<<"$version"; then
  ok "GET /version with the admin token: $(grep gitVersion <<<"$version" | tr -d ' ,')"
else
  bad "GET /version: $version"
fi

k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
YAML
ok "namespace $NS created with PSA enforce=restricted"

out="$(k -n "$NS" apply -f - 2>&1 <<YAML || true
apiVersion: v1
kind: Pod
metadata:
  name: privileged
spec:
  containers:
  - name: c
    image: busybox
    securityContext:
      privileged: true
YAML
)"
if grep -q 'violates PodSecurity "restricted' <<<"$out"; then ok "privileged pod refused: ${out:0:110}..."; else bad "privileged pod not refused: $out"; fi

if k -n "$NS" apply -f - >/dev/null 2>&1 <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: restricted
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: c
    image: busybox
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
YAML
then ok "restricted-compliant pod admitted"; else bad "restricted-compliant pod refused"; fi

for _ in $(seq 1 40); do k -n "$NS" get configmap kube-root-ca.crt >/dev/null 2>&1 && break; sleep 0.5; done
if k -n "$NS" get configmap kube-root-ca.crt >/dev/null 2>&1; then ok "controller-manager published kube-root-ca.crt"; else bad "no kube-root-ca.crt in $NS"; fi

# Garbage collector: a ConfigMap owned by another is deleted with its owner.
k -n "$NS" create configmap owner >/dev/null
uid="$(k -n "$NS" get configmap owner -o jsonpath='{.metadata.uid}')"
k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: owned
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: "$uid"}]
YAML
k -n "$NS" delete configmap owner --cascade=foreground --timeout=30s >/dev/null
if k -n "$NS" wait --for=delete configmap/owned --timeout=30s >/dev/null 2>&1; then ok "garbage collector deleted a dependent"; else bad "dependent not garbage-collected"; fi

for crd in applications.argoproj.io appprojects.argoproj.io servicemonitors.monitoring.coreos.com \
  secretstores.external-secrets.io externalsecrets.external-secrets.io certificates.cert-manager.io; do
  if k get crd "$crd" >/dev/null 2>&1; then ok "CRD $crd"; else bad "CRD $crd missing"; fi
done
if k -n "$NS" apply -f - >/dev/null 2>&1 <<YAML
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: smoke
spec:
  sourceRepos: ["https://example.invalid/repo.git"]
  destinations: [{server: https://kubernetes.default.svc, namespace: $NS}]
YAML
then ok "AppProject created"; else bad "AppProject refused"; fi

if k delete namespace "$NS" --timeout=60s >/dev/null 2>&1; then ok "namespace deleted (namespace controller)"; else bad "namespace $NS not deleted in 60s"; fi

if ((fails > 0)); then echo "smoke: $fails check(s) failed"; exit 1; fi
echo "smoke: all checks passed"
