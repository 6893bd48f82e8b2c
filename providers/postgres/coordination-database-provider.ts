// Dynamic provider behind `CoordinationDatabase`: one PostgreSQL database and one login role of the same name,
// the role allowed into that database only, and MI's coordination schema in it, owned by the role.
// Serialized by value by Pulumi: reference only this folder's plain modules, Node built-ins and `pg`.
import type * as pulumi from "@pulumi/pulumi";
import type { Client, ClientConfig } from "pg";
import { MI_COORDINATION_SCHEMA, MI_COORDINATION_SCHEMA_VERSION } from "./mi-coordination-schema";

/** Pulumi's placeholder for a value not known during preview. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Database and role names: PostgreSQL identifiers we never need to quote for case (≤ 63 bytes). */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Where the server is and who the provider acts as (a role with CREATEDB and CREATEROLE). */
export interface AdminConnection {
  readonly host: string;
  readonly port: number;
  readonly adminUser: string;
  readonly adminPassword: string;
  /** Database the admin connects to for CREATE DATABASE / CREATE ROLE. */
  readonly adminDatabase: string;
  /** `require`: TLS (server certificate not verified by the provider); `disable`: plain TCP. */
  readonly ssl: "require" | "disable";
}

/** Inputs after `check`. */
export interface CoordinationDatabaseInputs extends AdminConnection {
  /** Database and role name. */
  readonly name: string;
  /** Version of the schema statements applied (MI_COORDINATION_SCHEMA_VERSION). */
  readonly schemaVersion: string;
}

/** State. The password is generated at create and kept from state afterwards. */
export interface CoordinationDatabaseOutputs extends CoordinationDatabaseInputs {
  readonly username: string;
  readonly password: string;
  /** `jdbc:postgresql://<host>:<port>/<name>?sslmode=<ssl>`: MI's datasource URL. */
  readonly jdbcUrl: string;
}

/** `"name"`, for identifiers already checked against {@link IDENTIFIER}. */
export function quoteIdent(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`"${name}" is not a plain PostgreSQL identifier`);
  return `"${name}"`;
}

/** `'text'` with quotes doubled (standard_conforming_strings is on since PostgreSQL 9.1). */
export function quoteLiteral(text: string): string {
  if (text.includes("\0")) throw new Error("a NUL character cannot be in a PostgreSQL string");
  return `'${text.replace(/'/g, "''")}'`;
}

export function jdbcUrl(p: Pick<CoordinationDatabaseInputs, "host" | "port" | "name" | "ssl">): string {
  const host = p.host.includes(":") ? `[${p.host}]` : p.host;
  return `jdbc:postgresql://${host}:${p.port}/${p.name}?sslmode=${p.ssl}`;
}

/** A new password: 32 URL-safe characters from 24 random bytes. */
export function generatePassword(): string {
  return require("node:crypto").randomBytes(24).toString("base64url");
}

/** The role: may log in, nothing else (no superuser, no CREATEDB, no CREATEROLE, no replication). */
export function roleStatements(name: string, password: string, exists: boolean): string[] {
  const attrs = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${quoteLiteral(password)}`;
  return [`${exists ? "ALTER" : "CREATE"} ROLE ${quoteIdent(name)} WITH ${attrs}`];
}

/**
 * Who may enter the database: its own role only. PUBLIC's default CONNECT and TEMPORARY go (so no other
 * tenant's role gets in); the database stays owned by the admin, so the role cannot drop it.
 */
export function databaseGrants(name: string): string[] {
  const db = quoteIdent(name);
  return [`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`, `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${db}`];
}

/** Inside the database: only its role uses and creates in the public schema. */
export function schemaGrants(name: string): string[] {
  return [
    "REVOKE ALL ON SCHEMA public FROM PUBLIC",
    `GRANT USAGE, CREATE ON SCHEMA public TO ${quoteIdent(name)}`,
  ];
}

/** Validation failures in Pulumi's `check` shape. */
export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}

export function checkInputs(news: Record<string, unknown>): {
  inputs: CoordinationDatabaseInputs;
  failures: CheckFailure[];
} {
  const failures: CheckFailure[] = [];
  const known = (v: unknown) => v !== UNKNOWN;
  const str = (k: string) => (typeof news[k] === "string" ? (news[k] as string) : "");
  if (known(news.name) && !IDENTIFIER.test(str("name"))) {
    failures.push({
      property: "name",
      reason: `"${str("name")}" is not a lowercase PostgreSQL name (a-z, 0-9, _; ≤ 63)`,
    });
  }
  if (known(news.adminUser) && !IDENTIFIER.test(str("adminUser"))) {
    failures.push({ property: "adminUser", reason: "the admin role is a lowercase PostgreSQL name" });
  }
  if (
    known(news.adminDatabase) &&
    news.adminDatabase !== undefined &&
    !IDENTIFIER.test(str("adminDatabase"))
  ) {
    failures.push({ property: "adminDatabase", reason: "the admin database is a lowercase PostgreSQL name" });
  }
  if (known(news.host) && str("host") === "") failures.push({ property: "host", reason: "host is required" });
  const port = news.port ?? 5432;
  if (known(port) && (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)) {
    failures.push({ property: "port", reason: `${String(port)} is not a TCP port` });
  }
  const ssl = news.ssl ?? "require";
  if (known(ssl) && ssl !== "require" && ssl !== "disable") {
    failures.push({ property: "ssl", reason: 'ssl is "require" or "disable"' });
  }
  if (known(news.adminPassword) && str("adminPassword") === "") {
    failures.push({
      property: "adminPassword",
      reason: "the admin password is required (imaas:coordinationAdminPassword)",
    });
  }
  return {
    inputs: {
      host: news.host as string,
      port: port as number,
      adminUser: news.adminUser as string,
      adminPassword: news.adminPassword as string,
      adminDatabase: (news.adminDatabase as string | undefined) ?? "postgres",
      ssl: ssl as "require" | "disable",
      name: news.name as string,
      schemaVersion: MI_COORDINATION_SCHEMA_VERSION,
    },
    failures,
  };
}

/** A connected client; always ended by `withClient`. */
async function withClient<T>(config: ClientConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const pg = require("pg") as typeof import("pg");
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 15_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function sslOption(ssl: "require" | "disable"): ClientConfig["ssl"] {
  return ssl === "require" ? { rejectUnauthorized: false } : false;
}

function adminConfig(p: AdminConnection, database = p.adminDatabase): ClientConfig {
  return {
    host: p.host,
    port: p.port,
    user: p.adminUser,
    password: p.adminPassword,
    database,
    ssl: sslOption(p.ssl),
  };
}

/** Names what failed and where, never the password. */
function failure(p: CoordinationDatabaseInputs, step: string, err: unknown): Error {
  return new Error(
    `coordination database ${p.name} on ${p.host}:${p.port}: ${step} failed: ${(err as Error).message}` +
      ` (the admin role ${p.adminUser} needs CREATEDB and CREATEROLE, see docs/coordination-db.md)`,
  );
}

/** Creates or adopts the role and the database, grants, and applies MI's schema as the role. */
async function converge(p: CoordinationDatabaseInputs, password: string): Promise<void> {
  let step = `connecting as ${p.adminUser} to ${p.adminDatabase}`;
  try {
    await withClient(adminConfig(p), async (c) => {
      step = "creating the role";
      const role = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [p.name]);
      for (const sql of roleStatements(p.name, password, (role.rowCount ?? 0) > 0)) await c.query(sql);
      step = "creating the database";
      const db = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [p.name]);
      // A retained database (the tenant was removed, then added again) is adopted as it is.
      if ((db.rowCount ?? 0) === 0) await c.query(`CREATE DATABASE ${quoteIdent(p.name)}`);
      step = "granting CONNECT to the role alone";
      for (const sql of databaseGrants(p.name)) await c.query(sql);
    });
    step = `restricting the public schema of ${p.name}`;
    await withClient(adminConfig(p, p.name), async (c) => {
      for (const sql of schemaGrants(p.name)) await c.query(sql);
    });
    step = `applying MI's coordination schema as ${p.name}`;
    await withClient(
      { host: p.host, port: p.port, user: p.name, password, database: p.name, ssl: sslOption(p.ssl) },
      async (c) => {
        for (const sql of MI_COORDINATION_SCHEMA) await c.query(sql);
      },
    );
  } catch (err) {
    throw failure(p, step, err);
  }
}

function outputsOf(p: CoordinationDatabaseInputs, password: string): CoordinationDatabaseOutputs {
  return { ...p, username: p.name, password, jdbcUrl: jdbcUrl(p) };
}

/** Keys whose change makes another database (a new server or name): replace. */
const REPLACE_KEYS = ["host", "port", "name"] as const;
/** Keys whose change re-runs the grants and schema (idempotent) with the new admin connection. */
const UPDATE_KEYS = ["adminUser", "adminPassword", "adminDatabase", "ssl", "schemaVersion"] as const;

export const coordinationDatabaseProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    const { inputs, failures } = checkInputs(news);
    return { inputs, failures };
  },

  async diff(_id, olds: CoordinationDatabaseOutputs, news: CoordinationDatabaseInputs) {
    const changed = (k: keyof CoordinationDatabaseInputs) =>
      news[k] === (UNKNOWN as never) || olds[k] !== news[k];
    const replaces = REPLACE_KEYS.filter(changed);
    const updates = UPDATE_KEYS.filter(changed);
    return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: CoordinationDatabaseInputs) {
    const password = generatePassword();
    await converge(inputs, password);
    return { id: `${inputs.host}:${inputs.port}/${inputs.name}`, outs: outputsOf(inputs, password) };
  },

  async update(_id, olds: CoordinationDatabaseOutputs, news: CoordinationDatabaseInputs) {
    await converge(news, olds.password);
    return { outs: outputsOf(news, olds.password) };
  },

  async read(id, props: CoordinationDatabaseOutputs) {
    const found = await withClient(adminConfig(props), async (c) => {
      const db = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [props.name]);
      const role = await c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [props.name]);
      return (db.rowCount ?? 0) > 0 && (role.rowCount ?? 0) > 0;
    });
    // Gone on the server: an empty id tells the engine, and the next up creates it again.
    return found ? { id, props } : { id: "", props: {} };
  },

  // Reached only without retainOnDelete (the platform always sets it): a deliberate decommission.
  async delete(_id, props: CoordinationDatabaseOutputs) {
    await withClient(adminConfig(props), async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(props.name)} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${quoteIdent(props.name)}`);
    });
  },
};
