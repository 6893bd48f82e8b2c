/**
 * ClusterPlatform: what the platform itself runs on one cluster, shared by every tenant there — Argo CD
 * set up for multi-tenancy, the admission guard rails of tenant namespaces, and the add-ons tenant
 * features rely on (External Secrets, cert-manager, ingress-nginx).
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../model/platform-config";
import type { PlatformContext } from "../shared/context";
import { createAdmissionPolicies } from "./admission";
import { createAddons } from "./addons";
import { createArgoCd } from "./argocd";
import { createInternalCa } from "./internal-ca";

export const CLUSTER_PLATFORM_TYPE = "imaas:index:ClusterPlatform";

export interface ClusterPlatformArgs {
  /** The cluster, from `imaas:clusters`. */
  readonly cluster: ClusterConfig;
  /** Platform config, secrets and providers. */
  readonly platform: PlatformContext;
}

export class ClusterPlatform extends pulumi.ComponentResource {
  /** Resources tenant objects on this cluster must wait for (Argo CD and add-on installs). */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: ClusterPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super(CLUSTER_PLATFORM_TYPE, name, {}, opts);
    const { cluster, platform } = args;
    const provider = platform.providers.kubernetes[cluster.name];
    if (!provider) throw new pulumi.ResourceError(`no provider for cluster "${cluster.name}"`, this);
    const argocd = createArgoCd(name, platform, cluster, provider, this);
    const addons = createAddons(name, platform.config, cluster, provider, this);
    const admission = createAdmissionPolicies(name, platform.config, provider, this);
    // The CA that signs the MI keystores (components/mi-service/keystore.ts), once cert-manager runs.
    const internalCa = createInternalCa(name, platform.config, cluster, provider, this, addons);
    this.ready = [
      ...(argocd ? [argocd.release] : []),
      ...addons,
      ...admission,
      ...(internalCa ? [internalCa] : []),
    ];
    this.registerOutputs({});
  }
}
