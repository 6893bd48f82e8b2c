/**
 * The rules of a tenant file that need the platform's config: what the schema (tenant.ts) cannot know.
 * Each rule returns findings — a field path in the file and a message saying what to change — and the
 * loader turns them into `file:line:col` errors. Everything downstream (the quota, the chart values, the
 * network policies, the registry) relies on these having held: a tenant file that passes them plans,
 * deploys and fits.
 */
import { egressProblem, parseCidr } from "./egress";
import type { Environment } from "./environments";
import type { NamespaceQuota, PlatformConfig } from "./platform-config";
import { clusterFor, tenantRing } from "./platform-config";
import { bytesOf, cpuMillicores } from "./quantity";
import { ROLLOUT_SURGE, quotaShortfalls, serviceNeeds } from "./resources";
import type { TenantSpec } from "./spec";
import type { TenantFile } from "./tenant";

export type PathKey = string | number;

export interface Finding {
  readonly path: readonly PathKey[];
  readonly message: string;
}

/** Where a rule's messages say a platform limit comes from. */
export interface RuleContext {
  readonly cfg: PlatformConfig;
  /** The stack whose config applies, named in messages about its caps and limits. */
  readonly stack: string;
}

/** Every config-dependent rule for one tenant. */
export function tenantRules(file: TenantFile, spec: TenantSpec, ctx: RuleContext): Finding[] {
  return [
    ...serviceCount(file, ctx),
    ...registryName(file, ctx),
    ...miVersions(file, ctx),
    ...clustersHosting(file, spec, ctx),
    ...quotaCaps(file, ctx),
    ...serviceSizes(file, spec, ctx),
    ...quotaFit(file, spec, ctx),
    ...egress(file, spec, ctx),
    ...statefulReplicas(file, spec, ctx),
    ...ringMembership(file, ctx),
    ...dedicatedAllowed(file, ctx),
  ];
}

/** A dedicated Argo CD only where the stack allows one (imaas:argocd.dedicated.allowed). */
function dedicatedAllowed(file: TenantFile, ctx: RuleContext): Finding[] {
  if (file.spec.isolation !== "dedicated" || ctx.cfg.argocd.dedicated.allowed) return [];
  return [
    {
      path: ["spec", "isolation"],
      message: `a dedicated Argo CD is not offered on this platform (${stackKey(ctx, "argocd.dedicated.allowed")} is false): remove the line to use the shared one, or ask the platform admins`,
    },
  ];
}

/**
 * The stack's cap on dedicated control planes (imaas:argocd.dedicated.maxTenants), across every file: each
 * file asking for one gets the finding, naming all of them, so no file is picked arbitrarily.
 */
export function dedicatedCap(files: readonly TenantFile[], ctx: RuleContext): Map<TenantFile, Finding[]> {
  const out = new Map<TenantFile, Finding[]>();
  const max = ctx.cfg.argocd.dedicated.maxTenants;
  const asking = files.filter((f) => f.spec.isolation === "dedicated");
  if (max === undefined || !ctx.cfg.argocd.dedicated.allowed || asking.length <= max) return out;
  const names = asking.map((f) => f.metadata.name).sort();
  for (const f of asking) {
    out.set(f, [
      {
        path: ["spec", "isolation"],
        message: `${asking.length} tenants ask for a dedicated Argo CD (${names.join(", ")}); ${stackKey(ctx, "argocd.dedicated.maxTenants")} allows ${max}: use the shared one, or ask the platform admins to raise the cap`,
      },
    ]);
  }
  return out;
}

/** With upgrade rings, every tenant is in one: else no ring would ever roll the platform out to it. */
function ringMembership(file: TenantFile, ctx: RuleContext): Finding[] {
  if (!ctx.cfg.rings || tenantRing(ctx.cfg, file.metadata.name)) return [];
  return [
    {
      path: ["metadata", "name"],
      message: `tenant "${file.metadata.name}" is in no ring of ${stackKey(ctx, "rings")} (${ctx.cfg.rings.map((r) => r.name).join(", ")}): ask the platform admins to add it to one, or to end the rings with tenants: "*"`,
    },
  ];
}

function stackKey(ctx: RuleContext, key: string): string {
  return `imaas:${key} of stack "${ctx.stack}"`;
}

function serviceCount(file: TenantFile, ctx: RuleContext): Finding[] {
  const n = file.spec.services?.length ?? 0;
  const max = ctx.cfg.service.maxPerTenant;
  if (n <= max) return [];
  return [
    {
      path: ["spec", "services"],
      message: `${n} services; a tenant may have at most ${max} (${stackKey(ctx, "service.maxPerTenant")}): split the tenant or ask the platform admins`,
    },
  ];
}

function registryName(file: TenantFile, ctx: RuleContext): Finding[] {
  if (file.metadata.name !== ctx.cfg.registry.baseImageProject) return [];
  return [
    {
      path: ["metadata", "name"],
      message: `"${file.metadata.name}" is the registry project of the platform's base images (imaas:registry.baseImageProject); choose another name`,
    },
  ];
}

/** Every environment of the tenant is hosted by a cluster of the stack. */
function clustersHosting(file: TenantFile, spec: TenantSpec, ctx: RuleContext): Finding[] {
  const missing = spec.environments.filter((e) => clusterFor(ctx.cfg, e) === undefined);
  if (missing.length === 0) return [];
  const hosted = ctx.cfg.clusters.flatMap((c) => c.environments);
  return [
    {
      path: file.spec.environments ? ["spec", "environments"] : ["spec"],
      message: `stack "${ctx.stack}" has no cluster for ${missing.join(", ")} (its clusters host ${hosted.join(", ")}): list only those in spec.environments, or ask the platform admins`,
    },
  ];
}

/** A service's MI version is one the platform supports (a base image exists only for those). */
function miVersions(file: TenantFile, ctx: RuleContext): Finding[] {
  const { versions, defaultVersion } = ctx.cfg.mi;
  const out: Finding[] = [];
  (file.spec.services ?? []).forEach((s, i) => {
    if (s.miVersion === undefined || versions.includes(s.miVersion)) return;
    out.push({
      path: ["spec", "services", i, "miVersion"],
      message: `MI ${s.miVersion} is not supported here (${stackKey(ctx, "mi.versions")}: ${versions.join(", ")}); use one of them, or leave miVersion out for the default ${defaultVersion}`,
    });
  });
  return out;
}

const QUOTA_FIELDS = ["cpu", "memory", "storage", "pods", "persistentVolumeClaims", "services"] as const;

function magnitude(field: keyof NamespaceQuota, v: string | number): number {
  if (typeof v === "number") return v;
  return field === "cpu" ? cpuMillicores(v) : bytesOf(v);
}

/** A tenant's quota override may not exceed the platform caps. */
function quotaCaps(file: TenantFile, ctx: RuleContext): Finding[] {
  const caps = ctx.cfg.quota.caps;
  const out: Finding[] = [];
  for (const [env, q] of Object.entries(file.spec.quota ?? {})) {
    for (const field of QUOTA_FIELDS) {
      const value = q?.[field];
      if (value === undefined) continue;
      if (magnitude(field, value) > magnitude(field, caps[field])) {
        out.push({
          path: ["spec", "quota", env, field],
          message: `${value} exceeds the cap of ${caps[field]} (${stackKey(ctx, `quota.caps.${field}`)}); lower it or ask the platform admins to raise the cap`,
        });
      }
    }
  }
  return out;
}

/** Each service's pod size is within the platform's per-pod maximum. */
function serviceSizes(file: TenantFile, spec: TenantSpec, ctx: RuleContext): Finding[] {
  const max = ctx.cfg.service.maxResources;
  const out: Finding[] = [];
  spec.services.forEach((s, i) => {
    const written = file.spec.services?.[i]?.resources;
    if (cpuMillicores(s.resources.cpu) > cpuMillicores(max.cpu)) {
      out.push({
        path: ["spec", "services", i, "resources", ...(written?.cpu ? ["cpu"] : [])],
        message: `cpu ${s.resources.cpu} per pod is above the largest MI pod of ${max.cpu} (${stackKey(ctx, "service.maxResources.cpu")}); lower it and scale out with replicas or autoscaling`,
      });
    }
    if (bytesOf(s.resources.memory) > bytesOf(max.memory)) {
      out.push({
        path: ["spec", "services", i, "resources", ...(written?.memory ? ["memory"] : [])],
        message: `memory ${s.resources.memory} per pod is above the largest MI pod of ${max.memory} (${stackKey(ctx, "service.maxResources.memory")}); lower it and scale out`,
      });
    }
  });
  return out;
}

/** Every service at its largest, plus the rolling update's surge, fits each environment's quota. */
function quotaFit(file: TenantFile, spec: TenantSpec, ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  for (const env of spec.environments) {
    const q = spec.quota[env];
    if (!q) continue;
    const needs = serviceNeeds(spec.services, env);
    // The environment's coordination-db Secret (stateful services with a coordination server) counts once,
    // against its first stateful service.
    const coordinated = ctx.cfg.mi.coordination
      ? spec.services.findIndex((s) => s.stateful && s.environments.includes(env))
      : -1;
    // With the Integration Control Plane on (imaas:mi.icp), every service has its ICP Secret too.
    const icpSecret = ctx.cfg.mi.icp?.enabled ? 1 : 0;
    const secretsOf = (i: number) =>
      (spec.services[i].secrets.length > 0 ? 1 : 0) + (i === coordinated ? 1 : 0) + icpSecret;
    for (const s of quotaShortfalls(needs, q, (n) => secretsOf(n.index))) {
      const written =
        file.spec.quota?.[env]?.[s.field as keyof NonNullable<typeof file.spec.quota>[Environment]];
      const cap = ctx.cfg.quota.caps[s.field];
      const quotaField = `spec.quota.${env}.${s.field}`;
      // configMaps and secrets are not tenant-settable: only the platform's defaults set them.
      const settable = (QUOTA_FIELDS as readonly string[]).includes(s.field);
      const where =
        written !== undefined
          ? quotaField
          : settable
            ? `the platform default; set ${quotaField}`
            : `imaas:quota.defaults.${s.field}, which only the platform admins can raise`;
      const scaling = `${s.largest.podsFrom}${s.field === "cpu" || s.field === "memory" ? ` or resources.${s.field}` : ""} of ${s.largest.service}`;
      out.push({
        path: written !== undefined ? ["spec", "quota", env, s.field] : ["spec", "services", s.largest.index],
        message: `in ${env} the services need up to ${s.needs} (largest pod count plus ${ROLLOUT_SURGE} rolling-update surge pod each); the ${env} quota's ${s.field} is ${s.has} (${where}; cap ${cap} on stack "${ctx.stack}"): raise the quota or lower ${scaling}`,
      });
    }
  }
  return out;
}

/** Declared egress stays off the metadata endpoint, loopback, the clusters' own networks and the internet. */
function egress(file: TenantFile, spec: TenantSpec, ctx: RuleContext): Finding[] {
  const clusters = [
    ...new Set(spec.environments.map((e) => clusterFor(ctx.cfg, e)).filter((c) => c !== undefined)),
  ];
  const rules = {
    forbidden: ctx.cfg.network.forbiddenEgress,
    clusterNetworks: clusters.flatMap((c) => c.networks.map((cidr) => ({ cluster: c.name, cidr }))),
    minPrefix: ctx.cfg.network.minEgressPrefix,
  };
  const out: Finding[] = [];
  (file.spec.network?.egress ?? []).forEach((rule, i) => {
    const cidr = parseCidr(rule.cidr);
    const problem = cidr && egressProblem(cidr, rules);
    if (problem) out.push({ path: ["spec", "network", "egress", i, "cidr"], message: problem });
  });
  return out;
}

/**
 * Without a coordination server (imaas:mi.coordination), a stateful service runs at most one pod per
 * environment: MI coordinates scheduled tasks, message processors and polling inbound endpoints across
 * replicas only through its WSO2_COORDINATION_DB datasource (micro-integrator: TasksDSComponent
 * `isCoordinationDataSourceAvailable`); without it every replica runs them.
 */
function statefulReplicas(file: TenantFile, spec: TenantSpec, ctx: RuleContext): Finding[] {
  if (ctx.cfg.mi.coordination) return [];
  const out: Finding[] = [];
  spec.services.forEach((s, i) => {
    if (!s.stateful) return;
    const written = file.spec.services?.[i];
    for (const env of s.environments) {
      const a = s.autoscaling[env];
      const replicas = s.replicas[env] ?? 0;
      if ((a ? a.max : replicas) <= 1) continue;
      const why = a
        ? `autoscaling up to ${a.max} pods`
        : `${replicas} replicas${written?.replicas?.[env] === undefined ? ` (the platform default for ${env}, ${stackKey(ctx, `service.defaultReplicas.${env}`)})` : ""}`;
      const path = a
        ? ["spec", "services", i, "autoscaling", env]
        : written?.replicas?.[env] !== undefined
          ? ["spec", "services", i, "replicas", env]
          : ["spec", "services", i, "stateful"];
      out.push({
        path,
        message: `a stateful service runs its scheduled tasks, message processors and polling inbound endpoints on every replica unless MI's coordination database coordinates them, and stack "${ctx.stack}" has no coordination server (imaas:mi.coordination); in ${env} it would run ${why}: set replicas.${env}: 1 without autoscaling, or ask the platform admins for a coordination server`,
      });
    }
  });
  return out;
}
