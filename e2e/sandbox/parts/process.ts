/**
 * Processes a part starts: detached, logged to a file, and recorded as pid + kernel start time so that
 * `stop` — also from another process — signals only that very process, never a recycled pid.
 */
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export interface ProcessRecord {
  readonly name: string;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot). */
  readonly startTime: string;
  readonly command: readonly string[];
  readonly log: string;
}

/** The start time of a running process, or undefined when there is none with that pid. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces and parentheses) start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z") return undefined; // exited, not yet reaped
    return rest[19]; // field 22 overall: field 3 is rest[0]
  } catch {
    return undefined;
  }
}

export function isRunning(rec: ProcessRecord): boolean {
  return processStartTime(rec.pid) === rec.startTime;
}

export interface SpawnOptions {
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** Folder for `<name>.json` (the record) and `<name>.log`. */
  readonly dir: string;
}

/** Starts `command` detached (own session) with stdout/stderr in `<dir>/<name>.log`; records it. */
export function spawnRecorded(name: string, command: readonly string[], opts: SpawnOptions): ProcessRecord {
  mkdirSync(opts.dir, { recursive: true });
  const log = join(opts.dir, `${name}.log`);
  const fd = openSync(log, "a");
  const [file, ...args] = command;
  const child = spawn(file!, args, {
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${file}`);
  child.unref();
  const startTime = processStartTime(child.pid);
  if (startTime === undefined) throw new Error(`${name} exited at once: see ${log}`);
  const rec: ProcessRecord = { name, pid: child.pid, startTime, command, log };
  writeFileSync(join(opts.dir, `${name}.json`), `${JSON.stringify(rec, null, 2)}\n`);
  return rec;
}

/** The processes recorded in `dir`. */
export function recordedProcesses(dir: string): ProcessRecord[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as ProcessRecord)
    .filter((r) => typeof r.pid === "number" && typeof r.startTime === "string");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`; removes the record. True when it was running. */
export async function stopRecorded(dir: string, rec: ProcessRecord, graceMs = 10_000): Promise<boolean> {
  const running = isRunning(rec);
  if (running) {
    process.kill(rec.pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (isRunning(rec) && Date.now() < deadline) await sleep(100);
    if (isRunning(rec)) process.kill(rec.pid, "SIGKILL");
    while (isRunning(rec)) await sleep(50);
  }
  rmSync(join(dir, `${rec.name}.json`), { force: true });
  return running;
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** A free TCP port on 127.0.0.1 in 20000–31999 (below the ephemeral range), not in `taken`. */
export async function freePort(taken: Set<number> = new Set()): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (taken.has(port)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    if (ok) {
      taken.add(port);
      return port;
    }
  }
  throw new Error("no free port on 127.0.0.1");
}

/** Polls `probe` until it resolves true; fails after `timeoutMs`, or at once when `alive` says the process died. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; alive?: () => string | undefined },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    const dead = opts.alive?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    if (Date.now() > deadline)
      throw new Error(`timed out after ${opts.timeoutMs / 1000} s waiting for ${what}`);
    await sleep(300);
  }
}

/** True when `dir` records processes and every one of them is running (a part started earlier). */
export function allRunning(dir: string): boolean {
  const recs = recordedProcesses(dir);
  return recs.length > 0 && recs.every(isRunning);
}
