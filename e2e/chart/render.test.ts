/**
 * Renders charts/wso2-mi with the real `helm template` for the value sets the platform produces and
 * checks every object: Kubernetes schema (kubernetes-models), Pod Security Standards `restricted`,
 * probes, ports, rollout strategy, labels, HPA/PDB presence, the MI configuration files.
 *
 * Run: npx mocha --spec 'e2e/chart/**\/*.test.ts'   (not part of `npm test`: it needs the helm binary
 * built by `e2e/tools/build.sh helm` into ${IMAAS_TOOLS_DIR:-$HOME/.cache/imaas-tools}/bin/helm).
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { parseAllDocuments } from "yaml";
import {
  buildInitialBranchValues,
  buildMIChartValues,
  type MIBranchValues,
  type MIChartInput,
} from "../../components/mi-service/chart-values";
import { checkRestricted } from "../../test/support/pss";

const ROOT = join(__dirname, "../..");
const CHART = join(ROOT, "charts/wso2-mi");
const TOOLS_DIR = process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools");
const HELM = join(TOOLS_DIR, "bin/helm");

/** The Fluent Bit regex documented in charts/wso2-mi/README.md for the console log format. */
const LOG_LINE =
  /^(?<time>\S+) +(?<level>[A-Z]+) +\[(?<thread>[^\]]*)\] (?<log_type>\S+) \{(?<logger>[^}]*)\} trace_id=(?<trace_id>\S*) span_id=(?<span_id>\S*) correlation_id=(?<correlation_id>\S*) - (?<message>.*)$/;

type Obj = Record<string, any>;

let workdir = "";

function helm(args: string[]): string {
  return execFileSync(HELM, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function writeValues(name: string, values: unknown): string {
  const file = join(workdir, `${name}.json`);
  writeFileSync(file, JSON.stringify(values));
  return file;
}

/** `helm template` with the branch values first and the platform values last (Argo CD's precedence). */
function render(input: MIChartInput, branch: MIBranchValues = buildInitialBranchValues(input)): Obj[] {
  const platform = writeValues(`${input.service}-${input.environment}-platform`, buildMIChartValues(input));
  const branchFile = writeValues(`${input.service}-${input.environment}-branch`, branch);
  const out = helm([
    "template",
    input.service,
    CHART,
    "--namespace",
    `${input.tenant}-${input.environment}`,
    "-f",
    branchFile,
    "-f",
    platform,
  ]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
}

function renderError(values: unknown[]): string {
  const files = values.map((v, i) => writeValues(`bad-${i}`, v));
  try {
    helm(["template", "svc", CHART, ...files.flatMap((f) => ["-f", f])]);
  } catch (e) {
    return String((e as { stderr?: string }).stderr ?? e);
  }
  assert.fail("helm template should have failed");
}

const byKind = (objs: Obj[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: Obj[], kind: string): Obj => {
  const found = byKind(objs, kind);
  assert.equal(found.length, 1, `expected one ${kind}, found ${found.length}`);
  return found[0];
};

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
};

const CASES: { name: string; input: MIChartInput; branch?: MIBranchValues }[] = [
  { name: "single-replica dev", input: base },
  {
    name: "autoscaled prod with tracing",
    input: {
      ...base,
      environment: "prod",
      replicas: 2,
      autoscaling: { min: 2, max: 6, targetCPUUtilization: 70 },
      resources: { cpu: "1", memory: "2Gi" },
      otlpEndpoint: "http://otel-collector.observability.svc:4317",
    },
    branch: { image: { tag: "1.4.2-3f9c2ab" } },
  },
  {
    name: "test with config, extraConfig and a secret",
    input: {
      ...base,
      environment: "test",
      replicas: 2,
      config: { DB_HOST: "db.acme-test.svc", SHARED: "platform" },
      secretName: "orders-env",
      otlpEndpoint: "http://otel-collector.observability.svc:4317",
    },
    branch: {
      image: { digest: `sha256:${"ab".repeat(32)}` },
      extraConfig: { FEATURE_X: "on", SHARED: "tenant" },
    },
  },
];

describe("charts/wso2-mi rendered by helm", function () {
  this.timeout(60_000);

  before(() => {
    if (!existsSync(HELM)) {
      throw new Error(
        `helm not found at ${HELM}. Build it with \`e2e/tools/build.sh helm\` ` +
          "(or point IMAAS_TOOLS_DIR at a directory whose bin/ holds helm), then re-run this test.",
      );
    }
    workdir = mkdtempSync(join(tmpdir(), "imaas-chart-"));
  });

  after(() => {
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it("passes helm lint --strict for every value set", () => {
    for (const c of CASES) {
      const platform = writeValues(`lint-${c.name.replace(/\W+/g, "-")}-p`, buildMIChartValues(c.input));
      const branch = writeValues(
        `lint-${c.name.replace(/\W+/g, "-")}-b`,
        c.branch ?? buildInitialBranchValues(c.input),
      );
      helm(["lint", "--strict", CHART, "-f", branch, "-f", platform]);
    }
    helm(["lint", "--strict", CHART, "-f", join(CHART, "ci/default-values.yaml")]);
  });

  for (const c of CASES) {
    describe(c.name, () => {
      let objs: Obj[] = [];
      before(() => {
        objs = render(c.input, c.branch);
      });

      it("renders only the expected kinds, each valid against the Kubernetes schema", () => {
        const multi = c.input.autoscaling ? c.input.autoscaling.min > 1 : c.input.replicas > 1;
        const expected = ["ConfigMap", "Deployment", "Service", "ServiceMonitor"];
        if (c.input.autoscaling) expected.push("HorizontalPodAutoscaler");
        if (multi) expected.push("PodDisruptionBudget");
        assert.deepEqual(objs.map((o) => o.kind).sort(), expected.sort());
        for (const o of objs) {
          switch (o.kind) {
            case "Deployment":
              new Deployment(o as never).validate();
              break;
            case "Service":
              new Service(o as never).validate();
              break;
            case "ConfigMap":
              new ConfigMap(o as never).validate();
              break;
            case "HorizontalPodAutoscaler":
              new HorizontalPodAutoscaler(o as never).validate();
              break;
            case "PodDisruptionBudget":
              new PodDisruptionBudget(o as never).validate();
              break;
            case "ServiceMonitor":
              assert.equal(o.apiVersion, "monitoring.coreos.com/v1");
              break;
            default:
              assert.fail(`unexpected kind ${o.kind}`);
          }
        }
      });

      it("labels every object and pod with the standard and platform labels", () => {
        const deployment = one(objs, "Deployment");
        const want = {
          "app.kubernetes.io/name": "wso2-mi",
          "app.kubernetes.io/instance": c.input.service,
          "app.kubernetes.io/version": c.input.miVersion,
          "app.kubernetes.io/part-of": "imaas",
          "app.kubernetes.io/managed-by": "Helm",
          "imaas.io/tenant": c.input.tenant,
          "imaas.io/environment": c.input.environment,
          "imaas.io/service": c.input.service,
        };
        for (const o of [...objs.map((x) => x.metadata), deployment.spec.template.metadata]) {
          for (const [k, v] of Object.entries(want))
            assert.equal(o.labels?.[k], v, `${o.name ?? "pod"}: label ${k}`);
        }
        for (const o of objs) assert.equal(o.metadata.namespace, `${c.input.tenant}-${c.input.environment}`);
      });

      it("produces a pod that passes Pod Security Standards restricted, with a read-only root", () => {
        const d = one(objs, "Deployment");
        const pod = d.spec.template;
        assert.deepEqual(checkRestricted(pod.spec, pod.metadata), []);
        assert.equal(pod.spec.securityContext.runAsUser, 10802);
        for (const ctr of [...pod.spec.initContainers, ...pod.spec.containers]) {
          assert.equal(ctr.securityContext.readOnlyRootFilesystem, true, ctr.name);
          assert.equal(ctr.securityContext.runAsUser, 10802, ctr.name);
          assert.equal(ctr.imagePullPolicy, "Always", ctr.name);
        }
        assert.equal(pod.spec.automountServiceAccountToken, false);
        const volumes = Object.fromEntries(pod.spec.volumes.map((v: Obj) => [v.name, v]));
        for (const name of ["mi-runtime", "mi-logs", "tmp"]) assert.ok(volumes[name].emptyDir, name);
      });

      it("wires image, service account, pull secret, resources and rollout as specified", () => {
        const d = one(objs, "Deployment");
        const spec = d.spec.template.spec;
        const mi = spec.containers.find((x: Obj) => x.name === "micro-integrator");
        const branch = c.branch ?? buildInitialBranchValues(c.input);
        const expectedImage = branch.image?.digest
          ? `${c.input.imageRepository}@${branch.image.digest}`
          : `${c.input.imageRepository}:${branch.image?.tag}`;
        assert.equal(mi.image, expectedImage);
        assert.equal(spec.initContainers[0].image, expectedImage);
        assert.equal(spec.serviceAccountName, "mi-workloads");
        assert.deepEqual(spec.imagePullSecrets, [{ name: "registry-pull" }]);
        const values = buildMIChartValues(c.input);
        assert.deepEqual(mi.resources, values.resources);
        assert.deepEqual(d.spec.strategy, {
          type: "RollingUpdate",
          rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
        });
        if (c.input.autoscaling) assert.equal(d.spec.replicas, undefined, "the HPA owns replicas");
        else assert.equal(d.spec.replicas, c.input.replicas);
        const keys = spec.topologySpreadConstraints.map((t: Obj) => [t.topologyKey, t.whenUnsatisfiable]);
        assert.deepEqual(keys, [
          ["kubernetes.io/hostname", "ScheduleAnyway"],
          ["topology.kubernetes.io/zone", "ScheduleAnyway"],
        ]);
        assert.match(d.spec.template.metadata.annotations["checksum/mi-conf"], /^[a-f0-9]{64}$/);
      });

      it("exposes MI's ports and probes them as MI documents", () => {
        const d = one(objs, "Deployment");
        const mi = d.spec.template.spec.containers[0];
        const ports = Object.fromEntries(mi.ports.map((p: Obj) => [p.name, p.containerPort]));
        assert.deepEqual(ports, { http: 8290, https: 8253, management: 9164, internal: 9201 });
        assert.deepEqual(mi.startupProbe.tcpSocket, { port: "https" });
        assert.ok(
          mi.startupProbe.periodSeconds * mi.startupProbe.failureThreshold >= 180,
          "generous startup",
        );
        assert.deepEqual(mi.livenessProbe.httpGet, { path: "/liveness", port: "internal" });
        assert.deepEqual(mi.readinessProbe.httpGet, { path: "/healthz", port: "internal" });

        const svc = one(objs, "Service");
        assert.equal(svc.spec.type, "ClusterIP");
        const svcPorts = Object.fromEntries(svc.spec.ports.map((p: Obj) => [p.name, p.port]));
        assert.deepEqual(svcPorts, { http: 8290, https: 8253, internal: 9201 });
        assert.deepEqual(svc.spec.selector, d.spec.selector.matchLabels);

        const sm = one(objs, "ServiceMonitor");
        assert.deepEqual(sm.spec.selector.matchLabels, d.spec.selector.matchLabels);
        assert.deepEqual(sm.spec.namespaceSelector, {
          matchNames: [`${c.input.tenant}-${c.input.environment}`],
        });
        assert.equal(sm.spec.endpoints.length, 1);
        assert.equal(sm.spec.endpoints[0].port, "internal");
        assert.equal(sm.spec.endpoints[0].path, "/metric-service/metrics");
        assert.match(sm.spec.endpoints[0].interval, /^\d+[smh]$/);
      });

      it("sets the JVM, Prometheus, tracing and configuration environment", () => {
        const mi = one(objs, "Deployment").spec.template.spec.containers[0];
        const env = Object.fromEntries(
          mi.env.filter((e: Obj) => "value" in e).map((e: Obj) => [e.name, e.value]),
        );
        assert.equal(new Set(mi.env.map((e: Obj) => e.name)).size, mi.env.length, "no duplicate env names");
        assert.match(env.JAVA_OPTS, /-DenablePrometheusApi=true/);
        assert.equal(env.JVM_MEM_OPTS, buildMIChartValues(c.input).javaMemOpts);
        assert.equal(env.JAVA_MEM_OPTS, env.JVM_MEM_OPTS);
        assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, c.input.otlpEndpoint);
        for (const [k, v] of Object.entries(c.branch?.extraConfig ?? {})) {
          assert.equal(env[k], c.input.config?.[k] ?? v, `env ${k}`);
        }
        for (const [k, v] of Object.entries(c.input.config ?? {})) assert.equal(env[k], v, `env ${k}`);
        if (c.input.secretName) {
          assert.deepEqual(mi.envFrom, [{ secretRef: { name: c.input.secretName, optional: true } }]);
        } else {
          assert.equal(mi.envFrom, undefined);
        }
      });

      it("configures MI metrics and tracing in deployment.toml and a parseable log format", () => {
        const cm = one(objs, "ConfigMap");
        const toml: string = cm.data["deployment.toml"];
        assert.match(toml, /\[\[synapse_handlers\]\]\s*\nname = "CustomObservabilityHandler"/);
        assert.match(
          toml,
          /class = "org\.wso2\.micro\.integrator\.observability\.metric\.handler\.MetricHandler"/,
        );
        if (c.input.otlpEndpoint) {
          assert.match(toml, /\[opentelemetry\]\nenable = true\ntype = "otlp"\nurl = "([^"]+)"/);
          assert.ok(toml.includes(`url = "${c.input.otlpEndpoint}"`));
          assert.match(toml, /flow\.statistics\.capture_all = true/);
          assert.match(toml, /stat\.tracer\.collect_payloads = false/);
        } else {
          assert.match(toml, /\[opentelemetry\]\nenable = false/);
        }
        const log4j: string = cm.data["log4j2.properties"];
        assert.match(log4j, /trace_id=%X\{trace_id\} span_id=%X\{span_id\}/);
        assert.match(log4j, /rootLogger\.appenderRef\.CONSOLE\.ref = CONSOLE/);
        assert.doesNotMatch(log4j, /RollingFile/);
      });

      it("mounts the MI configuration into the writable copy of the MI home", () => {
        const spec = one(objs, "Deployment").spec.template.spec;
        const mi = spec.containers[0];
        const home = mi.env.find((e: Obj) => e.name === "WSO2_SERVER_HOME").value;
        const mounts = Object.fromEntries(mi.volumeMounts.map((m: Obj) => [m.mountPath, m]));
        assert.equal(mounts[home].name, "mi-runtime");
        assert.equal(mounts[`${home}/conf/deployment.toml`].subPath, "deployment.toml");
        assert.equal(mounts[`${home}/conf/log4j2.properties`].subPath, "log4j2.properties");
        assert.equal(mounts[`${home}/repository/logs`].name, "mi-logs");
        assert.equal(mounts["/tmp"].name, "tmp");
        assert.deepEqual(spec.initContainers[0].volumeMounts, [
          { name: "mi-runtime", mountPath: "/mi-runtime" },
        ]);
      });
    });
  }

  it("renders an HPA with the builder's bounds and a PDB allowing one disruption", () => {
    const objs = render(CASES[1].input, CASES[1].branch);
    const hpa = one(objs, "HorizontalPodAutoscaler");
    assert.equal(hpa.spec.minReplicas, 2);
    assert.equal(hpa.spec.maxReplicas, 6);
    assert.deepEqual(hpa.spec.metrics[0].resource, {
      name: "cpu",
      target: { type: "Utilization", averageUtilization: 70 },
    });
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "orders" });
    const pdb = one(objs, "PodDisruptionBudget");
    assert.equal(pdb.spec.maxUnavailable, 1);
  });

  it("renders no PDB for an autoscaled service whose minimum is one pod", () => {
    const objs = render({ ...base, autoscaling: { min: 1, max: 3, targetCPUUtilization: 80 } });
    assert.equal(byKind(objs, "PodDisruptionBudget").length, 0);
    assert.equal(byKind(objs, "HorizontalPodAutoscaler").length, 1);
  });

  it("changes the checksum annotation when the configuration changes", () => {
    const a = one(render(base), "Deployment").spec.template.metadata.annotations["checksum/mi-conf"];
    const b = one(render({ ...base, otlpEndpoint: "http://collector:4317" }), "Deployment").spec.template
      .metadata.annotations["checksum/mi-conf"];
    assert.notEqual(a, b);
  });

  it("refuses to render without an image tag, with latest, or with unknown or mistyped keys", () => {
    const platform = buildMIChartValues(base);
    assert.match(renderError([platform]), /image\.tag \(or image\.digest\) is not set/);
    assert.match(renderError([{ image: { tag: "latest" } }, platform]), /image\/tag/);
    assert.match(renderError([{ image: { tag: "1" }, podAnnotations: {} }, platform]), /podAnnotations/);
    assert.match(
      renderError([{ image: { tag: "1" }, extraConfig: { RETRIES: 3 } }, platform]),
      /extraConfig/,
    );
    assert.match(
      renderError([{ image: { tag: "1" }, extraConfig: { JAVA_OPTS: "-Dx" } }, platform]),
      /JAVA_OPTS/,
    );
  });

  it("keeps the base image's deployment.toml in step with the chart's observability settings", () => {
    const baseToml = readFileSync(join(ROOT, "images/mi-base/deployment.toml"), "utf8");
    assert.match(
      baseToml,
      /class = "org\.wso2\.micro\.integrator\.observability\.metric\.handler\.MetricHandler"/,
    );
    assert.match(baseToml, /\[opentelemetry\][^[]*type = "otlp"/);
    assert.match(baseToml, /flow\.statistics\.capture_all = true/);
    assert.match(baseToml, /hot_deployment = false/);
  });

  it("documents a log format that the Fluent Bit regex parses", () => {
    const line =
      "2025-01-31T10:15:30.123+00:00 INFO  [PassThroughMessageProcessor-1] carbon {org.apache.synapse.mediators.builtin.LogMediator} trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 correlation_id=9f1c - To: /orders, Direction: request | second line";
    const m = LOG_LINE.exec(line);
    assert.ok(m?.groups);
    assert.equal(m.groups.level, "INFO");
    assert.equal(m.groups.log_type, "carbon");
    assert.equal(m.groups.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert.equal(m.groups.span_id, "00f067aa0ba902b7");
    const untraced = LOG_LINE.exec(
      "2025-01-31T10:15:30.123Z WARN  [main] audit {AUDIT_LOG} trace_id= span_id= correlation_id= - started",
    );
    assert.equal(untraced?.groups?.trace_id, "");
    const readme = readFileSync(join(CHART, "README.md"), "utf8");
    assert.ok(readme.includes(LOG_LINE.source), "README.md documents the same regex");
  });
});
