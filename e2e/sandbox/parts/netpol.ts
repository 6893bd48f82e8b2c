/**
 * NetworkPolicy on real packets: kube-network-policies (sigs.k8s.io/kube-network-policies v0.8.0, built by
 * e2e/tools/build.sh with nfqueue-xt-target.patch) beside the sandbox's node. The first packet of every
 * connection to or from a pod that a NetworkPolicy selects goes through NFQUEUE to the controller, which
 * accepts or drops it by the policies it watches.
 *
 * The controller reads only in-cluster configuration, so it runs in a private mount namespace: a tmpfs on
 * /run there holds /run/secrets/kubernetes.io/serviceaccount (bind-mounted from the part's folder: a
 * TokenRequest token of its own service account, the API server's CA, the namespace), with
 * KUBERNETES_SERVICE_HOST/PORT naming the sandbox's API server — nothing of this is visible on the host.
 * Its nftables table (`inet kube-network-policies`) is the one host change; the controller removes it only
 * on SIGINT (SIGTERM kills it without cleanup, leaving a table that drops the selected pods' traffic), so
 * `stop` sends SIGINT, waits, and deletes a table left behind by a controller that had to be killed.
 * One per machine: the table name and the queue are fixed, like the node's own paths.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { kubectl } from "./control-plane";
import type { Part, PartContext } from "./part";
import {
  allRunning,
  freePort,
  isRunning,
  logTail,
  type ProcessRecord,
  recordedProcesses,
  spawnRecorded,
  waitFor,
} from "./process";

export const NETPOL_NAMESPACE = "kube-network-policies";
const SERVICE_ACCOUNT = "kube-network-policies";
/** The controller's nftables table (its default name) and NFQUEUE number (its default). */
export const NETPOL_TABLE = "kube-network-policies";
export const NETPOL_QUEUE = 100;
const PROCESS = "kube-network-policies";

const partDir = (dir: string) => join(dir, "parts", "netpol");

/** Debian's nft (package nftables): reads the controller's table for `ready`, deletes a leftover on `stop`. */
const NFT = "/usr/sbin/nft";

function nft(args: readonly string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(NFT, args as string[], { encoding: "utf8", stdio: "pipe" }) };
  } catch (err) {
    const e = err as { status?: number; stderr?: string; message: string };
    return { code: e.status ?? 1, out: (e.stderr || e.message).trim() };
  }
}

/** The controller's table as `nft list table` prints it, or undefined when there is none. */
export function netpolTable(): string | undefined {
  const r = nft(["list", "table", "inet", NETPOL_TABLE]);
  return r.code === 0 ? r.out : undefined;
}

/**
 * The pod addresses the controller queues now (its set podips-v4: the node's pods that a NetworkPolicy
 * selects). A pod outside it is not judged at all, so tests wait for theirs to be in it.
 */
export function netpolQueuedIPs(): Set<string> {
  const r = nft(["list", "set", "inet", NETPOL_TABLE, "podips-v4"]);
  if (r.code !== 0) throw new Error(`nft list set inet ${NETPOL_TABLE} podips-v4: ${r.out}`);
  const elements = /elements = \{([^}]*)\}/.exec(r.out)?.[1] ?? "";
  return new Set(
    elements
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean),
  );
}

/** `127.0.0.1:<port>` of the controller's Prometheus metrics. */
export function netpolMetricsAddress(dir: string): string {
  const file = join(partDir(dir), "metrics-port");
  if (!existsSync(file)) throw new Error(`the netpol part is not running in ${dir} (no ${file})`);
  return `127.0.0.1:${readFileSync(file, "utf8").trim()}`;
}

/** The controller's verdict counters (kube_network_policies_packet_count), summed per verdict. */
export async function netpolVerdicts(dir: string): Promise<{ accept: number; drop: number }> {
  const res = await fetch(`http://${netpolMetricsAddress(dir)}/metrics`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`kube-network-policies /metrics answered ${res.status}`);
  const out = { accept: 0, drop: 0 };
  for (const line of (await res.text()).split("\n")) {
    const m = /^kube_network_policies_packet_count\{[^}]*verdict="(\w+)"[^}]*\} (\S+)$/.exec(line);
    if (m && (m[1] === "accept" || m[1] === "drop")) out[m[1]] += Number(m[2]);
  }
  return out;
}

/** The controller's RBAC: what its informers list and watch, and its event recorder. */
function manifests(): object[] {
  const labels = {
    "app.kubernetes.io/part-of": "imaas-sandbox",
    "app.kubernetes.io/name": "kube-network-policies",
  };
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NETPOL_NAMESPACE, labels } },
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: SERVICE_ACCOUNT, namespace: NETPOL_NAMESPACE, labels },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "imaas-sandbox-kube-network-policies", labels },
      rules: [
        { apiGroups: [""], resources: ["pods", "namespaces"], verbs: ["list", "watch"] },
        { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list", "watch"] },
        { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "imaas-sandbox-kube-network-policies", labels },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "imaas-sandbox-kube-network-policies",
      },
      subjects: [{ kind: "ServiceAccount", name: SERVICE_ACCOUNT, namespace: NETPOL_NAMESPACE }],
    },
  ];
}

/** The one Node of the sandbox (the node part registers it): the controller only handles its pods. */
function nodeName(ctx: PartContext): string {
  const names = kubectl(ctx, ["get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"])
    .trim()
    .split(/\s+/);
  const real = names.filter(Boolean);
  if (real.length === 1) return real[0]!;
  if (real.length === 0) return hostname();
  throw new Error(`netpol: the sandbox has ${real.length} nodes (${real.join(", ")}); the part serves one`);
}

/** The API server's port, from the control plane's ports.env. */
function apiPort(dir: string): string {
  const m = /^API_PORT=(\d+)$/m.exec(readFileSync(join(dir, "ports.env"), "utf8"));
  if (!m) throw new Error(`netpol: no API_PORT in ${join(dir, "ports.env")}`);
  return m[1]!;
}

/** SIGINT (the controller's only cleanup signal), then SIGKILL after `graceMs`; removes the record. */
async function interrupt(
  dir: string,
  rec: ProcessRecord,
  graceMs: number,
): Promise<"clean" | "killed" | "gone"> {
  if (!isRunning(rec)) {
    rmSync(join(dir, `${rec.name}.json`), { force: true });
    return "gone";
  }
  process.kill(rec.pid, "SIGINT");
  const deadline = Date.now() + graceMs;
  while (isRunning(rec) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  let how: "clean" | "killed" = "clean";
  if (isRunning(rec)) {
    process.kill(rec.pid, "SIGKILL");
    how = "killed";
    while (isRunning(rec)) await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(join(dir, `${rec.name}.json`), { force: true });
  return how;
}

export interface NetpolOptions {
  /** Extra controller flags, e.g. `--v=2` to log every verdict. @default `$IMAAS_NETPOL_FLAGS` split on spaces */
  readonly flags?: readonly string[];
}

export function netpolPart(opts: NetpolOptions = {}): Part {
  return {
    name: "netpol",
    needs: ["node"],
    tools: ["kube-network-policies"],
    async start(ctx) {
      const dir = partDir(ctx.dir);
      if (allRunning(dir)) {
        ctx.log(`${this.name}: already running`);
        return;
      }
      await this.stop(ctx); // leftovers of a part that died
      const bin = join(ctx.toolsDir, "bin/kube-network-policies");
      if (!existsSync(bin))
        throw new Error(`netpol: ${bin} is missing (e2e/tools/build.sh kube-network-policies builds it)`);
      if (!existsSync(NFT))
        throw new Error(
          `netpol: ${NFT} is missing (e2e/tools/build.sh kube-network-policies installs nftables)`,
        );
      const table = netpolTable();
      if (table !== undefined)
        throw new Error(
          `netpol: nftables table inet ${NETPOL_TABLE} exists already: another sandbox's controller runs on this machine (one per machine)`,
        );
      kubectl(
        ctx,
        ["apply", "--server-side", "-f", "-"],
        manifests()
          .map((m) => JSON.stringify(m))
          .join("\n"),
      );
      const sa = join(dir, "serviceaccount");
      mkdirSync(sa, { recursive: true });
      const token = kubectl(ctx, [
        "create",
        "token",
        SERVICE_ACCOUNT,
        "-n",
        NETPOL_NAMESPACE,
        "--duration",
        "720h",
      ]);
      writeFileSync(join(sa, "token"), token.trim(), { mode: 0o600 });
      writeFileSync(join(sa, "ca.crt"), readFileSync(join(ctx.dir, "pki/apiserver.crt")));
      writeFileSync(join(sa, "namespace"), NETPOL_NAMESPACE);
      const metricsPort = await freePort();
      writeFileSync(join(dir, "metrics-port"), `${metricsPort}\n`);
      const node = nodeName(ctx);
      const flags = opts.flags ?? (process.env.IMAAS_NETPOL_FLAGS ?? "").split(" ").filter(Boolean);
      // In the private mount namespace: a tmpfs over /run (= /var/run) with the service account mounted
      // where client-go's in-cluster config reads it; then the controller itself (exec: the recorded pid
      // is the controller's, and SIGINT reaches it).
      const script = [
        "set -e",
        "mount -t tmpfs -o mode=0755,size=1m imaas-netpol /run",
        "mkdir -p /run/secrets/kubernetes.io/serviceaccount",
        'mount --bind "$1" /run/secrets/kubernetes.io/serviceaccount',
        'shift; exec "$@"',
      ].join("\n");
      // From here on a table inet kube-network-policies is this part's (stop deletes one left behind).
      writeFileSync(join(dir, "owns-table"), "");
      spawnRecorded(
        PROCESS,
        [
          "/usr/bin/unshare",
          "--mount",
          "--propagation",
          "private",
          "--",
          "/bin/sh",
          "-c",
          script,
          "netpol",
          sa,
          bin,
          `--hostname-override=${node}`,
          `--metrics-bind-address=127.0.0.1:${metricsPort}`,
          `--nfqueue-id=${NETPOL_QUEUE}`,
          // Pod IPs come from the API server: v0.8.0 does not pass this flag on, but NRI's socket is not
          // in the private /run either, so the controller logs that and goes on without it.
          "--disable-nri",
          ...flags,
        ],
        {
          env: {
            PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
            KUBERNETES_SERVICE_HOST: "127.0.0.1",
            KUBERNETES_SERVICE_PORT: apiPort(ctx.dir),
          },
          cwd: dir,
          dir,
        },
      );
      ctx.log(
        `netpol: kube-network-policies for node ${node}, queue ${NETPOL_QUEUE}, metrics 127.0.0.1:${metricsPort}`,
      );
    },
    async ready(ctx) {
      const dir = partDir(ctx.dir);
      const [rec] = recordedProcesses(dir);
      const alive = () =>
        rec && isRunning(rec)
          ? undefined
          : `kube-network-policies exited:\n${logTail(join(dir, `${PROCESS}.log`))}`;
      await waitFor(
        "kube-network-policies /metrics",
        async () => (await fetch(`http://${netpolMetricsAddress(ctx.dir)}/metrics`)).ok,
        {
          timeoutMs: 60_000,
          alive,
        },
      );
      // Its rules reached the kernel: the table exists and queues to the controller (nft prints the patch's
      // xtables NFQUEUE target as `queue num N`). As published, v0.8.0's native `queue` expression is refused
      // here with the whole table (`"syncing nftables rules" error=… netlink receive: no such file or
      // directory`) and the controller enforces nothing: fail open. Said at once, not after the timeout.
      const logFile = join(dir, `${PROCESS}.log`);
      const refused = () => {
        const m = /"syncing nftables rules" error|could not open nfqueue socket/.exec(logTail(logFile, 400));
        return m
          ? `kube-network-policies' rules did not reach the kernel (${m[0]}): it would enforce nothing (fail open):\n${logTail(logFile)}`
          : undefined;
      };
      const queued = new RegExp(`queue num ${NETPOL_QUEUE}\\b`);
      await waitFor(
        `nftables table inet ${NETPOL_TABLE} queueing to ${NETPOL_QUEUE}`,
        async () => queued.test(netpolTable() ?? ""),
        { timeoutMs: 60_000, alive: () => alive() ?? refused() },
      );
    },
    async stop(ctx) {
      const dir = partDir(ctx.dir);
      let killed = false;
      for (const rec of recordedProcesses(dir)) {
        // The controller waits 5 s after SIGINT before it exits (its own grace period).
        const how = await interrupt(dir, rec, 20_000);
        if (how === "killed") {
          killed = true;
          ctx.log(`netpol: kube-network-policies did not exit on SIGINT within 20 s: killed`);
        }
      }
      // A table left by this part's controller that died or was killed would keep queueing to nobody
      // (dropping the selected pods' packets). Never one of another sandbox's controller.
      const owns = existsSync(join(dir, "owns-table"));
      if (owns && netpolTable() !== undefined) {
        const r = nft(["delete", "table", "inet", NETPOL_TABLE]);
        if (r.code !== 0)
          throw new Error(`netpol: cannot delete nftables table inet ${NETPOL_TABLE}: ${r.out}`);
        ctx.log(
          `netpol: deleted the nftables table inet ${NETPOL_TABLE} its controller left (${killed ? "killed" : "it had died"})`,
        );
      }
      rmSync(join(dir, "owns-table"), { force: true });
      if (existsSync(dir)) rmSync(join(dir, "serviceaccount"), { recursive: true, force: true });
    },
  };
}
