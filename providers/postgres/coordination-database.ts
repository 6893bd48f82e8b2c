import * as pulumi from "@pulumi/pulumi";
import { coordinationDatabaseProvider } from "./coordination-database-provider";

/** Arguments of a {@link CoordinationDatabase}. */
export interface CoordinationDatabaseArgs {
  /** PostgreSQL server host (name or IP). Changing it replaces the database (a new one on the new server). */
  readonly host: pulumi.Input<string>;
  /** Server port. @default 5432 */
  readonly port?: pulumi.Input<number>;
  /** Role the provider acts as: needs CREATEDB and CREATEROLE. */
  readonly adminUser: pulumi.Input<string>;
  /** Its password; stored as a Pulumi secret, never in errors. Changing it updates state only. */
  readonly adminPassword: pulumi.Input<string>;
  /** Database the admin connects to. @default "postgres" */
  readonly adminDatabase?: pulumi.Input<string>;
  /** TLS to the server: `require` or `disable`. @default "require" */
  readonly ssl?: pulumi.Input<"require" | "disable">;
  /** Name of the database and of its login role (lowercase, digits, `_`). Changing it replaces both. */
  readonly name: pulumi.Input<string>;
}

/**
 * A PostgreSQL database for MI's cluster coordination (`WSO2_COORDINATION_DB`) with its own login role: the
 * role alone may connect (CONNECT revoked from PUBLIC), owns MI's coordination tables, and has a generated
 * password. Managed over the PostgreSQL protocol with `pg` (see docs/coordination-db.md for why not
 * @pulumi/postgresql).
 */
export class CoordinationDatabase extends pulumi.dynamic.Resource {
  /** Database (and role) name. */
  declare public readonly name: pulumi.Output<string>;
  /** Login role of the database. */
  declare public readonly username: pulumi.Output<string>;
  /** Its generated password (secret), kept across updates. */
  declare public readonly password: pulumi.Output<string>;
  /** MI's datasource URL, `jdbc:postgresql://<host>:<port>/<name>?sslmode=<ssl>`. */
  declare public readonly jdbcUrl: pulumi.Output<string>;
  /** Version of MI's coordination schema applied. */
  declare public readonly schemaVersion: pulumi.Output<string>;

  constructor(name: string, args: CoordinationDatabaseArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      coordinationDatabaseProvider,
      name,
      {
        ...args,
        adminPassword: pulumi.secret(args.adminPassword),
        username: undefined,
        password: undefined,
        jdbcUrl: undefined,
        schemaVersion: undefined,
      },
      {
        ...opts,
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "adminPassword", "password"],
      },
    );
  }
}
