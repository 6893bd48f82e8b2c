/**
 * The Vault side of External Secrets, shared by the tenants' SecretStores (tenant-space/secret-store.ts)
 * and Alertmanager's (observability/alert-secrets.ts): one cluster's Kubernetes auth mount, and the
 * SecretStore provider that logs in there as one service account under one Vault role.
 */
import type { ClusterConfig, PlatformConfig } from "../../model/platform-config";

/** Vault Kubernetes auth mount of a cluster: `<authMountPrefix><cluster>`. */
export const vaultAuthMount = (cfg: PlatformConfig, cluster: ClusterConfig): string =>
  `${cfg.secrets.vault.authMountPrefix}${cluster.name}`;

/** A SecretStore's `spec.provider`: Vault KV v2 at the platform's mount, read as `serviceAccount` under `role`. */
export function vaultStoreProvider(
  cfg: PlatformConfig,
  cluster: ClusterConfig,
  role: string,
  serviceAccount: string,
) {
  return {
    vault: {
      server: cfg.secrets.vault.server,
      path: cfg.secrets.vault.kvMount,
      version: "v2",
      auth: {
        kubernetes: {
          mountPath: vaultAuthMount(cfg, cluster),
          role,
          serviceAccountRef: { name: serviceAccount },
        },
      },
    },
  };
}
