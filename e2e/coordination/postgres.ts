/**
 * PostgreSQL (Debian's server, linked into the tools by `e2e/tools/build.sh postgres`) as a sandbox part: a
 * private cluster under `<dir>/parts/postgres` on a free loopback port, TCP logins by password
 * (scram-sha-256), the Unix socket in the private folder only. It plays the platform's coordination server:
 * a superuser for the test's own checks and an `imaas_admin` role with CREATEDB and CREATEROLE only — what
 * docs/coordination-db.md asks the platform admins to create — for the program.
 *
 * PostgreSQL refuses to run as root: as root the part runs it as Debian's `postgres` user (setpriv, which
 * execs, so the recorded pid is the postmaster itself) and gives that user the folder.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { Part, PartContext } from "../sandbox/parts/part";
import {
  allRunning,
  freePort,
  isRunning,
  logTail,
  recordedProcesses,
  spawnRecorded,
  stopRecorded,
  waitFor,
} from "../sandbox/parts/process";

/** The superuser of the private cluster (the test's own checks). */
export const SUPERUSER = "imaas_super";
/** The role the program acts as: CREATEDB and CREATEROLE, not a superuser. */
export const ADMIN_USER = "imaas_admin";

const partDir = (ctx: Pick<PartContext, "dir">) => join(ctx.dir, "parts", "postgres");

/** How to reach the sandbox's PostgreSQL (after `start`). */
export interface PostgresAddress {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly superPassword: string;
  readonly adminPassword: string;
}

export function postgresAddress(dir: string): PostgresAddress {
  return JSON.parse(readFileSync(join(dir, "parts", "postgres", "address.json"), "utf8")) as PostgresAddress;
}

/** The uid/gid PostgreSQL runs as: ours, or Debian's `postgres` user when we are root. */
function runAs(): { uid: number; gid: number; wrap: (cmd: string[]) => string[] } {
  if (process.getuid?.() !== 0)
    return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, wrap: (c) => c };
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return {
    uid,
    gid,
    wrap: (c) => ["/usr/bin/setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", ...c],
  };
}

function chownTree(path: string, uid: number, gid: number): void {
  if (process.getuid?.() === 0) execFileSync("chown", ["-R", `${uid}:${gid}`, path]);
  else chownSync(path, uid, gid);
}

async function canConnect(a: PostgresAddress): Promise<boolean> {
  const pg = require("pg") as typeof import("pg");
  const c = new pg.Client({
    host: a.host,
    port: a.port,
    user: SUPERUSER,
    password: a.superPassword,
    database: "postgres",
    connectionTimeoutMillis: 2000,
  });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export const postgresPart: Part = {
  name: "postgres",
  needs: [],
  tools: ["postgres"],
  async start(ctx) {
    const dir = partDir(ctx);
    if (allRunning(dir)) {
      ctx.log(`${this.name}: already running`);
      return;
    }
    await this.stop(ctx); // leftovers of a part that died
    // The tools' links, resolved: the tools folder may sit in a home the `postgres` user cannot enter.
    const tool = (name: string) => realpathSync(join(ctx.toolsDir, "bin", name));
    const { uid, gid, wrap } = runAs();
    const data = join(dir, "data");
    const socket = join(dir, "socket");
    mkdirSync(socket, { recursive: true });
    const crypto = require("node:crypto") as typeof import("node:crypto");
    const address: PostgresAddress = {
      host: "127.0.0.1",
      port: await freePort(),
      superPassword: crypto.randomBytes(18).toString("base64url"),
      adminPassword: crypto.randomBytes(18).toString("base64url"),
    };
    writeFileSync(join(dir, "address.json"), `${JSON.stringify(address)}\n`, { mode: 0o600 });
    const pwfile = join(dir, "pwfile");
    writeFileSync(pwfile, `${address.superPassword}\n`, { mode: 0o600 });
    chownTree(dir, uid, gid);
    // As root, PostgreSQL runs as `postgres`, which must reach its folder through the sandbox's own ones.
    for (let d = dir; d.startsWith(ctx.dir) && d !== dirname(ctx.dir); d = dirname(d)) {
      if (process.getuid?.() === 0 && d !== dir) chmodSync(d, statSync(d).mode | 0o011);
    }
    const [probe, ...probeArgs] = wrap(["/usr/bin/test", "-w", dir]);
    try {
      execFileSync(probe!, probeArgs);
    } catch {
      throw new Error(
        `postgres: uid ${uid} cannot write ${dir}; a folder above the sandbox is closed to it (chmod o+x the sandbox's parents)`,
      );
    }
    const [initdb, ...initdbArgs] = wrap([
      tool("initdb"),
      "-D",
      data,
      "-U",
      SUPERUSER,
      `--pwfile=${pwfile}`,
      "--auth-host=scram-sha-256",
      "--auth-local=peer",
      "--encoding=UTF8",
      "--no-locale",
      "--no-sync",
    ]);
    execFileSync(initdb!, initdbArgs, {
      stdio: ["ignore", "ignore", "pipe"],
      env: { PATH: "/usr/bin:/bin" },
      cwd: dir,
    });
    rmSync(pwfile, { force: true });
    spawnRecorded(
      "postgres",
      wrap([
        tool("postgres"),
        "-D",
        data,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        `port=${address.port}`,
        "-c",
        `unix_socket_directories=${socket}`,
        "-c",
        "fsync=off",
        "-c",
        "max_connections=40",
      ]),
      { env: { PATH: "/usr/bin:/bin", LANG: "C" }, cwd: dir, dir },
    );
    ctx.log(`postgres: 127.0.0.1:${address.port} (data ${data})`);
  },
  async ready(ctx) {
    const dir = partDir(ctx);
    const [rec] = recordedProcesses(dir);
    const address = postgresAddress(ctx.dir);
    await waitFor("postgres accepting password logins", () => canConnect(address), {
      timeoutMs: 30_000,
      alive: () =>
        rec && isRunning(rec) ? undefined : `postgres exited:\n${logTail(join(dir, "postgres.log"))}`,
    });
    // The platform's coordination admin: creates databases and roles, is no superuser.
    const pg = require("pg") as typeof import("pg");
    const c = new pg.Client({
      host: address.host,
      port: address.port,
      user: SUPERUSER,
      password: address.superPassword,
      database: "postgres",
    });
    await c.connect();
    try {
      const exists = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [ADMIN_USER]);
      if ((exists.rowCount ?? 0) === 0) {
        await c.query(
          `CREATE ROLE ${ADMIN_USER} WITH LOGIN CREATEDB CREATEROLE PASSWORD '${address.adminPassword}'`,
        );
      }
    } finally {
      await c.end();
    }
  },
  async stop(ctx) {
    const dir = partDir(ctx);
    // SIGTERM is PostgreSQL's smart shutdown (waits for clients); the grace period ends it either way.
    for (const rec of recordedProcesses(dir)) await stopRecorded(dir, rec, 15_000);
    if (existsSync(dir)) {
      rmSync(join(dir, "data"), { recursive: true, force: true });
      rmSync(join(dir, "socket"), { recursive: true, force: true });
      rmSync(join(dir, "address.json"), { force: true });
    }
  },
};
