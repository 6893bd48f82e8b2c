/** `imaas rotate`: the request written to the stack file, and what the program and the provider make of it. */
import { strict as assert } from "node:assert";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../cli/main";
import { RotateError, requestRotation } from "../../cli/rotate";
import { rotationInputs } from "../../components/tenant-space/registry";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { rotationDue } from "../../providers/harbor/robot-account-provider";

const ROOT = join(__dirname, "..", "..");
const TENANTS = join(ROOT, "tenants");

describe("imaas rotate", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "imaas-rotate-"));
    copyFileSync(join(ROOT, "Pulumi.dev.yaml"), join(dir, "Pulumi.dev.yaml"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the tenant's request into the stack file, keeping its comments and other keys", () => {
    const before = readFileSync(join(dir, "Pulumi.dev.yaml"), "utf8");
    const at = new Date("2025-06-01T03:00:00.400Z");
    const result = requestRotation({
      tenant: "payroll",
      stack: "dev",
      tenantsDir: TENANTS,
      projectDir: dir,
      at,
    });
    assert.equal(result.instant, "2025-06-01T03:00:01Z", "rounded up to whole seconds");
    const after = readFileSync(join(dir, "Pulumi.dev.yaml"), "utf8");
    assert.ok(after.startsWith(before.split("\n")[0]), "the leading comment stays");
    assert.match(after, /rotateRobotsIssuedBefore:\n\s+payroll: 2025-06-01T03:00:01Z/);
    const config = platformConfigOf(readStackConfig(dir, "dev"));
    assert.equal(config.registry.keepArtifacts, 20, "other registry settings unchanged");
    assert.deepEqual(config.registry.rotateRobotsIssuedBefore, { payroll: "2025-06-01T03:00:01Z" });
    assert.match(result.next, /pulumi up --stack dev/);
    assert.match(result.next, /at least 2 minutes later to rotate the second pull robot/);

    // The program hands it to every robot of the tenant; the provider then rotates secrets issued earlier.
    const inputs = rotationInputs(config.registry, "payroll");
    assert.equal(inputs.rotateIfIssuedBefore, "2025-06-01T03:00:01Z");
    const issued = Date.parse("2025-05-20T00:00:00Z") / 1000;
    const now = Date.parse("2025-06-01T04:00:00Z") / 1000;
    assert.ok(rotationDue(issued, inputs, now));
    assert.equal(rotationDue(now - 60, inputs, now), undefined, "a secret issued after the request stays");
    assert.deepEqual(
      rotationInputs(config.registry, "logistics"),
      { rotationDays: 90 },
      "other tenants untouched",
    );

    // A second request replaces the first.
    requestRotation({
      tenant: "payroll",
      stack: "dev",
      tenantsDir: TENANTS,
      projectDir: dir,
      at: new Date("2025-06-02T00:00:00Z"),
    });
    assert.deepEqual(platformConfigOf(readStackConfig(dir, "dev")).registry.rotateRobotsIssuedBefore, {
      payroll: "2025-06-02T00:00:00Z",
    });
  });

  it("refuses an unknown tenant, a future instant, a stack without registry, and a tenant stack — each saying what to do", () => {
    const file = join(dir, "Pulumi.dev.yaml");
    const original = readFileSync(file, "utf8");
    const run = (tenant: string, at?: Date) =>
      requestRotation({ tenant, stack: "dev", tenantsDir: TENANTS, projectDir: dir, ...(at ? { at } : {}) });
    assert.throws(
      () => run("nobody"),
      (e: Error) => e instanceof RotateError && /no tenant "nobody" in .*tenants: .*payroll/.test(e.message),
    );
    assert.throws(() => run("payroll", new Date(Date.now() + 3_600_000)), /is in the future/);
    assert.equal(readFileSync(file, "utf8"), original, "nothing written on refusal");

    writeFileSync(file, original.replace("  imaas:registry:\n", "  imaas:registry:\n    enabled: false\n"));
    assert.throws(() => run("payroll"), /manages no registry \(imaas:registry\.enabled is false\)/);
    writeFileSync(
      file,
      `${original}  imaas:stack:\n    mode: tenant\n    tenant: payroll\n    platformStack: dev\n`,
    );
    assert.throws(() => run("payroll"), /is a tenant stack.*run imaas rotate with --stack dev/);
  });

  it("in a platform laid out per tenant, says to run imaas deploy for that tenant", () => {
    const file = join(dir, "Pulumi.dev.yaml");
    writeFileSync(file, `${readFileSync(file, "utf8")}  imaas:stack:\n    mode: platform\n`);
    const result = requestRotation({ tenant: "payroll", stack: "dev", tenantsDir: TENANTS, projectDir: dir });
    assert.match(result.next, /imaas deploy --stack dev --only payroll/);
  });

  it("from the command line: exit 1 for an unknown tenant (nothing written), exit 2 for a malformed --at", async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (s: string) => err.push(s) };
    assert.equal(await main(["rotate", "nobody", "--dir", TENANTS], io), 1);
    assert.match(err.join(""), /no tenant "nobody"/);
    assert.equal(await main(["rotate", "payroll", "--at", "yesterday"], io), 2);
    assert.match(err.join(""), /use an ISO 8601 instant with a zone/);
  });
});
