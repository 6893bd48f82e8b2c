/** The tenant's namespace per environment, with Pod Security Admission pinned to `restricted`. */
import { basename } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import { namespaceName } from "../../model/naming";
import type { TenantSpec } from "../../model/spec";
import { clusterOf, type PlatformContext } from "../shared/context";
import { tenantLabels } from "../shared/labels";

/** Pod Security Standards version the namespaces pin, so a cluster upgrade cannot loosen them silently. */
export const PSA_VERSION = "v1.33";

export function podSecurityLabels(level: "restricted" = "restricted"): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const mode of ["enforce", "audit", "warn"] as const) {
    labels[`pod-security.kubernetes.io/${mode}`] = level;
    labels[`pod-security.kubernetes.io/${mode}-version`] = PSA_VERSION;
  }
  return labels;
}

export interface TenantNamespace {
  readonly env: Environment;
  readonly name: string;
  readonly namespace: k8s.core.v1.Namespace;
  readonly provider: k8s.Provider;
}

/**
 * One namespace per environment, created after its cluster's platform parts (`platformReady`); prod
 * namespaces are protected against deletion.
 */
export function createNamespaces(
  name: string,
  tenant: TenantSpec,
  ctx: PlatformContext,
  parent: pulumi.Resource,
  platformReady: Readonly<Record<string, readonly pulumi.Resource[]>> = {},
): TenantNamespace[] {
  return tenant.environments.map((env) => {
    const { provider, cluster } = clusterOf(ctx, env);
    const nsName = namespaceName(tenant.name, env);
    const namespace = new k8s.core.v1.Namespace(
      `${name}-${env}`,
      {
        metadata: {
          name: nsName,
          labels: { ...tenant.labels, ...tenantLabels(tenant.name, env), ...podSecurityLabels() },
          annotations: {
            "imaas.io/display-name": tenant.displayName,
            "imaas.io/source": `tenants/${basename(tenant.file)}`,
          },
        },
      },
      { parent, provider, protect: env === "prod", dependsOn: [...(platformReady[cluster.name] ?? [])] },
    );
    return { env, name: nsName, namespace, provider };
  });
}
