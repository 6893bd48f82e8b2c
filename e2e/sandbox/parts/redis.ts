/** Redis (Debian's redis-server) for Argo CD's caches: a private process on a loopback port, no persistence. */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import type { Part, PartContext } from "./part";
import {
  allRunning,
  freePort,
  isRunning,
  logTail,
  recordedProcesses,
  spawnRecorded,
  stopRecorded,
  waitFor,
} from "./process";

const partDir = (ctx: PartContext) => join(ctx.dir, "parts", "redis");

/** `127.0.0.1:<port>` of the sandbox's Redis (after `start`). */
export function redisAddress(dir: string): string {
  return `127.0.0.1:${readFileSync(join(dir, "parts", "redis", "port"), "utf8").trim()}`;
}

/** Sends PING, true on +PONG. */
function ping(address: string): Promise<boolean> {
  const [host, port] = address.split(":");
  return new Promise((resolve) => {
    const sock = createConnection({ host: host!, port: Number(port) }, () => sock.write("PING\r\n"));
    sock.setTimeout(1000, () => sock.destroy());
    sock.once("data", (d) => {
      resolve(d.toString().startsWith("+PONG"));
      sock.destroy();
    });
    sock.once("error", () => resolve(false));
    sock.once("close", () => resolve(false));
  });
}

export const redisPart: Part = {
  name: "redis",
  needs: [],
  tools: ["redis"],
  async start(ctx) {
    const dir = partDir(ctx);
    if (allRunning(dir)) {
      ctx.log(`${this.name}: already running`);
      return;
    }
    await this.stop(ctx); // leftovers of a part that died
    mkdirSync(join(dir, "data"), { recursive: true });
    const port = await freePort();
    writeFileSync(join(dir, "port"), `${port}\n`);
    spawnRecorded(
      "redis-server",
      [
        join(ctx.toolsDir, "bin/redis-server"),
        "--bind",
        "127.0.0.1",
        "--port",
        String(port),
        "--protected-mode",
        "yes",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        join(dir, "data"),
        "--daemonize",
        "no",
      ],
      { env: { PATH: "/usr/bin:/bin" }, cwd: dir, dir },
    );
    ctx.log(`redis: 127.0.0.1:${port}`);
  },
  async ready(ctx) {
    const dir = partDir(ctx);
    const [rec] = recordedProcesses(dir);
    await waitFor("redis PING", () => ping(redisAddress(ctx.dir)), {
      timeoutMs: 20_000,
      alive: () =>
        rec && isRunning(rec) ? undefined : `redis-server exited:\n${logTail(join(dir, "redis-server.log"))}`,
    });
  },
  async stop(ctx) {
    const dir = partDir(ctx);
    for (const rec of recordedProcesses(dir)) await stopRecorded(dir, rec);
    if (existsSync(dir)) rmSync(join(dir, "data"), { recursive: true, force: true });
  },
};
