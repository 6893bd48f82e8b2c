/**
 * TenantSpace's coordination databases under recording mocks: one CoordinationDatabase, one Vault KV entry
 * and one ExternalSecret per tenant environment where a stateful service runs — and nothing for tenants
 * without one, or when the platform has no coordination server. The real PostgreSQL side is proven in
 * e2e/coordination/coordination.test.ts.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { tenantNetworkPolicies } from "../../../components/tenant-space/network";
import { loadTenantSources } from "../../../model/load";
import type { PlatformConfig } from "../../../model/platform-config";
import type { TenantSpec } from "../../../model/spec";
import { type Recorder, setupMocks, testConfig, testContext } from "../../support/mocks";

const SERVER = { host: "pg.platform.internal", port: 5433, networks: ["10.50.0.10/32"] };
const T = {
  db: "pulumi-nodejs:dynamic:Resource",
  kv: "vault:kv/secretV2:SecretV2",
  es: "kubernetes:external-secrets.io/v1:ExternalSecret",
};

function tenants(cfg: PlatformConfig): TenantSpec[] {
  const text = (name: string, services: string) =>
    `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n  owners: [ana]\n  services:\n${services}`;
  const { tenants: out, errors } = loadTenantSources(
    [
      {
        file: "pay-roll.yaml",
        text: text(
          "pay-roll",
          "    - name: poller\n      stateful: true\n      environments: [dev, prod]\n      replicas: { prod: 1 }\n    - name: api\n",
        ),
      },
      { file: "shop.yaml", text: text("shop", "    - name: api\n") },
    ],
    cfg,
    { stack: "dev" },
  );
  assert.deepEqual(errors, []);
  return out;
}

describe("TenantSpace: coordination databases", () => {
  let r: Recorder;
  let missingVault: Error | undefined;

  before(async () => {
    r = await setupMocks();
    const { TenantSpace } =
      require("../../../components/tenant-space") as typeof import("../../../components/tenant-space");
    const vault = require("@pulumi/vault") as typeof import("@pulumi/vault");
    const cfg = testConfig({ mi: { coordination: SERVER } });
    const base = testContext(cfg);
    const platform = {
      ...base,
      secrets: { ...base.secrets, coordinationAdminPassword: pulumi.secret("pg-admin-password") },
      providers: { ...base.providers, vault: new vault.Provider("vault", { address: "https://vault.test" }) },
    };
    for (const t of tenants(cfg)) new TenantSpace(t.name, { tenant: t, platform });
    // Without Vault management the credentials have nowhere to go: a clear error, no half-made databases.
    try {
      const t = tenants(cfg)[0];
      new TenantSpace("no-vault", { tenant: t, platform: base });
    } catch (err) {
      missingVault = err as Error;
    }
    await r.settle();
  });

  it("one database and login role per environment with a stateful service, on the configured server", () => {
    const dbs = r.ofType(T.db).filter((x) => x.name.includes("-coordination-db-"));
    assert.deepEqual(dbs.map((d) => d.name).sort(), [
      "pay-roll-coordination-db-dev",
      "pay-roll-coordination-db-prod",
    ]);
    const dev = r.get(T.db, "pay-roll-coordination-db-dev").inputs;
    assert.equal(dev.name, "imaas_pay_roll_dev");
    assert.equal(dev.host, "pg.platform.internal");
    assert.equal(dev.port, 5433);
    assert.equal(dev.adminUser, "imaas_admin");
    assert.equal(dev.adminDatabase, "postgres");
    assert.equal(dev.ssl, "require");
    assert.equal(dev.__provider !== undefined, true, "a dynamic resource carries its serialized provider");
  });

  it("writes each environment's credentials to <tenant>/<env>/_coordination-db in the tenant's KV mount", () => {
    const kv = r.ofType(T.kv);
    assert.deepEqual(kv.map((k) => [k.name, k.inputs.mount, k.inputs.name]).sort(), [
      ["pay-roll-coordination-credentials-dev", "imaas", "pay-roll/dev/_coordination-db"],
      ["pay-roll-coordination-credentials-prod", "imaas", "pay-roll/prod/_coordination-db"],
    ]);
  });

  it("an ExternalSecret per environment turns them into the coordination-db Secret the chart reads", () => {
    const es = r.ofType(T.es).filter((x) => x.inputs.metadata.name === "coordination-db");
    assert.deepEqual(es.map((e) => e.inputs.metadata.namespace).sort(), ["pay-roll-dev", "pay-roll-prod"]);
    const dev = es.find((e) => e.inputs.metadata.namespace === "pay-roll-dev")!.inputs;
    assert.equal(dev.apiVersion, "external-secrets.io/v1");
    assert.equal(dev.spec.target.name, "coordination-db");
    assert.deepEqual(dev.spec.secretStoreRef, { kind: "SecretStore", name: "tenant-secrets" });
    assert.deepEqual(
      dev.spec.data.map((d: { secretKey: string; remoteRef: { key: string; property: string } }) => [
        d.secretKey,
        d.remoteRef.key,
        d.remoteRef.property,
      ]),
      [
        ["IMAAS_COORDINATION_DB_URL", "pay-roll/dev/_coordination-db", "url"],
        ["IMAAS_COORDINATION_DB_USERNAME", "pay-roll/dev/_coordination-db", "username"],
        ["IMAAS_COORDINATION_DB_PASSWORD", "pay-roll/dev/_coordination-db", "password"],
      ],
    );
  });

  it("nothing for a tenant without stateful services", () => {
    for (const type of [T.kv, T.es]) {
      assert.deepEqual(
        r
          .ofType(type)
          .filter((x) => JSON.stringify(x.inputs).includes("shop"))
          .filter((x) => JSON.stringify(x.inputs).includes("coordination")),
        [],
      );
    }
    assert.equal(r.ofType(T.db).filter((x) => x.name.startsWith("shop-coordination")).length, 0);
  });

  it("refuses to create them when the platform does not manage Vault, saying what to switch on", () => {
    assert.match(
      missingVault?.message ?? "",
      /tenant pay-roll: stateful services get their coordination database credentials through the tenant's secret store, which needs imaas:secrets\.enabled and imaas:secrets\.vault\.manage/,
    );
  });

  it("lets only the stateful services' pods reach the server, on its port, in their environments", () => {
    const cfg = testConfig({ mi: { coordination: SERVER } });
    const t = tenants(cfg)[0];
    const dev = tenantNetworkPolicies(t, "dev", cfg).find((p) => p.name === "allow-coordination-db");
    assert.ok(dev);
    assert.doesNotThrow(() =>
      new NetworkPolicy({ metadata: { name: dev.name }, spec: dev.spec } as never).validate(),
    );
    assert.deepEqual(dev.spec.podSelector, {
      matchExpressions: [{ key: "imaas.io/service", operator: "In", values: ["poller"] }],
    });
    assert.deepEqual(dev.spec.egress, [
      { to: [{ ipBlock: { cidr: "10.50.0.10/32" } }], ports: [{ protocol: "TCP", port: 5433 }] },
    ]);
    assert.equal(
      tenantNetworkPolicies(t, "test", cfg).find((p) => p.name === "allow-coordination-db"),
      undefined,
    );
    const none = testConfig();
    assert.equal(
      tenantNetworkPolicies(tenants(none)[0], "dev", none).find((p) => p.name === "allow-coordination-db"),
      undefined,
    );
  });
});
