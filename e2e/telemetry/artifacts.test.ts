/**
 * Each generated artifact checked by its own project's validator: promtool (rules), amtool (Alertmanager
 * config and routing), actionlint (GitHub workflows). The artifacts come from the program's plan
 * (generated.ts), so a change in a builder is checked here without touching this file.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { OTEL_COLLECTOR_VERSION } from "../../components/observability/values/otel-collector";
import { artifacts } from "./hooks";
import { ROOT, runTool, show } from "./tools";

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), "imaas-telemetry-artifacts-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

const write = (name: string, data: unknown): string => {
  const file = join(work, name);
  writeFileSync(file, typeof data === "string" ? data : YAML.stringify(data));
  return file;
};

describe("generated artifacts, checked by the real tools", () => {
  describe("PrometheusRules: promtool check rules --lint=all", () => {
    it("the plan has the MI alert rules in every tenant namespace and recording rules per cluster", () => {
      const { rules, namespaces } = artifacts();
      const tenantNamespaces = Object.values(namespaces).flatMap((byCluster) =>
        Object.values(byCluster).flat(),
      );
      assert.deepEqual(
        rules
          .filter((r) => r.name === "imaas-mi-alerts")
          .map((r) => r.namespace)
          .sort(),
        [...tenantNamespaces].sort(),
      );
      assert.equal(rules.filter((r) => r.name === "imaas-recording-rules").length, 2, "one per cluster");
    });

    it("every PrometheusRule passes promtool's checks and lint", () => {
      const failures: string[] = [];
      for (const r of artifacts().rules) {
        const file = write(`${r.namespace}-${r.name}.rules.yaml`, r.spec);
        const res = runTool("promtool", ["check", "rules", "--lint=all", "--lint-fatal", file]);
        if (res.status !== 0 || !/SUCCESS/.test(res.stdout))
          failures.push(`${r.namespace}/${r.name}: ${show(res)}`);
      }
      assert.deepEqual(failures, []);
    });

    it("promtool refuses a broken rule (the check can fail)", () => {
      const file = write("broken.rules.yaml", {
        groups: [{ name: "g", rules: [{ alert: "Broken", expr: "sum(rate(up[5m]) by" }] }],
      });
      assert.notEqual(runTool("promtool", ["check", "rules", file]).status, 0);
    });
  });

  describe("Alertmanager: amtool check-config and routing", () => {
    it("each cluster's generated configuration is valid, with a real integration on every receiver", () => {
      const { alertmanager } = artifacts();
      assert.deepEqual(Object.keys(alertmanager).sort(), ["nonprod", "prod"]);
      for (const [cluster, { config }] of Object.entries(alertmanager)) {
        const res = runTool("amtool", ["check-config", write(`alertmanager-${cluster}.yaml`, config)]);
        assert.equal(res.status, 0, `${cluster}: ${show(res)}`);
        assert.match(res.stdout, /SUCCESS/);
        for (const r of config.receivers) {
          assert.ok(
            (r.email_configs?.length ?? 0) + (r.webhook_configs?.length ?? 0) > 0,
            `${cluster}: receiver ${r.name} has no integration: its alerts would be dropped`,
          );
        }
      }
    });

    it("routes each tenant namespace's alerts to that tenant's receiver only, whatever tenant label they carry", () => {
      const { alertmanager, namespaces } = artifacts();
      for (const [cluster, { config }] of Object.entries(alertmanager)) {
        const file = write(`routes-${cluster}.yaml`, config);
        const route = (...labels: string[]) => {
          const res = runTool("amtool", ["config", "routes", "test", `--config.file=${file}`, ...labels]);
          assert.equal(res.status, 0, show(res));
          return res.stdout.trim();
        };
        const owned = Object.entries(namespaces).flatMap(([tenant, byCluster]) =>
          (byCluster[cluster] ?? []).map((ns) => ({ tenant, ns })),
        );
        assert.ok(owned.length >= 2, `${cluster}: tenant namespaces ${JSON.stringify(owned)}`);
        for (const { tenant, ns } of owned) {
          const expected = tenant === "hr" ? "platform" : `tenant-${tenant}`; // hr names no destinations
          assert.equal(route("alertname=MIInstanceDown", `namespace=${ns}`), expected, `${cluster} ${ns}`);
          for (const other of Object.keys(namespaces).filter((t) => t !== tenant)) {
            assert.equal(
              route("alertname=MIInstanceDown", `namespace=${ns}`, `tenant=${other}`),
              expected,
              `${cluster}: an alert from ${ns} labelled tenant=${other} still goes to ${tenant}'s receiver`,
            );
          }
        }
        for (const ns of ["observability", "kube-system", "payroll-dev2", "xpayroll-dev", "argocd"]) {
          assert.equal(
            route("alertname=KubePodCrashLooping", `namespace=${ns}`),
            "platform",
            `${cluster} ${ns}`,
          );
        }
        assert.equal(
          route("alertname=Watchdog"),
          "platform",
          "alerts without a namespace go to the platform",
        );
        assert.equal(
          route("alertname=X", "tenant=payroll"),
          "platform",
          "a tenant label alone does not reach a tenant",
        );
      }
    });
  });

  describe("OpenTelemetry Collector: validate", () => {
    it("a collector built from the pinned component versions accepts each cluster's generated config", () => {
      const { collector } = artifacts();
      assert.deepEqual(Object.keys(collector).sort(), ["nonprod", "prod"]);
      const gomod = readFileSync(join(ROOT, "e2e/tools/otelcol/go.mod"), "utf8");
      for (const [cluster, { config, tag }] of Object.entries(collector)) {
        assert.equal(tag, OTEL_COLLECTOR_VERSION);
        assert.match(
          gomod,
          new RegExp(`go\\.opentelemetry\\.io/collector/otelcol v${tag.replaceAll(".", "\\.")}\\n`),
        );
        const file = write(`otelcol-${cluster}.yaml`, config);
        // The chart sets MY_POD_IP from the pod's IP; the config expands it itself.
        const res = runTool("otelcol-imaas", ["validate", `--config=${file}`], ROOT, {
          MY_POD_IP: "127.0.0.1",
        });
        assert.equal(res.status, 0, `${cluster}: ${show(res)}`);
      }
    });

    it("validate refuses a config naming a component the build lacks (the check can fail)", () => {
      const { config } = artifacts().collector.nonprod!;
      const bad = { ...config, processors: { ...(config.processors as object), "attributes/x": {} } };
      const file = write("otelcol-bad.yaml", bad);
      const res = runTool("otelcol-imaas", ["validate", `--config=${file}`], ROOT, {
        MY_POD_IP: "127.0.0.1",
      });
      assert.notEqual(res.status, 0, show(res));
      assert.match(show(res), /attributes/);
    });
  });

  describe("GitHub workflows: actionlint", () => {
    it("every generated service workflow passes", () => {
      const { workflows } = artifacts();
      assert.ok(Object.keys(workflows).length >= 3, `workflows: ${Object.keys(workflows).join(", ")}`);
      const failures: string[] = [];
      for (const [key, text] of Object.entries(workflows)) {
        const file = write(`${key.replaceAll("/", "_")}`, text);
        const res = runTool("actionlint", ["-no-color", "-shellcheck=", "-pyflakes=", file]);
        if (res.status !== 0) failures.push(`${key}: ${show(res)}`);
      }
      assert.deepEqual(failures, []);
    });

    it("the project's own workflows pass", () => {
      const files = readdirSync(join(ROOT, ".github/workflows"))
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(".github/workflows", f));
      assert.ok(files.length > 0);
      const res = runTool("actionlint", ["-no-color", "-shellcheck=", "-pyflakes=", ...files], ROOT);
      assert.equal(res.status, 0, show(res));
    });

    it("actionlint refuses a broken workflow (the check can fail)", () => {
      const expression = ["$", "{{ github.nope.x }}"].join(""); // a GitHub expression with an unknown context key
      const bad = `on: push\njobs:\n  b:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${expression}\n`;
      const res = runTool("actionlint", ["-no-color", "-shellcheck=", "-pyflakes=", write("bad.yml", bad)]);
      assert.equal(res.status, 1, show(res)); // 1: lint errors found (not a fatal error)
      assert.match(res.stdout, /nope/);
    });
  });
});
