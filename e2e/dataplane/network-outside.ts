/**
 * "Outside the cluster" for the packet tests: a network namespace of its own behind a veth pair, holding
 * the addresses a tenant pod must not reach (the cloud metadata endpoint, an undeclared address) and one a
 * tenant declared as an external system, each answering TCP on a few ports. Pod packets to these addresses
 * are forwarded by the host — through the POSTROUTING hook, where kube-network-policies judges them — so a
 * refusal is the policy's, not the address's: a pod in a namespace without policies reaches every one of
 * them (the tests' positive control).
 *
 * The namespace is held by its one process, the TCP acceptor (`unshare --net`): when it ends, the kernel
 * removes the namespace, both ends of the veth pair and the host routes through it. `stop` ends it; a run
 * that crashed leaves its pid in PID_FILE, and the next `start` ends that one first. Host state changed
 * meanwhile: the host end of the pair and one /32 route per address. One per machine (fixed names).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { processStartTime } from "../sandbox/parts/process";

const HOST_VETH = "imaas-np-host";
const OUTSIDE_VETH = "imaas-np-out";
/** A /30 from the shared address space (RFC 6598), used by nothing on this machine. */
const HOST_ADDR = "100.64.255.1";
const OUTSIDE_ADDR = "100.64.255.2";
/** pid and start time of the running acceptor (the namespace's holder). */
const PID_FILE = "/run/imaas-netpol-outside.pid";

export interface OutsideAddress {
  readonly what: string;
  readonly ip: string;
  readonly ports: readonly number[];
}

function run(file: string, args: readonly string[], opts: { tolerate?: RegExp } = {}): string {
  try {
    return execFileSync(file, args as string[], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const text = (e.stderr || e.message).trim();
    if (opts.tolerate?.test(text)) return "";
    throw new Error(`${file} ${args.join(" ")}: ${text}`);
  }
}
const ip = (args: readonly string[], opts: { tolerate?: RegExp } = {}) => run("ip", args, opts);

/** The TCP acceptor, the namespace's one process: accepts and closes on every port given, every address. */
const ACCEPTOR = `
const net = require("node:net");
for (const port of process.argv.slice(1).map(Number)) {
  net.createServer((s) => s.end()).listen(port, "0.0.0.0");
}
`;

function hostConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port, timeout: 500 });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("timeout", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(false));
  });
}

export class Outside {
  private constructor(
    readonly addresses: readonly OutsideAddress[],
    private readonly acceptor: ChildProcess,
  ) {}

  /** Starts the acceptor in a new network namespace and wires it to the host with `addresses`. */
  static async start(addresses: readonly OutsideAddress[]): Promise<Outside> {
    await Outside.stopLeftovers();
    const ports = [...new Set(addresses.flatMap((a) => a.ports))];
    const acceptor = spawn(
      "unshare",
      ["--net", "--", process.execPath, "-e", ACCEPTOR, ...ports.map(String)],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    acceptor.stderr?.on("data", (d) => {
      stderr += d;
    });
    const o = new Outside(addresses, acceptor);
    try {
      const pid = acceptor.pid;
      const started = pid === undefined ? undefined : processStartTime(pid);
      if (pid === undefined || started === undefined)
        throw new Error(`unshare --net did not start: ${stderr}`);
      writeFileSync(PID_FILE, `${pid} ${started}\n`);
      // unshare execs node in the new namespace: wait until the pid's namespace differs from ours.
      const ours = run("readlink", ["/proc/self/ns/net"]).trim();
      for (let i = 0; run("readlink", [`/proc/${pid}/ns/net`]).trim() === ours; i++) {
        if (i > 100) throw new Error("the acceptor never entered its own network namespace");
        await new Promise((r) => setTimeout(r, 50));
      }
      const inNs = (args: string[]) => run("nsenter", ["-t", String(pid), "-n", "ip", ...args]);
      ip(["link", "add", HOST_VETH, "type", "veth", "peer", "name", OUTSIDE_VETH]);
      ip(["link", "set", OUTSIDE_VETH, "netns", String(pid)]);
      ip(["addr", "add", `${HOST_ADDR}/30`, "dev", HOST_VETH]);
      ip(["link", "set", HOST_VETH, "up"]);
      inNs(["link", "set", "lo", "up"]);
      inNs(["addr", "add", `${OUTSIDE_ADDR}/30`, "dev", OUTSIDE_VETH]);
      inNs(["link", "set", OUTSIDE_VETH, "up"]);
      // Replies go back through the host to the pods (the node does not masquerade).
      inNs(["route", "add", "default", "via", HOST_ADDR]);
      for (const a of addresses) {
        inNs(["addr", "add", `${a.ip}/32`, "dev", "lo"]);
        ip(["route", "add", `${a.ip}/32`, "via", OUTSIDE_ADDR, "dev", HOST_VETH]);
      }
      // Serving: every address answers on its ports from the host.
      const deadline = Date.now() + 15_000;
      for (const a of addresses) {
        for (const port of a.ports) {
          while (!(await hostConnects(a.ip, port))) {
            if (acceptor.exitCode !== null) throw new Error(`the outside acceptor exited: ${stderr.trim()}`);
            if (Date.now() > deadline)
              throw new Error(`${a.ip}:${port} does not answer from the host: ${stderr.trim()}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
      return o;
    } catch (err) {
      await o.stop();
      throw err;
    }
  }

  /** Ends the acceptor: the kernel removes the namespace, the veth pair and the routes through it. */
  async stop(): Promise<void> {
    if (this.acceptor.exitCode === null && this.acceptor.signalCode === null) {
      const exited = new Promise((r) => this.acceptor.once("exit", r));
      this.acceptor.kill("SIGKILL");
      await exited;
    }
    await Outside.stopLeftovers();
  }

  /** Ends an acceptor a crashed run left (only that very process: pid and start time) and removes the pair. */
  static async stopLeftovers(): Promise<void> {
    let recorded = "";
    try {
      recorded = readFileSync(PID_FILE, "utf8").trim();
    } catch {
      // none
    }
    const [pid, started] = recorded.split(" ");
    if (pid && started && processStartTime(Number(pid)) === started) {
      process.kill(Number(pid), "SIGKILL");
      while (processStartTime(Number(pid)) === started) await new Promise((r) => setTimeout(r, 50));
    }
    rmSync(PID_FILE, { force: true });
    // The namespace's end went with it; the host's end goes with its peer — or is removed here.
    for (let i = 0; i < 50 && Outside.leftovers().length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    if (Outside.leftovers().length > 0) ip(["link", "del", HOST_VETH], { tolerate: /Cannot find device/ });
  }

  /** What of it is on the host now: the host's veth and routes through it (for the restore check). */
  static leftovers(): string[] {
    const left: string[] = [];
    if (ip(["-o", "link", "show", HOST_VETH], { tolerate: /does not exist|Cannot find device/ }).trim())
      left.push(`link ${HOST_VETH}`);
    for (const line of ip(["route", "show"]).split("\n"))
      if (line.includes(HOST_VETH)) left.push(`route ${line.trim()}`);
    return left;
  }
}
