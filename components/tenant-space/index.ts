/**
 * TenantSpace: everything a tenant gets apart from its services and observability — per environment a
 * namespace with its guard rails, and the tenant's GitHub team, registry project and Argo CD project.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import type { TenantSpec } from "../../model/spec";
import type { PlatformContext } from "../shared/context";
import { createNamespaces } from "./namespaces";

export const TENANT_SPACE_TYPE = "imaas:index:TenantSpace";

export interface TenantSpaceArgs {
  /** The resolved tenant. */
  readonly tenant: TenantSpec;
  /** Platform config, secrets and providers. */
  readonly platform: PlatformContext;
}

export class TenantSpace extends pulumi.ComponentResource {
  /** Namespace name per environment. */
  public readonly namespaces: Readonly<Partial<Record<Environment, string>>>;

  constructor(name: string, args: TenantSpaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TENANT_SPACE_TYPE, name, {}, opts);
    const namespaces = createNamespaces(name, args.tenant, args.platform, this);
    this.namespaces = Object.fromEntries(namespaces.map((n) => [n.env, n.name]));
    this.registerOutputs({ namespaces: this.namespaces });
  }
}
