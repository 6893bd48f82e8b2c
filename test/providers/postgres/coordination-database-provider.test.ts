/**
 * The CoordinationDatabase provider's plain parts: the SQL it sends, input checks and the diff. What the SQL
 * does on a real server (the role alone may connect, MI's tables owned by the role, retention) is proven by
 * e2e/coordination/coordination.test.ts against Debian's PostgreSQL.
 */
import { strict as assert } from "node:assert";
import {
  checkInputs,
  coordinationDatabaseProvider,
  databaseGrants,
  generatePassword,
  jdbcUrl,
  quoteIdent,
  quoteLiteral,
  roleStatements,
  schemaGrants,
} from "../../../providers/postgres/coordination-database-provider";
import {
  MI_COORDINATION_SCHEMA,
  MI_COORDINATION_SCHEMA_VERSION,
  MI_COORDINATION_TABLES,
} from "../../../providers/postgres/mi-coordination-schema";

const inputs = {
  host: "pg.platform.internal",
  port: 5432,
  adminUser: "imaas_admin",
  adminPassword: "s3cret",
  adminDatabase: "postgres",
  ssl: "require" as const,
  name: "imaas_acme_dev",
  schemaVersion: MI_COORDINATION_SCHEMA_VERSION,
};

describe("CoordinationDatabase provider: SQL and checks", () => {
  it("the role may log in and nothing more; an existing (retained) role gets the new password", () => {
    assert.deepEqual(roleStatements("imaas_acme_dev", "pw'x", false), [
      `CREATE ROLE "imaas_acme_dev" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD 'pw''x'`,
    ]);
    assert.match(roleStatements("imaas_acme_dev", "pw", true)[0], /^ALTER ROLE "imaas_acme_dev" WITH LOGIN /);
  });

  it("CONNECT for the database's own role only, PUBLIC's default rights revoked, in the database and its public schema", () => {
    assert.deepEqual(databaseGrants("imaas_acme_dev"), [
      `REVOKE ALL ON DATABASE "imaas_acme_dev" FROM PUBLIC`,
      `GRANT CONNECT, TEMPORARY ON DATABASE "imaas_acme_dev" TO "imaas_acme_dev"`,
    ]);
    assert.deepEqual(schemaGrants("imaas_acme_dev"), [
      "REVOKE ALL ON SCHEMA public FROM PUBLIC",
      `GRANT USAGE, CREATE ON SCHEMA public TO "imaas_acme_dev"`,
    ]);
  });

  it("refuses identifiers that would need quoting for more than case, and NUL in literals", () => {
    for (const bad of ["Acme", "a-b", 'x"; DROP DATABASE y; --', "", "a".repeat(64)]) {
      assert.throws(() => quoteIdent(bad), /not a plain PostgreSQL identifier/, bad);
    }
    assert.throws(() => quoteLiteral("a\0b"), /NUL/);
  });

  it("MI's schema: the five tables of postgresql_cluster.sql, each created only if missing", () => {
    assert.equal(MI_COORDINATION_SCHEMA.length, 5);
    MI_COORDINATION_SCHEMA.forEach((sql, i) => {
      assert.match(
        sql,
        new RegExp(`^CREATE TABLE IF NOT EXISTS ${MI_COORDINATION_TABLES[i].toUpperCase()} \\(`),
      );
    });
  });

  it("JDBC URL with sslmode, IPv6 in brackets; passwords are 32 random URL-safe characters", () => {
    assert.equal(
      jdbcUrl(inputs),
      "jdbc:postgresql://pg.platform.internal:5432/imaas_acme_dev?sslmode=require",
    );
    assert.equal(
      jdbcUrl({ ...inputs, host: "fd00::5", ssl: "disable" }),
      "jdbc:postgresql://[fd00::5]:5432/imaas_acme_dev?sslmode=disable",
    );
    const a = generatePassword();
    assert.match(a, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(a, generatePassword());
  });

  it("check: every bad input named at once; defaults for port, database and ssl", () => {
    const { failures } = checkInputs({
      host: "",
      port: 0,
      adminUser: "Admin",
      adminPassword: "",
      adminDatabase: "Post-gres",
      ssl: "prefer",
      name: "imaas-acme",
    });
    assert.deepEqual(failures.map((f) => f.property).sort(), [
      "adminDatabase",
      "adminPassword",
      "adminUser",
      "host",
      "name",
      "port",
      "ssl",
    ]);
    const ok = checkInputs({
      host: "h",
      adminUser: "imaas_admin",
      adminPassword: "p",
      name: "imaas_acme_dev",
    });
    assert.deepEqual(ok.failures, []);
    assert.deepEqual(
      [ok.inputs.port, ok.inputs.adminDatabase, ok.inputs.ssl, ok.inputs.schemaVersion],
      [5432, "postgres", "require", MI_COORDINATION_SCHEMA_VERSION],
    );
  });

  it("diff: a new server or name replaces, new admin credentials or schema update, nothing else changes", async () => {
    const olds = { ...inputs, username: inputs.name, password: "generated", jdbcUrl: jdbcUrl(inputs) };
    const diff = (news: Partial<typeof inputs>) =>
      coordinationDatabaseProvider.diff!("id", olds, { ...inputs, ...news });
    assert.deepEqual(await diff({}), { changes: false, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual((await diff({ host: "other" })).replaces, ["host"]);
    assert.deepEqual((await diff({ name: "imaas_acme_test" })).replaces, ["name"]);
    const pw = await diff({ adminPassword: "rotated" });
    assert.equal(pw.changes, true);
    assert.deepEqual(pw.replaces, []);
    assert.equal((await diff({ schemaVersion: "next" })).changes, true);
  });
});
