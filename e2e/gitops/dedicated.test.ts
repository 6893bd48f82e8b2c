/**
 * Isolation tiers with the real Argo CD (v3.2.11) on the sandbox's real API server: two tenants of this test's
 * own (treasury, audit; dev only) join the example tenants. treasury moves shared → dedicated → shared by
 * ordinary tenant-file changes and `pulumi up`; its running Deployment keeps its UID through both moves (no
 * prune). While dedicated, its Applications sync through a second application-controller + repo-server + Redis
 * (e2e/sandbox/parts/argocd-dedicated.ts) running as the ServiceAccount the program created, whose RBAC the
 * API server itself shows reaching only treasury's namespaces; stopping that controller stops treasury's
 * syncs and leaves the shared tenants' syncs working. At the end the suite's world is restored (both tenants
 * removed) for the other GitOps tests.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import "./hooks";
import { sandboxPulumiUp } from "../sandbox/pulumi-up";
import { DEDICATED_CONTROLLER_SA } from "../../components/tenant-space/argocd-dedicated";
import { loadTenantDir } from "../../model/load";
import { dedicatedArgoNamespace, repositoryUrl } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { ARGOCD_NAMESPACE, ARGOCD_VERSION } from "../sandbox/parts/argocd";
import {
  dedicatedArgoPart,
  dedicatedKubeconfig,
  dedicatedProcesses,
} from "../sandbox/parts/argocd-dedicated";
import { kubectl } from "../sandbox/parts/control-plane";
import {
  createRepo,
  gitWorldPlan,
  recordFirstBuild,
  SANDBOX_STACK,
  sandboxStackFilePath,
  treeFiles,
} from "../sandbox/parts/git-world";
import { PLATFORM_CHART_PATH } from "../../components/mi-service/argocd";
import { commitImageTag, gitops, kubectlJson, ROOT, TENANTS_DIR, waitUntil } from "./sandbox";

const LONG = 12 * 60_000;
const TREASURY = "treasury";
const AUDIT = "audit";
const DED_NS = dedicatedArgoNamespace(TREASURY);
const SA = `system:serviceaccount:${DED_NS}:${DEDICATED_CONTROLLER_SA}`;
const APP = "treasury-ledger-dev";
const AUDIT_APP = "audit-trail-dev";
const TAG1 = "1.0.0-ci.1";

const tenantFile = (name: string, service: string, isolation?: "dedicated") =>
  [
    "# yaml-language-server: $schema=./tenant.schema.json",
    "apiVersion: imaas.io/v1alpha1",
    "kind: Tenant",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    "  owners: [ana-lopez]",
    "  environments: [dev]",
    ...(isolation ? [`  isolation: ${isolation}`] : []),
    "  services:",
    `    - name: ${service}`,
    "",
  ].join("\n");

interface Layout {
  tenantsDir: string;
  stackFile: string;
}

/** A tenants folder (the examples + ours) and a stack file allowing dedicated control planes. */
function layout(): Layout {
  const { work, ctx } = gitops();
  const base = join(work, "dedicated");
  const tenantsDir = join(base, "tenants");
  mkdirSync(tenantsDir, { recursive: true });
  for (const f of readdirSync(TENANTS_DIR)) copyFileSync(join(TENANTS_DIR, f), join(tenantsDir, f));
  const stackDir = join(base, "stack");
  mkdirSync(stackDir, { recursive: true });
  const doc = YAML.parseDocument(readFileSync(sandboxStackFilePath(ctx.dir), "utf8"));
  doc.setIn(["config", "imaas:argocd", "dedicated"], { allowed: true, maxTenants: 1 });
  const stackFile = join(stackDir, `Pulumi.${SANDBOX_STACK}.yaml`);
  writeFileSync(stackFile, doc.toString());
  return { tenantsDir, stackFile };
}

function writeTenants(l: Layout, treasury: "shared" | "dedicated"): void {
  writeFileSync(
    join(l.tenantsDir, `${TREASURY}.yaml`),
    tenantFile(TREASURY, "ledger", treasury === "dedicated" ? "dedicated" : undefined),
  );
  writeFileSync(join(l.tenantsDir, `${AUDIT}.yaml`), tenantFile(AUDIT, "trail"));
}

function up(tenantsDir: string, configFile: string): Promise<number> {
  return sandboxPulumiUp(gitops().ctx, { tenantsDir, configFile });
}

interface App {
  metadata: { name: string; namespace: string; finalizers?: string[] };
  spec: any;
  status?: {
    sync?: { status?: string; revisions?: string[]; revision?: string };
    health?: { status?: string };
    operationState?: { phase?: string; message?: string; syncResult?: { revisions?: string[] } };
    conditions?: { type: string; message: string }[];
  };
}
const appIn = (ns: string, name: string): App | undefined => {
  try {
    return kubectlJson<App>(["get", "application", name, "-n", ns]);
  } catch {
    return undefined;
  }
};
const refresh = (ns: string, name: string) =>
  kubectl(gitops().ctx, [
    "annotate",
    "application",
    name,
    "-n",
    ns,
    "argocd.argoproj.io/refresh=hard",
    "--overwrite",
  ]);
/**
 * Synced at `rev`; with `operation`, by a sync operation that succeeded (an adopted Application whose live
 * objects already match is Synced without one: its controller finds nothing to do).
 */
const syncedAt = (a: App | undefined, rev: string, operation = true) =>
  a?.status?.sync?.status === "Synced" &&
  (!operation || a.status.operationState?.phase === "Succeeded") &&
  (a.status.sync.revisions ?? []).includes(rev);
const describe_ = (a: App | undefined) =>
  JSON.stringify({
    ns: a?.metadata.namespace,
    sync: a?.status?.sync,
    op: a?.status?.operationState?.message,
    cond: a?.status?.conditions,
  });

async function waitSynced(ns: string, name: string, rev: string, operation = true): Promise<App> {
  refresh(ns, name);
  return (await waitUntil(
    `${ns}/${name} Synced at ${rev.slice(0, 8)}`,
    () => appIn(ns, name),
    (a) => syncedAt(a, rev, operation),
    {
      timeoutMs: 300_000,
      describe: describe_,
    },
  ))!;
}

interface Deployment {
  metadata: { uid: string; name: string; creationTimestamp: string; annotations?: Record<string, string> };
  spec: { template: { spec: { containers: { image: string }[] } } };
}
const deploymentOf = (ns: string, name: string): Deployment =>
  kubectlJson<Deployment>(["get", "deployment", name, "-n", ns]);

const head = (url: string, branch: string): string =>
  execFileSync("git", ["ls-remote", url, `refs/heads/${branch}`], { encoding: "utf8" }).split("\t")[0]!;

/** `kubectl auth can-i … --as <the dedicated controller>`: the API server's own RBAC decision. */
function canI(verb: string, resource: string, namespace?: string): boolean {
  try {
    const out = kubectl(gitops().ctx, [
      "auth",
      "can-i",
      verb,
      resource,
      "--as",
      SA,
      ...(namespace ? ["-n", namespace] : ["--all-namespaces"]),
    ]);
    return out.trim() === "yes";
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? "").trim();
    if (out === "no") return false;
    throw err;
  }
}

/** The log of a sandbox part's application-controller (`argocd` or `argocd-<tenant>`). */
const controllerLog = (part: string): string =>
  readFileSync(join(gitops().ctx.dir, "parts", part, "application-controller.log"), "utf8");

/** CPU seconds (user+system) and resident memory of a process, from /proc. */
function usage(pid: number): { cpu: number; rssKiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(rest[11]) + Number(rest[12]); // fields 14 utime, 15 stime
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return { cpu: ticks / 100, rssKiB: Number(rss) };
}

describe(`isolation tiers with the real Argo CD ${ARGOCD_VERSION}: a dedicated control plane per tenant`, function () {
  this.timeout(LONG);
  const part = dedicatedArgoPart(TREASURY);
  let l: Layout;
  let ledgerUrl: string;
  let trailUrl: string;
  let uid: string;
  const timings: string[] = [];

  before(async () => {
    l = layout();
    writeTenants(l, "shared");
    const cfg = platformConfigOf(readStackConfig(join(l.stackFile, ".."), SANDBOX_STACK));
    const { tenants, errors } = loadTenantDir(l.tenantsDir, cfg);
    assert.deepEqual(errors, []);
    const ours = tenants.filter((t) => t.name === TREASURY || t.name === AUDIT);
    const { work } = gitops();
    for (const repo of gitWorldPlan(ours, cfg, treeFiles(ROOT, PLATFORM_CHART_PATH)).slice(1)) {
      createRepo(repo, join(work, "scratch-dedicated"), work);
      recordFirstBuild(repo, TAG1, join(work, "scratch-dedicated"), work);
    }
    ledgerUrl = repositoryUrl(cfg.github.owner, TREASURY, "ledger", cfg.github.urlBase);
    trailUrl = repositoryUrl(cfg.github.owner, AUDIT, "trail", cfg.github.urlBase);
  });

  after(async function () {
    this.timeout(LONG);
    // The suite's world again: the example tenants only, on the sandbox's own stack file. Should a test have
    // stopped while treasury is dedicated, its controller must run to finalize its Applications.
    try {
      let dedicatedLeft = false;
      try {
        kubectl(gitops().ctx, ["get", "namespace", DED_NS]);
        dedicatedLeft = true;
      } catch {}
      if (dedicatedLeft) {
        await part.start(gitops().ctx);
        await part.ready(gitops().ctx);
      }
      await up(TENANTS_DIR, sandboxStackFilePath(gitops().ctx.dir));
    } finally {
      await part.stop(gitops().ctx);
    }
  });

  it("shared: treasury's Application syncs through the shared Argo CD", async () => {
    timings.push(`pulumi up (both tenants shared) ${(await up(l.tenantsDir, l.stackFile)).toFixed(0)} s`);
    const a = await waitSynced(ARGOCD_NAMESPACE, APP, head(ledgerUrl, "dev"));
    assert.equal(a.spec.destination.server, "https://kubernetes.default.svc");
    await waitSynced(ARGOCD_NAMESPACE, AUDIT_APP, head(trailUrl, "dev"));
    const d = deploymentOf("treasury-dev", "ledger");
    assert.match(d.spec.template.spec.containers[0]!.image, new RegExp(`:${TAG1}$`));
    uid = d.metadata.uid;
  });

  it("shared → dedicated is a tenant-file change: pulumi up moves the Application, the Deployment is never pruned", async () => {
    writeTenants(l, "dedicated");
    timings.push(`pulumi up (to dedicated) ${(await up(l.tenantsDir, l.stackFile)).toFixed(0)} s`);
    assert.equal(appIn(ARGOCD_NAMESPACE, APP), undefined, "the shared Application is gone");
    const retired = kubectlJson<any>(["get", "appproject", TREASURY, "-n", ARGOCD_NAMESPACE]);
    assert.deepEqual(retired.spec.destinations ?? [], [], "the shared AppProject is retired");
    const moved = appIn(DED_NS, APP);
    assert.ok(moved, `no Application ${DED_NS}/${APP}`);
    assert.deepEqual(moved.spec.destination, { name: `sandbox-${TREASURY}`, namespace: "treasury-dev" });
    // The shared controller finalized the old Application (pulumi up waited for it) without deleting anything:
    // the retired AppProject permits nothing.
    assert.match(
      controllerLog("argocd"),
      new RegExp(
        `"app-namespace":"${ARGOCD_NAMESPACE}".*"application":"${APP}".*"msg":"Successfully deleted 0 resources"`,
      ),
    );
    assert.equal(deploymentOf("treasury-dev", "ledger").metadata.uid, uid, "the Deployment was re-created");
  });

  it("the dedicated controller (its own process, as the program's ServiceAccount) syncs it; the Deployment is adopted, not re-created", async () => {
    const { ctx } = gitops();
    const t = Date.now();
    await part.start(ctx);
    await part.ready(ctx);
    timings.push(`dedicated Argo CD ready ${((Date.now() - t) / 1000).toFixed(0)} s`);
    // Adopted: the live objects already match, so its controller reports Synced without syncing anything.
    const a = await waitSynced(DED_NS, APP, head(ledgerUrl, "dev"), false);
    assert.equal(a.metadata.namespace, DED_NS);
    assert.equal(deploymentOf("treasury-dev", "ledger").metadata.uid, uid);
    const log = readFileSync(
      join(ctx.dir, "parts", `argocd-${TREASURY}`, "application-controller.log"),
      "utf8",
    );
    assert.match(
      log,
      new RegExp(`"app-namespace":"${DED_NS}".*"application":"${APP}".*"msg":"Reconciliation completed"`),
      "the dedicated controller's own log shows it reconciling the Application",
    );
  });

  it("its ServiceAccount reaches only treasury's namespaces (the API server's RBAC, and a real attempt)", () => {
    assert.equal(canI("patch", "deployments", "treasury-dev"), true);
    assert.equal(canI("list", "secrets", "treasury-dev"), true);
    assert.equal(canI("list", "applications.argoproj.io", DED_NS), true);
    // Not the platform's guard rails in its own tenant's namespace …
    assert.equal(canI("patch", "resourcequotas", "treasury-dev"), false);
    assert.equal(canI("delete", "networkpolicies.networking.k8s.io", "treasury-dev"), false);
    assert.equal(canI("create", "rolebindings.rbac.authorization.k8s.io", "treasury-dev"), false);
    // … nothing of another tenant, nothing of the shared Argo CD, nothing cluster-wide.
    for (const ns of ["audit-dev", "payroll-dev", ARGOCD_NAMESPACE]) {
      assert.equal(canI("get", "secrets", ns), false, `get secrets in ${ns}`);
      assert.equal(canI("create", "deployments.apps", ns), false, `create deployments in ${ns}`);
    }
    assert.equal(canI("list", "namespaces"), false);
    assert.equal(canI("list", "deployments.apps"), false, "cluster-wide list");
    // A real request with the token the dedicated controller runs with.
    const kc = dedicatedKubeconfig(gitops().ctx.dir, TREASURY);
    const attempt = (args: string[]) => {
      try {
        execFileSync(join(gitops().ctx.toolsDir, "bin/kubectl"), ["--kubeconfig", kc, ...args], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        });
        return "allowed";
      } catch (err) {
        return String((err as { stderr?: string }).stderr);
      }
    };
    assert.match(
      attempt(["get", "secrets", "-n", "audit-dev"]),
      new RegExp(
        `Forbidden.*"${SA.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}" cannot list resource "secrets".*namespace "audit-dev"`,
      ),
    );
    assert.match(attempt(["delete", "deployment", "trail", "-n", "audit-dev"]), /Forbidden/);
    assert.equal(attempt(["get", "deployment", "ledger", "-n", "treasury-dev"]), "allowed");
  });

  it("stopping treasury's controller stops only treasury's syncs: the shared tenants keep syncing", async () => {
    const { ctx } = gitops();
    const before = Object.fromEntries(
      dedicatedProcesses(ctx.dir, TREASURY).map((p) => [p.name, usage(p.pid)]),
    );
    await part.stop(ctx);
    const tag2 = "1.1.0-ci.2";
    const ledgerRev = commitImageTag(ledgerUrl, "dev", tag2);
    const trailRev = commitImageTag(trailUrl, "dev", tag2);
    refresh(DED_NS, APP);
    await waitSynced(ARGOCD_NAMESPACE, AUDIT_APP, trailRev);
    assert.match(
      deploymentOf("audit-dev", "trail").spec.template.spec.containers[0]!.image,
      new RegExp(`:${tag2}$`),
    );
    await new Promise((r) => setTimeout(r, 20_000));
    const stuck = appIn(DED_NS, APP);
    assert.ok(
      !(stuck?.status?.sync?.revisions ?? []).includes(ledgerRev),
      `synced without its controller: ${describe_(stuck)}`,
    );
    assert.match(
      deploymentOf("treasury-dev", "ledger").spec.template.spec.containers[0]!.image,
      new RegExp(`:${TAG1}$`),
    );
    // Its controller back: it catches up.
    const t = Date.now();
    await part.start(ctx);
    await part.ready(ctx);
    const start = Object.fromEntries(
      dedicatedProcesses(ctx.dir, TREASURY).map((p) => [p.name, usage(p.pid)]),
    );
    await waitSynced(DED_NS, APP, ledgerRev);
    const secs = (Date.now() - t) / 1000;
    assert.match(
      deploymentOf("treasury-dev", "ledger").spec.template.spec.containers[0]!.image,
      new RegExp(`:${tag2}$`),
    );
    assert.equal(deploymentOf("treasury-dev", "ledger").metadata.uid, uid);
    const after = Object.fromEntries(
      dedicatedProcesses(ctx.dir, TREASURY).map((p) => [p.name, usage(p.pid)]),
    );
    // Idle: one Application, nothing to do, for 30 s.
    await new Promise((r) => setTimeout(r, 30_000));
    const idle = Object.fromEntries(dedicatedProcesses(ctx.dir, TREASURY).map((p) => [p.name, usage(p.pid)]));
    for (const [name, u] of Object.entries(idle)) {
      process.stderr.write(
        `      dedicated ${name} idle: ${(((u.cpu - (after[name]?.cpu ?? 0)) / 30) * 1000).toFixed(0)} mCPU over 30 s, RSS ${(u.rssKiB / 1024).toFixed(0)} MiB\n`,
      );
    }
    for (const [name, u] of Object.entries(after)) {
      process.stderr.write(
        `      dedicated ${name}: RSS ${(u.rssKiB / 1024).toFixed(0)} MiB, CPU ${(u.cpu - (start[name]?.cpu ?? 0)).toFixed(2)} s over ${secs.toFixed(0)} s from start to synced (before the stop: RSS ${((before[name]?.rssKiB ?? 0) / 1024).toFixed(0)} MiB, CPU ${(before[name]?.cpu ?? 0).toFixed(2)} s since its start)\n`,
      );
    }
  });

  it("dedicated → shared: pulumi up moves it back, its control plane goes, the Deployment stays", async () => {
    writeTenants(l, "shared");
    timings.push(`pulumi up (back to shared) ${(await up(l.tenantsDir, l.stackFile)).toFixed(0)} s`);
    assert.throws(() => kubectl(gitops().ctx, ["get", "namespace", DED_NS]), /NotFound/);
    assert.equal(deploymentOf("treasury-dev", "ledger").metadata.uid, uid, "the Deployment was re-created");
    // The dedicated controller removed its finalizer without a destination, so without deleting anything.
    assert.match(
      controllerLog(`argocd-${TREASURY}`),
      new RegExp(
        `"app-namespace":"${DED_NS}".*"application":"${APP}".*"msg":"Resource entries removed from undefined cluster"`,
      ),
    );
    // Adopted by the shared controller: Synced with nothing to apply.
    const a = await waitSynced(ARGOCD_NAMESPACE, APP, head(ledgerUrl, "dev"), false);
    assert.equal(a.spec.destination.server, "https://kubernetes.default.svc");
    assert.equal(deploymentOf("treasury-dev", "ledger").metadata.uid, uid);
    const proj = kubectlJson<any>(["get", "appproject", TREASURY, "-n", ARGOCD_NAMESPACE]);
    assert.deepEqual(proj.spec.destinations, [
      { server: "https://kubernetes.default.svc", namespace: "treasury-dev", name: "in-cluster" },
    ]);
    process.stderr.write(`      ${timings.join("; ")}\n`);
  });
});
