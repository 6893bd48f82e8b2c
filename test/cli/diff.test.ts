/** imaas diff: the pure plan comparison, its plain words, and the git "before" side end to end. */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChangedResource, describeDiff, diffPlans, isIgnored } from "../../cli/diff";
import { DiffError, runDiff } from "../../cli/diff-command";
import { materialiseTenants, planFromGitRef } from "../../cli/diff-git";
import type { PlannedResource } from "../../cli/plan-engine";

const ROOT = join(__dirname, "..", "..");

function res(
  type: string,
  name: string,
  inputs: Record<string, unknown> = {},
  extra: Partial<PlannedResource> = {},
): PlannedResource {
  return {
    type,
    name,
    inputs,
    protect: false,
    retainOnDelete: false,
    component: !type.includes(":") || type.startsWith("imaas:"),
    ...extra,
  };
}

const NS = "kubernetes:core/v1:Namespace";
const REPO = "github:index/repository:Repository";
const APP = "kubernetes:argoproj.io/v1alpha1:Application";

function namespace(tenant: string, env: string, extra: Partial<PlannedResource> = {}): PlannedResource {
  return res(
    NS,
    `${tenant}-${env}`,
    {
      metadata: {
        name: `${tenant}-${env}`,
        labels: { "imaas.io/tenant": tenant, "imaas.io/environment": env, "cost-center": "cc-2001" },
      },
    },
    { parent: tenant, provider: "cluster-main", protect: env === "prod", ...extra },
  );
}

function serviceResources(tenant: string, service: string): PlannedResource[] {
  const full = `${tenant}-${service}`;
  return [
    res("imaas:index:MIService", full, {}, { parent: tenant }),
    res(
      REPO,
      full,
      { name: full, description: "Syncs salary records", visibility: "private", topics: ["imaas", tenant] },
      { parent: full, retainOnDelete: true, provider: "github" },
    ),
    res(
      APP,
      `${full}-dev`,
      {
        metadata: {
          name: `${full}-dev`,
          namespace: "argocd",
          labels: { "imaas.io/tenant": tenant, "imaas.io/service": service },
        },
        spec: {
          project: tenant,
          destination: { namespace: `${tenant}-dev` },
          sources: [{ repoURL: `https://github.com/acme/${full}.git`, targetRevision: "dev" }],
        },
      },
      { parent: full, provider: "cluster-main" },
    ),
  ];
}

describe("diffPlans / describeDiff (pure)", () => {
  const base = [
    res("imaas:index:TenantSpace", "payroll"),
    namespace("payroll", "dev"),
    namespace("payroll", "prod"),
    ...serviceResources("payroll", "salary-sync"),
  ];

  it("no change: nothing listed, said so", () => {
    const diff = diffPlans(base, base);
    assert.deepEqual(
      [diff.created, diff.deleted, diff.changed, diff.renamed].map((l) => l.length),
      [0, 0, 0, 0],
    );
    assert.match(describeDiff(diff), /^No change/);
  });

  it("created resources are listed as created", () => {
    const after = [...base, namespace("payroll", "test")];
    const diff = diffPlans(base, after);
    assert.deepEqual(
      diff.created.map((r) => r.name),
      ["payroll-test"],
    );
    assert.equal(diff.deleted.length, 0);
    assert.match(describeDiff(diff), /Created:\n {2}- Namespace payroll-test on cluster-main/);
  });

  it("deleting a protected namespace is flagged as REFUSED by protect", () => {
    const diff = diffPlans(
      base,
      base.filter((r) => r.name !== "payroll-prod"),
    );
    assert.deepEqual(
      diff.deleted.map((r) => r.name),
      ["payroll-prod"],
    );
    const text = describeDiff(diff);
    assert.match(
      text,
      /Namespace payroll-prod.*: will be REFUSED by protect \(decommission deliberately: see docs\/operating\.md\)/,
    );
    assert.match(text, /WARNING: 1 protected resource/);
  });

  it("deleting a retained repository says it is KEPT, a plain namespace DELETED, a component nothing", () => {
    const after = base.filter(
      (r) => !["payroll-salary-sync", "payroll-salary-sync-dev", "payroll-dev"].includes(r.name),
    );
    const text = describeDiff(diffPlans(base, after));
    assert.match(text, /github Repository payroll-salary-sync: removed from the stack but KEPT/);
    assert.match(text, /Namespace payroll-dev on cluster-main: DELETED/);
    assert.match(text, /Application payroll-salary-sync-dev .*: DELETED/);
    assert.match(text, /MIService payroll-salary-sync: removed \(a grouping/);
    assert.match(text, /2 resource\(s\) will really be DELETED/);
  });

  it("an archiveOnDestroy repository (not retained) is ARCHIVED, not deleted", () => {
    const repo = res(REPO, "payroll-x", { name: "payroll-x", archiveOnDestroy: true });
    assert.match(describeDiff(diffPlans([repo], [])), /ARCHIVED, not deleted/);
  });

  it("changed inputs and options are listed with their paths", () => {
    const after = base.map((r) =>
      r.name === "payroll-dev"
        ? {
            ...r,
            inputs: {
              metadata: {
                name: "payroll-dev",
                labels: {
                  "imaas.io/tenant": "payroll",
                  "imaas.io/environment": "dev",
                  "cost-center": "cc-9",
                },
              },
            },
            protect: true,
          }
        : r,
    );
    const diff = diffPlans(base, after);
    assert.equal(diff.changed.length, 1);
    assert.deepEqual(diff.changed[0].paths, ["(protect)", "metadata.labels.cost-center"]);
    assert.match(
      describeDiff(diff),
      /Changed:\n {2}- Namespace payroll-dev .*: \(protect\), metadata\.labels\.cost-center/,
    );
  });

  it("a renamed service is reported as renamed, not as a silent delete + create", () => {
    const after = [
      ...base.filter((r) => !r.name.startsWith("payroll-salary-sync")),
      ...serviceResources("payroll", "wage-sync"),
    ];
    const diff = diffPlans(base, after);
    assert.equal(diff.deleted.length, 0, describeDiff(diff));
    assert.equal(diff.created.length, 0, describeDiff(diff));
    assert.deepEqual(diff.renamed.map((r) => `${r.before.name} → ${r.after.name}`).sort(), [
      "payroll-salary-sync → payroll-wage-sync",
      "payroll-salary-sync → payroll-wage-sync",
      "payroll-salary-sync-dev → payroll-wage-sync-dev",
    ]);
    const text = describeDiff(diff);
    assert.match(
      text,
      /github Repository: renamed payroll-salary-sync → payroll-wage-sync \(Pulumi will delete the old one and create the new one\); the old one removed from the stack but KEPT as it is \(retainOnDelete: neither deleted nor archived/,
    );
    assert.match(text, /Service payroll\/salary-sync → payroll\/wage-sync: Pulumi cannot rename/);
    assert.doesNotMatch(text, /aliases/, "tenants cannot set aliases: no advice they cannot follow");
  });

  it("a renamed service says what really happens in every environment, and how to rename safely", () => {
    const ENV = "imaas.io/environment";
    const service = (name: string, extra: { host?: string } = {}) => {
      const full = `payroll-${name}`;
      const labels = (env: string) => ({
        "imaas.io/tenant": "payroll",
        "imaas.io/service": name,
        [ENV]: env,
      });
      return [
        res("imaas:index:MIService", full, {}, { parent: "payroll" }),
        res(REPO, full, { name: full, archiveOnDestroy: true }, { parent: full, retainOnDelete: true }),
        ...["dev", "prod"].flatMap((env) => [
          res(
            APP,
            `${full}-${env}`,
            { metadata: { name: `${full}-${env}`, namespace: "argocd", labels: labels(env) } },
            { parent: full },
          ),
          res(
            "kubernetes:external-secrets.io/v1:ExternalSecret",
            `${full}-secrets-${env}`,
            {
              metadata: { name: `${name}-secrets`, namespace: `payroll-${env}`, labels: labels(env) },
              spec: {
                data: [
                  {
                    secretKey: "DB_PASSWORD",
                    remoteRef: { key: `payroll/${env}/${name}`, property: "DB_PASSWORD" },
                  },
                ],
              },
            },
            { parent: full },
          ),
        ]),
        res(
          "kubernetes:networking.k8s.io/v1:Ingress",
          `${full}-ingress-dev`,
          {
            metadata: { name, namespace: "payroll-dev", labels: labels("dev") },
            spec: { rules: [{ host: extra.host ?? `${name}.payroll.dev.example.com` }] },
          },
          { parent: full },
        ),
      ];
    };
    const before = [res("imaas:index:TenantSpace", "payroll"), ...service("salary-sync")];
    const after = [res("imaas:index:TenantSpace", "payroll"), ...service("wage-sync")];
    const diff = diffPlans(before, after);
    assert.equal(diff.created.length + diff.deleted.length, 0, describeDiff(diff));
    const text = describeDiff(diff);
    const section = text.slice(
      text.indexOf("Renamed services — what really happens:"),
      text.indexOf("\nRenamed:"),
    );
    assert.match(section, /Service payroll\/salary-sync → payroll\/wage-sync/);
    assert.match(
      section,
      /a NEW repository payroll-wage-sync, with only the platform's starter files: none of payroll-salary-sync's code/,
    );
    assert.match(
      section,
      /the old repository payroll-salary-sync: removed from the stack but KEPT as it is \(retainOnDelete: neither deleted nor archived/,
    );
    assert.match(
      section,
      /the Argo CD Applications payroll-salary-sync-dev, payroll-salary-sync-prod are DELETED with what they deployed: the running service goes away in dev, prod;/,
    );
    assert.match(section, /deploy nothing until CI has built an image in the new repository/);
    assert.match(
      section,
      /secrets are read from payroll\/dev\/wage-sync instead of payroll\/dev\/salary-sync/,
    );
    assert.match(
      section,
      /secrets are read from payroll\/prod\/wage-sync instead of payroll\/prod\/salary-sync/,
    );
    assert.match(
      section,
      /URL moves from https:\/\/salary-sync\.payroll\.dev\.example\.com to https:\/\/wage-sync\.payroll\.dev\.example\.com/,
    );
    assert.match(
      section,
      /To rename without an outage: add payroll\/wage-sync beside payroll\/salary-sync \(one PR\), push the code .* promote it to dev, prod, copy the secrets, .* then remove payroll\/salary-sync in a second PR\./,
    );
    // Counted once: 5 renamed resources (repo, 2 Applications, 2 ExternalSecrets, 1 Ingress = 6), none "to delete".
    assert.match(
      text,
      /^0 to create, 0 to change, 0 to delete, 6 renamed \(each deleted and created again\)/,
    );
    // A custom host that stays: no URL line.
    const kept = describeDiff(
      diffPlans(
        [res("imaas:index:TenantSpace", "payroll"), ...service("salary-sync", { host: "api.example.com" })],
        [res("imaas:index:TenantSpace", "payroll"), ...service("wage-sync", { host: "api.example.com" })],
      ),
    );
    assert.doesNotMatch(kept, /URL moves/);
  });

  it("a renamed service whose repository changed beyond its name still gets the whole story", () => {
    const after = [
      ...base.filter((r) => !r.name.startsWith("payroll-salary-sync")),
      ...serviceResources("payroll", "wage-sync").map((r) =>
        r.type === REPO ? { ...r, inputs: { ...r.inputs, description: "Pays wages" } } : r,
      ),
    ];
    const diff = diffPlans(base, after);
    assert.ok(
      diff.deleted.some((r) => r.type === REPO),
      "the repo is not paired as a rename",
    );
    const text = describeDiff(diff);
    assert.match(text, /Service payroll\/salary-sync → payroll\/wage-sync/);
    assert.match(text, /a NEW repository payroll-wage-sync/);
    assert.match(text, /the old repository payroll-salary-sync: removed from the stack but KEPT/);
  });

  it("a deletion protect refuses is counted as refused, not also as deleted", () => {
    const diff = diffPlans(
      base,
      base.filter((r) => r.name !== "payroll-prod" && r.name !== "payroll-dev"),
    );
    const text = describeDiff(diff);
    assert.match(
      text,
      /^0 to create, 0 to change, 1 to delete, 1 deletion\(s\) REFUSED by protect \(not counted as deleted\)/,
    );
    assert.match(text, /1 resource\(s\) will really be DELETED/);
  });

  it("inputs under ignoreChanges are not reported as changing; other inputs of the same resource are", () => {
    const FILE = "github:index/repositoryFile:RepositoryFile";
    const file = (content: string, branch = "dev") =>
      res(
        FILE,
        "payroll-salary-sync-file-README-md",
        { repository: "payroll-salary-sync", file: "README.md", branch, content },
        { parent: "payroll-salary-sync", retainOnDelete: true, ignoreChanges: ["content", "commitMessage"] },
      );
    const only = diffPlans([...base, file("# salary-sync")], [...base, file("# salary-sync, new owners")]);
    assert.equal(only.changed.length, 0);
    assert.deepEqual(
      only.ignored.map((c) => c.paths),
      [["content"]],
    );
    const text = describeDiff(only);
    assert.match(text, /^No change/);
    assert.match(text, /differ only in properties `pulumi up` leaves alone: github RepositoryFile/);
    const both = diffPlans([...base, file("a")], [...base, file("b", "main")]);
    assert.deepEqual(
      both.changed.map((c) => c.paths),
      [["branch"]],
    );
    assert.match(describeDiff(both), /Changed:\n {2}- github RepositoryFile .*: branch$/m);
    assert.equal(isIgnored("spec.x.y", ["spec.x"]), true);
    assert.equal(isIgnored("spec.xy", ["spec.x"]), false);
    assert.equal(isIgnored("tags[0]", ["tags"]), true);
  });

  it("resource kinds use the words of imaas plan (Harbor project, not dynamic resource)", () => {
    const harbor = res(
      "pulumi-nodejs:dynamic:Resource",
      "payroll-registry",
      { project: "payroll", storageLimitBytes: 1 },
      { parent: "payroll", retainOnDelete: true },
    );
    const text = describeDiff(diffPlans([...base, harbor], base));
    assert.match(text, /- Harbor project payroll-registry \(payroll\): removed from the stack but KEPT/);
    assert.doesNotMatch(text, /dynamic resource/);
  });

  it("a renamed tenant: every object renamed, the protected prod namespace's delete flagged", () => {
    const renamedTenant = [
      res("imaas:index:TenantSpace", "payments"),
      namespace("payments", "dev"),
      namespace("payments", "prod"),
      ...serviceResources("payments", "salary-sync"),
    ];
    const diff = diffPlans(base, renamedTenant);
    assert.deepEqual(
      [diff.created.length, diff.deleted.length, diff.renamed.length],
      [0, 0, base.length],
      describeDiff(diff),
    );
    const text = describeDiff(diff);
    assert.match(
      text,
      /Namespace: renamed payroll-dev → payments-dev \(Pulumi will delete the old one and create/,
    );
    assert.match(text, /renamed payroll-prod → payments-prod .*; the old one will be REFUSED by protect/);
    assert.match(text, /1 deletion\(s\) REFUSED by protect \(not counted as deleted\)/);
    assert.match(text, /Service payroll\/salary-sync → payments\/salary-sync: Pulumi cannot rename/);
  });

  it("a deleted and a created resource that differ beyond names are not a rename", () => {
    const before = [namespace("payroll", "dev")];
    const other = namespace("payments", "dev");
    const after = [
      {
        ...other,
        inputs: {
          metadata: { ...(other.inputs.metadata as object), annotations: { owner: "someone-else" } },
        },
      },
    ];
    const diff = diffPlans(before, after);
    assert.equal(diff.renamed.length, 0);
    assert.deepEqual([diff.created.length, diff.deleted.length], [1, 1]);
  });

  it("unrelated groupings are not a rename: no shared name part, or their children really deleted", () => {
    const svc = (n: string) => res("imaas:index:MIService", n, {}, { parent: n.split("-")[0] });
    const unrelated = diffPlans([svc("hr-onboarding-new-hire-flow")], [svc("payroll-payslips")]);
    assert.equal(unrelated.renamed.length, 0);
    const before = serviceResources("payroll", "salary-sync");
    const after = [svc("payroll-wage-sync")];
    const gone = diffPlans(before, after);
    assert.equal(gone.renamed.length, 0, describeDiff(gone));
    assert.match(describeDiff(gone), /MIService payroll-salary-sync: removed \(a grouping/);
  });

  it("a resource moved to another cluster is not a rename", () => {
    const diff = diffPlans(
      [namespace("payroll", "dev")],
      [namespace("payments", "dev", { provider: "cluster-prod" })],
    );
    assert.equal(diff.renamed.length, 0);
  });
});

function gitIn(dir: string, ...args: string[]): string {
  return execFileSync(
    "git",
    [
      "-c",
      "user.name=imaas-test",
      "-c",
      "user.email=test@imaas.invalid",
      "-c",
      "commit.gpgsign=false",
      ...args,
    ],
    { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
}

describe("imaas diff over git (end to end, the example tenants in a temp repo)", function () {
  this.timeout(60_000);
  let repo: string;

  before(() => {
    repo = mkdtempSync(join(tmpdir(), "imaas-diff-repo-"));
    gitIn(repo, "init", "-q", "-b", "main");
    execFileSync("mkdir", ["-p", join(repo, "tenants")]);
    for (const f of readdirSync(join(ROOT, "tenants")).filter((f) => f.endsWith(".yaml"))) {
      copyFileSync(join(ROOT, "tenants", f), join(repo, "tenants", f));
    }
    gitIn(repo, "add", "tenants");
    gitIn(repo, "commit", "-q", "-m", "examples");
    const payroll = join(repo, "tenants", "payroll.yaml");
    const text = readFileSync(payroll, "utf8");
    const cut = text.indexOf("    - name: payslip-api");
    assert.ok(cut > 0, "the example payroll tenant has a payslip-api service");
    writeFileSync(payroll, text.slice(0, cut));
    gitIn(repo, "commit", "-q", "-am", "payroll: remove payslip-api");
  });

  after(() => rmSync(repo, { recursive: true, force: true }));

  it("materialises tenants/ at a ref without touching the work tree", () => {
    const dir = materialiseTenants(gitIn(repo, "rev-parse", "HEAD~1").trim(), repo);
    try {
      assert.match(readFileSync(join(dir, "payroll.yaml"), "utf8"), /payslip-api/);
      assert.doesNotMatch(readFileSync(join(repo, "tenants", "payroll.yaml"), "utf8"), /payslip-api/);
      assert.equal(gitIn(repo, "status", "--porcelain"), "");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("removing a service shows its objects as deleted, nothing else changed", async () => {
    const { diff, text } = await runDiff({ base: "HEAD~1", repoDir: repo, projectDir: ROOT });
    const deleted = diff.deleted.map((r) => r.name);
    assert.ok(deleted.includes("payroll-payslip-api"), text);
    assert.ok(
      diff.deleted.every(
        (r) => r.name.startsWith("payroll-payslip-api") || r.parent === "payroll-payslip-api",
      ),
      text,
    );
    assert.equal(diff.created.length, 0, text);
    assert.equal(diff.renamed.length, 0, text);
    assert.match(text, /compared with HEAD~1/);
    assert.match(text, /Deleted:\n.*payroll-payslip-api/);
  });

  it("markdown: a PR comment section with the plan view (table and diagram) of the changed tenant only", async () => {
    const { text } = await runDiff({ base: "HEAD~1", repoDir: repo, projectDir: ROOT, format: "markdown" });
    assert.match(text, /^### What this change to `tenants\/` does/);
    assert.match(text, /#### Changed tenants after the change: `payroll`/);
    assert.match(text, /`imaas plan --stack dev --tenant payroll`/);
    // The same summary `imaas plan --tenant payroll` prints: header, environments, services.
    assert.match(text, /imaas plan — stack "dev": 1 of 3 tenant\(s\) \(payroll\), \d+ resources/);
    assert.match(text, /^ {2}prod +payroll-prod \(protected\) +staging +6 CPU requests/m);
    assert.match(text, /^ {2}salary-sync +dev +1 replica +0\.5 CPU/m);
    assert.doesNotMatch(text, /payslip-api +dev/, "the removed service is not in the after view");
    assert.match(text, /```mermaid\nflowchart LR\n {2}tenant__payroll\(\["tenant payroll<br\/>/);
    assert.equal((text.match(/^```mermaid$/gm) ?? []).length, 1, "one diagram: the changed tenant's");
    assert.doesNotMatch(text, /Tenant logistics|tenant logistics/);
  });

  it("the before plan at HEAD has the service; an unknown ref is a DiffError", async () => {
    const plan = await planFromGitRef("HEAD~1", "dev", { repoDir: repo, projectDir: ROOT });
    assert.equal(plan.tenantCount, 3);
    assert.ok(plan.resources.some((r) => r.name === "payroll-payslip-api"));
    await assert.rejects(
      planFromGitRef("no-such-ref", "dev", { repoDir: repo, projectDir: ROOT }),
      DiffError,
    );
    await assert.rejects(planFromGitRef("--output=x", "dev", { repoDir: repo, projectDir: ROOT }), DiffError);
  });
});

describe("imaas diff over git: a service renamed in an example tenant (the real plan)", function () {
  this.timeout(120_000);
  let repo: string;

  before(() => {
    repo = mkdtempSync(join(tmpdir(), "imaas-diff-rename-"));
    gitIn(repo, "init", "-q", "-b", "main");
    execFileSync("mkdir", ["-p", join(repo, "tenants")]);
    for (const f of readdirSync(join(ROOT, "tenants")).filter((f) => f.endsWith(".yaml"))) {
      copyFileSync(join(ROOT, "tenants", f), join(repo, "tenants", f));
    }
    gitIn(repo, "add", "tenants");
    gitIn(repo, "commit", "-q", "-m", "examples");
    const payroll = join(repo, "tenants", "payroll.yaml");
    const text = readFileSync(payroll, "utf8");
    // Rename salary-sync, and move ben42 from members to owners (CODEOWNERS is seeded once: ignoreChanges).
    writeFileSync(
      payroll,
      text
        .replaceAll("salary-sync", "wage-sync")
        .replace("owners: [ana-lopez]", "owners: [ana-lopez, ben42]")
        .replace("members: [ben42, chloe-m]", "members: [chloe-m]"),
    );
    gitIn(repo, "commit", "-q", "-am", "payroll: rename salary-sync, ben42 an owner");
  });

  after(() => rmSync(repo, { recursive: true, force: true }));

  it("says what the rename does in every environment, and reports no seeded file as changing", async () => {
    const { diff, text } = await runDiff({ base: "HEAD~1", repoDir: repo, projectDir: ROOT });
    assert.match(text, /Service payroll\/salary-sync → payroll\/wage-sync: Pulumi cannot rename/);
    assert.match(
      text,
      /Applications payroll-salary-sync-dev, payroll-salary-sync-test, payroll-salary-sync-prod are DELETED with what they deployed: the running service goes away in dev, test, prod;/,
    );
    assert.match(text, /the old repository payroll-salary-sync: removed from the stack but KEPT as it is/);
    assert.match(
      text,
      /secrets are read from payroll\/prod\/wage-sync instead of payroll\/prod\/salary-sync/,
    );
    assert.match(text, /To rename without an outage: add payroll\/wage-sync beside payroll\/salary-sync/);
    // payslip-api's CODEOWNERS would list ben42 now, but the file is seeded once (ignoreChanges: content).
    const files = (cs: readonly ChangedResource[]) =>
      cs.filter((c) => c.after.type === "github:index/repositoryFile:RepositoryFile");
    assert.deepEqual(files(diff.changed), [], text);
    assert.ok(
      files(diff.ignored).some((c) => c.after.name.includes("payslip-api-file-github-CODEOWNERS")),
      text,
    );
    assert.match(text, /^Not changed although the plan differs \(ignoreChanges/m);
  });
});
