/**
 * Coordination databases for real: Debian's PostgreSQL on loopback (the `postgres` part, a private cluster on
 * a free port), the Pulumi CLI v3.248.0 and our Node.js language host from e2e/tools/build.sh, a file
 * backend, and a program that loads tenant files with the real loader and creates each tenant environment's
 * database exactly as TenantSpace does (`createCoordinationDatabase` of components/tenant-space/
 * coordination-db.ts, the CoordinationDatabase dynamic provider over `pg`). Vault and the clusters do not run
 * here: the program exports the credentials that TenantSpace writes to `<tenant>/<env>/_coordination-db`.
 *
 * It proves: `pulumi up` creates one database and login role per tenant environment with a stateful service
 * (none for other tenants), as a non-superuser admin with CREATEDB/CREATEROLE; MI's five coordination tables
 * are there, owned by the tenant's role; tenant A's credentials cannot CONNECT to B's database (PostgreSQL's
 * own error); a second `pulumi up` changes nothing; removing a tenant keeps its database, role and rows.
 *
 * Run: npx mocha e2e/coordination/coordination.test.ts (not part of `npm test`; needs
 * `bash e2e/tools/build.sh pulumi postgres`). Runs as root (PostgreSQL then runs as Debian's `postgres` user)
 * or as a normal user.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "pg";
import { MI_COORDINATION_TABLES } from "../../providers/postgres/mi-coordination-schema";
import type { PartContext } from "../sandbox/parts/part";
import { startParts, stopParts } from "../sandbox/parts/orchestrator";
import { ADMIN_USER, type PostgresAddress, postgresAddress, postgresPart, SUPERUSER } from "./postgres";

const ROOT = join(__dirname, "..", "..");
const TOOLS_DIR = process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools");
const BIN = join(TOOLS_DIR, "bin");

const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { loadTenantDir, formatError } from ${JSON.stringify(join(ROOT, "model/load"))};
import { parsePlatformConfig } from ${JSON.stringify(join(ROOT, "model/platform-config"))};
import { coordinationPlanned, createCoordinationDatabase } from ${JSON.stringify(join(ROOT, "components/tenant-space/coordination-db"))};

const config = new pulumi.Config();
const cfg = parsePlatformConfig(config.requireObject("platform"));
const { tenants, errors } = loadTenantDir(config.require("tenantsDir"), cfg, { stack: pulumi.getStack() });
if (errors.length > 0) throw new pulumi.RunError(errors.map(formatError).join("\\n"));
const adminPassword = config.requireSecret("coordinationAdminPassword");
const out: Record<string, unknown> = {};
for (const t of tenants) {
  for (const env of coordinationPlanned(t, cfg.mi.coordination)) {
    const db = createCoordinationDatabase(\`\${t.name}-coordination-db-\${env}\`, {
      server: cfg.mi.coordination!, adminPassword, tenant: t.name, env,
    });
    out[\`\${t.name}/\${env}\`] = { url: db.jdbcUrl, username: db.username, password: db.password };
  }
}
export const credentials = out;
`;

const tenantFile = (name: string, services: string) =>
  `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  owners: [ana]\n  environments: [dev, test]\n  services:\n${services}`;

interface Credentials {
  readonly url: string;
  readonly username: string;
  readonly password: string;
}

describe("e2e: coordination databases on a real PostgreSQL with the real engine", function () {
  this.timeout(600_000);
  let work = "";
  let env: NodeJS.ProcessEnv = {};
  let ctx: PartContext;
  let started: Awaited<ReturnType<typeof startParts>> = [];
  let pgAddr: PostgresAddress;
  let creds: Record<string, Credentials> = {};
  const tenantsDir = () => join(work, "tenants");

  const pulumi = (...args: string[]) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(join(BIN, "pulumi"), args, { cwd: join(work, "project"), env });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      child.stderr.on("data", (d) => {
        err += d;
      });
      child.on("close", (code) => resolve({ code, out, err }));
    });

  /** A client as `user` to `database`; the caller ends it. */
  async function connect(user: string, password: string, database: string): Promise<Client> {
    const pg = require("pg") as typeof import("pg");
    const c = new pg.Client({ host: pgAddr.host, port: pgAddr.port, user, password, database });
    await c.connect();
    return c;
  }
  async function asSuper<T>(fn: (c: Client) => Promise<T>, database = "postgres"): Promise<T> {
    const c = await connect(SUPERUSER, pgAddr.superPassword, database);
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }
  const databases = () =>
    asSuper(async (c) =>
      (await c.query("SELECT datname FROM pg_database WHERE datname LIKE 'imaas\\_%' ORDER BY 1")).rows.map(
        (r) => r.datname as string,
      ),
    );

  async function readCredentials(): Promise<Record<string, Credentials>> {
    const r = await pulumi("stack", "output", "credentials", "--show-secrets", "--json");
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as Record<string, Credentials>;
  }

  before(async function () {
    if (!["pulumi", "pulumi-language-nodejs", "postgres", "initdb"].every((b) => existsSync(join(BIN, b)))) {
      this.skip(); // build them with: bash e2e/tools/build.sh pulumi postgres
    }
    work = mkdtempSync(join(tmpdir(), "imaas-e2e-coordination-"));
    chmodSync(work, 0o711); // as root, PostgreSQL runs as \`postgres\` and passes through here
    ctx = { dir: join(work, "sandbox"), toolsDir: TOOLS_DIR, repo: ROOT, log: () => undefined };
    started = await startParts(ctx, ["postgres"], [postgresPart]);
    pgAddr = postgresAddress(ctx.dir);

    const project = join(work, "project");
    mkdirSync(project);
    mkdirSync(join(work, "state"));
    mkdirSync(tenantsDir());
    writeFileSync(
      join(project, "Pulumi.yaml"),
      'name: coordination\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n    nodeargs: "--import tsx"\nmain: index.ts\n',
    );
    writeFileSync(join(project, "index.ts"), PROGRAM);
    writeFileSync(join(project, "package.json"), '{ "name": "coordination", "private": true }\n');
    symlinkSync(join(ROOT, "node_modules"), join(project, "node_modules"));
    writeFileSync(
      join(tenantsDir(), "alpha.yaml"),
      tenantFile(
        "alpha",
        "    - name: poller\n      stateful: true\n      replicas: { dev: 2, test: 3 }\n    - name: api\n",
      ),
    );
    writeFileSync(
      join(tenantsDir(), "beta.yaml"),
      tenantFile("beta", "    - name: jobs\n      stateful: true\n      environments: [dev]\n"),
    );
    writeFileSync(join(tenantsDir(), "gamma.yaml"), tenantFile("gamma", "    - name: api\n"));
    const platform = {
      clusters: [{ name: "main", environments: ["dev", "test", "prod"] }],
      domain: "imaas.test",
      mi: { coordination: { host: pgAddr.host, port: pgAddr.port, adminUser: ADMIN_USER, ssl: "disable" } },
    };
    env = {
      ...process.env,
      PATH: `${BIN}:${join(ROOT, "node_modules/@pulumi/pulumi")}:${process.env.PATH}`,
      PULUMI_HOME: join(work, "pulumi-home"),
      PULUMI_BACKEND_URL: `file://${join(work, "state")}`,
      PULUMI_CONFIG_PASSPHRASE: "e2e-coordination",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    for (const args of [
      ["stack", "init", "e2e"],
      ["config", "set", "--path", "platform", JSON.stringify(platform)],
      ["config", "set", "tenantsDir", tenantsDir()],
      ["config", "set", "--secret", "coordinationAdminPassword", pgAddr.adminPassword],
    ]) {
      const r = await pulumi(...args);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.err}`);
    }
  });

  after(async () => {
    if (ctx) await stopParts(ctx, started).catch(() => undefined);
    if (work && !process.env.KEEP_E2E) rmSync(work, { recursive: true, force: true });
  });

  it("pulumi up creates a database and login role per tenant environment with a stateful service, and nothing for others", async () => {
    const t = Date.now();
    const up = await pulumi("up", "--yes", "--skip-preview");
    assert.equal(up.code, 0, `${up.out}\n${up.err}`);
    console.log(`      first pulumi up (3 databases): ${((Date.now() - t) / 1000).toFixed(1)} s`);
    assert.deepEqual(await databases(), ["imaas_alpha_dev", "imaas_alpha_test", "imaas_beta_dev"]);
    const roles = await asSuper(
      async (c) =>
        (
          await c.query(
            "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname LIKE 'imaas\\_%\\_%' ORDER BY 1",
          )
        ).rows,
    );
    assert.deepEqual(
      roles.map((r) => [r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole]),
      [
        ["imaas_alpha_dev", true, false, false, false],
        ["imaas_alpha_test", true, false, false, false],
        ["imaas_beta_dev", true, false, false, false],
      ],
    );
    creds = await readCredentials();
    assert.deepEqual(Object.keys(creds).sort(), ["alpha/dev", "alpha/test", "beta/dev"]);
    assert.equal(
      creds["alpha/dev"].url,
      `jdbc:postgresql://127.0.0.1:${pgAddr.port}/imaas_alpha_dev?sslmode=disable`,
    );
    assert.notEqual(creds["alpha/dev"].password, creds["beta/dev"].password);
    assert.ok(creds["alpha/dev"].password.length >= 32);
  });

  it("MI's coordination tables are in each database, owned by its role, which can use them", async () => {
    const a = creds["alpha/dev"];
    const c = await connect(a.username, a.password, "imaas_alpha_dev");
    try {
      const tables = await c.query(
        "SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      );
      assert.deepEqual(
        tables.rows.map((r) => [r.tablename, r.tableowner]),
        [...MI_COORDINATION_TABLES].sort().map((n) => [n, "imaas_alpha_dev"]),
      );
      // What MI's RDBMSCoordinationStrategy does first (QueryManager INSERT_COORDINATOR_ROW).
      await c.query(
        "INSERT INTO LEADER_STATUS_TABLE (GROUP_ID, NODE_ID, LAST_HEARTBEAT) VALUES ($1, $2, $3)",
        ["default", "alpha-poller-0", Date.now()],
      );
    } finally {
      await c.end();
    }
    const b = creds["beta/dev"];
    const cb = await connect(b.username, b.password, "imaas_beta_dev");
    try {
      await cb.query(
        "INSERT INTO COORDINATED_TASK_TABLE (TASK_NAME, DESTINED_NODE_ID, TASK_STATE) VALUES ('nightly', 'beta-jobs-0', 'RUNNING')",
      );
    } finally {
      await cb.end();
    }
  });

  it("tenant A's credentials cannot open tenant B's database (PostgreSQL: no CONNECT privilege)", async () => {
    const a = creds["alpha/dev"];
    await assert.rejects(
      connect(a.username, a.password, "imaas_beta_dev"),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "42501", err.message); // insufficient_privilege
        assert.equal(err.message, 'permission denied for database "imaas_beta_dev"');
        assert.match((err as { detail?: string }).detail ?? "", /User does not have CONNECT privilege\./);
        return true;
      },
    );
    // Nor its own other environment's, nor with another tenant's password.
    await assert.rejects(
      connect(a.username, a.password, "imaas_alpha_test"),
      /permission denied for database "imaas_alpha_test"/,
    );
    await assert.rejects(
      connect(a.username, creds["beta/dev"].password, "imaas_alpha_dev"),
      /password authentication failed for user "imaas_alpha_dev"/,
    );
  });

  it("a second pulumi up changes nothing", async () => {
    const up = await pulumi("up", "--yes", "--skip-preview", "--expect-no-changes");
    assert.equal(up.code, 0, `${up.out}\n${up.err}`);
    assert.deepEqual(await readCredentials(), creds, "passwords are kept");
  });

  it("removing a tenant keeps its database, role and rows (retainOnDelete), and drops it from the stack", async () => {
    rmSync(join(tenantsDir(), "beta.yaml"));
    const up = await pulumi("up", "--yes", "--skip-preview");
    assert.equal(up.code, 0, `${up.out}\n${up.err}`);
    assert.match(up.out, /- 1 (deleted|to delete)|1 deleted/i, up.out);
    assert.deepEqual(Object.keys(await readCredentials()).sort(), ["alpha/dev", "alpha/test"]);
    assert.deepEqual(await databases(), ["imaas_alpha_dev", "imaas_alpha_test", "imaas_beta_dev"]);
    const b = creds["beta/dev"];
    const c = await connect(b.username, b.password, "imaas_beta_dev");
    try {
      const rows = await c.query("SELECT TASK_NAME, TASK_STATE FROM COORDINATED_TASK_TABLE");
      assert.deepEqual(rows.rows, [{ task_name: "nightly", task_state: "RUNNING" }]);
    } finally {
      await c.end();
    }
  });
});
