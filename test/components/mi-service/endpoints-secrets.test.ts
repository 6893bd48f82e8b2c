import { strict as assert } from "node:assert";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import { certificateManifest, ingressManifest, MI_HTTP_PORT } from "../../../components/mi-service/endpoints";
import { externalSecretManifest } from "../../../components/mi-service/external-secret";
import {
  secretStoreManifest,
  vaultPolicyDocument,
  vaultRoleName,
} from "../../../components/tenant-space/secret-store";
import { testConfig } from "../../support/mocks";
import { exampleTenants } from "../../support/tenants";

const cfg = testConfig();
const cluster = cfg.clusters[0];

describe("service secrets: ExternalSecret, SecretStore and Vault policy", () => {
  const input = {
    tenant: "payroll",
    service: "salary-sync",
    env: "prod" as const,
    secrets: ["BANK_API_KEY", "DB_PASSWORD"],
  };

  it("materialises exactly the named keys from the tenant environment's own path", () => {
    const es = externalSecretManifest(input);
    assert.equal(es.metadata.namespace, "payroll-prod");
    assert.deepEqual(es.spec.secretStoreRef, { kind: "SecretStore", name: "tenant-secrets" });
    assert.deepEqual(
      es.spec.data.map((d) => [d.secretKey, d.remoteRef.key, d.remoteRef.property]),
      [
        ["BANK_API_KEY", "payroll/prod/salary-sync", "BANK_API_KEY"],
        ["DB_PASSWORD", "payroll/prod/salary-sync", "DB_PASSWORD"],
      ],
    );
    assert.equal(es.spec.target.name, "salary-sync-secrets");
  });

  it("every example service's ExternalSecret stays inside its tenant and environment", () => {
    for (const t of exampleTenants(cfg)) {
      for (const s of t.services) {
        for (const env of s.environments) {
          const es = externalSecretManifest({ tenant: t.name, service: s.name, env, secrets: ["A_KEY"] });
          assert.equal(es.spec.secretStoreRef.kind, "SecretStore", "never a ClusterSecretStore");
          for (const d of es.spec.data)
            assert.ok(d.remoteRef.key.startsWith(`${t.name}/${env}/`), d.remoteRef.key);
        }
      }
    }
  });

  it("the SecretStore authenticates as the tenant environment's role through its own service account", () => {
    const store = secretStoreManifest(cfg, cluster, "payroll", "test");
    assert.equal(store.metadata.namespace, "payroll-test");
    const auth = store.spec.provider.vault.auth.kubernetes;
    assert.equal(auth.role, "imaas-payroll-test");
    assert.equal(auth.mountPath, "kubernetes-main");
    assert.deepEqual(auth.serviceAccountRef, { name: "secrets-reader" });
    assert.equal(store.spec.provider.vault.version, "v2");
  });

  it("the Vault policy grants read on the tenant environment's path only", () => {
    const policy = vaultPolicyDocument("imaas", "payroll", "prod");
    const paths = [...policy.matchAll(/path "([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(paths, ["imaas/data/payroll/prod/*", "imaas/metadata/payroll/prod/*"]);
    assert.doesNotMatch(policy, /create|update|delete|sudo/);
    assert.equal(vaultRoleName("payroll", "prod"), "imaas-payroll-prod");
  });

  it("no two tenant environments share a policy path (a tenant can never read another's)", () => {
    const tenants = exampleTenants(cfg);
    const seen = new Map<string, string>();
    for (const t of tenants) {
      for (const env of t.environments) {
        for (const path of [...vaultPolicyDocument("imaas", t.name, env).matchAll(/path "([^"]+)"/g)].map(
          (m) => m[1],
        )) {
          const owner = `${t.name}/${env}`;
          for (const [other, who] of seen) {
            if (who === owner) continue;
            const a = path.replace(/\*$/, "");
            const b = other.replace(/\*$/, "");
            assert.ok(!a.startsWith(b) && !b.startsWith(a), `${owner} ${path} overlaps ${who} ${other}`);
          }
          seen.set(path, owner);
        }
      }
    }
  });
});

describe("service endpoints: Ingress and Certificate", () => {
  const input = {
    tenant: "payroll",
    service: "salary-sync",
    env: "prod" as const,
    host: "salary-sync.payroll.imaas.test",
    backendService: "salary-sync",
  };

  it("the Ingress is valid, on the platform class, TLS for the host, to MI's HTTP port only", () => {
    const ing = ingressManifest(cfg, input);
    new Ingress(ing as any).validate();
    assert.equal(ing.spec.ingressClassName, "nginx");
    assert.deepEqual(ing.spec.tls, [{ hosts: [input.host], secretName: "salary-sync-tls" }]);
    const backend = ing.spec.rules[0].http.paths[0].backend.service;
    assert.deepEqual(backend, { name: "salary-sync", port: { number: MI_HTTP_PORT } });
    assert.equal(ing.metadata.namespace, "payroll-prod");
    // Its backend Service arrives with Argo CD's sync, later: waiting for it would block `pulumi up`.
    assert.equal(ing.metadata.annotations["pulumi.com/skipAwait"], "true");
  });

  it("the Certificate is for that host only, signed by the configured issuer", () => {
    const cert = certificateManifest(testConfig({ certManager: { issuer: "corp-ca" } }), input);
    assert.deepEqual(cert.spec.dnsNames, [input.host]);
    assert.equal(cert.spec.issuerRef.name, "corp-ca");
    assert.equal(cert.spec.secretName, "salary-sync-tls");
  });
});
