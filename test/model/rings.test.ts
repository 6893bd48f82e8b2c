/**
 * Platform upgrade rings (`imaas:rings`): the config refuses rings that would leave the rollout order
 * ambiguous, the loader refuses a tenant in no ring and a ring naming a tenant without a file, and a
 * tenant's ring decides the platform chart revision of its Applications and the MI version its services
 * build on unless they pin one.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planProgram } from "../../cli/plan-engine";
import { planView } from "../../cli/plan-view";
import { tenantSummary } from "../../cli/render";
import { formatError, loadTenantDir, loadTenantSources } from "../../model/load";
import { applicationName } from "../../model/naming";
import { platformConfigFromEntries, tenantRing } from "../../model/platform-config";
import { readStackConfig } from "../../model/stack-file";
import { testConfig } from "../support/mocks";

const ROOT = join(__dirname, "..", "..");
const versions = { defaultVersion: "4.4.0", versions: ["4.3.0", "4.4.0"] };
const rings = (r: unknown[]) => testConfig({ mi: versions, rings: r });

const tenant = (name: string, service = "") =>
  `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  owners: [ana]\n${service}`;
const errorsOf = (files: Record<string, string>, cfg: ReturnType<typeof testConfig>) =>
  loadTenantSources(
    Object.entries(files).map(([file, text]) => ({ file, text })),
    cfg,
    { stack: "prod" },
  ).errors.map(formatError);

describe("rings: the rollout order of platform upgrades", () => {
  it("config: names unique, '*' only last, a tenant in one ring, ring MI versions supported", () => {
    assert.throws(
      () =>
        rings([
          { name: "canary", tenants: ["alpha"] },
          { name: "canary", tenants: ["bravo"] },
        ]),
      /imaas:rings\.1\.name: duplicate ring "canary"/,
    );
    assert.throws(
      () =>
        rings([
          { name: "broad", tenants: "*" },
          { name: "late", tenants: ["bravo"] },
        ]),
      /ring "broad" takes every other tenant \("\*"\), so it must be the last ring/,
    );
    assert.throws(
      () =>
        rings([
          { name: "canary", tenants: ["alpha"] },
          { name: "early", tenants: ["bravo", "alpha"] },
        ]),
      /imaas:rings\.1\.tenants: tenant "alpha" is in ring "canary" already; a tenant is in exactly one ring/,
    );
    assert.throws(
      () => rings([{ name: "canary", tenants: ["alpha"], miVersion: "4.5.0" }]),
      /MI 4\.5\.0 is not in imaas:mi\.versions \(4\.3\.0, 4\.4\.0\); add it there first/,
    );
    assert.throws(() => rings([]), /imaas:rings/);
  });

  it("a tenant's ring: the first listing it, else '*'; revisions default to the platform's", () => {
    const cfg = rings([
      { name: "canary", tenants: ["alpha"], platformRevision: "v2.0.0", miVersion: "4.4.0" },
      { name: "broad", tenants: "*" },
    ]);
    assert.deepEqual(tenantRing(cfg, "alpha"), {
      ring: "canary",
      platformRevision: "v2.0.0",
      miVersion: "4.4.0",
    });
    assert.deepEqual(tenantRing(cfg, "zulu"), {
      ring: "broad",
      platformRevision: cfg.argocd.platformRevision,
      miVersion: "4.4.0",
    });
    const none = testConfig();
    assert.deepEqual(tenantRing(none, "alpha"), { platformRevision: "main", miVersion: "4.4.0" });
    assert.equal(tenantRing(rings([{ name: "canary", tenants: ["alpha"] }]), "zulu"), undefined);
  });

  it("loader: a tenant in no ring is refused at its name, with what to do", () => {
    const cfg = rings([{ name: "canary", tenants: ["alpha"] }]);
    const errors = errorsOf({ "bravo.yaml": tenant("bravo") }, cfg);
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(
      errors[0]!,
      /^bravo\.yaml:4:9: metadata\.name: tenant "bravo" is in no ring of imaas:rings of stack "prod" \(canary\): ask the platform admins to add it to one, or to end the rings with tenants: "\*"/,
    );
    assert.deepEqual(errorsOf({ "alpha.yaml": tenant("alpha") }, cfg), []);
  });

  it("loader: a ring naming a tenant that has no file is refused (a typo, or a tenant removed without its ring entry)", () => {
    const dir = mkdtempSync(join(tmpdir(), "imaas-rings-"));
    writeFileSync(join(dir, "alpha.yaml"), tenant("alpha"));
    const cfg = rings([
      { name: "canary", tenants: ["alpha", "ghost"] },
      { name: "broad", tenants: "*" },
    ]);
    const r = loadTenantDir(dir, cfg, { stack: "prod" });
    assert.deepEqual(r.tenants, []);
    assert.deepEqual(r.errors.map(formatError), [
      `${dir}:1:1: imaas:rings of stack "prod": ring "canary" lists tenant "ghost", which has no tenant file here; remove it from the ring or add its file`,
    ]);
    const ok = loadTenantDir(dir, rings([{ name: "canary", tenants: ["alpha"] }]), { stack: "prod" });
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.tenants[0]!.ring, "canary");
  });

  it("a ring's MI version is the default of its tenants' services; a pinned miVersion wins", () => {
    const cfg = rings([
      { name: "canary", tenants: ["alpha"], miVersion: "4.3.0" },
      { name: "broad", tenants: "*" },
    ]);
    const svc = (pin = "") => `  services:\n    - name: sync\n${pin}`;
    const load = (files: Record<string, string>) =>
      loadTenantSources(
        Object.entries(files).map(([file, text]) => ({ file, text })),
        cfg,
      ).tenants;
    const [a, b] = load({ "alpha.yaml": tenant("alpha", svc()), "bravo.yaml": tenant("bravo", svc()) });
    assert.equal(a!.services[0]!.miVersion, "4.3.0");
    assert.equal(b!.services[0]!.miVersion, "4.4.0");
    const [pinned] = load({ "alpha.yaml": tenant("alpha", svc('      miVersion: "4.4.0"\n')) });
    assert.equal(pinned!.services[0]!.miVersion, "4.4.0");
  });

  it("plan: each tenant's Applications use its ring's platform chart revision", async function () {
    this.timeout(120_000);
    const stack = readStackConfig(ROOT, "dev");
    const config = {
      ...stack.values,
      "imaas:rings": JSON.stringify([
        { name: "canary", tenants: ["payroll"], platformRevision: "v2.0.0-rc.1" },
        { name: "broad", tenants: "*" },
      ]),
    };
    const { resources } = await planProgram({
      stack: "dev",
      config,
      secretKeys: stack.secretKeys,
      tenantsDir: join(ROOT, "tenants"),
    });
    const revisionOf = (app: string) => {
      const r = resources.find(
        (x) => x.inputs.kind === "Application" && (x.inputs.metadata as { name: string }).name === app,
      );
      assert.ok(r, `Application ${app} planned`);
      const sources = (r.inputs.spec as { sources: { path?: string; targetRevision: string }[] }).sources;
      return sources.find((s) => s.path)!.targetRevision;
    };
    assert.equal(revisionOf(applicationName("payroll", "salary-sync", "dev")), "v2.0.0-rc.1");
    const platform = JSON.parse(stack.values["imaas:argocd"] ?? "{}").platformRevision ?? "main";
    assert.equal(revisionOf(applicationName("logistics", "shipment-tracker", "dev")), platform);
    // The reviewer's view says which ring each tenant is in and which chart revision it gets.
    const cfg = platformConfigFromEntries(config, "test");
    const view = planView({
      stack: "dev",
      config: cfg,
      tenants: loadTenantDir(join(ROOT, "tenants"), cfg).tenants,
      resources,
    });
    const payroll = view.tenants.find((t) => t.name === "payroll")!;
    assert.equal(payroll.ring, "canary");
    assert.equal(payroll.platformRevision, "v2.0.0-rc.1");
    assert.match(tenantSummary(payroll).join("\n"), /platform chart v2\.0\.0-rc\.1 \(ring canary\)/);
    const logistics = view.tenants.find((t) => t.name === "logistics")!;
    assert.equal(logistics.ring, "broad");
    assert.equal(logistics.platformRevision, platform);
  });
});
