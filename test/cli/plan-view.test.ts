/** The reviewer's view of a plan (cli/plan-view.ts) and its renderings (table, json, mermaid). */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import { type PlanView, planView, tenantOf } from "../../cli/plan-view";
import { headerLine, renderJson, renderMermaid, renderTable } from "../../cli/render";
import { formatError, loadTenantDir } from "../../model/load";
import type { PlatformConfig } from "../../model/platform-config";
import type { TenantSpec } from "../../model/spec";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");
const TENANTS = join(ROOT, "tenants");

describe("plan view: what a reviewer of a tenant file sees", function () {
  this.timeout(120_000);
  let config: PlatformConfig;
  let tenants: TenantSpec[];
  let resources: PlannedResource[];
  let all: PlanView;
  let payroll: PlanView;

  before(async () => {
    const stackConfig = readStackConfig(ROOT, "dev");
    config = platformConfigOf(stackConfig);
    const loaded = loadTenantDir(TENANTS, config, { stack: "dev" });
    assert.deepEqual(loaded.errors.map(formatError), []);
    tenants = loaded.tenants;
    ({ resources } = await planProgram({
      stack: "dev",
      config: stackConfig.values,
      secretKeys: stackConfig.secretKeys,
      tenantsDir: TENANTS,
    }));
    all = planView({ stack: "dev", config, tenants, resources });
    payroll = planView({ stack: "dev", config, tenants, resources, only: ["payroll"] });
  });

  it("shows every tenant without --tenant, only the selected ones with it", () => {
    assert.deepEqual(all.tenants.map((t) => t.name).sort(), ["hr-onboarding", "logistics", "payroll"]);
    assert.deepEqual(
      payroll.tenants.map((t) => t.name),
      ["payroll"],
    );
    const two = planView({ stack: "dev", config, tenants, resources, only: ["payroll", "logistics"] });
    assert.deepEqual(two.tenants.map((t) => t.name).sort(), ["logistics", "payroll"]);
    assert.throws(() => planView({ stack: "dev", config, tenants, resources, only: ["ghost"] }), /ghost/);
  });

  it("a selected tenant's resources are its own (space, services, observability views) and no platform ones", () => {
    const owner = tenantOf(resources);
    assert.ok(payroll.resources.length > 20);
    assert.ok(payroll.resources.every((r) => owner(r) === "payroll"));
    assert.ok(
      payroll.resources.some((r) => r.name === "payroll-observability"),
      "observability views included",
    );
    assert.ok(!payroll.resources.some((r) => r.type === "imaas:index:ClusterPlatform"));
    const inPlan = resources.filter((r) => owner(r) === "payroll").length;
    assert.equal(payroll.resources.length, inPlan);
  });

  it("counts: the header, the JSON summary and the resources listed agree, for all tenants and for one", () => {
    for (const view of [all, payroll]) {
      const json = JSON.parse(renderJson(view)) as {
        summary: PlanView["counts"];
        tenants: unknown[];
        resources: { component: boolean; protect: boolean; retainOnDelete: boolean }[];
      };
      const managed = json.resources.filter((r) => !r.component);
      assert.equal(json.summary.resources, managed.length);
      assert.equal(json.summary.protected, managed.filter((r) => r.protect).length);
      assert.equal(json.summary.keptOnDelete, managed.filter((r) => r.retainOnDelete).length);
      assert.equal(json.summary.groupings, json.resources.length - managed.length);
      assert.equal(json.summary.tenants, json.tenants.length);
      const header = headerLine(view);
      assert.match(header, new RegExp(`: ${json.summary.tenants} (of 3 )?tenant\\(s\\)`));
      assert.match(
        header,
        new RegExp(
          `, ${json.summary.resources} resources \\(${json.summary.protected} protected, ${json.summary.keptOnDelete} kept on delete;`,
        ),
      );
      assert.ok(renderTable(view).startsWith(`${header}\n`));
    }
    assert.equal(all.counts.resources, resources.filter((r) => !r.component).length);
    assert.match(headerLine(payroll), /1 of 3 tenant\(s\) \(payroll\)/);
  });

  it("per environment: namespace, cluster, quota in words, what the services need at their largest, allowFrom, egress", () => {
    const t = payroll.tenants[0];
    assert.deepEqual(
      t.environments.map((e) => [e.environment, e.namespace, e.cluster, e.protected]),
      [
        ["dev", "payroll-dev", "staging", false],
        ["test", "payroll-test", "staging", false],
        ["prod", "payroll-prod", "staging", true],
      ],
    );
    const prod = t.environments[2];
    // tenants/payroll.yaml: quota prod { cpu: "6", memory: 12Gi, pods: 30 }
    assert.equal(prod.quotaText, "6 CPU requests (12 CPU limits) · 12Gi · 30 pods");
    // salary-sync HPA max 8 + 1 surge, payslip-api 2 + 1 surge, each 500m / 1Gi: 12 pods, 6 CPU, 12Gi.
    assert.equal(prod.largestText, "6 CPU requests (12 CPU limits) · 12Gi · 12 pods");
    assert.deepEqual(prod.allowFrom, ["logistics-prod"]);
    assert.deepEqual(prod.egress, ["10.40.0.0/16:443,8443"]);
    const logistics = all.tenants.find((x) => x.name === "logistics");
    assert.deepEqual(
      logistics?.environments[0].mayCall,
      ["payroll-dev"],
      "the inverse of payroll's allowFrom",
    );
    assert.deepEqual(logistics?.environments[0].egress, ["192.0.2.0/24:443"]);
  });

  it("per service: replicas or HPA per environment, resources (limit at the platform ratio), URL, secrets' names, MI version", () => {
    const sync = payroll.tenants[0].services.find((s) => s.name === "salary-sync");
    assert.ok(sync);
    assert.equal(sync.repository, "payroll-salary-sync");
    assert.equal(sync.miVersion, "4.4.0");
    assert.deepEqual(sync.resources, {
      requests: { cpu: "500m", memory: "1Gi" },
      limits: { cpu: "1", memory: "1Gi" },
    });
    assert.equal(sync.resourcesText, "0.5 CPU (limit 1 CPU) · 1Gi");
    assert.deepEqual(sync.secrets, ["BANK_API_KEY", "DB_PASSWORD"]);
    const byEnv = Object.fromEntries(sync.environments.map((e) => [e.environment, e]));
    assert.equal(byEnv.dev.replicasText, "1 replica");
    assert.equal(byEnv.prod.replicasText, "HPA 3–8 at 70% CPU");
    assert.deepEqual(byEnv.prod.autoscaling, { min: 3, max: 8, targetCPUUtilization: 70 });
    assert.equal(byEnv.prod.url, "https://salary-sync.payroll.imaas.example.com");
    assert.match(byEnv.dev.url ?? "", /^https:\/\/salary-sync\.payroll\.dev\./);
    assert.equal(byEnv.test.url, undefined, "not exposed in test");
    assert.equal(byEnv.prod.application, "payroll-salary-sync-prod");
  });

  it("the table prints those figures in rows a reviewer can read", () => {
    const text = renderTable(payroll);
    assert.match(text, /^Tenant payroll — Payroll Integrations$/m);
    assert.match(
      text,
      /^ {2}prod +payroll-prod \(protected\) +staging +6 CPU requests \(12 CPU limits\) · 12Gi · 30 pods +6 CPU .* +logistics-prod +10\.40\.0\.0\/16:443,8443$/m,
    );
    assert.match(
      text,
      /^ {2}salary-sync +dev +1 replica +0\.5 CPU \(limit 1 CPU\) · 1Gi +https:\/\/salary-sync\.payroll\.dev\.\S+ +BANK_API_KEY, DB_PASSWORD +4\.4\.0$/m,
    );
    assert.match(
      text,
      /^ {15}prod +HPA 3–8 at 70% CPU +https:\/\/salary-sync\.payroll\.imaas\.example\.com$/m,
    );
    assert.match(text, /Namespace\s+payroll-prod\s+\[protected/);
    assert.doesNotMatch(text, /^Platform$/m, "a selected tenant's plan leaves the platform out");
    assert.doesNotMatch(text, /^Tenant logistics/m);
    assert.match(renderTable(all), /^Platform$/m);
    const summaryOnly = renderTable(payroll, { resources: false });
    assert.doesNotMatch(summaryOnly, /Resources|Namespace\s+payroll-prod/);
    assert.match(summaryOnly, /HPA 3–8/);
  });

  it("mermaid: one diagram per tenant, with its namespaces, services, repos, allowFrom and egress", () => {
    const text = renderMermaid(all);
    const diagrams = text.match(/```mermaid\n[\s\S]*?```/g) ?? [];
    assert.equal(diagrams.length, 3);
    const payrollDiagram = diagrams.find((d) => d.includes("tenant payroll"));
    assert.ok(payrollDiagram);
    assert.doesNotMatch(payrollDiagram, /logistics-shipment-tracker/, "another tenant's services stay out");
    assert.match(payrollDiagram, /subgraph ns__payroll_prod\["payroll-prod on staging 🔒<br\/>quota 6 CPU/);
    assert.match(payrollDiagram, /repo__payroll_salary_sync --> app__payroll_salary_sync_prod/);
    assert.match(payrollDiagram, /HPA 3–8 at 70% CPU .*https:\/\/salary-sync\.payroll\.imaas\.example\.com/);
    assert.match(
      payrollDiagram,
      /peer__logistics_prod>"logistics-prod"\] -\. allowFrom \.-> ns__payroll_prod/,
    );
    assert.match(payrollDiagram, /-\. egress \.-> \S+>"10\.40\.0\.0\/16:443,8443"\]/);
    for (const d of diagrams) {
      const body = d.split("\n").slice(2, -1);
      const opened = body.filter((l) => /^\s*subgraph /.test(l)).length;
      assert.equal(body.filter((l) => /^\s*end$/.test(l)).length, opened, "every subgraph closed");
      for (const line of body) {
        const quotes = (line.match(/"/g) ?? []).length;
        assert.equal(quotes % 2, 0, `balanced quotes: ${line}`);
      }
    }
  });

  it("mermaid escapes quotes and angle brackets in labels", () => {
    const t = { ...payroll.tenants[0], team: 'a"b<c>' };
    const text = renderMermaid({ ...payroll, tenants: [t] });
    assert.match(text, /team a#quot;b#lt;c#gt;/);
  });
});
