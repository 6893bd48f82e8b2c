/**
 * ObservabilityStack: the shared metrics, logs and traces backends of one cluster.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../model/platform-config";
import type { PlatformContext } from "../shared/context";

export const OBSERVABILITY_STACK_TYPE = "imaas:index:ObservabilityStack";

export interface ObservabilityStackArgs {
  readonly cluster: ClusterConfig;
  readonly platform: PlatformContext;
}

export class ObservabilityStack extends pulumi.ComponentResource {
  constructor(name: string, args: ObservabilityStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super(OBSERVABILITY_STACK_TYPE, name, {}, opts);
    void args;
    this.registerOutputs({});
  }
}
