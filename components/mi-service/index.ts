/**
 * MIService: one WSO2 Micro Integrator service of a tenant — its repository, CI, and an Argo CD
 * Application per environment.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import { applicationName, repositoryName } from "../../model/naming";
import type { ServiceSpec, TenantSpec } from "../../model/spec";
import type { PlatformContext } from "../shared/context";

export const MI_SERVICE_TYPE = "imaas:index:MIService";

export interface MIServiceArgs {
  readonly tenant: TenantSpec;
  readonly service: ServiceSpec;
  readonly platform: PlatformContext;
}

export class MIService extends pulumi.ComponentResource {
  public readonly repositoryName: string;
  public readonly applications: Readonly<Partial<Record<Environment, string>>>;

  constructor(name: string, args: MIServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(MI_SERVICE_TYPE, name, {}, opts);
    const { tenant, service } = args;
    this.repositoryName = repositoryName(tenant.name, service.name);
    this.applications = Object.fromEntries(
      service.environments.map((e) => [e, applicationName(tenant.name, service.name, e)]),
    );
    this.registerOutputs({ repositoryName: this.repositoryName, applications: this.applications });
  }
}
