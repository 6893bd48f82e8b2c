/**
 * What the program generates, taken from its own plan (`planProgram`, the engine behind `imaas plan`) of the
 * production stack file on the suite's tenants (e2e/telemetry/tenants: three tenants, two of which say
 * where their alerts go) — so every artifact the real tools check is exactly what `pulumi up` would
 * deploy, not a hand-written copy.
 */
import { join } from "node:path";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import type { AlertmanagerConfig } from "../../components/observability/alerting";
import type { PrometheusRuleSpec } from "../../components/observability/alerts";
import type { PromLabelProxyValues } from "../../components/observability/values/prom-label-proxy";
import { readStackConfig } from "../../model/stack-file";
import { ROOT } from "./tools";

/** The stack whose config the plan uses: two clusters (nonprod: dev+test, prod: prod). */
export const STACK = "prod";

/** The suite's tenant files. */
export const TENANTS_DIR = join(__dirname, "tenants");
export const PLATFORM_ALERTS = { email: ["platform-oncall@example.com"], webhooks: ["pager"] };

export interface GeneratedRule {
  readonly namespace: string;
  readonly name: string;
  readonly spec: PrometheusRuleSpec;
}

export interface Generated {
  readonly resources: readonly PlannedResource[];
  readonly rules: readonly GeneratedRule[];
  /** kube-prometheus-stack's Alertmanager per cluster: the config and the Secrets it mounts. */
  readonly alertmanager: Readonly<Record<string, { config: AlertmanagerConfig; secrets: string[] }>>;
  /** prom-label-proxy values per cluster and tenant. */
  readonly proxies: readonly { cluster: string; tenant: string; values: PromLabelProxyValues }[];
  /** The OpenTelemetry Collector's config and image tag per cluster. */
  readonly collector: Readonly<Record<string, { config: Record<string, unknown>; tag: string }>>;
  /** The Fluent Bit Lua scripts (file name → source) of the first cluster. */
  readonly luaScripts: Readonly<Record<string, string>>;
  /** Every seeded GitHub workflow: repository/path → YAML text. */
  readonly workflows: Readonly<Record<string, string>>;
  /** Tenant name → its namespaces per cluster. */
  readonly namespaces: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

let cached: Promise<Generated> | undefined;

/**
 * Plans once per process. `smtpSmarthost` is the platform's mail relay in the stack config (the suite points
 * it at its own loopback sink); everything else is the prod stack file as committed.
 */
export function generated(smtpSmarthost: string): Promise<Generated> {
  cached ??= plan(smtpSmarthost);
  return cached;
}

async function plan(smtpSmarthost: string): Promise<Generated> {
  const cfg = readStackConfig(ROOT, STACK);
  const observability = JSON.parse(cfg.values["imaas:observability"] ?? "{}");
  const config = {
    ...cfg.values,
    "imaas:observability": JSON.stringify({
      ...observability,
      alerting: {
        smtp: { smarthost: smtpSmarthost, from: "alertmanager@imaas.example.com", requireTls: false },
        platform: PLATFORM_ALERTS,
      },
    }),
  };
  try {
    const { resources } = await planProgram({
      stack: STACK,
      config,
      secretKeys: cfg.secretKeys,
      tenantsDir: TENANTS_DIR,
    });
    return extract(resources);
  } finally {
    delete process.env.IMAAS_PLAN;
    delete process.env.IMAAS_TENANTS_DIR;
  }
}

type Obj = Record<string, any>;

function extract(resources: readonly PlannedResource[]): Generated {
  const releases = resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release");
  const clusterOf = (r: PlannedResource) => {
    const p = r.provider ?? "";
    return p.replace(/^cluster-/, "");
  };
  const rules = resources
    .filter((r) => r.inputs.kind === "PrometheusRule")
    .map((r) => {
      const m = r.inputs.metadata as Obj;
      return {
        namespace: m.namespace as string,
        name: m.name as string,
        spec: r.inputs.spec as PrometheusRuleSpec,
      };
    });
  const alertmanager: Record<string, { config: AlertmanagerConfig; secrets: string[] }> = {};
  for (const r of releases.filter((r) => r.inputs.name === "kps")) {
    const v = r.inputs.values as Obj;
    alertmanager[clusterOf(r)] = {
      config: v.alertmanager.config as AlertmanagerConfig,
      secrets: v.alertmanager.alertmanagerSpec.secrets as string[],
    };
  }
  const proxies = releases
    .filter((r) => String(r.inputs.name).startsWith("metrics-proxy-"))
    .map((r) => ({
      cluster: clusterOf(r),
      tenant: String(r.inputs.name).slice("metrics-proxy-".length),
      values: r.inputs.values as unknown as PromLabelProxyValues,
    }));
  const collector: Record<string, { config: Record<string, unknown>; tag: string }> = {};
  for (const r of releases.filter((r) => r.inputs.name === "otel-collector")) {
    const v = r.inputs.values as Obj;
    collector[clusterOf(r)] = { config: v.alternateConfig, tag: v.image.tag };
  }
  const fluentBit = releases.find((r) => r.inputs.name === "fluent-bit");
  const workflows: Record<string, string> = {};
  for (const r of resources.filter((r) => r.type === "github:index/repositoryFile:RepositoryFile")) {
    const file = String(r.inputs.file);
    if (file.startsWith(".github/workflows/"))
      workflows[`${r.inputs.repository}/${file}`] = String(r.inputs.content);
  }
  const namespaces: Record<string, Record<string, string[]>> = {};
  for (const r of resources.filter((r) => r.inputs.kind === "Namespace")) {
    const m = r.inputs.metadata as Obj;
    const tenant = m.labels?.["imaas.io/tenant"];
    if (!tenant) continue;
    const byCluster = namespaces[tenant] ?? {};
    namespaces[tenant] = byCluster;
    byCluster[clusterOf(r)] = [...(byCluster[clusterOf(r)] ?? []), m.name];
  }
  return {
    resources,
    rules,
    alertmanager,
    proxies,
    collector,
    luaScripts: ((fluentBit?.inputs.values as Obj | undefined)?.luaScripts ?? {}) as Record<string, string>,
    workflows,
    namespaces,
  };
}
