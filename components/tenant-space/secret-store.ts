/**
 * Per tenant and environment: a namespaced SecretStore whose credentials can read only the tenant's own
 * path in Vault (`<kvMount>/<tenant>/<env>/…`), and the Vault policy and Kubernetes-auth role that make
 * it so. The role is bound to one service account in one namespace; the policy grants read on one path
 * prefix. A tenant that points an ExternalSecret at another tenant's path gets a permission error from
 * Vault.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { Environment } from "../../model/environments";
import { namespaceName, TENANT_OBJECTS } from "../../model/naming";
import type { ClusterConfig, PlatformConfig } from "../../model/platform-config";
import { tenantLabels } from "../shared/labels";
import { vaultAuthMount, vaultStoreProvider } from "../shared/vault";

/** Name of the Vault policy and role of a tenant environment. */
export const vaultRoleName = (tenant: string, env: Environment): string => `imaas-${tenant}-${env}`;

/** The Vault policy (HCL): read the tenant environment's KV v2 entries, nothing else. */
export function vaultPolicyDocument(kvMount: string, tenant: string, env: Environment): string {
  const prefix = `${tenant}/${env}`;
  return [
    `# IMaaS: ${tenant} in ${env} reads its own secrets and nothing else.`,
    `path "${kvMount}/data/${prefix}/*" {`,
    `  capabilities = ["read"]`,
    `}`,
    `path "${kvMount}/metadata/${prefix}/*" {`,
    `  capabilities = ["read", "list"]`,
    `}`,
    "",
  ].join("\n");
}

export function secretStoreManifest(
  cfg: PlatformConfig,
  cluster: ClusterConfig,
  tenant: string,
  env: Environment,
) {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "SecretStore",
    metadata: {
      name: TENANT_OBJECTS.secretStore,
      namespace: namespaceName(tenant, env),
      labels: tenantLabels(tenant, env),
    },
    spec: {
      provider: vaultStoreProvider(cfg, cluster, vaultRoleName(tenant, env), TENANT_OBJECTS.secretReader),
    },
  };
}

export interface SecretStoreArgs {
  readonly name: string;
  readonly cfg: PlatformConfig;
  readonly cluster: ClusterConfig;
  readonly tenant: string;
  readonly env: Environment;
  readonly provider: k8s.Provider;
  /** Vault provider; undefined when the platform does not manage Vault (the admin creates policy and role). */
  readonly vaultProvider?: vault.Provider;
  readonly parent: pulumi.Resource;
  readonly dependsOn: pulumi.Resource[];
}

export function createSecretStore(a: SecretStoreArgs): k8s.apiextensions.CustomResource {
  const opts = { parent: a.parent, provider: a.provider, dependsOn: a.dependsOn };
  const labels = tenantLabels(a.tenant, a.env);
  const reader = new k8s.core.v1.ServiceAccount(
    `${a.name}-secrets-reader-${a.env}`,
    {
      metadata: { name: TENANT_OBJECTS.secretReader, namespace: namespaceName(a.tenant, a.env), labels },
      automountServiceAccountToken: false,
    },
    opts,
  );
  const dependsOn: pulumi.Resource[] = [reader, ...a.dependsOn];
  if (a.vaultProvider) {
    const vopts = { parent: a.parent, provider: a.vaultProvider };
    const policy = new vault.Policy(
      `${a.name}-vault-policy-${a.env}`,
      {
        name: vaultRoleName(a.tenant, a.env),
        policy: vaultPolicyDocument(a.cfg.secrets.vault.kvMount, a.tenant, a.env),
      },
      vopts,
    );
    dependsOn.push(
      new vault.kubernetes.AuthBackendRole(
        `${a.name}-vault-role-${a.env}`,
        {
          backend: vaultAuthMount(a.cfg, a.cluster),
          roleName: vaultRoleName(a.tenant, a.env),
          boundServiceAccountNames: [TENANT_OBJECTS.secretReader],
          boundServiceAccountNamespaces: [namespaceName(a.tenant, a.env)],
          tokenPolicies: [policy.name],
          tokenTtl: 3600,
          tokenMaxTtl: 14400,
        },
        vopts,
      ),
    );
  }
  return new k8s.apiextensions.CustomResource(
    `${a.name}-secret-store-${a.env}`,
    secretStoreManifest(a.cfg, a.cluster, a.tenant, a.env),
    { ...opts, dependsOn },
  );
}
