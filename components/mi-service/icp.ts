/**
 * An MI service's side of the platform's Integration Control Plane (`imaas:mi.icp`; components/platform/icp.ts):
 * in each environment, the chart values that switch on `[dashboard_config]` and ICP's management API user, and
 * the Secret `<service>-mi-icp` holding that user — a copy of the platform's one shared runtime credential
 * (ICP 1.x logs in to every runtime with the same `[mi_super_admin]`). Nothing when ICP is off.
 *
 * Every tenant can read that credential (in dev/test its owners may read Secrets and exec into their pods; in
 * every environment its integration code can read its environment). What keeps it from reaching another tenant's
 * runtime is the network: with ICP on, MI's management port 9164 admits only ICP's pods
 * (components/tenant-space/network.ts), and the user is not an MI admin.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import { namespaceName } from "../../model/naming";
import { icpSettings, type PlatformConfig } from "../../model/platform-config";
import { icpDashboardUrl, icpRuntimePassword, icpRuntimeSecretData } from "../platform/icp";
import type { PlatformContext } from "../shared/context";
import { tenantLabels } from "../shared/labels";
import type { MIChartIcp } from "./chart-values";

/** The service's copy of ICP's runtime user in each of its namespaces. */
export const miIcpSecretName = (service: string): string => `${service}-mi-icp`;

/** ICP group of a runtime: its tenant environment (the namespace name, `<tenant>-<env>`). */
export const icpGroupId = (tenant: string, env: Environment): string => namespaceName(tenant, env);

/** The chart's `icp` input for one service in one environment; undefined when ICP is off. */
export function icpChartInput(
  cfg: PlatformConfig,
  tenant: string,
  service: string,
  env: Environment,
): MIChartIcp | undefined {
  const icp = icpSettings(cfg);
  if (!icp) return undefined;
  return {
    dashboardUrl: icpDashboardUrl(icp),
    groupId: icpGroupId(tenant, env),
    credentialsSecret: miIcpSecretName(service),
  };
}

export interface MIIcpSecretInput {
  readonly tenant: string;
  readonly service: string;
  readonly env: Environment;
}

/** The Secret's manifest (`username`, `password`: the keys the chart reads). */
export function miIcpSecretManifest(input: MIIcpSecretInput, password: pulumi.Input<string>) {
  return {
    metadata: {
      name: miIcpSecretName(input.service),
      namespace: namespaceName(input.tenant, input.env),
      labels: tenantLabels(input.tenant, input.env, input.service),
    },
    type: "Opaque",
    stringData: icpRuntimeSecretData(password),
  };
}

/** Creates the service's ICP Secret in one environment, or nothing when ICP is off. */
export function createMIIcpSecret(
  name: string,
  ctx: PlatformContext,
  input: MIIcpSecretInput,
  parent: pulumi.Resource,
  provider: k8s.Provider,
  dependsOn: pulumi.Input<pulumi.Resource>[] = [],
): k8s.core.v1.Secret | undefined {
  if (!icpSettings(ctx.config)) return undefined;
  return new k8s.core.v1.Secret(
    `${name}-mi-icp-${input.env}`,
    miIcpSecretManifest(input, icpRuntimePassword(ctx)),
    { parent, provider, dependsOn, additionalSecretOutputs: ["stringData", "data"] },
  );
}
