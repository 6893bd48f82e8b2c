/** The imaas command, spawned as a user runs it. */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { schemaText } from "../../cli/main";

const ROOT = join(__dirname, "..", "..");
const BIN = join(ROOT, "bin", "imaas.js");

function imaas(...args: string[]) {
  // The JSON plan of the examples is over a megabyte: more than spawnSync's default buffer.
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 200_000,
    maxBuffer: 64 << 20,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tenantsCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "imaas-cli-"));
  cpSync(join(ROOT, "tenants"), dir, { recursive: true });
  return dir;
}

describe("imaas CLI", function () {
  this.timeout(240_000);

  it("validate: exit 0 on the examples", () => {
    const r = imaas("validate");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /tenant file\(s\) in tenants are valid for stack "dev"/);
  });

  it("validate: exit 1 with file:line errors and no stack trace", () => {
    const dir = tenantsCopy();
    const file = join(dir, "payroll.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("owners: [ana-lopez]", "owners: [ana_lopez]"));
    const r = imaas("validate", dir);
    assert.equal(r.code, 1);
    assert.match(r.err, /payroll\.yaml:\d+:\d+: spec\.owners\[0\]: not a valid GitHub login/);
    assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace for user mistakes");
  });

  it("usage errors exit 2", () => {
    assert.equal(imaas("frobnicate").code, 2);
    assert.equal(imaas("plan", "--format", "xml").code, 2);
  });

  it("an unknown stack is a clear error listing the stacks; path characters are refused", () => {
    const r = imaas("validate", "--stack", "nope");
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /--stack "nope": no Pulumi\.nope\.yaml in .*; stacks here: dev, jenkins, prod, sandbox/,
    );
    const p = imaas("plan", "--stack", "../../etc/passwd");
    assert.equal(p.code, 1);
    assert.match(p.err, /a stack name has letters, digits, "-", "_" and "\." only, no paths/);
  });

  it("validate FILE checks one file with its peers and reports only that file's errors", () => {
    const dir = tenantsCopy();
    writeFileSync(join(dir, "broken.yaml"), "apiVersion: imaas.io/v1alpha1\nkind: Tenant\n");
    const ok = imaas("validate", join(dir, "payroll.yaml"));
    assert.equal(ok.code, 1, "another file of the folder is invalid: the plan would refuse it");
    assert.match(ok.err, /payroll\.yaml is valid, but other files in .* are not/);
    const bad = imaas("validate", join(dir, "broken.yaml"));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /broken\.yaml:1:1: metadata: required: add metadata/);
    assert.doesNotMatch(bad.err, /payroll\.yaml:/);
    const good = imaas("validate", join(ROOT, "tenants", "payroll.yaml"));
    assert.equal(good.code, 0, good.err);
    assert.match(good.out, /payroll\.yaml is valid for stack "dev" \(checked with the 3 tenant file\(s\)/);
  });

  it("validate runs from inside tenants/", () => {
    const r = spawnSync(process.execPath, [BIN, "validate"], {
      cwd: join(ROOT, "tenants"),
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /3 tenant file\(s\) in tenants are valid/);
  });

  it("--version prints the package version; schema -o to an unwritable path is one line", () => {
    const v = imaas("--version");
    assert.equal(v.code, 0);
    assert.equal(v.out.trim(), JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version);
    const w = imaas("schema", "-o", "/nonexistent-imaas/dir/tenant.schema.json");
    assert.equal(w.code, 1);
    assert.equal(
      w.err,
      "cannot write /nonexistent-imaas/dir/tenant.schema.json: its folder does not exist\n",
    );
  });

  it("plan --format json lists the namespaces with their labels", () => {
    const r = imaas("plan", "--format", "json");
    assert.equal(r.code, 0, r.err);
    const plan = JSON.parse(r.out) as {
      resources: Array<{ type: string; name: string; inputs: any; protect: boolean }>;
    };
    const ns = plan.resources.filter((x) => x.type === "kubernetes:core/v1:Namespace");
    const names = ns.map((x) => x.inputs.metadata.name);
    for (const expected of [
      "payroll-dev",
      "payroll-test",
      "payroll-prod",
      "hr-onboarding-dev",
      "logistics-prod",
    ]) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(", ")}`);
    }
    const prod = ns.find((x) => x.inputs.metadata.name === "payroll-prod");
    assert.equal(prod?.inputs.metadata.labels["imaas.io/tenant"], "payroll");
    assert.equal(prod?.inputs.metadata.labels["imaas.io/environment"], "prod");
    assert.equal(prod?.protect, true);
  });

  it("plan refuses invalid tenants and renders nothing", () => {
    const dir = tenantsCopy();
    writeFileSync(join(dir, "broken.yaml"), "apiVersion: imaas.io/v1alpha1\nkind: Tenant\n");
    const r = imaas("plan", dir);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, /broken\.yaml:1:1: metadata: /);
    assert.match(r.err, /nothing was planned/);
  });

  it("plan of a Jenkins platform seeds Jenkinsfiles and webhooks instead of workflows", () => {
    const r = imaas("plan", "--stack", "jenkins", "--format", "json");
    assert.equal(r.code, 0, r.err);
    const plan = JSON.parse(r.out) as { resources: Array<{ type: string; inputs: any }> };
    const files = plan.resources
      .filter((x) => x.type === "github:index/repositoryFile:RepositoryFile")
      .map((x) => x.inputs.file);
    assert.ok(files.includes("Jenkinsfile"));
    assert.ok(!files.some((f: string) => f.startsWith(".github/workflows/")), "no GitHub Actions workflow");
    assert.ok(plan.resources.some((x) => x.type === "github:index/repositoryWebhook:RepositoryWebhook"));
    const credentials = plan.resources.filter(
      (x) => x.type === "kubernetes:core/v1:Secret" && x.inputs.metadata.namespace === "jenkins",
    );
    assert.deepEqual(credentials.map((x) => x.inputs.metadata.name).sort(), [
      "hr-onboarding-registry-ci",
      "logistics-registry-ci",
      "payroll-registry-ci",
    ]);
    assert.ok(
      credentials.every(
        (x) => x.inputs.metadata.labels["jenkins.io/credentials-type"] === "usernamePassword",
      ),
    );
  });

  it("plan --format table is grouped per tenant", () => {
    const r = imaas("plan");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Tenant payroll — Payroll Integrations$/m);
    assert.match(r.out, /Namespace\s+payroll-prod\s+\[protected/);
  });

  it("plan --tenant (repeatable) shows those tenants; the table's header and the JSON's summary agree", () => {
    const table = imaas("plan", "--tenant", "payroll", "--tenant", "logistics");
    assert.equal(table.code, 0, table.err);
    assert.deepEqual([...table.out.matchAll(/^Tenant (\S+)/gm)].map((m) => m[1]).sort(), [
      "logistics",
      "payroll",
    ]);
    assert.match(table.out, /^ {2}salary-sync +dev +1 replica +0\.5 CPU \(limit 1 CPU\) · 1Gi +https:\/\//m);
    const header =
      /^imaas plan — stack "dev": (\d+) of 3 tenant\(s\) \(([^)]*)\), (\d+) resources \((\d+) protected, (\d+) kept on delete;/.exec(
        table.out,
      );
    assert.ok(header, table.out.split("\n")[0]);
    const json = imaas("plan", "-t", "payroll", "-t", "logistics", "--format", "json");
    assert.equal(json.code, 0, json.err);
    const plan = JSON.parse(json.out) as {
      summary: { tenants: number; resources: number; protected: number; keptOnDelete: number };
      tenants: { name: string }[];
      resources: { component: boolean; name: string }[];
    };
    assert.deepEqual(
      [plan.summary.tenants, plan.summary.resources, plan.summary.protected, plan.summary.keptOnDelete],
      [Number(header[1]), Number(header[3]), Number(header[4]), Number(header[5])],
    );
    assert.equal(plan.summary.resources, plan.resources.filter((x) => !x.component).length);
    assert.deepEqual(plan.tenants.map((t) => t.name).sort(), header[2].split(", ").sort());
    assert.ok(!plan.resources.some((x) => x.name.startsWith("hr-onboarding")));
    const unknown = imaas("plan", "--tenant", "ghost");
    assert.equal(unknown.code, 1);
    assert.equal(unknown.out, "");
    assert.match(
      unknown.err,
      /--tenant "ghost": no such tenant in tenants; tenants there: hr-onboarding, logistics, payroll/,
    );
  });

  it("plan --format mermaid draws one diagram per tenant", () => {
    const r = imaas("plan", "--format", "mermaid");
    assert.equal(r.code, 0, r.err);
    assert.equal((r.out.match(/^```mermaid$/gm) ?? []).length, 3);
    assert.deepEqual([...r.out.matchAll(/^#### Tenant (\S+)$/gm)].map((m) => m[1]).sort(), [
      "hr-onboarding",
      "logistics",
      "payroll",
    ]);
  });

  it("schema --check passes on the committed tenant.schema.json", () => {
    const committed = readFileSync(join(ROOT, "tenants", "tenant.schema.json"), "utf8");
    assert.equal(committed, schemaText(), "tenants/tenant.schema.json is stale: run npx imaas schema");
    const r = imaas("schema", "--check");
    assert.equal(r.code, 0, r.err);
  });
});
