/**
 * What every check is made of: the context a check runs in, the probe manifests (a pod that passes every
 * rule but the one under test), and the expectations — refused, and for the expected reason, or admitted
 * (the positive control).
 */
import type { Environment } from "../../model/environments";
import { TENANT_OBJECTS } from "../../model/naming";
import type { NamespaceInfo, Policy } from "../../test/support/network-evaluator";
import {
  type AccessAttributes,
  type Actor,
  type Api,
  type ApiResource,
  admin,
  type Identity,
  type KubectlResult,
  kubectl,
  reason,
  refused,
  refusedBy,
} from "./engine";

export interface TenantInfo {
  readonly name: string;
  readonly environments: readonly Environment[];
  /** Tenants that may call this one (same environment). */
  readonly allowFrom: readonly string[];
  /** Tenants this one may call: those that list it in their allowFrom. */
  readonly callable: readonly string[];
  /** The external systems the tenant file declares. */
  readonly egress: readonly { readonly cidr: string; readonly ports: readonly number[] }[];
}

/** An address outside the tenant namespaces that a check names, e.g. the API server. */
export interface Destination {
  readonly what: string;
  readonly ip: string;
  readonly port: number;
}

/** What the checks read from the cluster once, after `pulumi up`. */
export interface ClusterSnapshot {
  readonly resources: readonly ApiResource[];
  /** Every namespace with its labels as the API server holds them (tenant namespaces and the rest). */
  readonly namespaces: readonly NamespaceInfo[];
  /** Every NetworkPolicy of the tenant namespaces, as applied. */
  readonly policies: readonly Policy[];
  /** The API server: the `kubernetes` Service's cluster IP and its endpoints, read from the cluster. */
  readonly apiServer: readonly Destination[];
  /** Vault's addresses (the configured server, resolved), or why there are none. */
  readonly vault: readonly Destination[] | string;
}

/** Every NetworkPolicy of the given namespaces, as the API server holds them now. */
export async function livePolicies(api: Api, namespaces: ReadonlySet<string>): Promise<Policy[]> {
  const r = await api.request("GET", "/apis/networking.k8s.io/v1/networkpolicies");
  if (r.status !== 200) throw new Error(`listing network policies: ${r.message}`);
  return (r.body.items ?? [])
    .filter((p: { metadata: { namespace: string } }) => namespaces.has(p.metadata.namespace))
    .map((p: { metadata: { namespace: string; name: string }; spec: Policy["spec"] }) => ({
      namespace: p.metadata.namespace,
      name: p.metadata.name,
      spec: p.spec,
    }));
}

export interface CheckContext {
  readonly api: Api;
  readonly cluster: ClusterSnapshot;
  readonly tenant: string;
  readonly env: Environment;
  readonly namespace: string;
  readonly tenants: readonly TenantInfo[];
  /** Namespaces of every other tenant. */
  readonly otherTenantNamespaces: readonly string[];
  readonly registry: string;
  readonly baseImageProject: string;
  readonly argocdNamespace: string;
  /** Another tenant, for cross-tenant image checks. */
  readonly otherTenant: string;
  /** The cluster DNS the tenant namespaces may use. */
  readonly dns: { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>> };
  readonly actor?: Actor;
}

export interface Outcome {
  readonly pass: boolean;
  readonly detail: string;
}

export interface Check {
  readonly id: string;
  readonly title: string;
  readonly as: "people" | "owner" | "deployer" | "cluster";
  /** Environments it runs in; default every environment of the tenant. */
  readonly envs?: readonly Environment[];
  run(ctx: CheckContext, id: Identity): Outcome | Promise<Outcome>;
}

// ---- manifests -----------------------------------------------------------------------------------

interface PodOptions {
  image?: string;
  pullPolicy?: string;
  podSecurity?: Record<string, unknown>;
  container?: Record<string, unknown>;
  spec?: Record<string, unknown>;
}

/** A pod that passes every rule (restricted, own registry, pull Always), with one thing changed by `o`. */
export function podManifest(ctx: CheckContext, name: string, o: PodOptions = {}): any {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ctx.namespace, labels: { app: "security-probe" } },
    spec: {
      serviceAccountName: TENANT_OBJECTS.workloadServiceAccount,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10802,
        seccompProfile: { type: "RuntimeDefault" },
        ...o.podSecurity,
      },
      containers: [
        {
          name: "probe",
          image: o.image ?? `${ctx.registry}/${ctx.tenant}/x:1`,
          imagePullPolicy: o.pullPolicy ?? "Always",
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            ...o.container,
          },
          resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
        },
      ],
      ...o.spec,
    },
  };
}
export const pod = (ctx: CheckContext, name: string, o: PodOptions = {}) =>
  JSON.stringify(podManifest(ctx, name, o));

export function service(ctx: CheckContext, type: string, namespace = ctx.namespace): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `probe-${type.toLowerCase()}`, namespace },
    spec: { type, selector: { app: "security-probe" }, ports: [{ port: 8290 }] },
  });
}

export const dryCreate = (id: Identity, manifest: string): KubectlResult =>
  kubectl(id, ["create", "--dry-run=server", "-o", "name", "-f", "-"], manifest);

/** Refused, and for the expected reason. */
export function expectRefused(r: KubectlResult, what: string, because: RegExp): Outcome {
  if (!refused(r))
    return { pass: false, detail: `${what} was NOT refused (${r.code === 0 ? r.out.trim() : reason(r)})` };
  if (!because.test(r.err))
    return { pass: false, detail: `${what} refused, but not for ${because.source}: ${reason(r)}` };
  return { pass: true, detail: `refused by ${refusedBy(r)}: ${reason(r)}` };
}
export const expectAllowed = (r: KubectlResult, what: string): Outcome =>
  r.code === 0
    ? { pass: true, detail: `${what} admitted` }
    : { pass: false, detail: `${what} refused: ${reason(r)}` };

/** Runs refusal expectations in order; the first one that fails is the outcome. */
export function allRefused(
  attempts: readonly { what: string; run: () => KubectlResult; because?: RegExp }[],
): {
  failed?: Outcome;
  layers: string[];
} {
  const layers: string[] = [];
  for (const a of attempts) {
    const o = expectRefused(a.run(), a.what, a.because ?? /./);
    if (!o.pass) return { failed: o, layers };
    layers.push(a.what);
  }
  return { layers };
}

/** The platform's quota in a namespace, read as the admin. */
export function quota(namespace: string): { hard: Record<string, string>; used: Record<string, string> } {
  const r = kubectl(admin, ["get", "resourcequota", "tenant-quota", "-n", namespace, "-o", "json"]);
  if (r.code !== 0) return { hard: {}, used: {} };
  const q = JSON.parse(r.out);
  return { hard: q.spec?.hard ?? {}, used: q.status?.used ?? {} };
}

/** Default permissions of every authenticated user (system:basic-user): creating self reviews. */
export const selfReview = (a: AccessAttributes) =>
  a.verb === "create" && /^self(subject(access|rules)?)?reviews$/.test(a.resource);

export const VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];
export const RBAC_DENIED = /cannot \w+ resource/;
export const attr = (a: AccessAttributes) =>
  `${a.verb} ${a.resource}${a.group ? `.${a.group}` : ""}${a.namespace ? ` in ${a.namespace}` : ""}`;

/** The platform's own RoleBinding/Role name in an environment. */
export const platformRole = (env: Environment) => (env === "prod" ? "tenant-viewer" : "tenant-owner");

/** MI's ports: API/proxy traffic (8290 HTTP, 8253 HTTPS pass-through), management API 9164, internal 9201. */
export const TRAFFIC_PORTS = [8290, 8253];
export const MI_PORTS = [...TRAFFIC_PORTS, 9164, 9201];
