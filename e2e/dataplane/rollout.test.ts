/**
 * Zero downtime, on real pods: a STAND-IN MI service (e2e/images/mi-standin — not MI) of a test tenant is
 * created by the platform program (`pulumi up` of stack `sandbox`) and synced by the real Argo CD from the
 * local Git world onto the sandbox's node. While a bounded client loop calls its Service continuously
 * (from this host, through kube-proxy's ClusterIP rules), CI's next tag is pushed to the environment branch
 * and rolled out; a pod is evicted through the eviction API; the Deployment is scaled past the quota.
 *
 * Asserted: no failed request during the rollout or the eviction, no request answered by a pod that was not
 * ready (every answer carries the stand-in's own readiness; the tenant config makes it slow to become ready),
 * both tags answered and only the new one at the end; a second eviction refused by the PDB; the pod that
 * would exceed the quota refused, with the ReplicaSet's event text; Argo CD's self-heal restoring the replicas.
 *
 * Stand-ins, said plainly: the image is the stand-in; the keystore Secret cert-manager would write
 * (certManager.install is false in the sandbox) is made by this test with openssl and the stand-in's keytool
 * (standin.ts `writeStandinKeystores`); network policies are not enforced here (no netpol part started).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import YAML from "yaml";
import { VALUES_FILE } from "../../components/mi-service/pipeline";
import { applicationName, branchName, namespaceName, repositoryUrl } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { ARGOCD_NAMESPACE } from "../sandbox/parts/argocd";
import { kubectl, sandboxEnv } from "../sandbox/parts/control-plane";
import { git, SANDBOX_STACK, sandboxStackFilePath } from "../sandbox/parts/git-world";
import { allParts, stopParts } from "../sandbox/parts/orchestrator";
import type { Part, PartContext } from "../sandbox/parts/part";
import { FIRST_BUILD_TAG, MI_PORTS, ROLLOUT_TAG, startPartsWithNode, writeStandinKeystores } from "./standin";

const ROOT = join(__dirname, "../..");
const TENANT = "shop";
const SERVICE = "storefront";
const ENV = "dev";
const NS = namespaceName(TENANT, ENV);
const REPLICAS = 2;
/** The stand-in opens its readiness endpoint this long after start (tenant config, an env variable). */
const STARTUP_DELAY = "6s";

/** The test tenant: one service, two replicas, 100m/512Mi each; the quota fits 2 + 1 surge, not 5. */
const TENANT_FILE = `apiVersion: imaas.io/v1alpha1
kind: Tenant
metadata:
  name: ${TENANT}
  displayName: Rollout test shop
spec:
  owners: [rollout-tester]
  environments: [${ENV}]
  quota:
    ${ENV}: { cpu: 500m, memory: 2Gi, pods: 6 }
  services:
    - name: ${SERVICE}
      description: Stand-in MI service rolled out under load by e2e/dataplane/rollout.test.ts
      replicas: { ${ENV}: ${REPLICAS} }
      resources: { cpu: 100m, memory: 512Mi }
      config:
        ${ENV}: { STANDIN_STARTUP_DELAY: ${STARTUP_DELAY} }
`;

const log = (m: string) => process.stderr.write(`      ${new Date().toISOString().slice(11, 19)} ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One call of the client loop. */
interface Call {
  readonly start: number;
  readonly ms: number;
  readonly status?: number;
  readonly error?: string;
  readonly tag?: string;
  readonly pod?: string;
  readonly ready?: boolean;
}

/** GET on a fresh connection (no keep-alive: every call is routed anew by kube-proxy). */
function call(url: string, timeoutMs: number): Promise<Call> {
  const start = Date.now();
  return new Promise((resolve) => {
    const done = (c: Omit<Call, "start" | "ms">) => resolve({ start, ms: Date.now() - start, ...c });
    const req = request(
      url,
      { agent: false, timeout: timeoutMs, headers: { Connection: "close" } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => {
          try {
            const j = JSON.parse(body) as { tag: string; pod: string; ready: boolean };
            done({ status: res.statusCode, tag: j.tag, pod: j.pod, ready: j.ready });
          } catch {
            done({ status: res.statusCode, error: `not the stand-in's JSON: ${body.slice(0, 200)}` });
          }
        });
        res.on("error", (e) => done({ error: e.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (e) => done({ error: `${(e as NodeJS.ErrnoException).code ?? ""} ${e.message}`.trim() }));
    req.end();
  });
}

/**
 * A bounded client loop: `workers` callers, each calling `url` back to back (`pauseMs` apart) until
 * stopped, at most `maxMs` and `maxCalls`.
 */
function clientLoop(
  url: string,
  opts: { workers: number; pauseMs: number; maxMs: number; maxCalls: number },
) {
  const calls: Call[] = [];
  let stopped = false;
  const until = Date.now() + opts.maxMs;
  const worker = async () => {
    while (!stopped && Date.now() < until && calls.length < opts.maxCalls) {
      calls.push(await call(url, 3000));
      await sleep(opts.pauseMs);
    }
  };
  const running = Promise.all(Array.from({ length: opts.workers }, worker));
  return {
    calls,
    async stop(): Promise<Call[]> {
      stopped = true;
      await running;
      return calls;
    },
  };
}

/** What the calls add up to, for the log and the assertions. */
function summary(calls: readonly Call[]) {
  const failed = calls.filter((c) => c.error || c.status !== 200);
  const notReady = calls.filter((c) => c.status === 200 && c.ready !== true);
  const ms = calls.map((c) => c.ms).sort((a, b) => a - b);
  const byTag = new Map<string, number>();
  for (const c of calls) if (c.tag) byTag.set(c.tag, (byTag.get(c.tag) ?? 0) + 1);
  const pods = new Set(calls.map((c) => c.pod).filter(Boolean));
  const seconds = calls.length ? (Math.max(...calls.map((c) => c.start + c.ms)) - calls[0]!.start) / 1000 : 0;
  return {
    calls: calls.length,
    failed,
    notReady,
    byTag,
    pods,
    seconds,
    p50: ms[Math.floor(ms.length / 2)] ?? 0,
    p99: ms[Math.floor(ms.length * 0.99)] ?? 0,
    max: ms[ms.length - 1] ?? 0,
    text: () =>
      `${calls.length} calls in ${seconds.toFixed(1)} s, ${failed.length} failed, ${notReady.length} answered by a not-ready pod; ` +
      `tags ${[...byTag].map(([t, n]) => `${t}×${n}`).join(", ")}; ${pods.size} pods; latency p50 ${ms[Math.floor(ms.length / 2)] ?? 0} ms, p99 ${ms[Math.floor(ms.length * 0.99)] ?? 0} ms, max ${ms[ms.length - 1] ?? 0} ms`,
  };
}

describe("zero-downtime rollout of a stand-in MI service synced by Argo CD", function () {
  this.timeout(10 * 60_000);
  const base = mkdtempSync(join(tmpdir(), "imaas-rollout-"));
  const tenantsDir = join(base, "tenants");
  const work = join(base, "work");
  const ctx: PartContext = {
    repo: ROOT,
    dir: join(base, "sandbox"),
    toolsDir: process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"),
    log,
  };
  let parts: Part[] = [];
  const savedTenantsDir = process.env.IMAAS_TENANTS_DIR;
  const k = (args: readonly string[], input?: string) => kubectl(ctx, args, input);
  const kj = <T = any>(args: readonly string[]): T => JSON.parse(k([...args, "-o", "json"])) as T;
  let serviceUrl = "";

  /** The Deployment's state in one line, and pods with their tags, for timeouts. */
  const describeState = () => {
    const d = kj(["-n", NS, "get", "deployment", SERVICE]);
    const pods = kj<{ items: any[] }>(["-n", NS, "get", "pods"]).items.map(
      (p) =>
        `${p.metadata.name} ${p.spec.containers[0].image.split(":").pop()} ${p.status.phase}${p.metadata.deletionTimestamp ? " terminating" : ""} ready=${p.status.conditions?.find((c: any) => c.type === "Ready")?.status}`,
    );
    return `${JSON.stringify(d.status)}\n${pods.join("\n")}`;
  };

  /** Waits until the Deployment runs exactly REPLICAS ready pods, all of `tag`, nothing terminating. */
  async function settled(tag: string, timeoutMs: number): Promise<number> {
    const t = Date.now();
    for (;;) {
      const d = kj(["-n", NS, "get", "deployment", SERVICE]);
      const pods = kj<{ items: any[] }>(["-n", NS, "get", "pods"]).items;
      const ok =
        d.spec.template.spec.containers[0].image.endsWith(`:${tag}`) &&
        d.status.observedGeneration >= d.metadata.generation &&
        d.status.updatedReplicas === REPLICAS &&
        d.status.availableReplicas === REPLICAS &&
        pods.length === REPLICAS &&
        pods.every(
          (p) =>
            !p.metadata.deletionTimestamp &&
            p.spec.containers[0].image.endsWith(`:${tag}`) &&
            p.status.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"),
        );
      if (ok) return (Date.now() - t) / 1000;
      if (Date.now() - t > timeoutMs) {
        const events = k(["-n", NS, "get", "events", "--sort-by=.lastTimestamp"]);
        throw new Error(
          `${SERVICE} did not settle on ${tag} within ${timeoutMs / 1000} s:\n${describeState()}\n${events}`,
        );
      }
      await sleep(1000);
    }
  }

  before(async function () {
    this.timeout(55 * 60_000); // a cold tool build, and waiting for the node
    mkdirSync(tenantsDir, { recursive: true });
    mkdirSync(work, { recursive: true });
    writeFileSync(join(tenantsDir, `${TENANT}.yaml`), TENANT_FILE);
    execFileSync(
      "bash",
      [
        join(ROOT, "e2e/tools/build.sh"),
        ...["kube", "etcd", "crds", "helm", "pulumi", "kubernetes-provider", "argocd", "redis", "node"],
      ],
      { env: { ...process.env, IMAAS_TOOLS_DIR: ctx.toolsDir }, stdio: ["ignore", "inherit", "inherit"] },
    );
    process.env.IMAAS_TENANTS_DIR = tenantsDir;
    // One node per machine: taken last, waiting (bounded) while another sandbox holds it.
    parts = await startPartsWithNode(
      ctx,
      ["argocd", "node", "registry"],
      allParts({ git: { firstBuildTag: FIRST_BUILD_TAG } }),
    );
    // The platform program, as an admin runs it on the sandbox stack.
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
    await stack.up({ configFile: sandboxStackFilePath(ctx.dir), color: "never" });
    log(`pulumi up: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    // What cert-manager would write from the platform's Certificate: a stand-in keystore Secret under the
    // keystore password of the platform's credentials Secret.
    assert.deepEqual(writeStandinKeystores(ctx), [`${NS}/${SERVICE}-mi-keystore`]);
    log(
      `first sync: ${SERVICE} ready on ${FIRST_BUILD_TAG} after ${(await settled(FIRST_BUILD_TAG, 6 * 60_000)).toFixed(1)} s`,
    );
    const ip = kj(["-n", NS, "get", "service", SERVICE]).spec.clusterIP as string;
    serviceUrl = `http://${ip}:${MI_PORTS.http}/orders`;
    const first = await call(serviceUrl, 3000);
    assert.equal(
      first.status,
      200,
      `the Service answers from this host through kube-proxy: ${JSON.stringify(first)}`,
    );
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

  it("the Application synced the platform's chart: the stand-in runs as MI's user from the platform's image name", () => {
    const app = kj(["-n", ARGOCD_NAMESPACE, "get", "application", applicationName(TENANT, SERVICE, ENV)]);
    assert.equal(app.status?.sync?.status, "Synced", JSON.stringify(app.status?.sync));
    const pods = kj<{ items: any[] }>(["-n", NS, "get", "pods"]).items;
    const cfg = platformConfigOf(readStackConfig(ctx.dir, SANDBOX_STACK));
    for (const p of pods) {
      assert.equal(
        p.spec.containers[0].image,
        `${cfg.registry.host}/${TENANT}/${SERVICE}:${FIRST_BUILD_TAG}`,
      );
      assert.equal(p.spec.containers[0].imagePullPolicy, "Always");
      assert.equal(
        p.spec.initContainers[0].name,
        "mi-home",
        "the chart's init container ran (keytool, cp -a)",
      );
      const uid = k([
        "-n",
        NS,
        "exec",
        p.metadata.name,
        "-c",
        "micro-integrator",
        "--",
        "/bin/id",
        "-u",
      ]).trim();
      assert.equal(uid, "10802");
      // The chart's read-only root filesystem holds: the stand-in writes only to the chart's emptyDirs.
      const write = (path: string) =>
        k(
          ["-n", NS, "exec", p.metadata.name, "-c", "micro-integrator", "--", "/bin/sh", "-c"].concat([
            `touch ${path} 2>&1 && echo written || true`,
          ]),
        ).trim();
      assert.match(write("/usr/local/bin/x"), /Read-only file system/);
      assert.equal(write("/home/wso2carbon/mi-runtime/repository/logs/x"), "written");
      const pid = k(
        ["-n", NS, "exec", p.metadata.name, "-c", "micro-integrator", "--", "/bin/cat"].concat([
          "/home/wso2carbon/mi-runtime/wso2carbon.pid",
        ]),
      ).trim();
      assert.equal(
        pid,
        "1",
        "the stand-in is the container's PID 1 (exec from the entrypoint) and wrote the pid file the preStop reads",
      );
    }
  });

  it("rolls out the next tag pushed to the environment branch with no failed request and none from a not-ready pod", async () => {
    const cfg = platformConfigOf(readStackConfig(ctx.dir, SANDBOX_STACK));
    const url = repositoryUrl(cfg.github.owner, TENANT, SERVICE, cfg.github.urlBase);
    const loop = clientLoop(serviceUrl, { workers: 2, pauseMs: 20, maxMs: 5 * 60_000, maxCalls: 40_000 });
    await sleep(3000);
    // CI records the build on the environment branch (as the service pipeline does), Argo CD picks it up.
    const clone = mkdtempSync(join(work, "clone-"));
    git(work, ["clone", "--quiet", "--branch", branchName(ENV), url, clone], work);
    const file = join(clone, VALUES_FILE);
    const doc = YAML.parseDocument(readFileSync(file, "utf8"));
    doc.setIn(["image", "tag"], ROLLOUT_TAG);
    writeFileSync(file, doc.toString());
    git(clone, ["commit", "--quiet", "--all", "--message", `Deploy ${ROLLOUT_TAG} [skip ci]`], work);
    git(clone, ["push", "--quiet", "origin", branchName(ENV)], work);
    const pushedAt = Date.now();
    k(
      ["-n", ARGOCD_NAMESPACE, "annotate", "application", applicationName(TENANT, SERVICE, ENV)].concat([
        "argocd.argoproj.io/refresh=hard",
        "--overwrite",
      ]),
    );
    const took = await settled(ROLLOUT_TAG, 5 * 60_000);
    await sleep(3000);
    const calls = await loop.stop();
    const s = summary(calls);
    log(
      `rollout ${FIRST_BUILD_TAG} → ${ROLLOUT_TAG} settled ${took.toFixed(1)} s after the push: ${s.text()}`,
    );
    assert.deepEqual(s.failed.slice(0, 5), [], `failed calls (${s.failed.length})`);
    assert.deepEqual(
      s.notReady.slice(0, 5),
      [],
      `answers from a pod that was not ready (${s.notReady.length})`,
    );
    assert.ok((s.byTag.get(FIRST_BUILD_TAG) ?? 0) > 0 && (s.byTag.get(ROLLOUT_TAG) ?? 0) > 0, s.text());
    assert.ok(s.pods.size >= 2 * REPLICAS, `old and new pods answered: ${[...s.pods].join(", ")}`);
    const afterSettled = calls.filter((c) => c.start > pushedAt + took * 1000 + 500);
    assert.ok(
      afterSettled.length > 0 && afterSettled.every((c) => c.tag === ROLLOUT_TAG),
      "only the new tag after the rollout",
    );
    const lastOld = Math.max(...calls.filter((c) => c.tag === FIRST_BUILD_TAG).map((c) => c.start));
    const firstNew = Math.min(...calls.filter((c) => c.tag === ROLLOUT_TAG).map((c) => c.start));
    log(
      `first answer from ${ROLLOUT_TAG} ${((firstNew - pushedAt) / 1000).toFixed(1)} s after the push, last from ${FIRST_BUILD_TAG} ${((lastOld - pushedAt) / 1000).toFixed(1)} s`,
    );
  });

  it("respects the PDB on eviction: one pod may go, the second eviction is refused, no request fails", async () => {
    const pdb = async () => {
      for (let i = 0; i < 60; i++) {
        const p = kj(["-n", NS, "get", "pdb", SERVICE]);
        if (p.status?.observedGeneration === p.metadata.generation && p.status.currentHealthy === REPLICAS)
          return p;
        await sleep(1000);
      }
      throw new Error(
        `PDB ${SERVICE} never saw ${REPLICAS} healthy pods: ${JSON.stringify(kj(["-n", NS, "get", "pdb", SERVICE]).status)}`,
      );
    };
    assert.equal((await pdb()).status.disruptionsAllowed, 1);
    const [a, b] = kj<{ items: any[] }>(["-n", NS, "get", "pods"]).items.map(
      (p) => p.metadata.name as string,
    );
    const evict = (pod: string) =>
      k(
        ["create", "--raw", `/api/v1/namespaces/${NS}/pods/${pod}/eviction`, "-f", "-"],
        JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: NS } }),
      );
    const loop = clientLoop(serviceUrl, { workers: 2, pauseMs: 20, maxMs: 3 * 60_000, maxCalls: 20_000 });
    await sleep(2000);
    evict(a!);
    let refused = "";
    try {
      evict(b!);
    } catch (err) {
      refused = String((err as { stderr?: string }).stderr ?? err);
    }
    assert.match(
      refused,
      /Cannot evict pod as it would violate the pod's disruption budget/,
      `second eviction: ${refused}`,
    );
    const took = await settled(ROLLOUT_TAG, 3 * 60_000);
    const replacement = kj<{ items: any[] }>(["-n", NS, "get", "pods"])
      .items.map((p) => p.metadata.name as string)
      .find((n) => n !== b);
    await sleep(2000);
    const s = summary(await loop.stop());
    log(
      `eviction of ${a}: replaced in ${took.toFixed(1)} s; second eviction refused: ${refused.trim().split("\n").pop()}; ${s.text()}`,
    );
    assert.deepEqual(s.failed.slice(0, 5), [], `failed calls (${s.failed.length})`);
    assert.deepEqual(
      s.notReady.slice(0, 5),
      [],
      `answers from a pod that was not ready (${s.notReady.length})`,
    );
    assert.ok(
      replacement && replacement !== a && s.pods.has(replacement),
      `the replacement ${replacement} answered: ${[...s.pods].join(", ")}`,
    );
    assert.ok(s.pods.has(b!), `the pod the PDB kept (${b}) served throughout`);
  });

  it("the quota refuses the pod that would exceed it (event text), and Argo CD's self-heal restores the replicas", async () => {
    const quota = kj<{ items: any[] }>(["-n", NS, "get", "resourcequota"]).items;
    assert.equal(quota.length, 1, "the platform's one ResourceQuota");
    const quotaName = quota[0].metadata.name as string;
    // By hand, past what the tenant file declares: 5 × 512Mi exceeds the quota's 2Gi of memory.
    k(["-n", NS, "scale", "deployment", SERVICE, "--replicas", "5"]);
    const pattern = new RegExp(
      `^Error creating: pods "${SERVICE}-[a-z0-9-]+" is forbidden: exceeded quota: ${quotaName}, requested: .*requests\\.memory=512Mi.*, used: .*requests\\.memory=2Gi.*, limited: .*requests\\.memory=2Gi`,
    );
    let message = "";
    for (let i = 0; i < 60 && !message; i++) {
      const events = kj<{ items: any[] }>([
        "-n",
        NS,
        "get",
        "events",
        "--field-selector",
        "reason=FailedCreate",
      ]).items;
      message = events.map((e) => e.message as string).find((m) => pattern.test(m)) ?? "";
      if (!message) await sleep(1000);
    }
    assert.ok(
      message,
      `no FailedCreate event matching ${pattern}; events:\n${k(["-n", NS, "get", "events"])}`,
    );
    log(`quota event: ${message}`);
    const t = Date.now();
    for (;;) {
      const d = kj(["-n", NS, "get", "deployment", SERVICE]);
      if (d.spec.replicas === REPLICAS) break;
      if (Date.now() - t > 120_000)
        throw new Error(
          `Argo CD did not restore ${REPLICAS} replicas within 120 s (spec.replicas ${d.spec.replicas})`,
        );
      await sleep(1000);
    }
    log(`self-heal: replicas back to ${REPLICAS} after ${((Date.now() - t) / 1000).toFixed(1)} s`);
    await settled(ROLLOUT_TAG, 3 * 60_000);
  });
});
