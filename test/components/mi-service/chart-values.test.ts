import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { parse } from "yaml";
import {
  buildInitialBranchValues,
  buildMIChartValues,
  type MIChartInput,
  miChartValueKeysPlatformControlled,
  PLATFORM_VALUE_KEYS,
  RESERVED_ENV_NAMES,
  TENANT_VALUE_PATHS,
  validateMIChartInput,
} from "../../../components/mi-service/chart-values";
import { cpuMillicores, formatCpu } from "../../../model/quantity";
import { CHART_ENV_NAMES } from "../../../model/tenant";

const CHART = join(__dirname, "../../../charts/wso2-mi");
const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8"));
const chartDefaults = parse(readFileSync(join(CHART, "values.yaml"), "utf8"));
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const validate = ajv.compile(schema);

function schemaErrors(values: unknown): string[] {
  return validate(values) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Helm's value merge: maps merge key by key, anything else is replaced; later sources win. */
function helmMerge(base: unknown, over: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = helmMerge(base[k], v);
  return out;
}

/** Chart defaults, then the branch file, then the inline platform values (Argo CD's precedence). */
function render(platform: unknown, branch: unknown): Record<string, unknown> {
  return helmMerge(helmMerge(chartDefaults, branch), platform) as Record<string, unknown>;
}

const base: MIChartInput = {
  tenant: "acme",
  service: "orders",
  environment: "dev",
  imageRepository: "registry.imaas.example.com/acme/orders",
  initialTag: "0.0.0-initial",
  miVersion: "4.4.0",
  replicas: 1,
  resources: { cpu: "500m", memory: "1Gi" },
  serviceAccountName: "mi-workloads",
  imagePullSecret: "registry-pull",
  otlpEndpoint: "http://otel-collector.observability.svc:4317",
};

describe("buildMIChartValues", () => {
  it("produces values that the chart's values.schema.json accepts, alone and merged", () => {
    const values = buildMIChartValues(base);
    assert.deepEqual(schemaErrors(values), []);
    assert.deepEqual(schemaErrors(chartDefaults), []);
    assert.deepEqual(schemaErrors(render(values, buildInitialBranchValues(base))), []);
  });

  it("sets exactly the platform-controlled top-level keys", () => {
    const values = buildMIChartValues(base);
    assert.deepEqual(Object.keys(values).sort(), [...PLATFORM_VALUE_KEYS].sort());
    assert.deepEqual(miChartValueKeysPlatformControlled(), PLATFORM_VALUE_KEYS);
    // Every chart key is either the platform's or the tenant's, never neither.
    const tenantTop = new Set(TENANT_VALUE_PATHS.map((p) => p.split(".")[0]));
    for (const key of Object.keys(schema.properties)) {
      assert.ok(
        (PLATFORM_VALUE_KEYS as readonly string[]).includes(key) || tenantTop.has(key),
        `chart key ${key} is neither platform- nor tenant-controlled`,
      );
    }
  });

  it("sets every leaf of the schema under platform keys, so a branch file cannot fill a gap", () => {
    const values = buildMIChartValues({ ...base, autoscaling: undefined, otlpEndpoint: undefined });
    const tenantPaths = new Set<string>(TENANT_VALUE_PATHS);
    const walk = (s: { properties?: Record<string, unknown> }, v: unknown, path: string) => {
      for (const [key, sub] of Object.entries(s.properties ?? {})) {
        const p = path ? `${path}.${key}` : key;
        if (tenantPaths.has(p) || (path === "" && !(PLATFORM_VALUE_KEYS as readonly string[]).includes(key)))
          continue;
        const child = (v as Record<string, unknown>)[key];
        assert.notEqual(child, undefined, `platform values leave ${p} unset`);
        walk(sub as { properties?: Record<string, unknown> }, child, p);
      }
    };
    walk(schema, values, "");
  });

  it("keeps the platform's values when a branch file tries to override them", () => {
    const platform = buildMIChartValues({ ...base, environment: "prod", replicas: 2 });
    const hostile = {
      image: { repository: "evil.example.com/other/image", tag: "1.2.3" },
      replicas: 40,
      autoscaling: { enabled: true, maxReplicas: 50 },
      resources: { limits: { cpu: "32", memory: "64Gi" } },
      serviceAccountName: "admin",
      secretName: "registry-pull",
      labels: { "imaas.io/tenant": "other" },
      tracing: { enabled: false },
      serviceMonitor: { enabled: false },
      config: { LOG_LEVEL: "debug" },
      extraConfig: { FEATURE_X: "on" },
    };
    const merged = render(platform, hostile) as unknown as ReturnType<typeof buildMIChartValues> & {
      image: { tag: string };
      extraConfig: Record<string, string>;
    };
    assert.equal(merged.image.repository, "registry.imaas.example.com/acme/orders");
    assert.equal(merged.image.tag, "1.2.3", "the branch owns the tag");
    assert.equal(merged.replicas, 2);
    assert.deepEqual(merged.autoscaling, platform.autoscaling);
    assert.deepEqual(merged.resources, platform.resources);
    assert.equal(merged.serviceAccountName, "mi-workloads");
    assert.equal(merged.secretName, "");
    assert.equal(merged.labels["imaas.io/tenant"], "acme");
    assert.deepEqual(merged.tracing, platform.tracing);
    assert.equal(merged.serviceMonitor.enabled, true);
    assert.deepEqual(merged.extraConfig, { FEATURE_X: "on" });
  });

  it("uses replicas without autoscaling and a full, enabled HPA block with it", () => {
    const fixed = buildMIChartValues({ ...base, replicas: 3 });
    assert.equal(fixed.replicas, 3);
    assert.equal(fixed.autoscaling.enabled, false);

    const scaled = buildMIChartValues({
      ...base,
      environment: "prod",
      autoscaling: { min: 2, max: 6, targetCPUUtilization: 65 },
    });
    assert.deepEqual(scaled.autoscaling, {
      enabled: true,
      minReplicas: 2,
      maxReplicas: 6,
      targetCPUUtilizationPercentage: 65,
    });
    assert.deepEqual(schemaErrors(scaled), []);
  });

  it("labels with the platform's tenant, environment and service keys only", () => {
    const values = buildMIChartValues({ ...base, environment: "test" });
    assert.deepEqual(values.labels, {
      "imaas.io/tenant": "acme",
      "imaas.io/environment": "test",
      "imaas.io/service": "orders",
    });
    assert.notDeepEqual(schemaErrors({ ...values, labels: { ...values.labels, "team.io/x": "y" } }), []);
  });

  it("passes config through as environment variables and the secret as an optional source", () => {
    const values = buildMIChartValues({
      ...base,
      config: { DB_HOST: "db.acme", RETRIES: "3" },
      secretName: "orders-env",
    });
    assert.deepEqual(values.config, { DB_HOST: "db.acme", RETRIES: "3" });
    assert.equal(values.secretName, "orders-env");
    assert.deepEqual(schemaErrors(values), []);
    assert.equal(buildMIChartValues(base).secretName, "");
  });

  it("sizes memory request = limit and CPU limit = twice the request", () => {
    const values = buildMIChartValues({ ...base, resources: { cpu: "750m", memory: "2Gi" } });
    assert.deepEqual(values.resources, {
      requests: { cpu: "750m", memory: "2Gi" },
      limits: { cpu: "1500m", memory: "2Gi" },
    });
    assert.deepEqual(
      buildMIChartValues({ ...base, resources: { cpu: "1", memory: "1Gi" } }).resources.limits,
      {
        cpu: "2",
        memory: "1Gi",
      },
    );
    assert.equal(cpuMillicores("1.5"), 1500);
    assert.equal(formatCpu(2000), "2");
  });

  it("turns tracing off without an OTLP endpoint and on with one", () => {
    assert.deepEqual(buildMIChartValues({ ...base, otlpEndpoint: undefined }).tracing, {
      enabled: false,
      otlpEndpoint: "",
    });
    assert.deepEqual(buildMIChartValues(base).tracing, {
      enabled: true,
      otlpEndpoint: "http://otel-collector.observability.svc:4317",
    });
  });

  it("seeds the branch values with the initial tag, never in the inline values", () => {
    assert.deepEqual(buildInitialBranchValues(base), { image: { tag: "0.0.0-initial" }, extraConfig: {} });
    assert.deepEqual(Object.keys(buildMIChartValues(base).image), ["repository"]);
  });

  it("refuses bad input with every error at once, each naming its key", () => {
    const errors = validateMIChartInput({
      ...base,
      initialTag: "latest",
      replicas: -1,
      autoscaling: { min: 5, max: 2, targetCPUUtilization: 70 },
      resources: { cpu: "lots", memory: "1GB" },
      config: { JAVA_OPTS: "-Dx", "bad-name": "v" },
      otlpEndpoint: "collector:4317",
    });
    for (const key of [
      "initialTag",
      "replicas",
      "autoscaling",
      "resources.cpu",
      "resources.memory",
      "config.JAVA_OPTS",
      "config.bad-name",
      "otlpEndpoint",
    ]) {
      assert.ok(
        errors.some((e) => e.startsWith(`${key}:`)),
        `no error for ${key} in ${errors.join("; ")}`,
      );
    }
    assert.throws(
      () => buildMIChartValues({ ...base, initialTag: "latest" }),
      /tenant "acme", service "orders"/,
    );
  });

  it("reserves exactly the environment variables the chart's deployment template sets", () => {
    const template = readFileSync(join(CHART, "templates", "deployment.yaml"), "utf8");
    const literal = [...template.matchAll(/^\s*- name: ([A-Z_][A-Z0-9_]*)\s*$/gm)].map((m) => m[1]);
    assert.ok(literal.includes("POD_NAME") && literal.includes("JVM_MEM_OPTS"), literal.join(","));
    assert.deepEqual([...new Set(literal)].sort(), [...CHART_ENV_NAMES].sort());
  });

  it("agrees with the schema on which environment variable names the chart reserves", () => {
    assert.deepEqual(
      [...RESERVED_ENV_NAMES].sort(),
      [...schema.definitions.envMap.propertyNames.not.enum].sort(),
    );
  });

  it("lets the schema refuse wrong types and unknown keys in a branch file", () => {
    const platform = buildMIChartValues(base);
    assert.notDeepEqual(schemaErrors(render(platform, { image: { tag: "latest" } })), []);
    assert.notDeepEqual(schemaErrors(render(platform, { extraConfig: { RETRIES: 3 } })), []);
    assert.notDeepEqual(schemaErrors(render(platform, { podAnnotations: { a: "b" } })), []);
    assert.notDeepEqual(schemaErrors(render(platform, { extraConfig: { JAVA_OPTS: "-Dx" } })), []);
    assert.deepEqual(
      schemaErrors(render(platform, { image: { tag: "1.4.2-abc123" }, extraConfig: { A: "b" } })),
      [],
    );
  });
});
