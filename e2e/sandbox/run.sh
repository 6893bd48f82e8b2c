#!/usr/bin/env bash
# npm run sandbox: the main job for real, without a cloud. Builds the tools if missing,
# starts the local control plane (idempotent), creates the argocd namespace (the Argo CD
# install is off in the sandbox stack; its AppProjects and Applications live there), then
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
"$REPO/e2e/tools/build.sh"   # every tool; under a second when the cache is warm
"$HERE/up.sh"
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
[[ -d node_modules/@pulumi/pulumi ]] || { log "npm ci first (node_modules missing)"; exit 1; }
pulumi stack select --create "$STACK" >/dev/null
log "stack $STACK on $PULUMI_BACKEND_URL; tenants from ${IMAAS_TENANTS_DIR:-tenants/}"
pulumi up --yes --stack "$STACK" --skip-preview "$@"

cat <<DONE

Done in $((SECONDS - start)) s. The platform runs in a local control plane:
  source $IMAAS_SANDBOX_DIR/env.sh        # KUBECONFIG=$KUBECONFIG, PATH with kubectl and pulumi
  kubectl get ns -l imaas.io/tenant --show-labels
  kubectl get resourcequota,limitrange,networkpolicy,role,rolebinding,serviceaccount -n payroll-dev
  kubectl get appprojects,applications -n argocd
  kubectl get validatingadmissionpolicies
  pulumi stack --stack $STACK; pulumi up --stack $STACK     # after editing tenants/*.yaml
Stop it with: npm run sandbox:down   (IMAAS_SANDBOX_DIR=$IMAAS_SANDBOX_DIR)
DONE
