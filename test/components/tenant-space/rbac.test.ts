/**
 * The tenant Roles as data: what no tenant person may ever hold, whatever the environment. The same
 * rules are proven against a real API server by `npm run test:security` (IMAAS-SA-TOKENS, MTB-PL2-CC-TI-1).
 */
import { strict as assert } from "node:assert";
import { FORBIDDEN_VERBS, tenantRoles } from "../../../components/tenant-space/rbac";
import { ENVIRONMENTS } from "../../../model/environments";

const WRITES = ["create", "update", "patch", "delete", "deletecollection", "*"];
const roles = ENVIRONMENTS.flatMap((env) =>
  tenantRoles("payroll", env, "imaas:").map((r) => ({ env, ...r })),
);
const grants = (resource: string, verbs: readonly string[]) =>
  roles.filter((r) =>
    r.rules.some(
      (rule) =>
        rule.apiGroups.includes("") &&
        (rule.resources.includes(resource) || rule.resources.includes("*")) &&
        rule.verbs.some((v) => verbs.includes(v)),
    ),
  );

describe("tenant RBAC: service accounts and their tokens", () => {
  it("covers every environment's Roles", () => {
    assert.deepEqual(
      roles.map((r) => `${r.env}/${r.name}`),
      [
        "dev/tenant-developer",
        "dev/tenant-owner",
        "test/tenant-developer",
        "test/tenant-owner",
        "prod/tenant-viewer",
      ],
    );
  });

  it("no Role may request a token (serviceaccounts/token) or write service accounts", () => {
    assert.deepEqual(
      grants("serviceaccounts/token", WRITES).map((r) => r.name),
      [],
    );
    assert.deepEqual(
      grants("serviceaccounts", WRITES).map((r) => r.name),
      [],
    );
  });

  it("no Role holds escalate, bind or impersonate", () => {
    for (const r of roles)
      for (const rule of r.rules)
        for (const v of rule.verbs) assert.ok(!FORBIDDEN_VERBS.includes(v), `${r.env}/${r.name}: ${v}`);
  });

  it("Secrets are written only in dev and test (where admission refuses the token type), never read in prod", () => {
    assert.deepEqual(
      grants("secrets", ["create"]).map((r) => `${r.env}/${r.name}`),
      ["dev/tenant-developer", "dev/tenant-owner", "test/tenant-developer", "test/tenant-owner"],
    );
    assert.deepEqual(
      grants("secrets", ["get", "list", "watch"]).filter((r) => r.env === "prod"),
      [],
    );
  });
});
