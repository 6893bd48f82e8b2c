/**
 * `imaas:mi.icp` (issue 18 item 5): the Integration Control Plane switch, validated by the platform config
 * loader with one precise line per problem.
 */
import { strict as assert } from "node:assert";
import { formatError, loadTenantSources } from "../../model/load";
import { icpSettings, PLATFORM_SECRETS, parsePlatformConfig } from "../../model/platform-config";
import { testConfig } from "../support/mocks";

const base = { clusters: [{ name: "main", environments: ["dev", "test", "prod"] }], domain: "x.example.com" };
const IMAGE = "registry.example.com/wso2/integration-control-plane:1.1.0";
const HOME = "/home/wso2carbon/wso2-integration-control-plane-1.1.0";

function problems(icp: unknown, extra: Record<string, unknown> = {}): string {
  try {
    parsePlatformConfig({ ...base, ...extra, mi: { icp } }, "Pulumi.t.yaml");
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail("the config should have been refused");
}

describe("platform config: imaas:mi.icp", () => {
  it("is off by default, and off resolves to no settings", () => {
    const cfg = parsePlatformConfig(base);
    assert.equal(cfg.mi.icp, undefined);
    assert.equal(icpSettings(cfg), undefined);
    const off = parsePlatformConfig({ ...base, mi: { icp: { enabled: false } } });
    assert.equal(icpSettings(off), undefined);
  });

  it("resolves an enabled ICP with the tooling namespace, one replica and a pool of 15", () => {
    const cfg = parsePlatformConfig({ ...base, mi: { icp: { enabled: true, image: IMAGE, home: HOME } } });
    assert.deepEqual(icpSettings(cfg), {
      image: IMAGE,
      home: HOME,
      namespace: "observability",
      replicas: 1,
      heartbeatPoolSize: 15,
    });
    const own = parsePlatformConfig({
      ...base,
      observability: { enabled: false },
      mi: {
        icp: {
          enabled: true,
          image: `${IMAGE.split(":")[0]}@sha256:${"a".repeat(64)}`,
          home: HOME,
          namespace: "imaas-icp",
          replicas: 0,
        },
      },
    });
    assert.equal(icpSettings(own)?.namespace, "imaas-icp");
    assert.equal(icpSettings(own)?.replicas, 0);
  });

  it("requires an image and a home when enabled, and says why", () => {
    const msg = problems({ enabled: true });
    assert.match(
      msg,
      /Pulumi\.t\.yaml: imaas:mi\.icp\.image: ICP is enabled: name its image \(the platform cannot confirm a published ICP 1\.x image/,
    );
    assert.match(msg, /imaas:mi\.icp\.home: ICP is enabled: name the directory its image unpacks ICP into/);
  });

  it("refuses latest, a missing tag, a relative home, two replicas and unknown keys", () => {
    assert.match(
      problems({ enabled: true, image: "registry.example.com/wso2/icp:latest", home: HOME }),
      /imaas:mi\.icp\.image: pin a fixed tag or digest, not latest/,
    );
    assert.match(
      problems({ enabled: true, image: "registry.example.com/wso2/icp", home: HOME }),
      /imaas:mi\.icp\.image: an image reference with a fixed tag or digest/,
    );
    assert.match(
      problems({ enabled: true, image: IMAGE, home: "icp/" }),
      /imaas:mi\.icp\.home: an absolute directory path/,
    );
    assert.match(
      problems({ enabled: true, image: IMAGE, home: HOME, replicas: 2 }),
      /imaas:mi\.icp\.replicas: ICP 1\.x keeps the registered runtimes in memory \(InMemoryDataManager\)/,
    );
    assert.match(
      problems({ enabled: true, image: IMAGE, home: HOME, tenants: ["a"] }),
      /imaas:mi\.icp: Unrecognized key: "tenants"/,
    );
  });

  it("needs its own namespace when the tooling namespace is not created", () => {
    assert.match(
      problems({ enabled: true, image: IMAGE, home: HOME }, { observability: { enabled: false } }),
      /imaas:mi\.icp\.namespace: ICP runs in the tooling namespace imaas:observability\.namespace by default, which is not created/,
    );
  });

  it("lists the shared runtime password among the platform secrets", () => {
    assert.match(PLATFORM_SECRETS.icpRuntimePassword, /ICP 1\.x logs in to every MI runtime/);
  });

  it("each service's ICP Secret counts against the tenant's Secret quota", () => {
    const text =
      "apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: payroll\nspec:\n  owners: [ana]\n  services:\n" +
      "    - name: api\n      environments: [dev]\n    - name: sync\n      environments: [dev]\n";
    const defaults = {
      cpu: "4",
      memory: "8Gi",
      pods: 20,
      storage: "20Gi",
      persistentVolumeClaims: 5,
      services: 10,
      configMaps: 50,
      secrets: 5,
    };
    const errors = (mi: Record<string, unknown>) =>
      loadTenantSources([{ file: "payroll.yaml", text }], testConfig({ quota: { defaults }, mi }), {
        stack: "dev",
      })
        .errors.map(formatError)
        .join("\n");
    // 1 namespace Secret + 2 per MI service = 5: fits without ICP …
    assert.equal(errors({}), "");
    assert.equal(errors({ icp: { enabled: false } }), "");
    // … and an ICP Secret per service makes 7.
    assert.match(
      errors({ icp: { enabled: true, image: IMAGE, home: HOME } }),
      /in dev the services need up to 7 Secrets .*the dev quota's secrets is 5/,
    );
  });
});
