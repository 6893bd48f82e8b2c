/**
 * `imaas catalog`: the Backstage entities of the example tenants, checked against
 *  - Backstage's own validators (@backstage/catalog-model 1.10.3: the entity policies the catalog
 *    backend applies, plugins/catalog-backend CatalogBuilder.buildEntityPolicy, and the kind validators);
 *  - what the real stack program creates (index.ts under `imaas plan`'s mocks): Application names and
 *    labels, the MI chart's platform labels, repositories, team members, registry projects, Grafana and
 *    endpoint URLs from the stack outputs.
 * Annotation semantics: `argocd/app-selector` is a label selector over Argo CD Applications (Roadie's and
 * Red Hat's Argo CD plugins); `backstage.io/kubernetes-label-selector` a Kubernetes label selector query
 * (@backstage/plugin-kubernetes-common KUBERNETES_LABEL_SELECTOR_QUERY_ANNOTATION).
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { parse, parseAllDocuments } from "yaml";
import {
  ANNOTATIONS,
  buildCatalog,
  type CatalogEntity,
  entityRef,
  locationEntity,
  serviceApplications,
} from "../../cli/catalog-entities";
import { registerCatalogCommand, renderYaml, validateEntities, validCatalog } from "../../cli/catalog";
import { main } from "../../cli/main";
import { type PlannedResource, planProgram } from "../../cli/plan-engine";
import { formatError, loadTenantDir } from "../../model/load";
import type { PlatformConfig } from "../../model/platform-config";
import type { TenantSpec } from "../../model/spec";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");
const TENANTS = join(ROOT, "tenants");

function stack(name: string): { config: PlatformConfig; tenants: TenantSpec[] } {
  const config = platformConfigOf(readStackConfig(ROOT, name));
  const { tenants, errors } = loadTenantDir(TENANTS, config, { stack: name });
  if (errors.length > 0) throw new Error(errors.map(formatError).join("\n"));
  return { config, tenants };
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const byKind = (entities: readonly CatalogEntity[], kind: string) => entities.filter((e) => e.kind === kind);
const names = (entities: readonly CatalogEntity[]) => entities.map((e) => `${e.kind} ${e.metadata.name}`);
const refOf = (e: CatalogEntity) => entityRef(e.kind, e.metadata.name);
const spec = (e: CatalogEntity) => e.spec as Record<string, any>;
const annotation = (e: CatalogEntity, key: string) => e.metadata.annotations?.[key];

/** Parses a `k=v,k=v` equality selector (the only form imaas writes) and matches it against labels. */
function matches(selector: string, labels: Readonly<Record<string, string>> | undefined): boolean {
  const terms = selector.split(",").map((term) => {
    const m = /^([A-Za-z0-9./_-]+)=([A-Za-z0-9._-]*)$/.exec(term);
    assert.ok(m, `selector term "${term}" is not key=value`);
    return [m[1], m[2]] as const;
  });
  return terms.every(([k, v]) => labels?.[k] === v);
}

/** Every entity ref an entity points at, with the field it is in. */
function refsOf(e: CatalogEntity): { field: string; ref: string }[] {
  const s = spec(e);
  const list = (field: string) => ((s[field] as string[] | undefined) ?? []).map((ref) => ({ field, ref }));
  return [
    ...(s.owner ? [{ field: "owner", ref: s.owner as string }] : []),
    ...(s.system ? [{ field: "system", ref: `system:default/${s.system}` }] : []),
    ...list("dependsOn"),
    ...list("members"),
    ...list("memberOf"),
  ];
}

describe("imaas catalog: entities", () => {
  const dev = stack("dev");
  const catalog = buildCatalog(dev.config, dev.tenants);
  const all = catalog.tenants.flatMap((t) => t.entities);

  it("per example tenant: a Group, a System, a registry Resource and a Component per service, by name", () => {
    const per = Object.fromEntries(catalog.tenants.map((t) => [t.tenant, names(t.entities)]));
    assert.deepEqual(per, {
      "hr-onboarding": [
        "Group hr-onboarding",
        "System hr-onboarding",
        "Resource hr-onboarding",
        "Component hr-onboarding-new-hire-flow",
      ],
      logistics: [
        "Group logistics",
        "System logistics",
        "Resource logistics",
        "Component logistics-shipment-tracker",
        "Component logistics-carrier-gateway",
      ],
      payroll: [
        "Group payroll",
        "System payroll",
        "Resource payroll",
        "Component payroll-salary-sync",
        "Component payroll-payslip-api",
      ],
    });
    assert.deepEqual(catalog.users, [], "no User entities unless --users");
  });

  it("Backstage's validators accept every entity, for every stack (GitHub, registry, observability on and off)", async () => {
    for (const name of ["dev", "prod", "jenkins", "sandbox"]) {
      const s = stack(name);
      const c = buildCatalog(s.config, s.tenants, { users: true });
      const entities = [...c.tenants.flatMap((t) => t.entities), ...c.users];
      assert.ok(entities.length >= 12, `${name}: ${entities.length} entities`);
      assert.deepEqual(await validateEntities(entities), [], name);
    }
    assert.deepEqual(await validateEntities([locationEntity("prod", ["payroll.yaml", "users.yaml"])]), []);
  });

  it("every owner, system and dependsOn ref points at an emitted entity; members are the users' refs", () => {
    const emitted = new Set(all.map(refOf));
    for (const e of all) {
      for (const { field, ref } of refsOf(e)) {
        if (field === "members") {
          assert.match(ref, /^user:default\/[A-Za-z0-9-]+$/, `${refOf(e)} ${field}`);
          continue;
        }
        assert.ok(emitted.has(ref), `${refOf(e)} ${field} → ${ref}, which is not emitted`);
      }
    }
  });

  it("--users: every member ref resolves to an emitted User, whose memberOf lists exactly its tenants' Groups", () => {
    const c = buildCatalog(dev.config, dev.tenants, { users: true });
    const entities = [...c.tenants.flatMap((t) => t.entities), ...c.users];
    const emitted = new Set(entities.map(refOf));
    for (const e of entities) {
      for (const { field, ref } of refsOf(e)) {
        assert.ok(emitted.has(ref), `${refOf(e)} ${field} → ${ref}, which is not emitted`);
      }
    }
    assert.deepEqual(
      c.users.map((u) => u.metadata.name),
      ["ana-lopez", "ben42", "chloe-m", "dmitri-k", "eva-s", "farid", "grace-h"],
    );
    for (const u of c.users) {
      const groups = byKind(entities, "Group").filter((g) =>
        (spec(g).members as string[]).includes(refOf(u)),
      );
      assert.deepEqual(spec(u).memberOf, groups.map(refOf), u.metadata.name);
      assert.equal(annotation(u, ANNOTATIONS.userLogin), u.metadata.name);
    }
  });

  it("--no-groups: no Group is emitted and owners stay refs to the team's Group (the org's GitHub team ingestion provides it)", () => {
    const c = buildCatalog(dev.config, dev.tenants, { groups: false });
    const entities = c.tenants.flatMap((t) => t.entities);
    assert.equal(byKind(entities, "Group").length, 0);
    assert.equal(
      spec(entities.find((e) => e.kind === "System" && e.metadata.name === "payroll")!).owner,
      "group:default/payroll",
    );
  });

  it("Components: service type, lifecycle from where the service runs, owner, system, the registry as a dependency", () => {
    const components = Object.fromEntries(byKind(all, "Component").map((c) => [c.metadata.name, spec(c)]));
    assert.deepEqual(components["payroll-salary-sync"], {
      type: "service",
      lifecycle: "production",
      owner: "group:default/payroll",
      system: "payroll",
      dependsOn: ["resource:default/payroll"],
    });
    // hr-onboarding has no prod environment: its service is not in production yet.
    assert.equal(components["hr-onboarding-new-hire-flow"]?.lifecycle, "experimental");
  });

  it("a sandbox-like stack (no GitHub, no registry, no observability): no project slug, no registry Resource, no Grafana links", () => {
    const s = stack("sandbox");
    const entities = buildCatalog(s.config, s.tenants).tenants.flatMap((t) => t.entities);
    assert.equal(byKind(entities, "Resource").length, 0);
    for (const c of byKind(entities, "Component")) {
      assert.equal(annotation(c, ANNOTATIONS.projectSlug), undefined);
      assert.equal(spec(c).dependsOn, undefined);
      assert.deepEqual(
        c.metadata.links?.map((l) => l.type),
        [
          ...(c.metadata.links ?? []).filter((l) => l.type === "endpoint").map(() => "endpoint"),
          "repository",
        ],
      );
      // The repository link still names the clone URL Argo CD reads, without `.git`.
      assert.equal(c.metadata.links?.at(-1)?.url, `https://github.com/imaas-sandbox/${c.metadata.name}`);
    }
  });
});

describe("imaas catalog: Backstage's validators run (and refuse what Backstage refuses)", () => {
  const dev = stack("dev");
  const good = () =>
    structuredClone(
      buildCatalog(dev.config, dev.tenants).tenants[0]!.entities.find((e) => e.kind === "Component")!,
    ) as any;

  it("a Component without spec.lifecycle is refused by the Component kind validator", async () => {
    const e = good();
    delete e.spec.lifecycle;
    const [problem] = await validateEntities([e]);
    assert.match(problem?.message ?? "", /lifecycle/);
  });

  it("a name Backstage cannot store is refused by the field-format policy", async () => {
    const e = good();
    e.metadata.name = "Payroll Salary Sync!";
    const [problem] = await validateEntities([e]);
    assert.match(problem?.message ?? "", /metadata\.name/);
  });

  it("a root field Backstage does not know is refused by the no-foreign-root-fields policy", async () => {
    const e = { ...good(), status: { ok: true } };
    const [problem] = await validateEntities([e]);
    assert.match(problem?.message ?? "", /status/);
  });

  it("a kind no built-in validator knows is refused", async () => {
    const e = { ...good(), kind: "Widget" };
    const [problem] = await validateEntities([e]);
    assert.match(problem?.message ?? "", /no validator knows kind Widget/);
  });

  it("validCatalog fails with the entity, its tenant file and the validator's message; nothing is returned", async () => {
    const payroll = dev.tenants.find((t) => t.name === "payroll")!;
    // A service name the tenant schema would refuse, passed in directly: the Component name exceeds 63 characters.
    const broken: TenantSpec = {
      ...payroll,
      services: [{ ...payroll.services[0]!, name: "s".repeat(60) }],
    };
    await assert.rejects(
      validCatalog(
        { config: dev.config, tenants: [broken], groups: true, users: false },
        (m) => new Error(m),
      ),
      (err: Error) => {
        assert.match(
          err.message,
          /^Component payroll-s{60} \(tenant payroll, .*payroll\.yaml\): .*metadata\.name/,
        );
        assert.match(err.message, /kind: Component/, "the entity is printed");
        assert.match(
          err.message,
          /1 catalog entity was refused by @backstage\/catalog-model's validators: this is a bug/,
        );
        return true;
      },
    );
  });
});

describe("imaas catalog: a refused entity stops the command", () => {
  class TestUserError extends Error {}

  it("the command fails with the user error (main prints it, exit 1) and prints nothing", async () => {
    const stackConfig = readStackConfig(ROOT, "dev");
    const payroll = stack("dev").tenants.find((t) => t.name === "payroll")!;
    const broken: TenantSpec = { ...payroll, services: [{ ...payroll.services[0]!, name: "s".repeat(60) }] };
    let out = "";
    const program = new Command("imaas").exitOverride();
    registerCatalogCommand(
      program,
      { out: (s) => (out += s) },
      {
        loadTenants: () => ({ stackConfig, tenants: [broken], dir: "tenants" }),
        userError: (m) => new TestUserError(m),
      },
    );
    await assert.rejects(program.parseAsync(["catalog"], { from: "user" }), (err: Error) => {
      assert.ok(err instanceof TestUserError, String(err));
      assert.match(err.message, /^Component payroll-s{60} .*metadata\.name/);
      return true;
    });
    assert.equal(out, "");
  });
});

describe("imaas catalog: the annotations and links are what the stack program creates", function () {
  this.timeout(120_000);
  const prod = stack("prod");
  const catalog = buildCatalog(prod.config, prod.tenants);
  const all = catalog.tenants.flatMap((t) => t.entities);
  let resources: PlannedResource[] = [];
  let outputs: Record<string, any> = {};

  before(async () => {
    const cfg = readStackConfig(ROOT, "prod");
    const plan = await planProgram({
      stack: "prod",
      config: cfg.values,
      secretKeys: cfg.secretKeys,
      tenantsDir: TENANTS,
    });
    resources = plan.resources;
    outputs = plan.outputs as Record<string, any>;
  });

  const applications = () =>
    resources.filter((r) => r.type === "kubernetes:argoproj.io/v1alpha1:Application");
  const tenantOut = (tenant: string) => outputs.tenants[tenant];

  it("argocd/app-selector selects exactly the service's Applications among all the stack creates", () => {
    const apps = applications();
    assert.ok(apps.length >= 10, `${apps.length} Applications planned`);
    for (const t of prod.tenants) {
      for (const s of t.services) {
        const c = all.find((e) => e.kind === "Component" && e.metadata.name === `${t.name}-${s.name}`)!;
        const selected = apps
          .filter((a) =>
            matches(annotation(c, ANNOTATIONS.argocdAppSelector)!, (a.inputs as any).metadata.labels),
          )
          .map((a) => (a.inputs as any).metadata.name)
          .sort();
        const fromOutputs = Object.values(tenantOut(t.name).services[c.metadata.name].applications).sort();
        assert.deepEqual(selected, fromOutputs, c.metadata.name);
        assert.deepEqual(selected, [...serviceApplications(t, s)].sort(), c.metadata.name);
      }
    }
  });

  it("backstage.io/kubernetes-label-selector matches the labels the chart puts on the service's pods, and no other service's", () => {
    const apps = applications();
    for (const c of byKind(all, "Component")) {
      const selector = annotation(c, ANNOTATIONS.kubernetesLabelSelector)!;
      for (const a of apps) {
        const helm = (a.inputs as any).spec.sources[0].helm;
        // charts/wso2-mi/templates/_helpers.tpl `wso2-mi.labels`: every object and pod gets `.Values.labels`.
        const podLabels = helm.valuesObject.labels as Record<string, string>;
        const own = tenantOut(spec(c).system).services[c.metadata.name].applications;
        const isOwn = Object.values(own).includes((a.inputs as any).metadata.name);
        assert.equal(
          matches(selector, podLabels),
          isOwn,
          `${c.metadata.name} vs ${(a.inputs as any).metadata.name}`,
        );
      }
    }
  });

  it("github.com/project-slug is the repository the stack creates, in the configured organisation", () => {
    const repos = resources
      .filter((r) => r.type === "github:index/repository:Repository")
      .map((r) => (r.inputs as any).name);
    const slugs = byKind(all, "Component").map((c) => annotation(c, ANNOTATIONS.projectSlug));
    assert.deepEqual(slugs.sort(), repos.map((r) => `acme-integrations/${r}`).sort());
  });

  it("links: the repository, the exposed endpoints and Grafana are the stack outputs' URLs", () => {
    for (const c of byKind(all, "Component")) {
      const tenant = spec(c).system as string;
      const out = tenantOut(tenant).services[c.metadata.name];
      const links = c.metadata.links ?? [];
      const of = (type: string) => links.filter((l) => l.type === type).map((l) => l.url);
      assert.deepEqual(of("repository"), [out.repository.replace(/\.git$/, "")], c.metadata.name);
      assert.deepEqual(of("endpoint"), Object.values(out.endpoints), c.metadata.name);
      const grafana = of("grafana");
      assert.ok(grafana.length > 0, c.metadata.name);
      for (const url of grafana) assert.ok(Object.values(tenantOut(tenant).grafana).includes(url), url);
    }
    // payroll-salary-sync is exposed in dev and prod: two endpoint links, in promotion order.
    const salary = all.find((e) => e.metadata.name === "payroll-salary-sync")!;
    assert.deepEqual(
      salary.metadata.links?.filter((l) => l.type === "endpoint").map((l) => l.title),
      ["dev endpoint", "prod endpoint"],
    );
    for (const sys of byKind(all, "System")) {
      assert.deepEqual(
        sys.metadata.links?.map((l) => l.url).sort(),
        Object.values(tenantOut(sys.metadata.name).grafana).sort(),
        sys.metadata.name,
      );
    }
  });

  it("the Group is the GitHub team the stack creates, its members the team's members and maintainers", () => {
    for (const g of byKind(all, "Group")) {
      assert.equal(g.metadata.name, tenantOut(g.metadata.name).githubTeam);
      const team = resources.find(
        (r) => r.type === "github:index/team:Team" && (r.inputs as any).name === g.metadata.name,
      );
      assert.ok(team, g.metadata.name);
      const logins = resources
        .filter(
          (r) => r.type === "github:index/teamMembership:TeamMembership" && r.parent === g.metadata.name,
        )
        .map((r) => `user:default/${(r.inputs as any).username}`);
      assert.ok(logins.length > 0, g.metadata.name);
      assert.deepEqual([...(spec(g).members as string[])].sort(), logins.sort(), g.metadata.name);
      assert.equal(annotation(g, ANNOTATIONS.teamSlug), `acme-integrations/${g.metadata.name}`);
    }
  });

  it("the Resource is the tenant's registry project (stack output <host>/<project>)", () => {
    for (const r of byKind(all, "Resource")) {
      const tenant = spec(r).system as string;
      assert.equal(`registry.imaas.example.com/${r.metadata.name}`, tenantOut(tenant).registryProject);
    }
  });
});

describe("imaas catalog: the command", function () {
  this.timeout(60_000);

  it("prints one YAML stream of valid entities; --format json prints the same entities", async () => {
    const yaml = await run("catalog");
    assert.equal(yaml.code, 0, yaml.err);
    const docs = parseAllDocuments(yaml.out).map((d) => d.toJS() as CatalogEntity);
    assert.equal(docs.length, 14);
    assert.deepEqual(await validateEntities(docs), []);
    const json = await run("catalog", "--format", "json");
    assert.equal(json.code, 0, json.err);
    assert.deepEqual(JSON.parse(json.out), docs);
  });

  it("--tenant keeps only the named tenants; an unknown tenant is exit 1 listing the tenants", async () => {
    const r = await run("catalog", "--tenant", "payroll", "--tenant", "hr-onboarding");
    assert.equal(r.code, 0, r.err);
    const docs = parseAllDocuments(r.out).map((d) => d.toJS() as CatalogEntity);
    assert.deepEqual(
      [
        ...new Set(docs.map((d) => (d.kind === "Component" ? (spec(d).system as string) : d.metadata.name))),
      ].sort(),
      ["hr-onboarding", "payroll"],
    );
    const bad = await run("catalog", "--tenant", "nope");
    assert.equal(bad.code, 1);
    assert.match(
      bad.err,
      /--tenant "nope": no such tenant in tenants; tenants there: hr-onboarding, logistics, payroll/,
    );
    assert.equal(bad.out, "");
  });

  it("--out writes a file per tenant (its entities only), users.yaml with --users, and all.yaml: a Location listing them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "imaas-catalog-"));
    try {
      const out = join(dir, "catalog");
      const r = await run("catalog", "--stack", "prod", "--out", out, "--users");
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /wrote 5 file\(s\) to .*catalog \(21 entities\)/);
      assert.deepEqual(readdirSync(out).sort(), [
        "all.yaml",
        "hr-onboarding.yaml",
        "logistics.yaml",
        "payroll.yaml",
        "users.yaml",
      ]);
      const [location, ...rest] = parseAllDocuments(readFileSync(join(out, "all.yaml"), "utf8")).map((d) =>
        d.toJS(),
      );
      assert.equal(rest.length, 0);
      assert.equal(location.kind, "Location");
      assert.deepEqual(location.spec.targets, [
        "./hr-onboarding.yaml",
        "./logistics.yaml",
        "./payroll.yaml",
        "./users.yaml",
      ]);
      const files: CatalogEntity[] = [];
      for (const target of location.spec.targets as string[]) {
        const text = readFileSync(join(out, target), "utf8");
        assert.match(text, /^# Generated by imaas catalog \(stack prod\) from /);
        const docs = parseAllDocuments(text).map((d) => d.toJS() as CatalogEntity);
        if (target !== "./users.yaml") {
          const tenant = target.slice(2, -".yaml".length);
          for (const d of docs)
            assert.equal(
              d.kind === "System" || d.kind === "Group" ? d.metadata.name : spec(d).system,
              tenant,
            );
        } else {
          assert.ok(docs.every((d) => d.kind === "User"));
        }
        files.push(...docs);
      }
      assert.deepEqual(await validateEntities([location, ...files]), []);
      // The files hold exactly what stdout would.
      const stdout = await run("catalog", "--stack", "prod", "--users");
      assert.deepEqual(
        files,
        parseAllDocuments(stdout.out).map((d) => d.toJS()),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--out --check: exit 0 on fresh files; exit 1 naming a stale, a missing and a leftover file, and the command that regenerates them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "imaas-catalog-check-"));
    try {
      assert.equal((await run("catalog", "--out", dir)).code, 0);
      const fresh = await run("catalog", "--out", dir, "--check");
      assert.equal(fresh.code, 0, fresh.err);
      assert.match(fresh.out, /the 4 catalog file\(s\) are up to date/);
      // A tenant file changed since (the displayName), one file deleted, one left from a removed tenant.
      writeFileSync(
        join(dir, "payroll.yaml"),
        readFileSync(join(dir, "payroll.yaml"), "utf8").replace("Payroll Integrations", "Payroll"),
      );
      rmSync(join(dir, "logistics.yaml"));
      writeFileSync(
        join(dir, "old-tenant.yaml"),
        readFileSync(join(dir, "hr-onboarding.yaml"), "utf8").replace(/hr-onboarding/g, "old-tenant"),
      );
      writeFileSync(join(dir, "notes.yaml"), "# not generated: left alone\n");
      const stale = await run("catalog", "--out", dir, "--check", "--users");
      assert.equal(stale.code, 1);
      assert.match(stale.err, /payroll\.yaml is stale/);
      assert.match(stale.err, /logistics\.yaml is missing/);
      assert.match(stale.err, /users\.yaml is missing/);
      assert.match(stale.err, /old-tenant\.yaml belongs to no tenant any more/);
      assert.doesNotMatch(stale.err, /notes\.yaml/);
      assert.match(
        stale.err,
        new RegExp(`regenerate them: imaas catalog --stack dev --users --out ${dir}\n$`),
      );
      // Writing again repairs it: the leftover of the removed tenant goes, the file someone else wrote stays.
      const again = await run("catalog", "--out", dir);
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, /removed old-tenant\.yaml \(no such tenant any more\)/);
      assert.deepEqual(readdirSync(dir).sort(), [
        "all.yaml",
        "hr-onboarding.yaml",
        "logistics.yaml",
        "notes.yaml",
        "payroll.yaml",
      ]);
      assert.equal((await run("catalog", "--out", dir, "--check")).code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--out refuses --tenant (all.yaml must list every tenant) and --check needs --out", async () => {
    const dir = join(tmpdir(), "imaas-catalog-never-written");
    const partial = await run("catalog", "--out", dir, "--tenant", "payroll");
    assert.equal(partial.code, 1);
    assert.match(partial.err, /--out writes every tenant/);
    assert.equal(existsSync(dir), false);
    const check = await run("catalog", "--check");
    assert.equal(check.code, 1);
    assert.match(check.err, /--check compares the files of --out DIR/);
  });

  it("--out with --format json is a usage mistake (exit 1): Backstage reads the YAML files", async () => {
    const r = await run("catalog", "--out", join(tmpdir(), "never-written"), "--format", "json");
    assert.equal(r.code, 1);
    assert.match(r.err, /--out writes YAML files/);
    assert.equal(existsSync(join(tmpdir(), "never-written")), false);
  });

  it("docs/catalog.md's excerpt is what the command prints (its head)", async () => {
    const doc = readFileSync(join(ROOT, "docs", "catalog.md"), "utf8");
    const m = /`npx imaas catalog (--stack prod --tenant payroll)`[^\n]*\n\n```yaml\n([\s\S]*?)```/.exec(doc);
    assert.ok(m, "the excerpt is in docs/catalog.md");
    const r = await run("catalog", ...m[1]!.split(" "));
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.startsWith(m[2]!), "the excerpt is stale: regenerate it");
    assert.ok(m[2]!.length > 1000);
  });

  it("renderYaml: every document starts with ---, a header is a comment", () => {
    const text = renderYaml([locationEntity("dev", ["a.yaml"])], "line one\nline two");
    assert.ok(text.startsWith("# line one\n# line two\n---\napiVersion: backstage.io/v1alpha1\n"), text);
    assert.equal(parse(text.split("---\n")[1]!).kind, "Location");
  });

  it("@backstage/catalog-model is loaded only when imaas catalog runs, not when the CLI starts", () => {
    const probe = join(mkdtempSync(join(tmpdir(), "imaas-catalog-lazy-")), "probe.js");
    writeFileSync(
      probe,
      `require(${JSON.stringify(join(ROOT, "cli", "main.ts"))});\n` +
        "process.stdout.write(String(Object.keys(require.cache).some((k) => k.includes('@backstage'))));\n",
    );
    const r = spawnSync(process.execPath, ["--require", "tsx/cjs", probe], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "false");
    rmSync(probe, { force: true });
  });
});

describe("imaas catalog: the pod selector against the rendered chart (real helm)", function () {
  this.timeout(60_000);
  const HELM = join(process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"), "bin/helm");

  it("every object `helm template` renders for a service carries the labels its selector asks for", async function () {
    if (!existsSync(HELM)) this.skip(); // built by e2e/tools/build.sh helm
    const cfg = readStackConfig(ROOT, "dev");
    const { resources } = await planProgram({
      stack: "dev",
      config: cfg.values,
      secretKeys: cfg.secretKeys,
      tenantsDir: TENANTS,
    });
    const app = resources.find(
      (r) =>
        r.type === "kubernetes:argoproj.io/v1alpha1:Application" &&
        (r.inputs as any).metadata.name === "payroll-salary-sync-prod",
    );
    assert.ok(app, "payroll-salary-sync-prod planned");
    const helm = (app.inputs as any).spec.sources[0].helm;
    const dir = mkdtempSync(join(tmpdir(), "imaas-catalog-helm-"));
    try {
      writeFileSync(join(dir, "platform.json"), JSON.stringify(helm.valuesObject));
      writeFileSync(join(dir, "branch.json"), JSON.stringify({ image: { tag: "1.0.0" } }));
      const r = spawnSync(
        HELM,
        [
          "template",
          helm.releaseName,
          join(ROOT, "charts/wso2-mi"),
          "--namespace",
          "payroll-prod",
          "-f",
          join(dir, "branch.json"),
          "-f",
          join(dir, "platform.json"),
        ],
        { encoding: "utf8" },
      );
      assert.equal(r.status, 0, r.stderr);
      const objects = parseAllDocuments(r.stdout)
        .map((d) => d.toJS())
        .filter(Boolean);
      const c = buildCatalog(platformConfigOf(cfg), stack("dev").tenants)
        .tenants.flatMap((t) => t.entities)
        .find((e) => e.metadata.name === "payroll-salary-sync")!;
      const selector = annotation(c, ANNOTATIONS.kubernetesLabelSelector)!;
      const deployment = objects.find((o) => o.kind === "Deployment");
      assert.ok(deployment, "the chart renders a Deployment");
      assert.ok(matches(selector, deployment.spec.template.metadata.labels), "pod template labels");
      for (const o of objects)
        assert.ok(matches(selector, o.metadata.labels), `${o.kind} ${o.metadata.name}`);
      // A sibling service's selector does not match these pods.
      assert.ok(
        !matches(selector.replace("salary-sync", "payslip-api"), deployment.spec.template.metadata.labels),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
