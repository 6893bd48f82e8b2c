/**
 * Every platform config key and secret the config reference (docs/config.md, moved out of the README)
 * documents can be set, and a stack with all of them set
 * plans. Before, setting three documented secrets (`vaultToken`, `argocdRepoToken`,
 * `argocdOidcClientSecret`) made the program refuse its own config ("Unrecognized key"): the list of secret
 * keys lived in two places. Now PLATFORM_SECRETS is the one list; these tests keep the reference, the
 * schema and that list in step.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { planProgram } from "../../cli/plan-engine";
import * as pulumi from "@pulumi/pulumi";
import {
  PLATFORM_SECRETS,
  platformConfigFromEntries,
  platformConfigSchema,
  readPlatformConfig,
} from "../../model/platform-config";
import { readStackConfig, SECRET_CONFIG_PLACEHOLDER } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");
const REFERENCE = "docs/config.md";
const reference = readFileSync(join(ROOT, REFERENCE), "utf8");

/** Top-level keys named in the first column of the reference's config table (`registry.host`, `.enabled` …). */
function documentedTopLevelKeys(): Set<string> {
  const keys = new Set<string>();
  for (const line of reference.split("\n")) {
    const first = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (!first || first === "key" || first.startsWith("---")) continue;
    for (const m of first.matchAll(/`([a-zA-Z][\w.<>{}, *]*)`/g)) keys.add(m[1].split(".")[0]);
  }
  return keys;
}

describe("platform config: documented keys and secrets", () => {
  const schemaKeys = Object.keys(platformConfigSchema.shape).sort();

  it("the config reference is the whole of docs/config.md, linked from the README", () => {
    assert.match(reference, /^# Platform config reference\n/);
    assert.equal(reference.match(/^# /gm)?.length, 1, `${REFERENCE} holds one document`);
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    assert.ok(readme.includes(`](${REFERENCE})`), `README.md does not link ${REFERENCE}`);
  });

  it("the config reference names every top-level key of the schema, and nothing else", () => {
    assert.deepEqual([...documentedTopLevelKeys()].sort(), schemaKeys);
  });

  it("the config reference names every secret of PLATFORM_SECRETS", () => {
    for (const key of Object.keys(PLATFORM_SECRETS)) {
      assert.match(reference, new RegExp(`\`${key}\``), `${REFERENCE} does not document the secret ${key}`);
    }
  });

  it("every secret can be set without the config parser refusing it", () => {
    const base = readStackConfig(ROOT, "dev").values;
    const secrets = Object.fromEntries(Object.keys(PLATFORM_SECRETS).map((k) => [`imaas:${k}`, "x"]));
    assert.doesNotThrow(() => platformConfigFromEntries({ ...base, ...secrets }, "test"));
  });

  it("a stack with every key set (secrets as secure values) plans", async function () {
    this.timeout(120_000);
    const dev = readStackConfig(ROOT, "dev");
    // Every top-level key, from the dev stack's values filled with every default, plus the optional ones.
    const full = platformConfigFromEntries(dev.values, "Pulumi.dev.yaml") as Record<string, unknown>;
    const set: Record<string, unknown> = {
      ...full,
      jenkins: { url: "https://jenkins.imaas.test", namespace: "jenkins" },
      argocd: {
        ...(full.argocd as object),
        oidc: { issuer: "https://sso.imaas.test", clientId: "argocd", groupsClaim: "groups" },
        prodSyncWindow: { schedule: "0 6 * * 1-5", duration: "10h" },
      },
      rings: [
        { name: "canary", tenants: ["payroll"], platformRevision: "v2.0.0", miVersion: "4.4.0" },
        { name: "broad", tenants: "*" },
      ],
    };
    for (const key of schemaKeys) assert.ok(key in set, `the test does not set ${key}`);
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(set))
      config[`imaas:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    for (const k of Object.keys(PLATFORM_SECRETS)) config[`imaas:${k}`] = SECRET_CONFIG_PLACEHOLDER;
    const { resources } = await planProgram({
      stack: "dev",
      config,
      secretKeys: Object.keys(PLATFORM_SECRETS).map((k) => `imaas:${k}`),
      tenantsDir: join(ROOT, "tenants"),
    });
    assert.ok(
      resources.some((r) => r.type === "imaas:index:TenantSpace"),
      "the plan built no tenants",
    );
  });

  it("invalid config at pulumi up is a RunError naming each key and the command, not a stack trace", async () => {
    await pulumi.runtime.setMocks(
      { newResource: (a) => ({ id: a.name, state: a.inputs }), call: () => ({}) },
      "imaas",
      "broken",
    );
    const before = pulumi.runtime.allConfig();
    const dev = readStackConfig(ROOT, "dev").values;
    pulumi.runtime.setAllConfig({
      ...dev,
      "imaas:domain": "Not A Domain",
      "imaas:quota": '{"defaults":{"cpu":".5"}}',
    });
    try {
      assert.throws(
        () => readPlatformConfig(),
        (err: Error & { __pulumiRunError?: boolean }) => {
          assert.equal(err.__pulumiRunError, true, "a RunError: Pulumi prints it without a stack trace");
          assert.match(err.message, /Pulumi\.broken\.yaml: imaas:domain: not a DNS name/);
          assert.match(err.message, /imaas:quota\.defaults\.cpu: "\.5" is not a CPU amount/);
          assert.match(err.message, /pulumi config set --path 'imaas:<key>' <value>/);
          return true;
        },
      );
    } finally {
      pulumi.runtime.setAllConfig(before);
    }
  });
});
