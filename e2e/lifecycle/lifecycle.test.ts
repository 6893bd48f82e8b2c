/**
 * The platform's lifecycle with the real Pulumi engine (Automation API, stack `sandbox` with
 * Pulumi.sandbox.yaml) against the tests' own local control plane (hooks.ts). The expected state is the
 * program's own plan (cli/plan-engine.ts) for the same tenant files, so objects other engineers add to the
 * components are checked without changing these tests.
 *
 * Run: npm run test:e2e   (mocha 'e2e/lifecycle/**\/*.test.ts'; builds the tools when the cache is cold)
 */
import "./hooks";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type KubernetesObject, PatchStrategy } from "@kubernetes/client-node";
import type { Stack } from "@pulumi/pulumi/automation";
import { parse, parseAllDocuments, stringify } from "yaml";
import type { PlannedResource } from "../../cli/plan-engine";
import {
  assertObjectsMatchPlan,
  describeObject,
  eventually,
  expectedChanges,
  kubernetesObjects,
  OpRecorder,
  plan,
  readObject,
} from "./expect";
import { killApiServer, ROOT, restartApiServer, sandbox, sandboxStack, TOOLS_DIR } from "./sandbox";

type Obj = Record<string, any>;

const tenantFile = (dir: string, name: string) => join(dir, `${name}.yaml`);
const readTenant = (dir: string, name: string): Obj => parse(readFileSync(tenantFile(dir, name), "utf8"));
const writeTenant = (dir: string, doc: Obj) =>
  writeFileSync(tenantFile(dir, doc.metadata.name), stringify(doc));
function editTenant(dir: string, name: string, edit: (t: Obj) => void) {
  const doc = readTenant(dir, name);
  edit(doc);
  writeTenant(dir, doc);
}

function copyTenants(to: string, only?: string[]) {
  mkdirSync(to, { recursive: true });
  cpSync(join(ROOT, "tenants"), to, {
    recursive: true,
    filter: (src) => !only || !src.endsWith(".yaml") || only.some((n) => src.endsWith(`/${n}.yaml`)),
  });
}

/**
 * Stand-in for Argo CD's application controller, which is not installed in the sandbox: when an Application
 * is deleted it removes the resources finalizer (the controller would first delete what the app deployed),
 * so deleting a service or tenant does not wait forever.
 */
function startArgoFinalizerStandIn(): () => void {
  const { kube } = sandbox();
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      try {
        const apps = await kube.list("argoproj.io/v1alpha1", "Application", "argocd");
        for (const app of apps.items) {
          if (app.metadata?.deletionTimestamp && app.metadata.finalizers?.length) {
            await kube.patch(
              {
                apiVersion: "argoproj.io/v1alpha1",
                kind: "Application",
                metadata: { ...app.metadata, finalizers: [] },
              },
              undefined,
              undefined,
              "argocd-stand-in",
              undefined,
              PatchStrategy.MergePatch,
            );
          }
        }
      } catch {
        // the API server may be down on purpose
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  void loop();
  return () => {
    stopped = true;
  };
}

async function namespacesOf(tenant: string): Promise<string[]> {
  const list = await sandbox().kube.list(
    "v1",
    "Namespace",
    undefined, // all namespaces
    undefined,
    undefined,
    undefined,
    undefined, // field selector
    `imaas.io/tenant=${tenant}`,
  );
  return list.items.map((n) => n.metadata?.name ?? "").sort();
}

describe("lifecycle with the real engine", function () {
  this.timeout(10 * 60_000);
  let stopStandIn: () => void = () => {};
  before(() => {
    stopStandIn = startArgoFinalizerStandIn();
  });
  after(() => stopStandIn());

  describe("a stack without protected resources (dev/test tenant only)", () => {
    it("up, then destroy leaves nothing behind", async () => {
      const { work } = sandbox();
      const tenants = join(work, "tenants-destroy");
      copyTenants(tenants, ["hr-onboarding"]);
      const planned = await plan(tenants);
      assert.ok(!planned.some((r) => r.protect), "this stack must hold no protected resources");
      const stack = await sandboxStack(join(work, "backend-destroy"), tenants);
      const up = await stack.up({ color: "never" });
      assert.equal(up.summary.result, "succeeded");
      await assertObjectsMatchPlan(planned);
      assert.deepEqual(await namespacesOf("hr-onboarding"), ["hr-onboarding-dev", "hr-onboarding-test"]);

      const down = await stack.destroy({ color: "never" });
      assert.equal(down.summary.result, "succeeded");
      await eventually(
        "the tenant's namespaces to be gone",
        async () => (await namespacesOf("hr-onboarding")).length === 0,
      );
      const left: string[] = [];
      for (const r of kubernetesObjects(planned)) if (await readObject(r)) left.push(describeObject(r));
      assert.deepEqual(left, [], "objects left behind by destroy");
      const exported = await stack.exportStack();
      assert.equal((exported.deployment.resources ?? []).length, 0);
      await stack.workspace.removeStack(stack.name, { preserveConfig: true }); // Pulumi.sandbox.yaml is the project's
    });
  });

  describe("the example tenants", () => {
    let tenants = "";
    let stack: Stack;
    let current: PlannedResource[] = [];

    /** `up`; the engine changed exactly what the plan predicts and the API server holds the new plan. */
    async function upAndCheck() {
      const before = current;
      const after = await plan(tenants);
      current = after; // the next test starts from here even if an assertion below fails
      const rec = new OpRecorder();
      await stack.up({ onEvent: rec.onEvent, color: "never" });
      assert.deepEqual(
        rec.changed(),
        expectedChanges(before, after),
        "the engine's changes differ from the plan's",
      );
      await assertObjectsMatchPlan(after);
      return { after, changes: rec.changed() };
    }

    before(async () => {
      const { work } = sandbox();
      tenants = join(work, "tenants");
      copyTenants(tenants);
      stack = await sandboxStack(join(work, "backend"), tenants);
    });

    it("preview, then up creates what the plan says, with the planned labels and specs", async () => {
      current = await plan(tenants);
      const preview = await stack.preview({ color: "never" });
      const planned = current.length; // the plan leaves out the stack resource the engine counts
      assert.equal(preview.changeSummary.create, planned + 1, JSON.stringify(preview.changeSummary));
      const rec = new OpRecorder();
      const up = await stack.up({ onEvent: rec.onEvent, color: "never" });
      assert.equal(up.summary.result, "succeeded");
      assert.equal(up.summary.resourceChanges?.create, planned + 1);
      assert.deepEqual(rec.changed(), expectedChanges([], current));
      const checked = await assertObjectsMatchPlan(current);
      assert.ok(checked > 50, `only ${checked} Kubernetes objects planned`);
    });

    it("a second up changes nothing", async () => {
      const up = await stack.up({ color: "never" });
      assert.deepEqual(Object.keys(up.summary.resourceChanges ?? {}), ["same"]);
    });

    it("the MI chart of every example service environment is admitted by a server-side dry run in its namespace", () => {
      const { work, env } = sandbox();
      const apps = kubernetesObjects(current).filter((r) => r.inputs.kind === "Application");
      assert.ok(apps.length > 0);
      const dir = join(work, "chart");
      mkdirSync(dir, { recursive: true });
      const branch = join(dir, "branch-values.json");
      writeFileSync(branch, JSON.stringify({ image: { tag: "1.0.0-e2e" } }));
      for (const app of apps) {
        const spec = (app.inputs as Obj).spec;
        const source = spec.sources.find((s: Obj) => s.helm);
        const ns: string = spec.destination.namespace;
        const platform = join(dir, `${app.name}.json`);
        writeFileSync(platform, JSON.stringify(source.helm.valuesObject));
        const rendered = execFileSync(
          join(TOOLS_DIR, "bin/helm"),
          [
            "template",
            source.helm.releaseName,
            join(ROOT, "charts/wso2-mi"),
            "--namespace",
            ns,
            "-f",
            branch,
            "-f",
            platform,
          ],
          { encoding: "utf8" },
        );
        const kinds = parseAllDocuments(rendered)
          .map((d) => d.toJS() as Obj)
          .filter((o) => o)
          .map((o) => o.kind);
        assert.ok(kinds.includes("Deployment"), `${app.name}: ${kinds}`);
        const file = join(dir, `${app.name}.yaml`);
        writeFileSync(file, rendered);
        try {
          execFileSync(
            join(TOOLS_DIR, "bin/kubectl"),
            [
              "apply",
              "--server-side",
              "--dry-run=server",
              "--field-manager",
              "argocd-controller",
              "-n",
              ns,
              "-f",
              file,
            ],
            { encoding: "utf8", env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
          );
        } catch (e) {
          assert.fail(`${app.name} in ${ns}: ${(e as { stderr?: string }).stderr}`);
        }
      }
    });

    it("a tenant added: its objects are created, nothing else changes", async () => {
      writeTenant(tenants, {
        apiVersion: "imaas.io/v1alpha1",
        kind: "Tenant",
        metadata: { name: "claims" },
        spec: {
          owners: ["ida-n"],
          environments: ["dev", "test"],
          services: [{ name: "claim-intake" }],
        },
      });
      const { changes } = await upAndCheck();
      assert.deepEqual(Object.keys(changes), ["create"]);
      assert.deepEqual(await namespacesOf("claims"), ["claims-dev", "claims-test"]);
    });

    it("a service added: its Applications are created, only the AppProject changes besides", async () => {
      editTenant(tenants, "hr-onboarding", (t) => t.spec.services.push({ name: "leaver-flow" }));
      const { changes } = await upAndCheck();
      // Besides the service's objects, only the tenant's AppProject changes (its repos list grows).
      assert.deepEqual(
        (changes.update ?? []).filter((k) => !k.includes(":AppProject::hr-onboarding-")),
        [],
        JSON.stringify(changes),
      );
      assert.equal(changes.delete, undefined);
      assert.ok(
        changes.create.some((k) => k.includes("Application")),
        JSON.stringify(changes),
      );
    });

    it("a quota changed: only that namespace's guard rails are updated, the server holds the new value", async () => {
      editTenant(tenants, "hr-onboarding", (t) => {
        t.spec.quota.dev.cpu = "3";
      });
      const { after, changes } = await upAndCheck();
      assert.deepEqual(Object.keys(changes), ["update"]);
      const updated = kubernetesObjects(after).filter((r) => changes.update.includes(`${r.type}::${r.name}`));
      assert.equal(updated.length, changes.update.length, JSON.stringify(changes));
      for (const r of updated) assert.equal((r.inputs as Obj).metadata.namespace, "hr-onboarding-dev");
      const quota = updated.find((r) => r.inputs.kind === "ResourceQuota");
      assert.ok(quota, JSON.stringify(changes));
      const live = await readObject(quota);
      assert.equal(live?.spec.hard["requests.cpu"], "3");
    });

    it("an allowFrom removed: the policy admitting the other tenant goes, nothing else changes", async () => {
      editTenant(tenants, "payroll", (t) => {
        t.spec.network.allowFrom = [];
      });
      const { changes } = await upAndCheck();
      const touched = Object.values(changes).flat();
      assert.ok(
        touched.length > 0 && touched.every((k) => k.includes("NetworkPolicy")),
        JSON.stringify(changes),
      );
      const policies = await sandbox().kube.list<Obj & KubernetesObject>(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "payroll-dev",
      );
      assert.ok(
        !JSON.stringify(policies.items.map((p) => p.spec)).includes("logistics-dev"),
        "a payroll-dev policy still admits logistics-dev",
      );
    });

    it("refresh brings an out-of-band edit into state, and the next up puts it back", async () => {
      const { kube } = sandbox();
      const label = "pod-security.kubernetes.io/enforce";
      await kube.patch(
        {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name: "payroll-dev", labels: { [label]: "privileged" } },
        },
        undefined,
        undefined,
        "someone-else",
        undefined,
        PatchStrategy.MergePatch,
      );
      const refresh = await stack.refresh({ color: "never" });
      assert.equal(
        refresh.summary.resourceChanges?.update,
        1,
        JSON.stringify(refresh.summary.resourceChanges),
      );
      const preview = await stack.preview({ color: "never" });
      assert.equal(preview.changeSummary.update, 1, JSON.stringify(preview.changeSummary));
      const rec = new OpRecorder();
      await stack.up({ onEvent: rec.onEvent, color: "never" });
      assert.deepEqual(rec.changed(), { update: ["kubernetes:core/v1:Namespace::payroll-dev"] });
      const ns = await kube.read({ apiVersion: "v1", kind: "Namespace", metadata: { name: "payroll-dev" } });
      assert.equal(ns.metadata?.labels?.[label], "restricted");
    });

    it("the API server killed during an up: re-running converges, the state stays sound", async () => {
      writeTenant(tenants, {
        apiVersion: "imaas.io/v1alpha1",
        kind: "Tenant",
        metadata: { name: "billing" },
        spec: { owners: ["jo-b"], environments: ["dev", "test"], services: [{ name: "invoice-run" }] },
      });
      const after = await plan(tenants);
      current = after;
      let killed = 0;
      let started = 0;
      const interrupted = stack
        .up({
          color: "never",
          onEvent: (e) => {
            if (!killed && e.resourcePreEvent?.metadata.type.startsWith("kubernetes:") && ++started === 3) {
              killed = killApiServer();
            }
          },
        })
        .then(
          () => "succeeded",
          (err: Error) => `failed: ${err.message.split("\n").slice(-12).join("\n")}`,
        );
      await eventually("the API server to be killed mid-update", async () => killed > 0, 120_000);
      await new Promise((r) => setTimeout(r, 3000));
      restartApiServer();
      const first = await interrupted;
      console.log(`      interrupted up: ${first.slice(0, 300)}`);

      const exported = await stack.exportStack();
      JSON.parse(JSON.stringify(exported)); // parses, and is an object with a deployment
      assert.ok(exported.deployment?.resources?.length > 0);
      if ((exported.deployment.pending_operations ?? []).length > 0) {
        await stack.refresh({ color: "never", clearPendingCreates: true });
      }
      const up = await stack.up({ color: "never" });
      assert.equal(up.summary.result, "succeeded");
      const again = await stack.up({ color: "never" });
      assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"]);
      assert.equal(((await stack.exportStack()).deployment.pending_operations ?? []).length, 0);
      await assertObjectsMatchPlan(after);
    });

    it("a tenant removed: its non-prod namespaces are deleted, the prod one is refused by protect", async () => {
      rmSync(tenantFile(tenants, "logistics"));
      const error = await stack.up({ color: "never" }).then(
        () => assert.fail("the up should fail on the protected prod namespace"),
        (e: Error) => e.message,
      );
      assert.match(error, /protect/);
      assert.match(error, /logistics-prod/);
      await eventually(
        "logistics-dev and logistics-test to be deleted",
        async () => JSON.stringify(await namespacesOf("logistics")) === JSON.stringify(["logistics-prod"]),
      );
      const prod: Obj = await sandbox().kube.read({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "logistics-prod" },
      });
      assert.equal(prod.status?.phase, "Active");
    });
  });
});
