/**
 * The MI base image has no default credentials either (issue 18 item 3, for a local `docker run`): its
 * deployment.toml carries the chart's security sections — keystore, truststore and management user from the
 * environment, no `[user_store]` — and images/mi-base/local-keystore.sh makes what a local run then needs, with
 * the real keytool of this machine's JDK. The image itself cannot be built or run here (no Docker engine, WSO2's
 * image is on no reachable registry).
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tomlKeyPaths } from "../../e2e/chart/toml-keys";

const ROOT = join(__dirname, "..", "..");
const BASE_TOML = readFileSync(join(ROOT, "images/mi-base/deployment.toml"), "utf8");
const CHART_TOML = readFileSync(join(ROOT, "charts/wso2-mi/files/deployment.toml"), "utf8");
const SCRIPT = join(ROOT, "images/mi-base/local-keystore.sh");

/** `key = value` lines of one table (up to the next header), comments dropped. */
function table(text: string, header: string): string[] {
  const lines = text.split("\n");
  const start = lines.indexOf(header);
  assert.ok(start >= 0, `${header} missing`);
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\[/.test(line) || line.startsWith("{{")) break;
    if (line.trim() !== "" && !line.startsWith("#")) out.push(line);
  }
  return out;
}

/** The chart's template lines with its two path helpers and the alias value as the chart renders them. */
const chartRendered = CHART_TOML.replace(
  /\{\{ include "wso2-mi\.keystoreDir" \. \}\}/g,
  "repository/resources/security/imaas",
)
  .replace(
    /\{\{ include "wso2-mi\.truststoreFile" \. \}\}/g,
    "repository/resources/security/imaas-truststore.jks",
  )
  .replace(/\{\{ \.Values\.security\.keystoreAlias \| quote \}\}/g, '"mi"');

describe("MI base image: no default credentials in its deployment.toml", () => {
  it("names no WSO2 default keystore, password, admin user or LDAP store", () => {
    const text = BASE_TOML.replace(/\b(is_admin|super_admin)\b/g, "<key>");
    assert.doesNotMatch(text, /wso2carbon|read_only_ldap|client-truststore|symmetric\.key/);
    assert.doesNotMatch(text, /\badmin\b/);
    assert.ok(!tomlKeyPaths(BASE_TOML).some((k) => k.startsWith("user_store")));
  });

  it("carries exactly the chart's keystore, truststore and management user sections", () => {
    for (const header of [
      "[keystore.primary]",
      "[truststore]",
      "[internal_apis.file_user_store]",
      "[[internal_apis.users]]",
      "[super_admin]",
    ]) {
      assert.deepEqual(table(BASE_TOML, header), table(chartRendered, header), header);
    }
    const envs = [...BASE_TOML.matchAll(/\$env\{([A-Z_]+)\}/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(envs)].sort(), [
      "IMAAS_MI_KEYSTORE_PASSWORD",
      "IMAAS_MI_MANAGEMENT_PASSWORD",
      "IMAAS_MI_MANAGEMENT_USERNAME",
      "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]);
  });
});

describe("images/mi-base/local-keystore.sh (real keytool)", function () {
  this.timeout(120_000);
  let dir = "";
  let out = "";
  before(() => {
    dir = join(mkdtempSync(join(tmpdir(), "imaas-mi-local-")), "creds");
    out = execFileSync("sh", [SCRIPT, dir, "4.4.0"], { encoding: "utf8" });
  });
  after(() => {
    if (dir) rmSync(join(dir, ".."), { recursive: true, force: true });
  });
  const env = () =>
    Object.fromEntries(
      readFileSync(join(dir, "mi-local.env"), "utf8")
        .trim()
        .split("\n")
        .map((l) => l.split("=", 2) as [string, string]),
    );
  const keytool = (...args: string[]) =>
    execFileSync("keytool", [...args, "-storepass", env().IMAAS_MI_KEYSTORE_PASSWORD], { encoding: "utf8" });

  it("writes fresh random passwords and a management user that is not admin, readable only by its owner", () => {
    const e = env();
    assert.deepEqual(Object.keys(e).sort(), [
      "IMAAS_MI_KEYSTORE_PASSWORD",
      "IMAAS_MI_MANAGEMENT_PASSWORD",
      "IMAAS_MI_MANAGEMENT_USERNAME",
    ]);
    assert.match(e.IMAAS_MI_KEYSTORE_PASSWORD, /^[A-Za-z0-9]{32}$/);
    assert.match(e.IMAAS_MI_MANAGEMENT_PASSWORD, /^[A-Za-z0-9]{32}$/);
    assert.notEqual(e.IMAAS_MI_KEYSTORE_PASSWORD, e.IMAAS_MI_MANAGEMENT_PASSWORD);
    assert.equal(e.IMAAS_MI_MANAGEMENT_USERNAME, "imaas-ops");
    assert.equal(statSync(join(dir, "mi-local.env")).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  it("makes a JKS keystore with the key pair under alias mi, and a truststore of the JDK's CAs plus its certificate", () => {
    const ks = keytool("-list", "-keystore", join(dir, "keystore.jks"));
    assert.match(ks, /Keystore type: JKS/);
    assert.match(ks, /^mi, .*PrivateKeyEntry/m);
    const ts = keytool("-list", "-keystore", join(dir, "imaas-truststore.jks"));
    assert.match(ts, /^imaas-local, .*trustedCertEntry/m);
    assert.ok((ts.match(/trustedCertEntry/g) ?? []).length > 50, "the JDK's public CAs too");
    assert.throws(() =>
      execFileSync("keytool", ["-list", "-keystore", join(dir, "keystore.jks"), "-storepass", "wso2carbon"], {
        stdio: "pipe",
      }),
    );
  });

  it("prints the docker run options that mount both stores where deployment.toml names them", () => {
    const home = "/home/wso2carbon/wso2mi-4.4.0";
    assert.equal(
      out.trim(),
      `--env-file ${dir}/mi-local.env -v ${dir}/keystore.jks:${home}/repository/resources/security/imaas/keystore.jks:ro -v ${dir}/imaas-truststore.jks:${home}/repository/resources/security/imaas-truststore.jks:ro`,
    );
  });

  it("refuses to overwrite an existing keystore", () => {
    assert.throws(
      () => execFileSync("sh", [SCRIPT, dir], { encoding: "utf8", stdio: "pipe" }),
      (e: { stderr?: string }) => /keystore\.jks exists; use a new directory/.test(String(e.stderr)),
    );
  });
});
