/**
 * `imaas upgrade` moving a ring after a HEALTHY one, on real pods: two test tenants in two rings (canary,
 * broad), one STAND-IN MI service each (e2e/images/mi-standin — not MI) synced by the real Argo CD onto the
 * sandbox's node. A new platform chart revision (the chart plus a ConfigMap naming the revision, so a
 * namespace shows which revision it runs) is shipped ring by ring: the first `imaas upgrade` moves the canary,
 * `pulumi up` rolls it, and once the canary's Application is Synced and Healthy on the revision the next
 * `imaas upgrade` moves the broad ring; a last one finds nothing to move. The broad tenant is shown
 * untouched until its ring moves. (The halt on a broken revision: e2e/gitops/upgrade.test.ts.)
 *
 * Stand-ins, said plainly: the image is the stand-in; the keystore Secrets cert-manager would write are
 * made by standin.ts `writeStandinKeystores`.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import YAML from "yaml";
import { PLATFORM_CHART_PATH } from "../../components/mi-service/argocd";
import { applicationName, namespaceName } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { ARGOCD_NAMESPACE } from "../sandbox/parts/argocd";
import { kubectl, sandboxEnv } from "../sandbox/parts/control-plane";
import { git, SANDBOX_STACK, sandboxStackFilePath } from "../sandbox/parts/git-world";
import { allParts, stopParts } from "../sandbox/parts/orchestrator";
import type { Part, PartContext } from "../sandbox/parts/part";
import { FIRST_BUILD_TAG, startPartsWithNode, writeStandinKeystores } from "./standin";

const ROOT = join(__dirname, "../..");
const ENV = "dev";
const RINGS = [
  { ring: "canary", tenant: "alpha" },
  { ring: "broad", tenant: "beta" },
] as const;
const SERVICE = "orders";
const NEXT = "v2.0.0-sandbox";
/** The marker the new revision adds to the chart. */
const MARKER = "imaas-platform-revision";

const tenantFile = (tenant: string) => `apiVersion: imaas.io/v1alpha1
kind: Tenant
metadata:
  name: ${tenant}
  displayName: Upgrade ring ${tenant}
spec:
  owners: [ring-tester]
  environments: [${ENV}]
  services:
    - name: ${SERVICE}
      description: Stand-in MI service moved ring by ring by e2e/dataplane/upgrade-rings.test.ts
      resources: { cpu: 100m, memory: 512Mi }
`;

const log = (m: string) => process.stderr.write(`      ${new Date().toISOString().slice(11, 19)} ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("imaas upgrade moves the next ring once the earlier one runs the revision Healthy (real pods)", function () {
  this.timeout(15 * 60_000);
  const base = mkdtempSync(join(tmpdir(), "imaas-rings-"));
  const tenantsDir = join(base, "tenants");
  const work = join(base, "work");
  const project = join(base, "platform");
  const stackFile = join(project, `Pulumi.${SANDBOX_STACK}.yaml`);
  const ctx: PartContext = {
    repo: ROOT,
    dir: join(base, "sandbox"),
    toolsDir: process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"),
    log,
  };
  let parts: Part[] = [];
  const savedTenantsDir = process.env.IMAAS_TENANTS_DIR;
  const kj = <T = any>(args: readonly string[]): T => JSON.parse(kubectl(ctx, [...args, "-o", "json"])) as T;

  async function pulumiUp(): Promise<void> {
    const t = Date.now();
    const pulumiCommand = await PulumiCommand.get({ root: ctx.toolsDir, skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: SANDBOX_STACK, workDir: ROOT },
      {
        pulumiCommand,
        envVars: {
          ...sandboxEnv(ctx.dir),
          IMAAS_TENANTS_DIR: tenantsDir,
          IMAAS_PLAN: "0",
          PULUMI_K8S_ENABLE_PATCH_FORCE: "true",
        },
      },
    );
    await stack.up({ configFile: stackFile, color: "never" });
    log(`pulumi up: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }

  /** `imaas upgrade --to NEXT` as an admin runs it from the platform checkout, against the sandbox. */
  const upgrade = () =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, "bin/imaas.js"), "upgrade", "--to", NEXT, "--stack", SANDBOX_STACK, "--dir", tenantsDir],
        {
          cwd: project,
          encoding: "utf8",
          timeout: 120_000,
          env: { ...process.env, KUBECONFIG: join(ctx.dir, "kubeconfig") },
        },
        (err, out, errOut) => resolve({ code: err ? Number(err.code ?? 1) : 0, out, err: errOut }),
      );
    });

  /** The Application of `tenant` once it is Synced and Healthy with its platform chart at `revision`. */
  async function healthyOn(tenant: string, revision: string, timeoutMs = 6 * 60_000): Promise<number> {
    const name = applicationName(tenant, SERVICE, ENV);
    const t = Date.now();
    kubectl(ctx, [
      "-n",
      ARGOCD_NAMESPACE,
      "annotate",
      "application",
      name,
      "argocd.argoproj.io/refresh=hard",
      "--overwrite",
    ]);
    for (;;) {
      const app = kj(["-n", ARGOCD_NAMESPACE, "get", "application", name]);
      const chart = app.spec.sources.find((s: { path?: string }) => s.path === PLATFORM_CHART_PATH);
      if (
        chart?.targetRevision === revision &&
        app.status?.sync?.status === "Synced" &&
        app.status?.health?.status === "Healthy"
      )
        return (Date.now() - t) / 1000;
      if (Date.now() - t > timeoutMs) {
        const pods = kubectl(ctx, ["-n", namespaceName(tenant, ENV), "get", "pods", "-o", "wide"]);
        throw new Error(
          `${name} not Synced and Healthy on ${revision} within ${timeoutMs / 1000} s: chart ${chart?.targetRevision}, ` +
            `${JSON.stringify({ sync: app.status?.sync?.status, health: app.status?.health, conditions: app.status?.conditions })}\n${pods}`,
        );
      }
      await sleep(2000);
    }
  }

  /** The revision marker in a tenant's namespace (undefined before the new revision runs there). */
  const marker = (tenant: string): string | undefined =>
    kj<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>([
      "-n",
      namespaceName(tenant, ENV),
      "get",
      "configmaps",
    ]).items.find((c) => c.metadata.name === `${SERVICE}-${MARKER}`)?.data?.revision;

  const ringsInStackFile = () => YAML.parse(readFileSync(stackFile, "utf8")).config["imaas:rings"];

  before(async function () {
    this.timeout(55 * 60_000); // a cold tool build, and waiting for the node
    mkdirSync(tenantsDir, { recursive: true });
    mkdirSync(work, { recursive: true });
    mkdirSync(project, { recursive: true });
    for (const { tenant } of RINGS) writeFileSync(join(tenantsDir, `${tenant}.yaml`), tenantFile(tenant));
    execFileSync(
      "bash",
      [
        join(ROOT, "e2e/tools/build.sh"),
        ...["kube", "etcd", "crds", "helm", "pulumi", "kubernetes-provider", "argocd", "redis", "node"],
      ],
      { env: { ...process.env, IMAAS_TOOLS_DIR: ctx.toolsDir }, stdio: ["ignore", "inherit", "inherit"] },
    );
    process.env.IMAAS_TENANTS_DIR = tenantsDir;
    parts = await startPartsWithNode(
      ctx,
      ["argocd", "node", "registry"],
      allParts({ git: { firstBuildTag: FIRST_BUILD_TAG } }),
    );
    // A platform checkout: the sandbox's stack file with the two rings.
    copyFileSync(join(ROOT, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    const doc = YAML.parseDocument(readFileSync(sandboxStackFilePath(ctx.dir), "utf8"));
    doc.setIn(
      ["config", "imaas:rings"],
      doc.createNode(
        RINGS.map(({ ring, tenant }) => ({ name: ring, tenants: ring === "broad" ? "*" : [tenant] })),
      ),
    );
    writeFileSync(stackFile, doc.toString());
    await pulumiUp();
    assert.deepEqual(
      writeStandinKeystores(ctx).sort(),
      RINGS.map(({ tenant }) => `${namespaceName(tenant, ENV)}/${SERVICE}-mi-keystore`).sort(),
    );
    const cfg = platformConfigOf(readStackConfig(project, SANDBOX_STACK));
    for (const { tenant } of RINGS) {
      log(
        `${tenant}: Healthy on ${cfg.argocd.platformRevision} after ${(await healthyOn(tenant, cfg.argocd.platformRevision)).toFixed(1)} s`,
      );
      assert.equal(marker(tenant), undefined);
    }
    // The next platform release: the chart plus a ConfigMap naming the revision it was rendered from.
    const clone = mkdtempSync(join(work, "chart-"));
    git(
      work,
      ["clone", "--quiet", "--branch", cfg.argocd.platformRevision, cfg.argocd.platformRepo, clone],
      work,
    );
    writeFileSync(
      join(clone, PLATFORM_CHART_PATH, "templates", `${MARKER}.yaml`),
      [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        `  name: {{ .Release.Name }}-${MARKER}`,
        "data:",
        `  revision: ${NEXT}`,
        "",
      ].join("\n"),
    );
    git(clone, ["add", "--all"], work);
    git(clone, ["commit", "--quiet", "--message", `Platform release ${NEXT}`], work);
    git(clone, ["tag", NEXT], work);
    git(clone, ["push", "--quiet", "origin", `refs/tags/${NEXT}`], work);
  });

  after(async function () {
    this.timeout(3 * 60_000);
    if (savedTenantsDir === undefined) delete process.env.IMAAS_TENANTS_DIR;
    else process.env.IMAAS_TENANTS_DIR = savedTenantsDir;
    try {
      await stopParts(ctx, parts);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it("moves the canary first; pulumi up rolls its Application onto the revision, Healthy, and the broad tenant is untouched", async () => {
    const r = await upgrade();
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.match(r.out, new RegExp(`moved ring "canary" to ${NEXT}`));
    assert.deepEqual(ringsInStackFile(), [
      { name: "canary", tenants: ["alpha"], platformRevision: NEXT },
      { name: "broad", tenants: "*" },
    ]);
    await pulumiUp();
    log(`alpha: Healthy on ${NEXT} after ${(await healthyOn("alpha", NEXT)).toFixed(1)} s`);
    assert.equal(marker("alpha"), NEXT, "the canary's namespace runs the new chart");
    assert.equal(marker("beta"), undefined, "the broad ring has not moved");
  });

  it("moves the broad ring once the canary runs the revision Synced and Healthy; a last run finds nothing to move", async () => {
    const r = await upgrade();
    process.stderr.write(r.out.replace(/^/gm, "      | "));
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.match(r.out, new RegExp(`moved ring "broad" to ${NEXT}`));
    assert.deepEqual(ringsInStackFile(), [
      { name: "canary", tenants: ["alpha"], platformRevision: NEXT },
      { name: "broad", tenants: "*", platformRevision: NEXT },
    ]);
    await pulumiUp();
    log(`beta: Healthy on ${NEXT} after ${(await healthyOn("beta", NEXT)).toFixed(1)} s`);
    assert.equal(marker("beta"), NEXT);
    const last = await upgrade();
    assert.equal(last.code, 0, `${last.out}\n${last.err}`);
    assert.match(last.out, new RegExp(`every ring runs ${NEXT}: nothing to move`));
  });
});
