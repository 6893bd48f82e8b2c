import { strict as assert } from "node:assert";
import { join } from "node:path";
import { clusterFor, parsePlatformConfig, platformConfigFromEntries } from "../../model/platform-config";
import { platformConfigOf, readStackConfig, SECRET_CONFIG_PLACEHOLDER } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");

describe("platform config", () => {
  it("fills documented defaults", () => {
    const cfg = parsePlatformConfig({
      clusters: [{ name: "main", environments: ["dev", "test", "prod"] }],
      domain: "x.example.com",
    });
    assert.equal(cfg.mi.defaultVersion, "4.4.0");
    assert.equal(cfg.ci, "github-actions");
    assert.equal(cfg.quota.defaults.cpu, "4");
    assert.equal(cfg.argocd.namespace, "argocd");
    assert.equal(cfg.charts.loki.chart, "loki");
  });

  it("lists every problem with its key", () => {
    assert.throws(
      () =>
        parsePlatformConfig({ clusters: [], domain: "Not A Domain", ci: "travis", typo: 1 }, "Pulumi.x.yaml"),
      (err: Error) => {
        assert.match(err.message, /Pulumi\.x\.yaml: imaas:clusters: configure at least one cluster/);
        assert.match(err.message, /imaas:domain: not a DNS name/);
        assert.match(err.message, /imaas:ci: /);
        assert.match(err.message, /Unrecognized key: "typo"/);
        return true;
      },
    );
  });

  it("refuses an environment on two clusters", () => {
    assert.throws(
      () =>
        parsePlatformConfig({
          clusters: [
            { name: "a", environments: ["dev", "prod"] },
            { name: "b", environments: ["prod"] },
          ],
          domain: "x.example.com",
        }),
      /environment "prod" is mapped to more than one cluster \(a, b\)/,
    );
  });

  it("reads JSON-encoded entries the way Pulumi passes them and skips secret keys", () => {
    const cfg = platformConfigFromEntries(
      {
        "imaas:clusters": JSON.stringify([{ name: "m", environments: ["dev"] }]),
        "imaas:domain": "x.example.com",
        "imaas:harborPassword": "s3cret",
        "github:token": "t",
      },
      "test",
    );
    assert.deepEqual(clusterFor(cfg, "dev")?.name, "m");
    assert.equal(clusterFor(cfg, "prod"), undefined);
  });

  for (const stack of ["dev", "prod"]) {
    it(`Pulumi.${stack}.yaml is valid and maps every environment to a cluster`, () => {
      const cfg = platformConfigOf(readStackConfig(ROOT, stack));
      for (const env of ["dev", "test", "prod"] as const) assert.ok(clusterFor(cfg, env), `${stack}: ${env}`);
    });
  }

  it("prod puts tenant prod on a production cluster apart from dev and test", () => {
    const cfg = platformConfigOf(readStackConfig(ROOT, "prod"));
    const prod = clusterFor(cfg, "prod");
    assert.equal(prod?.production, true);
    assert.notEqual(prod?.name, clusterFor(cfg, "dev")?.name);
    assert.equal(clusterFor(cfg, "dev")?.name, clusterFor(cfg, "test")?.name);
  });

  it("shows secure values only as placeholders", () => {
    const stack = readStackConfig(ROOT, "dev");
    for (const key of stack.secretKeys) assert.equal(stack.values[key], SECRET_CONFIG_PLACEHOLDER);
  });
});
