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
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
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
import { CREDENTIAL_KEYS } from "../../components/mi-service/keystore";
import { checkRestricted } from "../../test/support/pss";
import MI_CONFIG_KEYS from "./mi-config-keys.json";
import { tomlKeyPaths } from "./toml-keys";

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

/** The raw `helm template` output (every document, comments included) for one value set. */
function helmTemplateText(input: MIChartInput, branch: MIBranchValues): string {
  const platform = writeValues(`${input.service}-${input.environment}-text-p`, buildMIChartValues(input));
  const branchFile = writeValues(`${input.service}-${input.environment}-text-b`, branch);
  return helm([
    "template",
    input.service,
    CHART,
    "-n",
    `${input.tenant}-${input.environment}`,
    "-f",
    branchFile,
    "-f",
    platform,
  ]);
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

/**
 * deployment.toml keys MI reads in Java rather than through a config-tool template (so they are not in
 * mi-config-keys.json), each with where in wso2/micro-integrator (commit of mi-config-keys.json) it is read.
 */
const KEYS_READ_BY_MI_JAVA: Record<string, string> = {
  "cluster_config.node_id":
    "components/org.wso2.micro.integrator.coordination/.../RDBMSCoordinationStrategy.java (CLUSTER_CONFIG + NODE_ID_CONFIG_NAME)",
  "internal_apis.file_user_store.primary":
    "components/org.wso2.micro.integrator.extensions/.../security/handler/SecurityHandlerAdapter.java",
  // MI's heartbeat to the Integration Control Plane (e2e/chart/icp.test.ts).
  "dashboard_config.dashboard_url":
    "components/org.wso2.micro.integrator.initializer/.../initializer/dashboard/Constants.java (HeartBeatComponent)",
  "dashboard_config.group_id":
    "components/org.wso2.micro.integrator.initializer/.../initializer/dashboard/Constants.java (HeartBeatComponent)",
  "dashboard_config.node_id":
    "components/org.wso2.micro.integrator.initializer/.../initializer/dashboard/Constants.java (HeartBeatComponent)",
};
const KNOWN_MI_KEYS = new Set([...MI_CONFIG_KEYS.keys, ...Object.keys(KEYS_READ_BY_MI_JAVA)]);

/**
 * The rendered manifests without the two places where the container user's name is a path, not a
 * credential: its home `/home/wso2carbon/` (WSO2's image) and MI's pid file `wso2carbon.pid`; and without
 * the config keys `is_admin` / `super_admin`. What remains must not mention `wso2carbon` or `admin`.
 */
function withoutNamesThatAreNotCredentials(text: string): string {
  return text
    .replace(/\/home\/wso2carbon\//g, "/home/<user>/")
    .replace(/\bwso2carbon\.pid\b/g, "<pid>")
    .replace(/\b(is_admin|super_admin)\b/g, "<key>");
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
  {
    // The coordination variant (e2e/chart/coordination.test.ts covers it in depth): here for the checks
    // every variant must pass (no default credentials, only known deployment.toml keys).
    name: "stateful prod with a coordination database",
    input: { ...base, environment: "prod", replicas: 2, coordinationSecretName: "coordination-db" },
    branch: { image: { tag: "1.4.2-3f9c2ab" } },
  },
  {
    // Registered with the platform's Integration Control Plane (e2e/chart/icp.test.ts covers it in depth).
    name: "registered with the Integration Control Plane",
    input: {
      ...base,
      environment: "test",
      icp: {
        dashboardUrl: "https://imaas-icp.observability.svc:9743/dashboard/api",
        groupId: "acme-test",
        credentialsSecret: "orders-mi-icp",
      },
    },
    branch: { image: { tag: "1.4.2-3f9c2ab" } },
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
        // MI opens 9201 only after deploying every CApp (AppDeployerServiceComponent → StartupFinalizer).
        assert.deepEqual(mi.startupProbe.httpGet, { path: "/liveness", port: "internal" });
        assert.ok(
          mi.startupProbe.periodSeconds * mi.startupProbe.failureThreshold >= 300,
          "JVM start and CApp deployment get at least 5 minutes",
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
          { name: "mi-keystore", mountPath: "/mi-keystore", readOnly: true },
        ]);
      });

      it("has no default credential: no wso2carbon keystore or password, no admin user, no LDAP store", () => {
        const text = withoutNamesThatAreNotCredentials(
          helmTemplateText(c.input, c.branch ?? buildInitialBranchValues(c.input)),
        );
        assert.ok(text.includes("kind: Deployment"), "rendered something");
        assert.doesNotMatch(text, /wso2carbon/i);
        assert.doesNotMatch(text, /admin/i);
        assert.doesNotMatch(text, /read_only_ldap|client-truststore\.jks|changeit/);
      });

      it("writes only deployment.toml keys MI's config tool knows (mi-config-keys.json)", () => {
        const keys = tomlKeyPaths(one(objs, "ConfigMap").data["deployment.toml"]);
        assert.ok(keys.length >= 20, `only ${keys.length} keys parsed`);
        const unknown = keys.filter((k) => !KNOWN_MI_KEYS.has(k));
        assert.deepEqual(
          unknown,
          [],
          "keys MI does not read: check them in wso2/micro-integrator's config tool (re-record with " +
            "e2e/chart/record-mi-config-keys.ts) or add a key MI reads in Java to KEYS_READ_BY_MI_JAVA with its source",
        );
        // Entries of a [[table]] list (two management API users under ICP) repeat their keys; nothing else may.
        const plain = keys.filter((k) => !k.includes("[]."));
        assert.equal(new Set(plain).size, plain.length, "no key set twice");
      });

      it("takes keystore, truststore and management user from the platform's Secrets", () => {
        const toml: string = one(objs, "ConfigMap").data["deployment.toml"];
        const values = buildMIChartValues(c.input);
        const pw = "$env{IMAAS_MI_KEYSTORE_PASSWORD}";
        assert.ok(
          toml.includes(`[keystore.primary]
file_name = "repository/resources/security/imaas/keystore.jks"
type = "JKS"
password = "${pw}"
alias = "${values.security.keystoreAlias}"
key_password = "${pw}"`),
        );
        assert.ok(
          toml.includes(`[truststore]
file_name = "repository/resources/security/imaas-truststore.jks"
type = "JKS"
password = "${pw}"`),
        );
        assert.ok(
          toml.includes(`[[internal_apis.users]]
user.name = "$env{IMAAS_MI_MANAGEMENT_USERNAME}"
user.password = "$env{IMAAS_MI_MANAGEMENT_PASSWORD}"`),
        );
        assert.match(toml, /\[internal_apis\.file_user_store\]\nenable = true/);
        assert.doesNotMatch(toml, /^\[user_store\]/m);

        const spec = one(objs, "Deployment").spec.template.spec;
        const fromSecret = (ctr: Obj) =>
          Object.fromEntries(
            ctr.env
              .filter((e: Obj) => e.valueFrom?.secretKeyRef && e.name.startsWith("IMAAS_MI_"))
              .map((e: Obj) => [e.name, e.valueFrom.secretKeyRef]),
          );
        const credentials = values.security.credentialsSecret;
        assert.deepEqual(fromSecret(spec.containers[0]), {
          IMAAS_MI_KEYSTORE_PASSWORD: { name: credentials, key: CREDENTIAL_KEYS.keystorePassword },
          IMAAS_MI_MANAGEMENT_USERNAME: { name: credentials, key: CREDENTIAL_KEYS.managementUsername },
          IMAAS_MI_MANAGEMENT_PASSWORD: { name: credentials, key: CREDENTIAL_KEYS.managementPassword },
        });
        assert.deepEqual(fromSecret(spec.initContainers[0]), {
          IMAAS_MI_KEYSTORE_PASSWORD: { name: credentials, key: CREDENTIAL_KEYS.keystorePassword },
        });
        const keystore = spec.volumes.find((v: Obj) => v.name === "mi-keystore");
        assert.deepEqual(keystore.secret, {
          secretName: values.security.keystoreSecret,
          items: [
            { key: "keystore.jks", path: "keystore.jks" },
            { key: "ca.crt", path: "ca.crt" },
          ],
        });
        const home = spec.containers[0].env.find((e: Obj) => e.name === "WSO2_SERVER_HOME").value;
        const mount = spec.containers[0].volumeMounts.find((m: Obj) => m.name === "mi-keystore");
        assert.deepEqual(mount, {
          name: "mi-keystore",
          mountPath: `${home}/repository/resources/security/imaas`,
          readOnly: true,
        });
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

  it("refuses to render without the keystore or the credentials Secret", () => {
    const platform = buildMIChartValues(base);
    const branch = { image: { tag: "1" } };
    assert.match(
      renderError([branch, { ...platform, security: { ...platform.security, keystoreSecret: "" } }]),
      /security\.keystoreSecret is not set/,
    );
    assert.match(
      renderError([branch, { ...platform, security: { ...platform.security, credentialsSecret: "" } }]),
      /security\.credentialsSecret is not set/,
    );
    // A branch file naming another service's Secrets changes nothing: the platform sets every leaf.
    const objs = render(base, {
      image: { tag: "1" },
      security: { keystoreSecret: "payments-mi-keystore", credentialsSecret: "payments-mi-credentials" },
    } as MIBranchValues);
    const volume = one(objs, "Deployment").spec.template.spec.volumes.find(
      (v: Obj) => v.name === "mi-keystore",
    );
    assert.equal(volume.secret.secretName, platform.security.keystoreSecret);
  });

  it("builds MI's truststore in the init container: the JDK's CAs plus the internal CA, under the service's password", () => {
    // The init container's own script, run here with this machine's JDK (keytool) in place of the image's.
    const keytool = execFileSync("sh", ["-c", "command -v keytool || true"], { encoding: "utf8" }).trim();
    assert.ok(keytool, "keytool (a JDK) is needed on PATH to run the init container's script");
    const javaHome = join(realpathSync(keytool), "../..");
    const init = one(render(base), "Deployment").spec.template.spec.initContainers[0];
    const script: string = init.command[2];
    const dir = mkdtempSync(join(workdir, "init-"));
    const home = join(dir, "image-home");
    mkdirSync(join(home, "repository/resources/security"), { recursive: true });
    writeFileSync(join(home, "repository/resources/security/keep.txt"), "from the image");
    mkdirSync(join(dir, "keystore"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=IMaaS internal CA (test)",
        "-keyout",
        join(dir, "ca.key"),
        "-out",
        join(dir, "keystore/ca.crt"),
      ],
      { stdio: "ignore" },
    );
    const password = "Zx81pQ7mNa0sLk2VbC4dRt6y";
    const run = script
      .replaceAll("/mi-runtime", join(dir, "runtime"))
      .replaceAll("/mi-keystore", join(dir, "keystore"));
    mkdirSync(join(dir, "runtime"));
    execFileSync("/bin/sh", ["-c", run], {
      env: {
        PATH: process.env.PATH,
        WSO2_SERVER_HOME: home,
        JAVA_HOME: javaHome,
        IMAAS_MI_KEYSTORE_PASSWORD: password,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    assert.equal(
      readFileSync(join(dir, "runtime/repository/resources/security/keep.txt"), "utf8"),
      "from the image",
    );
    const truststore = join(dir, "runtime/repository/resources/security/imaas-truststore.jks");
    const list = execFileSync(keytool, ["-list", "-keystore", truststore, "-storepass", password], {
      encoding: "utf8",
    });
    assert.match(list, /Keystore type: JKS/);
    assert.match(list, /imaas-internal-ca, .*trustedCertEntry/);
    const entries = Number(/Your keystore contains (\d+) entries/.exec(list)?.[1]);
    assert.ok(entries > 50, `${entries} entries: the JDK's public CAs are in`);
    assert.throws(() =>
      execFileSync(keytool, ["-list", "-keystore", truststore, "-storepass", "wrong-password"], {
        stdio: "ignore",
      }),
    );
  });

  it("parses deployment.toml keys as MI's config mapper names them", () => {
    assert.deepEqual(
      tomlKeyPaths(
        [
          "[server]",
          'hostname = "x" # comment',
          "[[synapse_handlers]]",
          'name = "a"',
          "[mediation]",
          "flow.statistics.enable = true",
          "[synapse_properties]",
          "'a.b' = 1",
        ].join("\n"),
      ),
      [
        "server.hostname",
        "synapse_handlers[].name",
        "mediation.flow.statistics.enable",
        "synapse_properties.'a.b'",
      ],
    );
    assert.throws(() => tomlKeyPaths('[server]\nroles = [\n "a",\n]'), /line 3/);
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
