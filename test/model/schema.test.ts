import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { parse } from "yaml";
import { tenantJsonSchema } from "../../model/tenant";

const TENANTS = join(__dirname, "..", "..", "tenants");

describe("tenant JSON Schema (for editors)", () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(tenantJsonSchema());

  it("accepts every example tenant", () => {
    for (const f of readdirSync(TENANTS).filter((n) => n.endsWith(".yaml"))) {
      const ok = validate(parse(readFileSync(join(TENANTS, f), "utf8")));
      assert.ok(ok, `${f}: ${ajv.errorsText(validate.errors)}`);
    }
  });

  it("rejects unknown keys and bad names, like the loader", () => {
    assert.equal(
      validate({
        apiVersion: "imaas.io/v1alpha1",
        kind: "Tenant",
        metadata: { name: "x" },
        spec: { owners: ["a"] },
      }),
      false,
    );
    assert.equal(
      validate({
        apiVersion: "imaas.io/v1alpha1",
        kind: "Tenant",
        metadata: { name: "ok" },
        spec: { owners: ["a"], extra: 1 },
      }),
      false,
    );
  });
});
