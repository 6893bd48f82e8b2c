#!/usr/bin/env bash
# npm run sandbox: the main job for real, without a cloud. Builds the tools if missing,
# starts the local control plane (idempotent), the local Git world, Redis and Argo CD's
# application-controller + repo-server (e2e/sandbox/parts/), creates the argocd namespace (the
# Argo CD Helm install is off in the sandbox stack; its AppProjects and Applications live there), then
# selects or creates stack `sandbox` (Pulumi.sandbox.yaml) on the sandbox's file backend
# and runs `pulumi up --yes` on tenants/ (or $IMAAS_TENANTS_DIR).
#
#   npm run sandbox                 # or: bash e2e/sandbox/run.sh [extra pulumi up flags]
#   IMAAS_SANDBOX_DIR=/tmp/sb npm run sandbox      # another sandbox beside the default .sandbox
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export IMAAS_SANDBOX_DIR="${IMAAS_SANDBOX_DIR:-$REPO/.sandbox}"
STACK=sandbox

log() { printf '%s [sandbox] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

start=$SECONDS
[[ -d "$REPO/node_modules/@pulumi/pulumi" ]] || { log "npm ci first (node_modules missing)"; exit 1; }
"$REPO/e2e/tools/build.sh"   # every tool; under a second when the cache is warm
# The control plane (up.sh), the local Git world standing in for GitHub, Redis and Argo CD
# (application-controller + repo-server), the loopback registry with the stand-in images, one real
# node (containerd, kubelet, kube-proxy) and kube-network-policies enforcing the tenants' NetworkPolicies,
# through the orchestrator (e2e/sandbox/parts/).
"$REPO/node_modules/.bin/tsx" "$HERE/parts/cli.ts" start argocd registry node netpol
# shellcheck disable=SC1091
source "$IMAAS_SANDBOX_DIR/env.sh"

kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: argocd
YAML
log "namespace argocd: ok"

cd "$REPO"
pulumi stack select --create "$STACK" >/dev/null
# The sandbox's own copy of Pulumi.sandbox.yaml, with github.urlBase and argocd.platformRepo pointing
# at the local Git world (written by the git part).
CONFIG_FILE="$IMAAS_SANDBOX_DIR/Pulumi.$STACK.yaml"
log "stack $STACK on $PULUMI_BACKEND_URL; tenants from ${IMAAS_TENANTS_DIR:-tenants/}; config $CONFIG_FILE"
pulumi up --yes --stack "$STACK" --config-file "$CONFIG_FILE" --skip-preview "$@"

# cert-manager is off in the sandbox stack: stand-in keystore Secrets for the services' Certificates, so
# their pods can start (e2e/dataplane/standin.ts; said plainly in e2e/README.md).
"$REPO/node_modules/.bin/tsx" "$REPO/e2e/dataplane/standin.ts" keystores

# The node runs what Argo CD synced: wait (bounded) for the tenants' pods, then show them.
tenant_ns() { kubectl get ns -l imaas.io/tenant -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }
pods_wait="${IMAAS_SANDBOX_POD_WAIT:-180}"
deadline=$((SECONDS + pods_wait))
while ((SECONDS < deadline)); do
  pending=0 total=0
  for ns in $(tenant_ns); do
    # name=True|False, or name= for a pod not scheduled yet (no Ready condition)
    while IFS== read -r name ready; do
      [[ -n "$name" ]] || continue
      total=$((total + 1)); [[ "$ready" == True ]] || pending=$((pending + 1))
    done < <(kubectl get pods -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
  done
  ((total > 0 && pending == 0)) && break
  sleep 5
done
log "tenant pods: $((total - pending)) of $total Ready (waited up to ${pods_wait} s; IMAAS_SANDBOX_POD_WAIT)"
echo
kubectl get nodes -o wide
echo
for ns in $(tenant_ns); do
  out="$(kubectl get pods -n "$ns" -o wide 2>/dev/null)"
  [[ -z "$out" ]] || printf '%s\n%s\n\n' "== $ns" "$out"
done
svc_ns=""
for ns in $(tenant_ns); do
  svc="$(kubectl get svc -n "$ns" -o jsonpath='{.items[0].metadata.name}' 2>/dev/null || true)"
  [[ -z "$svc" ]] || { svc_ns="$ns svc/$svc"; break; }
done

cat <<DONE

Done in $((SECONDS - start)) s. The platform runs in a local control plane:
  source $IMAAS_SANDBOX_DIR/env.sh        # KUBECONFIG=$KUBECONFIG, PATH with kubectl and pulumi
  kubectl get ns -l imaas.io/tenant --show-labels
  kubectl get resourcequota,limitrange,networkpolicy,role,rolebinding,serviceaccount -n payroll-dev
  kubectl get appprojects,applications -n argocd   # Argo CD syncs them from the local Git world
  kubectl get validatingadmissionpolicies
  npm run sandbox                                 # again after editing tenants/*.yaml
New service repos got CI's first build (image.tag \${IMAAS_SANDBOX_FIRST_TAG-0.1.0-sandbox} merged up every
branch); push to them as CI would: e2e/README.md (GitOps). Pods run on the sandbox's node (containerd +
kubelet, node 127.0.0.1; pod addresses 10.244.0.0/24) from the loopback registry's STAND-IN MI image (not MI).
Call a service from this machine (kubectl port-forward through the kubelet), e.g.:
  kubectl -n ${svc_ns%% *} port-forward ${svc_ns#* } 18290:8290 &  curl -s localhost:18290/ ; kill %1
Stop it with: npm run sandbox:down   (IMAAS_SANDBOX_DIR=$IMAAS_SANDBOX_DIR)
DONE
