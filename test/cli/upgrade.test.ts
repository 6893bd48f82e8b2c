/**
 * `imaas upgrade`: rings in order, the gate on the earlier rings' Applications (Synced, Healthy, platform chart
 * at the new revision), and the stack-file edit that moves a ring.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import type { ServiceStatus } from "../../cli/status";
import {
  blocking,
  briefly,
  decide,
  gatingTenants,
  moveRingInStackFile,
  renderDecision,
  ringStates,
  UpgradeError,
} from "../../cli/upgrade";
import { loadTenantSources } from "../../model/load";
import { testConfig } from "../support/mocks";

const REPO = "https://github.com/acme/imaas.git";
const tenantFile = (name: string) =>
  `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  owners: [ana]\n  services:\n    - name: sync\n`;
const cfgWith = (rings: unknown[]) =>
  testConfig({ argocd: { platformRepo: REPO, platformRevision: "v1.0.0" }, rings });
const tenantsOf = (cfg: ReturnType<typeof testConfig>, names: string[]) => {
  const r = loadTenantSources(
    names.map((n) => ({ file: `${n}.yaml`, text: tenantFile(n) })),
    cfg,
  );
  assert.deepEqual(r.errors, []);
  return r.tenants;
};

/** A service environment's status as `imaas status` reports it. */
function status(
  tenant: string,
  o: {
    sync?: string;
    health?: string;
    chart?: string;
    /** The chart revision of the spec Argo CD last compared; default: the spec's. */
    compared?: string;
    found?: boolean;
    unreadable?: string;
    error?: string;
  } = {},
): ServiceStatus {
  return {
    tenant,
    service: "sync",
    env: "dev",
    cluster: "main",
    namespace: `${tenant}-dev`,
    application: {
      name: `${tenant}-sync-dev`,
      namespace: "argocd",
      found: o.found ?? true,
      sync: o.sync ?? "Synced",
      health: o.health ?? "Healthy",
      // A failed comparison records no synced revisions; what the sources ask for is in the spec.
      revisions: [],
      sources: [
        { repoURL: REPO, targetRevision: o.chart ?? "v2.0.0" },
        { repoURL: `https://github.com/acme/${tenant}-sync.git`, targetRevision: "dev", ref: "values" },
      ],
      comparedTo: [
        { repoURL: REPO, targetRevision: o.compared ?? o.chart ?? "v2.0.0" },
        { repoURL: `https://github.com/acme/${tenant}-sync.git`, targetRevision: "dev", ref: "values" },
      ],
    },
    deployment: { name: "sync", found: true },
    syncErrors: o.error ? [o.error] : [],
    problems: [],
    ...(o.unreadable ? { unreadable: o.unreadable } : {}),
    healthy: false,
  };
}

describe("imaas upgrade: rings move one by one, gated on the earlier rings' health", () => {
  const rings = [
    { name: "canary", tenants: ["alpha"] },
    { name: "early", tenants: ["bravo"] },
    { name: "broad", tenants: "*" },
  ];

  it("ring states: tenants per ring, revision and whether it runs the target", () => {
    const cfg = cfgWith([{ ...rings[0], platformRevision: "v2.0.0" }, rings[1], rings[2]]);
    const states = ringStates(cfg, tenantsOf(cfg, ["alpha", "bravo", "charlie", "delta"]), "v2.0.0");
    assert.deepEqual(
      states.map((r) => [r.name, r.tenants, r.platformRevision, r.atTarget]),
      [
        ["canary", ["alpha"], "v2.0.0", true],
        ["early", ["bravo"], "v1.0.0", false],
        ["broad", ["charlie", "delta"], "v1.0.0", false],
      ],
    );
    assert.deepEqual(gatingTenants(states), ["alpha"]);
    assert.throws(() => ringStates(testConfig(), [], "v2.0.0"), /no upgrade rings \(imaas:rings\)/);
  });

  it("the first ring moves with nothing to check; every ring at the target is done", () => {
    const cfg = cfgWith(rings);
    const states = ringStates(cfg, tenantsOf(cfg, ["alpha", "bravo"]), "v2.0.0");
    assert.deepEqual(gatingTenants(states), []);
    const d = decide(states, undefined, REPO, "v2.0.0");
    assert.equal(d.kind, "move");
    assert.equal(d.kind === "move" && d.ring.name, "canary");
    const all = cfgWith(rings.map((r) => ({ ...r, platformRevision: "v2.0.0" })));
    assert.equal(
      decide(ringStates(all, tenantsOf(all, ["alpha"]), "v2.0.0"), undefined, REPO, "v2.0.0").kind,
      "done",
    );
  });

  it("the next ring moves when every Application of the earlier rings is Synced and Healthy on the target", () => {
    const cfg = cfgWith([{ ...rings[0], platformRevision: "v2.0.0" }, rings[1], rings[2]]);
    const states = ringStates(cfg, tenantsOf(cfg, ["alpha", "bravo"]), "v2.0.0");
    // bravo's state is not looked at: it is in the ring that would move.
    const d = decide(
      states,
      { services: [status("alpha"), status("bravo", { health: "Degraded" })] },
      REPO,
      "v2.0.0",
    );
    assert.equal(d.kind, "move");
    assert.equal(d.kind === "move" && d.ring.name, "early");
  });

  it("halts, naming each Application and why, when an earlier ring is not healthy on the target", () => {
    const cfg = cfgWith([
      { ...rings[0], platformRevision: "v2.0.0" },
      { ...rings[1], platformRevision: "v2.0.0" },
      rings[2],
    ]);
    const states = ringStates(cfg, tenantsOf(cfg, ["alpha", "bravo", "charlie"]), "v2.0.0");
    const d = decide(
      states,
      {
        services: [
          status("alpha", { health: "Progressing" }),
          status("bravo", {
            sync: "Unknown",
            health: "Healthy",
            error: "ComparisonError: template: wso2-mi/templates/deployment.yaml: broken",
          }),
          status("charlie", { health: "Degraded" }), // in the ring that would move: not a gate
        ],
      },
      REPO,
      "v2.0.0",
    );
    assert.equal(d.kind, "halt");
    assert.ok(d.kind === "halt");
    assert.equal(d.ring.name, "broad");
    assert.deepEqual(d.unhealthy, [
      { application: "alpha-sync-dev", why: "health Progressing" },
      {
        application: "bravo-sync-dev",
        why: "sync Unknown: ComparisonError: template: wso2-mi/templates/deployment.yaml: broken",
      },
    ]);
    const text = renderDecision(d, "v2.0.0", "Pulumi.prod.yaml", false);
    assert.match(
      text,
      /halted before ring "broad": 2 Application\(s\) of the earlier rings are not Synced and Healthy on v2\.0\.0/,
    );
    assert.match(text, /- bravo-sync-dev: sync Unknown: ComparisonError/);
  });

  it("an Application still on the old chart revision, missing, or unreadable blocks too", () => {
    assert.match(
      blocking(status("a", { chart: "v1.0.0" }), REPO, "v2.0.0")!,
      /platform chart at v1\.0\.0, not v2\.0\.0 yet \(pulumi up not applied\?\)/,
    );
    assert.equal(blocking(status("a", { found: false }), REPO, "v2.0.0"), "no Application");
    assert.match(
      blocking(status("a", { unreadable: "connection refused" }), REPO, "v2.0.0")!,
      /cluster unreadable/,
    );
    assert.equal(blocking(status("a"), REPO, "v2.0.0"), undefined);
  });

  it("Synced and Healthy of the spec Argo CD compared before pulumi up changed it do not count", () => {
    // Found in the sandbox: right after pulumi up the spec names the new revision while sync and health
    // are still those of the last comparison, on the old one.
    assert.match(
      blocking(status("a", { compared: "v1.0.0" }), REPO, "v2.0.0")!,
      /^Synced and Healthy on v1\.0\.0, not yet compared on v2\.0\.0: wait for Argo CD/,
    );
    const none = status("a");
    const { comparedTo: _, ...app } = none.application;
    assert.match(
      blocking({ ...none, application: app }, REPO, "v2.0.0")!,
      /on an earlier spec, not yet compared/,
    );
    // An unhealthy one is reported for what it is, whatever was compared.
    assert.match(
      blocking(status("a", { compared: "v1.0.0", health: "Degraded" }), REPO, "v2.0.0")!,
      /^health Degraded/,
    );
  });

  it("an Argo CD error is cut to its kind and Helm's own message", () => {
    const argo =
      "Failed to load target state: failed to generate manifest for source 1 of 2: rpc error: code = Unknown desc = failed to execute helm template command: `helm template . --name-template x` failed exit status 1: Error: execution error at (wso2-mi/templates/deployment.yaml:1:4): deliberately broken\n\nUse --debug flag to render out invalid YAML";
    assert.equal(
      briefly(`ComparisonError: ${argo}`),
      "ComparisonError: execution error at (wso2-mi/templates/deployment.yaml:1:4): deliberately broken",
    );
    assert.equal(briefly("ComparisonError: template: broken"), "ComparisonError: template: broken");
    assert.equal(briefly("0 of 1 replicas ready"), "0 of 1 replicas ready");
  });

  it("rings move in order: a later ring on the target before an earlier one is refused", () => {
    const cfg = cfgWith([rings[0], { ...rings[1], platformRevision: "v2.0.0" }, rings[2]]);
    assert.throws(
      () => decide(ringStates(cfg, tenantsOf(cfg, ["alpha", "bravo"]), "v2.0.0"), undefined, REPO, "v2.0.0"),
      (e: Error) =>
        e instanceof UpgradeError &&
        /ring "early" runs v2\.0\.0 already but the earlier ring "canary" does not/.test(e.message),
    );
  });

  it("moving a ring edits only its platformRevision in the stack file", () => {
    const text = [
      "# the production platform",
      "config:",
      "  imaas:domain: imaas.example.com",
      "  imaas:rings:",
      "    - name: canary # first",
      "      tenants: [alpha]",
      "      platformRevision: v2.0.0",
      "    - name: early",
      "      tenants: [bravo]",
      '    - { name: broad, tenants: "*" }',
      "",
    ].join("\n");
    const out = moveRingInStackFile(text, "early", "v2.0.0");
    assert.equal(
      out,
      text.replace("      tenants: [bravo]\n", "      tenants: [bravo]\n      platformRevision: v2.0.0\n"),
    );
    assert.match(
      moveRingInStackFile(out, "canary", "v3.0.0"),
      /- name: canary # first\n {6}tenants: \[alpha\]\n {6}platformRevision: v3\.0\.0/,
    );
    // A ring whose last value is a block sequence (as YAML libraries write it): the key goes after it.
    const block =
      'config:\n  imaas:rings:\n    - name: canary\n      tenants:\n        - alpha\n    - name: broad\n      tenants: "*"\n';
    assert.equal(
      moveRingInStackFile(block, "canary", "v2.0.0"),
      block.replace("        - alpha\n", "        - alpha\n      platformRevision: v2.0.0\n"),
    );
    assert.throws(() => moveRingInStackFile(text, "late", "v2"), /has no ring "late"/);
    assert.throws(
      () => moveRingInStackFile("config:\n  imaas:domain: x\n", "canary", "v2"),
      /no imaas:rings list/,
    );
  });

  it("the command refuses a stack without rings, as a user runs it", async () => {
    const { main } = require(join(__dirname, "../../cli/main")) as typeof import("../../cli/main");
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(["upgrade", "--to", "v2.0.0"], {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
    });
    assert.equal(code, 1);
    assert.match(err.join(""), /no upgrade rings \(imaas:rings\)/);
  });
});
