/**
 * The suite's processes (Prometheus, Alertmanager, prom-label-proxy) and loopback servers: started on
 * 127.0.0.1 only, logged to a file, waited for with a deadline, and always stopped — by the test's `after`
 * hook, and by `stopAll` on exit or Ctrl-C for anything a failed test left behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import type { Server } from "node:net";

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log: string;
}

const running = new Set<Proc>();
const servers = new Set<Server>();

/**
 * Starts `command` with stdout/stderr to `log`, with PATH, HOME and `env` only in its environment; binding
 * to 127.0.0.1 only is its caller's job.
 */
export function start(
  name: string,
  command: readonly string[],
  log: string,
  env: Readonly<Record<string, string>> = {},
): Proc {
  const fd = openSync(log, "a");
  const [file, ...args] = command;
  const child = spawn(file!, args, {
    stdio: ["ignore", fd, fd],
    env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent", ...env },
  });
  closeSync(fd);
  const proc = { name, child, log };
  running.add(proc);
  return proc;
}

export const exited = (p: Proc): boolean => p.child.exitCode !== null || p.child.signalCode !== null;

export function logTail(p: Proc, lines = 25): string {
  try {
    return readFileSync(p.log, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, SIGKILL after 10 s; resolves when the process is gone. */
export async function stop(p: Proc): Promise<void> {
  running.delete(p);
  if (exited(p)) return;
  const gone = new Promise<void>((resolve) => p.child.once("exit", () => resolve()));
  p.child.kill("SIGTERM");
  const timer = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
  await gone;
  clearTimeout(timer);
}

/** Polls `probe` every 250 ms until true; fails after `timeoutMs`, or at once when `proc` exits. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  proc?: Proc,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (proc && exited(proc)) throw new Error(`${what}: ${proc.name} exited:\n${logTail(proc)}`);
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for ${what}${proc ? `:\n${logTail(proc)}` : ""}`,
      );
    }
    await sleep(250);
  }
}

/** True when GET `url` answers 200. */
export async function answers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return res.status === 200;
}

/** Listens on 127.0.0.1:`port` (0: any free port); returns the port. The server is closed by `stopAll`. */
export function listenLoopback(server: Server, port = 0): Promise<number> {
  servers.add(server);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

/** Stops every process and closes every server this module started (idempotent). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(stop));
  await Promise.all(
    [...servers].map(
      (s) =>
        new Promise<void>((resolve) => {
          servers.delete(s);
          s.close(() => resolve());
          (s as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    ),
  );
}

process.once("exit", () => {
  for (const p of running) if (!exited(p)) p.child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const p of running) if (!exited(p)) p.child.kill("SIGKILL");
    process.exit(130);
  });
}
