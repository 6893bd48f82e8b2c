/**
 * The last guard of the tenant contract: an error that escapes while the program builds one tenant (a rule
 * the loader should have caught) becomes one line naming the tenant file — a Pulumi RunError, which the
 * CLI and `pulumi up` print without a stack trace — instead of a trace with no file in it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { TenantSpec } from "../../model/spec";

/** Runs `build` for one tenant, turning an escaping error into one line naming its file. */
export function withTenantFile<T>(tenant: Pick<TenantSpec, "file" | "name">, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof pulumi.RunError || err instanceof pulumi.ResourceError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new pulumi.RunError(
      `${tenant.file}: tenant "${tenant.name}": ${message.split("\n").join("; ")} (the tenant file passed validation: this is a platform bug, please report it with the file)`,
    );
  }
}
