/**
 * MI's coordination database per tenant environment (docs/coordination-db.md). Where a stateful service of the
 * tenant runs and the platform has a coordination server (imaas:mi.coordination): a PostgreSQL database and
 * login role `imaas_<tenant>_<env>` on that server (CoordinationDatabase: CONNECT for that role alone, MI's
 * coordination schema applied, kept when the tenant goes away — like its repositories); its credentials
 * written to the tenant environment's own path in Vault (`<tenant>/<env>/_coordination-db`); and an
 * ExternalSecret that turns them into the `coordination-db` Secret the MI chart reads as environment
 * variables for its WSO2_COORDINATION_DB datasource.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as vault from "@pulumi/vault";
import type { Environment } from "../../model/environments";
import {
  coordinationDatabaseName,
  coordinationStorePath,
  LABELS,
  namespaceName,
  TENANT_OBJECTS,
} from "../../model/naming";
import type { CoordinationConfig } from "../../model/platform-config";
import { coordinationEnvironments, type TenantSpec } from "../../model/spec";
import { CoordinationDatabase } from "../../providers/postgres/coordination-database";
import { type PlatformContext, requireSecret } from "../shared/context";
import { tenantLabels } from "../shared/labels";

/** Keys of the coordination Secret: the environment variables the chart maps into `deployment.toml`. */
export const COORDINATION_SECRET_KEYS = {
  url: "IMAAS_COORDINATION_DB_URL",
  username: "IMAAS_COORDINATION_DB_USERNAME",
  password: "IMAAS_COORDINATION_DB_PASSWORD",
} as const;

/** The ExternalSecret that materialises `coordination-db` from the tenant environment's store path. */
export function coordinationExternalSecretManifest(tenant: string, env: Environment) {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata: {
      name: TENANT_OBJECTS.coordinationSecret,
      namespace: namespaceName(tenant, env),
      labels: tenantLabels(tenant, env),
    },
    spec: {
      refreshInterval: "1h",
      secretStoreRef: { kind: "SecretStore", name: TENANT_OBJECTS.secretStore },
      target: {
        name: TENANT_OBJECTS.coordinationSecret,
        creationPolicy: "Owner",
        deletionPolicy: "Retain",
        // Written by the operator: the tenant's labels, not the platform's managed-by (see external-secret.ts).
        template: { metadata: { labels: { [LABELS.tenant]: tenant, [LABELS.environment]: env } } },
      },
      data: (Object.keys(COORDINATION_SECRET_KEYS) as (keyof typeof COORDINATION_SECRET_KEYS)[]).map(
        (property) => ({
          secretKey: COORDINATION_SECRET_KEYS[property],
          remoteRef: { key: coordinationStorePath(tenant, env), property },
        }),
      ),
    },
  };
}

/** Whether the tenant environment gets a coordination database: a stateful service runs there, and a server exists. */
export function coordinationPlanned(
  tenant: Pick<TenantSpec, "environments" | "services">,
  coordination: CoordinationConfig | undefined,
): Environment[] {
  return coordination ? coordinationEnvironments(tenant) : [];
}

/** The cluster of one tenant environment and what its ExternalSecret waits for (the namespace's secret store). */
export interface CoordinationTarget {
  readonly provider: k8s.Provider;
  readonly dependsOn: readonly pulumi.Resource[];
}

export interface CoordinationArgs {
  /** Logical name prefix (the TenantSpace's name). */
  readonly name: string;
  readonly tenant: TenantSpec;
  readonly platform: PlatformContext;
  readonly parent: pulumi.Resource;
  /** Per environment: where the ExternalSecret goes. */
  readonly environments: Readonly<Partial<Record<Environment, CoordinationTarget>>>;
}

/**
 * The database and role of one tenant environment on `server`, kept when it leaves the program (retainOnDelete,
 * like the tenant's repositories): removing a tenant or a stateful service never drops coordination state.
 */
export function createCoordinationDatabase(
  logicalName: string,
  a: {
    readonly server: CoordinationConfig;
    readonly adminPassword: pulumi.Input<string>;
    readonly tenant: string;
    readonly env: Environment;
    readonly parent?: pulumi.Resource;
  },
): CoordinationDatabase {
  return new CoordinationDatabase(
    logicalName,
    {
      host: a.server.host,
      port: a.server.port,
      adminUser: a.server.adminUser,
      adminPassword: a.adminPassword,
      adminDatabase: a.server.adminDatabase,
      ssl: a.server.ssl,
      name: coordinationDatabaseName(a.tenant, a.env),
    },
    { ...(a.parent ? { parent: a.parent } : {}), retainOnDelete: true },
  );
}

/** Per environment with a stateful service: the database, the credentials in Vault and the ExternalSecret. */
export function createCoordinationDatabases(
  a: CoordinationArgs,
): Partial<Record<Environment, CoordinationDatabase>> {
  const cfg = a.platform.config;
  const server = cfg.mi.coordination;
  const envs = coordinationPlanned(a.tenant, server);
  if (!server || envs.length === 0) return {};
  if (!cfg.secrets.enabled || !a.platform.providers.vault) {
    throw new pulumi.ResourceError(
      `tenant ${a.tenant.name}: stateful services get their coordination database credentials through the tenant's secret store, ` +
        "which needs imaas:secrets.enabled and imaas:secrets.vault.manage (and imaas:vaultToken); switch them on, " +
        "or unset imaas:mi.coordination (stateful services then run one replica)",
      a.parent,
    );
  }
  const adminPassword = requireSecret(
    a.platform,
    "coordinationAdminPassword",
    `the coordination databases of tenant ${a.tenant.name}`,
  );
  const out: Partial<Record<Environment, CoordinationDatabase>> = {};
  for (const env of envs) {
    const db = createCoordinationDatabase(`${a.name}-coordination-db-${env}`, {
      server,
      adminPassword,
      tenant: a.tenant.name,
      env,
      parent: a.parent,
    });
    const credentials = new vault.kv.SecretV2(
      `${a.name}-coordination-credentials-${env}`,
      {
        mount: cfg.secrets.vault.kvMount,
        name: coordinationStorePath(a.tenant.name, env),
        dataJson: pulumi.secret(
          pulumi
            .all([db.jdbcUrl, db.username, db.password])
            .apply(([url, username, password]) => JSON.stringify({ url, username, password })),
        ),
      },
      { parent: a.parent, provider: a.platform.providers.vault },
    );
    const target = a.environments[env];
    if (target) {
      new k8s.apiextensions.CustomResource(
        `${a.name}-coordination-secret-${env}`,
        coordinationExternalSecretManifest(a.tenant.name, env),
        { parent: a.parent, provider: target.provider, dependsOn: [...target.dependsOn, credentials] },
      );
    }
    out[env] = db;
  }
  return out;
}
