/**
 * The secrets Alertmanager's receivers read as files: per owner (a tenant, or `platform`) one Secret with
 * its webhook URLs, filled by External Secrets from the owner's `<owner>/alerts` entry in the secret store,
 * and the SMTP password from `imaas:alertmanagerSmtpPassword`. The store in the observability namespace
 * can read only `*\/alerts` entries (one Vault policy per cluster); tenants write their URLs there and
 * never put one in a tenant file.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import {
  alertingVaultRoleName,
  alertWebhooksSecretName,
  alertWebhooksStorePath,
  OBSERVABILITY_OBJECTS,
} from "../../model/naming";
import type { ClusterConfig, PlatformConfig } from "../../model/platform-config";
import type { PlatformContext } from "../shared/context";
import { requireSecret } from "../shared/context";
import { platformLabels } from "../shared/labels";
import { vaultAuthMount, vaultStoreProvider } from "../shared/vault";
import { type AlertingInput, webhookOwners } from "./alerting";

/** A destination that cannot be delivered with the platform's settings. */
export class AlertSecretsError extends Error {}

/** Vault policy (HCL): read every owner's `alerts` entry (KV v2), nothing else. */
export function alertingVaultPolicy(kvMount: string): string {
  return [
    "# IMaaS: Alertmanager reads the alert webhook URLs of every tenant and of the platform, nothing else.",
    `path "${kvMount}/data/+/alerts" {`,
    `  capabilities = ["read"]`,
    `}`,
    "",
  ].join("\n");
}

export function alertingSecretStoreManifest(cfg: PlatformConfig, cluster: ClusterConfig) {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "SecretStore",
    metadata: {
      name: OBSERVABILITY_OBJECTS.alertingSecretStore,
      namespace: cfg.observability.namespace,
      labels: platformLabels("observability"),
    },
    spec: {
      provider: vaultStoreProvider(
        cfg,
        cluster,
        alertingVaultRoleName(cluster.name),
        OBSERVABILITY_OBJECTS.alertingSecretReader,
      ),
    },
  };
}

/** One owner's webhook URLs: each webhook name is a property of `<owner>/alerts` and a key of the Secret. */
export function alertWebhooksExternalSecret(namespace: string, owner: string, webhooks: readonly string[]) {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata: {
      name: alertWebhooksSecretName(owner),
      namespace,
      labels: platformLabels("observability"),
    },
    spec: {
      refreshInterval: "1h",
      secretStoreRef: { kind: "SecretStore", name: OBSERVABILITY_OBJECTS.alertingSecretStore },
      target: { name: alertWebhooksSecretName(owner), creationPolicy: "Owner", deletionPolicy: "Retain" },
      data: webhooks.map((w) => ({
        secretKey: w,
        remoteRef: { key: alertWebhooksStorePath(owner), property: w },
      })),
    },
  };
}

/**
 * Creates what the receivers' files need; returns the resources Alertmanager should wait for. Refuses
 * webhooks when the platform runs without a secret store (the URL would have nowhere to come from).
 */
export function createAlertSecrets(
  name: string,
  cluster: ClusterConfig,
  ctx: PlatformContext,
  alerting: AlertingInput,
  provider: k8s.Provider,
  parent: pulumi.Resource,
  dependsOn: pulumi.Resource[],
): pulumi.Resource[] {
  const cfg = ctx.config;
  const namespace = cfg.observability.namespace;
  const opts = { parent, provider, dependsOn };
  const created: pulumi.Resource[] = [];
  const owners = webhookOwners(alerting);
  if (owners.length > 0) {
    if (!cfg.secrets.enabled) {
      throw new AlertSecretsError(
        `alert webhooks of ${owners.map((o) => o.owner).join(", ")} need the secret store: set imaas:secrets.enabled (the URLs live in <owner>/alerts)`,
      );
    }
    const reader = new k8s.core.v1.ServiceAccount(
      `${name}-alerting-secrets-reader`,
      {
        metadata: {
          name: OBSERVABILITY_OBJECTS.alertingSecretReader,
          namespace,
          labels: platformLabels("observability"),
        },
        automountServiceAccountToken: false,
      },
      opts,
    );
    const storeDeps: pulumi.Resource[] = [reader, ...dependsOn];
    if (ctx.providers.vault) {
      const vopts = { parent, provider: ctx.providers.vault };
      const policy = new vault.Policy(
        `${name}-alerting-vault-policy`,
        { name: alertingVaultRoleName(cluster.name), policy: alertingVaultPolicy(cfg.secrets.vault.kvMount) },
        vopts,
      );
      storeDeps.push(
        new vault.kubernetes.AuthBackendRole(
          `${name}-alerting-vault-role`,
          {
            backend: vaultAuthMount(cfg, cluster),
            roleName: alertingVaultRoleName(cluster.name),
            boundServiceAccountNames: [OBSERVABILITY_OBJECTS.alertingSecretReader],
            boundServiceAccountNamespaces: [namespace],
            tokenPolicies: [policy.name],
            tokenTtl: 3600,
            tokenMaxTtl: 14400,
          },
          vopts,
        ),
      );
    }
    const store = new k8s.apiextensions.CustomResource(
      `${name}-alerting-secret-store`,
      alertingSecretStoreManifest(cfg, cluster),
      { ...opts, dependsOn: storeDeps },
    );
    for (const o of owners) {
      created.push(
        new k8s.apiextensions.CustomResource(
          `${name}-alerts-${o.owner}`,
          alertWebhooksExternalSecret(namespace, o.owner, o.webhooks),
          { ...opts, dependsOn: [store] },
        ),
      );
    }
  }
  if (alerting.smtp?.authUsername) {
    const password = requireSecret(
      ctx,
      "alertmanagerSmtpPassword",
      "imaas:observability.alerting.smtp.authUsername",
    );
    created.push(
      new k8s.core.v1.Secret(
        `${name}-alertmanager-smtp`,
        {
          metadata: {
            name: OBSERVABILITY_OBJECTS.alertmanagerSmtpSecret,
            namespace,
            labels: platformLabels("observability"),
          },
          stringData: { password },
        },
        opts,
      ),
    );
  }
  return created;
}
