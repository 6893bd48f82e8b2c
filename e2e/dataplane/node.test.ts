/**
 * The sandbox's node part (e2e/sandbox/parts/node.ts): a real containerd + kubelet + kube-proxy node joins
 * the sandbox's control plane, a pod from a locally built image runs and answers, `kubectl exec` and
 * `kubectl logs` reach it through the API server, a ClusterIP Service reaches it from another pod (and
 * keeps the caller's pod address), a NodePort answers on loopback; and stopping the node restores the
 * host: sysctls, iptables chains, the CNI bridge, processes, mounts, cgroups, fixed paths and the lock.
 *
 * Runs as root (containerd, kubelet); one node per machine, so it waits for another sandbox's node to go.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { homedir, networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { kubectl } from "../sandbox/parts/control-plane";
import {
  addedChains,
  allChains,
  BRIDGE,
  containerdSocket,
  FIXED_PATHS,
  mountsUnder,
  NODE_LOCK,
  NODE_LOCK_WAIT_ENV,
  NODE_NAME,
  NODE_SYSCTLS,
  waitForNodeLock,
  nodePart,
  nodePaths,
  nftTables,
  POD_CIDR,
  readSysctl,
} from "../sandbox/parts/node";
import { BUSYBOX_IMAGE, buildAndImport, busyboxImageSpec } from "../sandbox/parts/node-image";
import { startParts, stopParts } from "../sandbox/parts/orchestrator";
import type { Part, PartContext } from "../sandbox/parts/part";
import { isRunning, recordedProcesses } from "../sandbox/parts/process";

const ROOT = join(__dirname, "../..");
const NS = "node-check"; // not a tenant namespace: no platform policies apply
const log = (m: string) => process.stderr.write(`      ${new Date().toISOString().slice(11, 19)} ${m}\n`);

/** 10.244.0.0/24 contains `ip`. */
function inPodCidr(ip: string): boolean {
  const [net, bits] = POD_CIDR.split("/");
  const toInt = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  const mask = 2 ** 32 - 2 ** (32 - Number(bits));
  return (toInt(ip) & mask) >>> 0 === (toInt(net!) & mask) >>> 0;
}

function bridgeExists(): boolean {
  try {
    execFileSync("ip", ["link", "show", BRIDGE], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line names `dir` (containerd, kubelet, kube-proxy, shims). */
function processesNaming(dir: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(dir)) found.push(`${e}: ${cmd.slice(0, 120)}`);
    } catch {
      // exited
    }
  }
  return found;
}

interface PodJson {
  status: { phase: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

describe("node part: a real node in the sandbox", function () {
  this.timeout(60_000);
  // Made in `before`: loading the file (mocha --grep, another suite's run) leaves nothing in /tmp.
  const base = join(tmpdir(), `imaas-node-${process.pid}-${Date.now().toString(36)}`);
  const ctx: PartContext = {
    repo: ROOT,
    dir: join(base, "sb"),
    toolsDir: process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"),
    log,
  };
  const bin = join(ctx.toolsDir, "bin");
  const k = (args: string[], input?: string) => kubectl(ctx, args, input);
  let parts: Part[] = [];
  let sysctlsBefore: Record<string, string | undefined> = {};
  const pathsBefore = new Map<string, boolean>();
  let chainsBefore: Record<string, string[]> = {};
  let tablesBefore: string[] = [];
  const token = `hello-${process.pid}-${Date.now()}`;

  before(async function () {
    this.timeout(20 * 60_000); // a cold tool build included
    mkdirSync(base, { recursive: true, mode: 0o700 });
    execFileSync("bash", [join(ROOT, "e2e/tools/build.sh"), "kube", "etcd", "crds", "node"], {
      env: { ...process.env, IMAAS_TOOLS_DIR: ctx.toolsDir },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const t = Date.now();
    parts = await startParts(ctx, ["control-plane"]);
    // One node per machine: wait (bounded) for another sandbox's node to stop, note the host as it is
    // without a node, then start ours (which waits too, should another sandbox take the lock first).
    await waitForNodeLock(ctx.dir, 15 * 60_000, log);
    const snapshot = () => {
      sysctlsBefore = Object.fromEntries(NODE_SYSCTLS.map((s) => [s, readSysctl(s)]));
      for (const f of FIXED_PATHS) pathsBefore.set(f, existsSync(f));
      chainsBefore = allChains();
      tablesBefore = nftTables();
    };
    snapshot();
    process.env[NODE_LOCK_WAIT_ENV] = "900";
    parts = await startParts(ctx, ["node"]);
    const record = JSON.parse(readFileSync(nodePaths(ctx.dir).hostState, "utf8")) as {
      sysctls: Record<string, string>;
      createdPaths: string[];
      chains: Record<string, string[]>;
      nftTables: string[];
    };
    if (NODE_SYSCTLS.some((k) => record.sysctls[k] !== sysctlsBefore[k])) {
      // Another sandbox's node started between the snapshot and our lock (and has been stopped since):
      // the host to restore is the one the node part recorded when it took the lock.
      log("another sandbox's node ran meanwhile: the host before ours is the node part's record");
      sysctlsBefore = record.sysctls;
      for (const f of FIXED_PATHS) pathsBefore.set(f, !record.createdPaths.includes(f));
      chainsBefore = record.chains;
      tablesBefore = record.nftTables;
    }
    log(`control plane + node up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    buildAndImport(busyboxImageSpec, join(base, "busybox-image"), containerdSocket(ctx.dir), bin);
  });

  const lockWaitBefore = process.env[NODE_LOCK_WAIT_ENV];
  after(async function () {
    this.timeout(120_000);
    if (lockWaitBefore === undefined) delete process.env[NODE_LOCK_WAIT_ENV];
    else process.env[NODE_LOCK_WAIT_ENV] = lockWaitBefore;
    try {
      await stopParts(ctx, parts);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it("registers node 127.0.0.1 Ready, with its kubelet, containerd and loopback address", () => {
    const node = JSON.parse(k(["get", "node", NODE_NAME, "-o", "json"]));
    const ready = node.status.conditions.find((c: { type: string }) => c.type === "Ready");
    assert.equal(ready.status, "True", ready.message);
    assert.equal(node.status.nodeInfo.kubeletVersion, "v1.33.13");
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\/1\.6\./);
    assert.deepEqual(
      node.status.addresses
        .filter((a: { type: string }) => a.type === "InternalIP")
        .map((a: { address: string }) => a.address),
      ["127.0.0.1"],
    );
    assert.equal(node.spec.taints, undefined, "the node carries no taints");
  });

  it("runs a pod from a local image: Running, Ready, its address in the pod CIDR", async function () {
    this.timeout(120_000);
    k(["create", "namespace", NS]);
    const pod = (name: string, labels: Record<string, string>, command: string[], probe?: object) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: NS, labels },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "main",
            image: BUSYBOX_IMAGE,
            imagePullPolicy: "Never",
            command,
            ...(probe ? { readinessProbe: probe } : {}),
          },
        ],
      },
    });
    const manifests = [
      pod(
        "web",
        { app: "web" },
        [
          "/bin/sh",
          "-c",
          `echo ${token} > /www/index.html && echo web-started && exec httpd -f -v -p 8080 -h /www`,
        ],
        { httpGet: { path: "/index.html", port: 8080 }, periodSeconds: 1 },
      ),
      pod("client", { app: "client" }, ["sleep", "3600"]),
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace: NS },
        spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web-nodeport", namespace: NS },
        spec: { type: "NodePort", selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    ];
    k(["apply", "-f", "-"], manifests.map((m) => JSON.stringify(m)).join("\n"));
    k(["wait", "-n", NS, "--for", "condition=Ready", "pod/web", "pod/client", "--timeout", "90s"]);
    for (const name of ["web", "client"]) {
      const p = JSON.parse(k(["get", "pod", "-n", NS, name, "-o", "json"])) as PodJson;
      assert.equal(p.status.phase, "Running");
      assert.ok(p.status.podIP && inPodCidr(p.status.podIP), `${name}: ${p.status.podIP} not in ${POD_CIDR}`);
    }
  });

  it("kubectl logs and kubectl exec reach the pod through the API server and the kubelet", () => {
    assert.match(k(["logs", "-n", NS, "web"]), /^web-started$/m);
    assert.equal(k(["exec", "-n", NS, "web", "--", "cat", "/www/index.html"]).trim(), token);
    assert.equal(k(["exec", "-n", NS, "client", "--", "hostname"]).trim(), "client");
  });

  it("a ClusterIP Service reaches the pod from another pod (kube-proxy), keeping the caller's address", () => {
    const clusterIP = k(["get", "service", "-n", NS, "web", "-o", "jsonpath={.spec.clusterIP}"]);
    const body = k([
      "exec",
      "-n",
      NS,
      "client",
      "--",
      "busybox",
      "timeout",
      "3",
      "wget",
      "-q",
      "-O",
      "-",
      `http://${clusterIP}/index.html`,
    ]);
    assert.equal(body.trim(), token);
    // httpd -v logs each caller: the client's pod address, not a masqueraded one (what network
    // policies match on).
    const clientIP = k(["get", "pod", "-n", NS, "client", "-o", "jsonpath={.status.podIP}"]);
    assert.match(
      k(["logs", "-n", NS, "web"]),
      new RegExp(`\\[(::ffff:)?${clientIP.replaceAll(".", "\\.")}\\]:\\d+: response:200`),
    );
  });

  it("a NodePort answers on 127.0.0.1 only (kube-proxy --nodeport-addresses 127.0.0.1/32)", async () => {
    const port = k(["get", "service", "-n", NS, "web-nodeport", "-o", "jsonpath={.spec.ports[0].nodePort}"]);
    const res = await fetch(`http://127.0.0.1:${port}/index.html`, { signal: AbortSignal.timeout(5000) });
    assert.equal((await res.text()).trim(), token);
    // Not on the machine's other addresses.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === "IPv4" && !a.internal)
      .map((a) => a!.address);
    for (const addr of others) {
      await assert.rejects(
        fetch(`http://${addr}:${port}/index.html`, { signal: AbortSignal.timeout(3000) }),
        `NodePort ${port} must not answer on ${addr}`,
      );
    }
  });

  it("a second sandbox cannot start a node while this one runs, and its stop leaves this node alone", async () => {
    const other: PartContext = { ...ctx, dir: join(base, "other-sandbox") };
    process.env[NODE_LOCK_WAIT_ENV] = "0"; // fail at once, as `npm run sandbox` does
    await assert.rejects(
      nodePart.start(other),
      (err: Error) =>
        err.message.includes(`another sandbox runs this machine's node`) &&
        err.message.includes(`${ctx.dir} holds ${NODE_LOCK}`) &&
        err.message.includes(`IMAAS_SANDBOX_DIR=${ctx.dir} npm run sandbox:down`),
    );
    await nodePart.stop(other); // what the orchestrator does after a failed start
    assert.ok(bridgeExists(), `bridge ${BRIDGE} kept`);
    assert.equal(readFileSync(NODE_LOCK, "utf8").includes(JSON.stringify(ctx.dir)), true, "lock kept");
    k(["wait", "-n", NS, "--for", "condition=Ready", "pod/web", "--timeout", "10s"]);
    assert.equal(k(["exec", "-n", NS, "web", "--", "cat", "/www/index.html"]).trim(), token);
  });

  it("stopping the node restores the host: sysctls, chains, bridge, processes, mounts, cgroups, paths, lock", async function () {
    this.timeout(120_000);
    const p = nodePaths(ctx.dir);
    // While it runs the node has changed the host (else the restore below would prove nothing).
    assert.equal(
      readSysctl("net.ipv4.ip_forward"),
      "1",
      "pods are routed: ip_forward is on while the node runs",
    );
    assert.ok(bridgeExists(), `bridge ${BRIDGE} exists while pods run`);
    assert.ok(Object.keys(addedChains(chainsBefore)).length > 0, "kube-proxy added KUBE- chains");
    assert.ok(existsSync("/sys/fs/cgroup/memory/kubepods"), "the kubelet made the kubepods cgroup");
    assert.ok(mountsUnder(p.base).length > 0, "pods have mounts under the node's folders");
    const recs = recordedProcesses(p.run);
    assert.deepEqual(recs.map((r) => r.name).sort(), ["containerd", "kube-proxy", "kubelet"]);

    await nodePart.stop(ctx);

    for (const [key, value] of Object.entries(sysctlsBefore)) assert.equal(readSysctl(key), value, key);
    assert.deepEqual(addedChains(chainsBefore), {}, "no KUBE-/CNI- iptables chains left");
    assert.deepEqual(nftTables().sort(), [...tablesBefore].sort(), "the nftables tables as before");
    assert.equal(bridgeExists(), false, `bridge ${BRIDGE} deleted`);
    assert.deepEqual(
      recs.filter(isRunning).map((r) => r.name),
      [],
      "node processes stopped",
    );
    assert.deepEqual(processesNaming(p.base), [], "no process (shim, container) names the node's folder");
    assert.deepEqual(mountsUnder(p.base), [], "no mounts left under the node's folder");
    assert.deepEqual(
      readdirSync("/sys/fs/cgroup").filter((h) => existsSync(join("/sys/fs/cgroup", h, "kubepods"))),
      [],
      "kubepods cgroups removed from every hierarchy",
    );
    for (const [f, existed] of pathsBefore) assert.equal(existsSync(f), existed, `${f} as before`);
    assert.equal(existsSync(NODE_LOCK), false, "node lock released");
    assert.equal(existsSync(p.hostState), false, "host record removed once restored");
  });
});
