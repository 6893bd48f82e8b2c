/**
 * One real node for the sandbox: Debian's containerd (CRI) with runc and the bridge + host-local CNI
 * plugins, and kubelet + kube-proxy v1.33.13 (e2e/tools/build.sh `node`), all on loopback and in private
 * folders under `<sandbox>/parts/node`, registered with the sandbox's API server as node `127.0.0.1`.
 *
 * Some host state is not private, and `stop` restores it from what `start` recorded (host-state.json):
 * sysctls the kubelet, kube-proxy and the bridge plugin write, the iptables chains kube-proxy and the
 * kubelet add, the CNI bridge, the kubepods cgroups, fixed paths (/var/lib/kubelet, /var/lib/cni,
 * /run/containerd, /var/log/containers, /var/log/pods) and mounts under the private folders. Because of
 * those fixed paths and the one bridge, only one sandbox per machine runs a node: a lock file names it.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { kubeconfigWithToken } from "./argocd";
import { kubeconfigPath, kubectl } from "./control-plane";
import { PAUSE_IMAGE, buildAndImport, pauseImageSpec } from "./node-image";
import type { Part, PartContext } from "./part";
import {
  freePort,
  isRunning,
  logTail,
  processStartTime,
  recordedProcesses,
  spawnRecorded,
  stopRecorded,
  waitFor,
} from "./process";

/**
 * The node's name: the kubelet takes an IP given as its hostname as the node's InternalIP (a loopback
 * --node-ip is refused), and the API server reaches the kubelet there for exec and logs.
 */
export const NODE_NAME = "127.0.0.1";
/** Pod addresses: inside the machine, apart from the API server's service range 10.0.0.0/24. */
export const POD_CIDR = "10.244.0.0/24";
export const POD_GATEWAY = "10.244.0.1";
/** The CNI bridge (one per machine, like the lock). */
export const BRIDGE = "imaas-cni0";
/** Names the sandbox whose node runs on this machine. */
export const NODE_LOCK = "/run/imaas-sandbox-node.lock";

/** Sysctls the kubelet (vm.*, kernel.*), kube-proxy (route_localnet) and the bridge plugin (ip_forward) write. */
export const NODE_SYSCTLS = [
  "vm.overcommit_memory",
  "vm.panic_on_oom",
  "kernel.panic",
  "kernel.panic_on_oops",
  "kernel.keys.root_maxkeys",
  "kernel.keys.root_maxbytes",
  "net.ipv4.ip_forward",
  "net.ipv4.conf.all.route_localnet",
  "net.bridge.bridge-nf-call-iptables",
  "net.bridge.bridge-nf-call-ip6tables",
] as const;

/** Host paths the kubelet, containerd and the CNI library use whatever their private folders are. */
export const FIXED_PATHS = [
  "/var/lib/kubelet",
  "/var/lib/cni",
  "/run/containerd",
  "/var/log/containers",
  "/var/log/pods",
  // libmount's folder (utab), made by the first mount/umount without -n (the kubelet's volume mounts)
  "/run/mount",
] as const;

const IPTABLES_TABLES = ["filter", "nat", "mangle", "raw"] as const;
const IPTABLES_FAMILIES = ["iptables", "ip6tables"] as const;
/** Chains kube-proxy, the kubelet and CNI plugins create. */
const OUR_CHAIN = /^(KUBE|CNI)-/;

/** What `start` found before changing the host; `stop` restores it. */
interface HostState {
  readonly sysctls: Record<string, string>;
  /** FIXED_PATHS absent at start (removed at stop). */
  readonly createdPaths: string[];
  /** Cgroup hierarchies (/sys/fs/cgroup/<name>) without a kubepods cgroup at start. */
  readonly cgroupHierarchies: string[];
  /** Chains per `<family> <table>` at start. */
  readonly chains: Record<string, string[]>;
  /** nftables tables (`ip filter`, …) at start: iptables-nft creates the legacy-named ones on first use. */
  readonly nftTables?: string[];
}

/** The part's folders. */
export function nodePaths(sandboxDir: string) {
  const base = join(sandboxDir, "parts", "node");
  return {
    base,
    run: join(base, "run"),
    hostState: join(base, "host-state.json"),
    containerd: join(base, "containerd"),
    socket: join(base, "containerd", "containerd.sock"),
    cniConf: join(base, "cni", "net.d"),
    cniIpam: join(base, "cni", "ipam"),
    kubelet: join(base, "kubelet"),
    kubeProxy: join(base, "kube-proxy"),
    images: join(base, "images"),
    ports: join(base, "ports.json"),
    /** The registry part writes `<host>/hosts.toml` here (containerd's registry config_path). */
    registryHosts: join(sandboxDir, "parts", "registry", "certs.d"),
  };
}

/** The containerd socket of the sandbox's node (for `ctr --address`). */
export const containerdSocket = (sandboxDir: string): string => nodePaths(sandboxDir).socket;

interface NodePorts {
  readonly kubelet: number;
  readonly kubeletHealthz: number;
  readonly proxyHealthz: number;
  readonly proxyMetrics: number;
}

function sh(bin: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(bin, args, {
      encoding: "utf8",
      input,
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(" ")}: ${(e.stderr || e.message).trim()}`);
  }
}

const sysctlFile = (key: string) => `/proc/sys/${key.replaceAll(".", "/")}`;

export function readSysctl(key: string): string | undefined {
  try {
    return readFileSync(sysctlFile(key), "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Chain names of one table (none when the table does not exist). */
function chainsOf(family: string, table: string): string[] {
  let out: string;
  try {
    out = sh(`${family}-save`, ["-t", table]);
  } catch {
    return [];
  }
  return out
    .split("\n")
    .filter((l) => l.startsWith(":"))
    .map((l) => l.slice(1).split(" ")[0]!);
}

/** Chain names per `<family> <table>`. */
export function allChains(): Record<string, string[]> {
  const chains: Record<string, string[]> = {};
  for (const f of IPTABLES_FAMILIES) for (const t of IPTABLES_TABLES) chains[`${f} ${t}`] = chainsOf(f, t);
  return chains;
}

/** KUBE-/CNI- chains that exist now but did not at start (all of them without a record). */
export function addedChains(before?: Record<string, string[]>): Record<string, string[]> {
  const now = allChains();
  const added: Record<string, string[]> = {};
  for (const [key, chains] of Object.entries(now)) {
    const old = new Set(before?.[key] ?? []);
    const extra = chains.filter((c) => OUR_CHAIN.test(c) && !old.has(c));
    if (extra.length > 0) added[key] = extra;
  }
  return added;
}

/** Deletes `chains` of one table, with every rule elsewhere that jumps to them, in one iptables-restore. */
function deleteChains(family: string, table: string, chains: readonly string[]): void {
  const doomed = new Set(chains);
  const lines = [`*${table}`];
  for (const rule of sh(`${family}-save`, ["-t", table]).split("\n")) {
    if (!rule.startsWith("-A ")) continue;
    const chain = rule.split(" ")[1]!;
    const target = / -[jg] (\S+)/.exec(rule)?.[1];
    if (!doomed.has(chain) && target && doomed.has(target)) lines.push(`-D ${rule.slice(3)}`);
  }
  for (const c of chains) lines.push(`-F ${c}`);
  for (const c of chains) lines.push(`-X ${c}`);
  lines.push("COMMIT", "");
  sh(`${family}-restore`, ["--noflush"], lines.join("\n"));
}

/** nftables tables as `<family> <name>`. */
export function nftTables(): string[] {
  try {
    return sh("nft", ["list", "tables"])
      .split("\n")
      .filter((l) => l.startsWith("table "))
      .map((l) => l.slice("table ".length).trim());
  } catch {
    return [];
  }
}

/**
 * Deletes the iptables-nft tables (`ip filter`, `ip6 nat`, …) that did not exist at start and now hold no
 * rule and no chain but the built-in ones — what kube-proxy and the kubelet leave once their chains are gone.
 */
function deleteEmptyIptablesTables(before: readonly string[]): void {
  const old = new Set(before);
  for (const t of nftTables()) {
    const [family, name] = t.split(" ");
    if (old.has(t) || (family !== "ip" && family !== "ip6") || !IPTABLES_TABLES.some((x) => x === name))
      continue;
    const save = sh(family === "ip" ? "iptables-save" : "ip6tables-save", ["-t", name!]);
    const builtIn = new Set(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]);
    const chains = save
      .split("\n")
      .filter((l) => l.startsWith(":"))
      .map((l) => l.slice(1).split(" ")[0]!);
    if (save.split("\n").some((l) => l.startsWith("-A ")) || chains.some((c) => !builtIn.has(c))) continue;
    sh("nft", ["delete", "table", family, name!]);
  }
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const octal = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => octal(l.split(" ")[4]!))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

const cgroupRoot = "/sys/fs/cgroup";
function cgroupHierarchies(): string[] {
  try {
    return readdirSync(cgroupRoot).filter((h) => statSync(join(cgroupRoot, h)).isDirectory());
  } catch {
    return [];
  }
}

/** Directories of a cgroup tree, deepest first. */
function cgroupTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...cgroupTree(join(dir, e.name)));
  }
  out.push(dir);
  return out;
}

function pidsIn(dirs: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    try {
      for (const p of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n")) if (p) pids.add(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return [...pids];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills every process in a kubepods cgroup (containers whose shim or runtime is gone). */
async function killKubepods(): Promise<number> {
  const dirs = cgroupHierarchies().flatMap((h) => cgroupTree(join(cgroupRoot, h, "kubepods")));
  let killed = 0;
  for (let round = 0; round < 50; round++) {
    const pids = pidsIn(dirs);
    if (pids.length === 0) return killed;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        killed++;
      } catch {
        // exited
      }
    }
    await sleep(100);
  }
  throw new Error(`processes still in the kubepods cgroups after SIGKILL: ${pidsIn(dirs).join(", ")}`);
}

/** containerd shims serving this sandbox's containerd (their command line names its socket). */
function shimPids(socket: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      if (cmd[0]?.endsWith("containerd-shim-runc-v2") && cmd.includes(socket)) pids.push(Number(e));
    } catch {
      // exited
    }
  }
  return pids;
}

// --- the lock ---------------------------------------------------------------------------------------

interface LockInfo {
  readonly dir: string;
  /** The process that took the lock, and its start time (a recycled pid is not it). */
  readonly pid?: number;
  readonly startTime?: string;
  readonly nonce?: string;
}

function lockInfo(): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(NODE_LOCK, "utf8")) as LockInfo;
  } catch {
    return undefined;
  }
}

const lockHolder = (): string | undefined => lockInfo()?.dir;

/**
 * Whether the lock's holder may still run a node: the process that took it is alive (a start in progress,
 * before anything is recorded), or its sandbox has a host record or running node processes.
 */
function holderLive(info: LockInfo): boolean {
  if (info.pid !== undefined) {
    const started = processStartTime(info.pid);
    // A lock without a start time (written by an older version) counts as live while its pid runs.
    if (started !== undefined && (info.startTime === undefined || started === info.startTime)) return true;
  }
  const paths = nodePaths(info.dir);
  return existsSync(paths.hostState) || recordedProcesses(paths.run).some(isRunning);
}

/**
 * Takes the machine's node lock for `dir` (returns its nonce), or explains which sandbox holds it. A lock
 * whose holder is gone and left nothing to restore is stale and replaced.
 */
export function acquireNodeLock(dir: string): string {
  for (let attempt = 0; attempt < 2; attempt++) {
    const nonce = randomBytes(8).toString("hex");
    const info: LockInfo = { dir, pid: process.pid, startTime: processStartTime(process.pid), nonce };
    try {
      writeFileSync(NODE_LOCK, `${JSON.stringify(info)}\n`, { flag: "wx" });
      return nonce;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const other = lockInfo();
    if (other?.dir === dir) return other.nonce ?? "";
    if (other && holderLive(other)) {
      throw new Error(
        `another sandbox runs this machine's node (fixed host paths, one CNI bridge): ${other.dir} holds ${NODE_LOCK}; ` +
          `stop it first (IMAAS_SANDBOX_DIR=${other.dir} npm run sandbox:down) or use that sandbox`,
      );
    }
    rmSync(NODE_LOCK, { force: true });
  }
  throw new Error(`could not take ${NODE_LOCK}`);
}

/** Seconds `start` waits for another sandbox's node to stop before it fails (default 0: fail at once). */
export const NODE_LOCK_WAIT_ENV = "IMAAS_NODE_LOCK_WAIT_SECONDS";

/**
 * Takes the node lock, retrying for up to `waitMs` while another live sandbox holds it (taken in the same
 * step that finds it free, so two waiting suites cannot both start a node).
 */
export async function takeNodeLock(dir: string, waitMs: number, log: (m: string) => void): Promise<void> {
  const deadline = Date.now() + waitMs;
  let said = 0;
  for (;;) {
    try {
      const nonce = acquireNodeLock(dir);
      // Two starters may have found one stale lock at once and the second removed the first's new
      // lock: only the one whose lock is still there after a moment holds it.
      await sleep(300);
      const now = lockInfo();
      if (now?.dir === dir && (now.nonce ?? "") === nonce) return;
      throw new Error(`another sandbox took ${NODE_LOCK} at the same moment`);
    } catch (err) {
      if (Date.now() >= deadline || !(err as Error).message.startsWith("another sandbox")) throw err;
      if (Date.now() - said > 30_000) {
        log(`node: waiting for the node of sandbox ${lockHolder()} to stop (${NODE_LOCK})`);
        said = Date.now();
      }
      await sleep(1000);
    }
  }
}

/**
 * Waits (at most `timeoutMs`) until no other sandbox holds the node lock — for suites that may run beside
 * another one on a shared machine. Resolves at once when the lock is free or `dir`'s own.
 */
export async function waitForNodeLock(
  dir: string,
  timeoutMs: number,
  log: (m: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = 0;
  for (;;) {
    const holder = lockHolder();
    if (holder === undefined || holder === dir) return;
    if (Date.now() > deadline) return; // start() then names the holder
    if (Date.now() - said > 30_000) {
      log(`waiting for the node of sandbox ${holder} to stop (${NODE_LOCK})`);
      said = Date.now();
    }
    await sleep(1000);
  }
}

function releaseNodeLock(dir: string): void {
  if (lockHolder() === dir) rmSync(NODE_LOCK, { force: true });
}

// --- configuration files ------------------------------------------------------------------------------

export function containerdConfig(p: ReturnType<typeof nodePaths>, binDir: string): string {
  return `# Written by e2e/sandbox/parts/node.ts: containerd for the sandbox's node, everything private.
version = 2
root = "${p.containerd}/root"
state = "${p.containerd}/state"
oom_score = 0

[grpc]
  address = "${p.socket}"

[ttrpc]
  address = "${p.socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # root here lacks CAP_SYS_RESOURCE: runc fails writing a lower oom_score_adj than its own.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "${join(binDir, "runc")}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${p.cniConf}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    # The registry part (registry.ts) writes <host>/hosts.toml here; the folder may not exist.
    config_path = "${p.registryHosts}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${p.containerd}/opt"
`;
}

export function cniConfig(p: ReturnType<typeof nodePaths>): object {
  return {
    cniVersion: "1.0.0",
    name: "imaas-sandbox",
    plugins: [
      {
        type: "bridge",
        bridge: BRIDGE,
        isGateway: true,
        // No masquerading: pod addresses never leave the machine, and no per-pod NAT chains to clean.
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: POD_CIDR, gateway: POD_GATEWAY }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: p.cniIpam,
        },
      },
    ],
  };
}

export function kubeletConfig(p: ReturnType<typeof nodePaths>, ports: NodePorts): object {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: "127.0.0.1",
    port: ports.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: ports.kubeletHealthz,
    containerRuntimeEndpoint: `unix://${p.socket}`,
    cgroupDriver: "cgroupfs",
    failSwapOn: false,
    oomScoreAdj: 0,
    // The API server (no kubelet client certificate here) reaches exec/logs/port-forward anonymously;
    // the kubelet listens on loopback only, out of the pods' reach.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: "AlwaysAllow" },
    podLogsDir: join(p.kubelet, "pod-logs"),
    volumePluginDir: join(p.kubelet, "volume-plugins"),
    clusterDomain: "cluster.local",
    // A shared machine: do not evict or collect images because of what others use on its disk.
    evictionHard: { "memory.available": "50Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    registerNode: true,
  };
}

export function kubeProxyConfig(p: ReturnType<typeof nodePaths>, ports: NodePorts): object {
  return {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: "iptables",
    hostnameOverride: NODE_NAME,
    bindAddress: "127.0.0.1",
    healthzBindAddress: `127.0.0.1:${ports.proxyHealthz}`,
    metricsBindAddress: `127.0.0.1:${ports.proxyMetrics}`,
    clusterCIDR: POD_CIDR,
    nodePortAddresses: ["127.0.0.1/32"],
    oomScoreAdj: 0,
    clientConnection: { kubeconfig: join(p.kubeProxy, "kubeconfig") },
    // Zeros: kube-proxy leaves the conntrack sysctls as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    iptables: { syncPeriod: "30s", minSyncPeriod: "1s" },
  };
}

/** The identities of the kubelet and kube-proxy: service accounts bound to the built-in node roles. */
export function nodeIdentityManifests(): object[] {
  const ns = "kube-system";
  const identities = [
    { sa: "imaas-sandbox-kubelet", role: "system:node" },
    { sa: "imaas-sandbox-kube-proxy", role: "system:node-proxier" },
  ];
  return identities.flatMap(({ sa, role }) => [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa, namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: sa },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
      subjects: [{ kind: "ServiceAccount", name: sa, namespace: ns }],
    },
  ]);
}

function writeKubeconfig(ctx: PartContext, sa: string, file: string): void {
  const token = kubectl(ctx, ["create", "token", sa, "-n", "kube-system", "--duration", "720h"]).trim();
  writeFileSync(file, kubeconfigWithToken(readFileSync(kubeconfigPath(ctx.dir), "utf8"), sa, token), {
    mode: 0o600,
  });
}

// --- the part ---------------------------------------------------------------------------------------------

interface NodeJson {
  readonly status?: { readonly conditions?: readonly { type: string; status: string; message?: string }[] };
}

function nodeReady(ctx: PartContext): { ready: boolean; message: string } {
  let node: NodeJson;
  try {
    node = JSON.parse(kubectl(ctx, ["get", "node", NODE_NAME, "-o", "json"])) as NodeJson;
  } catch {
    return { ready: false, message: `node ${NODE_NAME} not registered` };
  }
  const c = node.status?.conditions?.find((x) => x.type === "Ready");
  return { ready: c?.status === "True", message: c?.message ?? "no Ready condition" };
}

function processEnv(p: ReturnType<typeof nodePaths>, binDir: string): Record<string, string> {
  return { PATH: `${binDir}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: p.base, TMPDIR: join(p.base, "tmp") };
}

/**
 * Stops what the node part started and restores the host from its record; `keepLock` when `start` cleans
 * up before starting again (so no other sandbox takes the lock in between).
 */
async function stopNode(ctx: PartContext, opts: { keepLock: boolean }): Promise<void> {
  const p = nodePaths(ctx.dir);
  if (!existsSync(p.base)) return;
  const bin = join(ctx.toolsDir, "bin");
  const errors: string[] = [];
  const attempt = async (what: string, fn: () => unknown) => {
    try {
      await fn();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  // Host state is shared: touch it only when this sandbox recorded it (its node started) and holds the
  // node lock (or nobody does). A start that failed before recording changed nothing on the host.
  const holder = lockHolder();
  const ownsHost = existsSync(p.hostState) && (holder === ctx.dir || holder === undefined);
  const recs = recordedProcesses(p.run);
  const byName = (n: string) => recs.find((r) => r.name === n);
  // The kubelet first (it would restart containers), kube-proxy, then the containers and containerd.
  for (const n of ["kubelet", "kube-proxy"]) {
    const rec = byName(n);
    if (rec) await attempt(`stopping ${n}`, () => stopRecorded(p.run, rec));
  }
  const containerd = byName("containerd");
  if (containerd && isRunning(containerd)) {
    await attempt("deleting the containers", async () => {
      const ctr = (args: string[]) => sh(join(bin, "ctr"), ["--address", p.socket, "-n", "k8s.io", ...args]);
      const tasks = () => ctr(["tasks", "ls", "-q"]).split("\n").filter(Boolean);
      // A task may exit or be deleted by its shim meanwhile: errors on single tasks are expected; what
      // counts is that none is left.
      for (let round = 0; round < 5 && tasks().length > 0; round++) {
        for (const id of tasks()) {
          try {
            ctr(["tasks", "kill", "--signal", "SIGKILL", "--all", id]);
          } catch {}
        }
        await sleep(300);
        for (const id of tasks()) {
          try {
            ctr(["tasks", "delete", "--force", id]);
          } catch {}
        }
      }
      const left = tasks();
      if (left.length > 0) throw new Error(`containerd still runs tasks ${left.join(", ")}`);
    });
  }
  if (ownsHost) await attempt("killing container processes", killKubepods);
  if (containerd) await attempt("stopping containerd", () => stopRecorded(p.run, containerd));
  await attempt("stopping leftover shims", async () => {
    for (const pid of shimPids(p.socket)) {
      try {
        if (processStartTime(pid)) process.kill(pid, "SIGKILL");
      } catch {
        // exited
      }
    }
    if (ownsHost) await killKubepods();
  });
  await attempt("unmounting", () => {
    for (const m of mountsUnder(p.base)) {
      try {
        sh("umount", ["-n", m]);
      } catch {
        sh("umount", ["-n", "-l", m]);
      }
    }
  });
  await attempt(`deleting bridge ${BRIDGE}`, () => {
    if (!ownsHost) return;
    let exists = true;
    try {
      sh("ip", ["link", "show", BRIDGE]);
    } catch {
      exists = false;
    }
    if (exists) sh("ip", ["link", "del", BRIDGE]);
  });

  const host = existsSync(p.hostState)
    ? (JSON.parse(readFileSync(p.hostState, "utf8")) as HostState)
    : undefined;
  if (host && !ownsHost) {
    errors.push(`${holder} holds ${NODE_LOCK}: host state recorded in ${p.hostState} not restored`);
  } else if (host) {
    await attempt("deleting iptables chains", () => {
      for (const [key, chains] of Object.entries(addedChains(host.chains))) {
        const [family, table] = key.split(" ");
        deleteChains(family!, table!, chains);
      }
      if (host.nftTables) deleteEmptyIptablesTables(host.nftTables);
    });
    await attempt("restoring sysctls", () => {
      for (const [k, v] of Object.entries(host.sysctls)) {
        if (readSysctl(k) !== v) writeFileSync(sysctlFile(k), `${v}\n`);
      }
    });
    await attempt("removing kubepods cgroups", () => {
      for (const h of host.cgroupHierarchies) {
        for (const d of cgroupTree(join(cgroupRoot, h, "kubepods"))) rmdirSync(d);
      }
    });
    await attempt("removing fixed host paths", () => {
      for (const f of host.createdPaths) {
        const inside = mountsUnder(f);
        if (inside.length > 0) throw new Error(`${f} still has mounts (${inside.join(", ")}): not removed`);
        // libmount's utab records other programs' mounts too: keep the folder while it holds a record.
        if (
          f === "/run/mount" &&
          existsSync(f) &&
          readdirSync(f).some((e) => statSync(join(f, e)).size > 0)
        ) {
          continue;
        }
        rmSync(f, { recursive: true, force: true });
      }
    });
  }
  if (errors.length > 0) {
    throw new Error(`node: stopping left host state behind (${p.hostState} kept):\n  ${errors.join("\n  ")}`);
  }
  // Only private folders remain: remove them (logs stay in run/).
  for (const d of ["containerd", "cni", "kubelet", "kube-proxy", "images", "tmp"]) {
    rmSync(join(p.base, d), { recursive: true, force: true });
  }
  rmSync(p.hostState, { force: true });
  if (!opts.keepLock) releaseNodeLock(ctx.dir);
}

export const nodePart: Part = {
  name: "node",
  needs: ["control-plane"],
  tools: ["node"],
  async start(ctx) {
    const p = nodePaths(ctx.dir);
    const recs = recordedProcesses(p.run);
    if (recs.length === 3 && recs.every(isRunning) && nodeReady(ctx).ready) {
      ctx.log(`${this.name}: already running`);
      return;
    }
    if (process.getuid?.() !== 0)
      throw new Error("the node part runs containerd and the kubelet: run as root");
    await takeNodeLock(ctx.dir, Number(process.env[NODE_LOCK_WAIT_ENV] || 0) * 1000, ctx.log);
    await stopNode(ctx, { keepLock: true }); // leftovers of a node that died (restores what it recorded)
    if (Buffer.byteLength(p.socket) > 100) {
      throw new Error(
        `containerd socket path too long for a unix socket (${p.socket}): use a shorter IMAAS_SANDBOX_DIR`,
      );
    }
    try {
      sh("ip", ["link", "show", BRIDGE]);
      throw new Error(
        `bridge ${BRIDGE} exists already (left by an earlier node?): delete it with 'ip link del ${BRIDGE}'`,
      );
    } catch (err) {
      if ((err as Error).message.startsWith("bridge ")) throw err;
    }
    // Record the host before anything changes it.
    const host: HostState = {
      sysctls: Object.fromEntries(
        NODE_SYSCTLS.flatMap((k) => {
          const v = readSysctl(k);
          return v === undefined ? [] : [[k, v]];
        }),
      ),
      createdPaths: FIXED_PATHS.filter((f) => !existsSync(f)),
      cgroupHierarchies: cgroupHierarchies().filter((h) => !existsSync(join(cgroupRoot, h, "kubepods"))),
      chains: allChains(),
      nftTables: nftTables(),
    };
    mkdirSync(p.base, { recursive: true });
    writeFileSync(p.hostState, `${JSON.stringify(host, null, 2)}\n`);

    const bin = join(ctx.toolsDir, "bin");
    for (const d of [p.run, p.cniConf, p.cniIpam, p.kubelet, p.kubeProxy, p.images, join(p.base, "tmp")]) {
      mkdirSync(d, { recursive: true });
    }
    mkdirSync(p.containerd, { recursive: true, mode: 0o711 });
    writeFileSync(join(p.containerd, "config.toml"), containerdConfig(p, bin));
    writeFileSync(join(p.cniConf, "10-imaas-sandbox.conflist"), `${JSON.stringify(cniConfig(p), null, 2)}\n`);
    const taken = new Set<number>();
    const ports: NodePorts = {
      kubelet: await freePort(taken),
      kubeletHealthz: await freePort(taken),
      proxyHealthz: await freePort(taken),
      proxyMetrics: await freePort(taken),
    };
    writeFileSync(p.ports, `${JSON.stringify(ports)}\n`);
    const env = processEnv(p, bin);

    const containerd = spawnRecorded(
      "containerd",
      [join(bin, "containerd"), "--config", join(p.containerd, "config.toml")],
      { env, cwd: p.base, dir: p.run },
    );
    await waitFor(
      "containerd",
      async () => {
        sh(join(bin, "ctr"), ["--address", p.socket, "version"]);
        return true;
      },
      {
        timeoutMs: 30_000,
        alive: () => (isRunning(containerd) ? undefined : `containerd exited:\n${logTail(containerd.log)}`),
      },
    );
    buildAndImport(pauseImageSpec, join(p.images, "pause"), p.socket, bin);

    kubectl(
      ctx,
      ["apply", "-f", "-"],
      nodeIdentityManifests()
        .map((m) => JSON.stringify(m))
        .join("\n"),
    );
    writeKubeconfig(ctx, "imaas-sandbox-kubelet", join(p.kubelet, "kubeconfig"));
    writeKubeconfig(ctx, "imaas-sandbox-kube-proxy", join(p.kubeProxy, "kubeconfig"));
    writeFileSync(join(p.kubelet, "config.yaml"), YAML.stringify(kubeletConfig(p, ports)));
    writeFileSync(join(p.kubeProxy, "config.yaml"), YAML.stringify(kubeProxyConfig(p, ports)));

    spawnRecorded(
      "kubelet",
      [
        join(bin, "kubelet"),
        "--config",
        join(p.kubelet, "config.yaml"),
        "--kubeconfig",
        join(p.kubelet, "kubeconfig"),
        "--root-dir",
        join(p.kubelet, "root"),
        "--cert-dir",
        join(p.kubelet, "pki"),
        "--hostname-override",
        NODE_NAME,
        "--v",
        "1",
      ],
      { env, cwd: p.base, dir: p.run },
    );
    spawnRecorded(
      "kube-proxy",
      [join(bin, "kube-proxy"), "--config", join(p.kubeProxy, "config.yaml"), "--v", "1"],
      { env, cwd: p.base, dir: p.run },
    );
    ctx.log(
      `node ${NODE_NAME}: containerd ${p.socket}, kubelet 127.0.0.1:${ports.kubelet}, pods in ${POD_CIDR} on ${BRIDGE}`,
    );
  },
  async ready(ctx) {
    const p = nodePaths(ctx.dir);
    const ports = JSON.parse(readFileSync(p.ports, "utf8")) as NodePorts;
    const alive = () => {
      for (const rec of recordedProcesses(p.run)) {
        if (!isRunning(rec)) return `${rec.name} exited:\n${logTail(rec.log)}`;
      }
      return undefined;
    };
    let last = "";
    await waitFor(
      `node ${NODE_NAME} Ready`,
      async () => {
        const r = nodeReady(ctx);
        last = r.message;
        return r.ready;
      },
      { timeoutMs: 120_000, alive },
    ).catch((err: Error) => {
      throw new Error(`${err.message} (last: ${last}); kubelet log:\n${logTail(join(p.run, "kubelet.log"))}`);
    });
    await waitFor(
      "kube-proxy /healthz",
      async () => (await fetch(`http://127.0.0.1:${ports.proxyHealthz}/healthz`)).ok,
      { timeoutMs: 60_000, alive },
    );
  },
  async stop(ctx) {
    await stopNode(ctx, { keepLock: false });
  },
};
