import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { withTenantFile } from "../../../components/shared/tenant-errors";

describe("an error that escapes while building a tenant", () => {
  const tenant = { file: "tenants/payroll.yaml", name: "payroll" };

  it("becomes one RunError line naming the tenant file", () => {
    assert.throws(
      () =>
        withTenantFile(tenant, () => {
          throw new TypeError("Cannot read properties of undefined (reading 'cpu')\n    at build (x.ts:1:1)");
        }),
      (err: Error & { __pulumiRunError?: boolean }) => {
        assert.equal(err.__pulumiRunError, true);
        assert.equal(
          err.message,
          `tenants/payroll.yaml: tenant "payroll": Cannot read properties of undefined (reading 'cpu');     at build (x.ts:1:1) (the tenant file passed validation: this is a platform bug, please report it with the file)`,
        );
        return true;
      },
    );
  });

  it("passes RunErrors and ResourceErrors through, and results unchanged", () => {
    const run = new pulumi.RunError("already one line");
    assert.throws(
      () =>
        withTenantFile(tenant, () => {
          throw run;
        }),
      (e) => e === run,
    );
    assert.equal(
      withTenantFile(tenant, () => 42),
      42,
    );
  });
});
