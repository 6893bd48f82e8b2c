/**
 * Tenant-file discovery on a real file system: every YAML-looking entry is read or refused in one line
 * naming its path; nothing is skipped silently, nothing hangs, nothing outside the folder is read.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatError, loadTenantDir } from "../../model/load";
import { testConfig } from "../support/mocks";

const cfg = testConfig();
const tenant = (name: string) =>
  `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  owners: [ana]\n`;

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "imaas-discover-"));
  writeFileSync(join(dir, "payroll.yaml"), tenant("payroll"));
  return dir;
}

function load(dir: string) {
  const r = loadTenantDir(dir, cfg);
  return { names: r.tenants.map((t) => t.name), errors: r.errors.map(formatError) };
}

describe("tenant file discovery", () => {
  it("reads .yaml and .yml in any letter case", () => {
    const dir = folder();
    writeFileSync(join(dir, "hr.YML"), tenant("hr"));
    writeFileSync(join(dir, "README.md"), "# not a tenant");
    assert.deepEqual(load(dir), { names: ["hr", "payroll"], errors: [] });
  });

  it("the same tenant in x.yaml and x.yml is one error naming both", () => {
    const dir = folder();
    writeFileSync(join(dir, "payroll.yml"), tenant("payroll"));
    const { errors } = load(dir);
    assert.deepEqual(errors, [
      `${join(dir, "payroll.yml")}:1:1: is the same tenant as ${join(dir, "payroll.yaml")}; keep one of the two files`,
    ]);
  });

  it("a tenant file in a subfolder is an error, not a silent skip", () => {
    const dir = folder();
    mkdirSync(join(dir, "team"));
    writeFileSync(join(dir, "team", "hr.yaml"), tenant("hr"));
    assert.match(
      load(dir).errors.join("\n"),
      /team\/hr\.yaml:1:1: tenant files live directly in .*; move it there/,
    );
  });

  it("a folder named *.yaml is an error", () => {
    const dir = folder();
    mkdirSync(join(dir, "odd.yaml"));
    assert.match(load(dir).errors.join("\n"), /odd\.yaml:1:1: is a folder, not a tenant file/);
  });

  it("a FIFO named *.yaml is refused without being opened (no hang)", () => {
    const dir = folder();
    execFileSync("mkfifo", [join(dir, "pipe.yaml")]);
    assert.match(load(dir).errors.join("\n"), /pipe\.yaml:1:1: is not a regular file/);
  });

  it("a dangling link is an error", () => {
    const dir = folder();
    symlinkSync(join(dir, "nowhere.yaml"), join(dir, "gone.yaml"));
    assert.match(load(dir).errors.join("\n"), /gone\.yaml:1:1: is a link to nothing/);
  });

  it("a link inside the folder is followed; one leading outside is refused and its target never read", () => {
    const dir = folder();
    symlinkSync(join(dir, "payroll.yaml"), join(dir, "alias.yaml"));
    const outside = mkdtempSync(join(tmpdir(), "imaas-outside-"));
    writeFileSync(join(outside, "secret.yaml"), "password: hunter22\n");
    symlinkSync(join(outside, "secret.yaml"), join(dir, "evil.yaml"));
    const { errors } = load(dir);
    assert.match(errors.join("\n"), /evil\.yaml:1:1: is a link to a file outside the tenants folder/);
    assert.match(
      errors.join("\n"),
      /alias\.yaml:\d+:\d+: metadata\.name: "payroll" must equal the file's base name "alias"/,
    );
    assert.ok(!errors.join("\n").includes("hunter22"));
  });

  it("a missing folder or a file given as the folder is one line", () => {
    assert.deepEqual(load("/nonexistent-imaas").errors, [
      "/nonexistent-imaas:1:1: cannot read tenants: no such folder",
    ]);
    const dir = folder();
    assert.deepEqual(load(join(dir, "payroll.yaml")).errors, [
      `${join(dir, "payroll.yaml")}:1:1: cannot read tenants: not a folder`,
    ]);
  });
});
