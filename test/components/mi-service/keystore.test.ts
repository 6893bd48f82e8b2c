/**
 * The MI keystore of a service (cert-manager Certificate with a JKS output, credentials Secret), the
 * platform's internal CA that signs it, and what `imaas plan` shows of both.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import { buildMIChartValues, MI_KEYSTORE_ALIAS } from "../../../components/mi-service/chart-values";
import {
  CREDENTIAL_KEYS,
  credentialsSecretManifest,
  generatePassword,
  KEYSTORE_CERT_LIFETIME,
  keystoreCertificateManifest,
  keystoreDnsNames,
  MI_MANAGEMENT_USER,
} from "../../../components/mi-service/keystore";
import { CERT_MANAGER_NAMESPACE, internalCaManifests } from "../../../components/platform/internal-ca";
import { type PlannedResource, planProgram } from "../../../cli/plan-engine";
import { planView } from "../../../cli/plan-view";
import { renderPlan } from "../../../cli/render";
import { formatError, loadTenantSources } from "../../../model/load";
import { INTERNAL_CA } from "../../../model/naming";
import { platformConfigOf, readStackConfig, SECRET_CONFIG_PLACEHOLDER } from "../../../model/stack-file";
import { testConfig } from "../../support/mocks";
import { exampleTenants } from "../../support/tenants";

const ROOT = join(__dirname, "../../..");
const input = { tenant: "payroll", service: "salary-sync", env: "prod" as const };
const T = {
  certificate: "kubernetes:cert-manager.io/v1:Certificate",
  clusterIssuer: "kubernetes:cert-manager.io/v1:ClusterIssuer",
  secret: "kubernetes:core/v1:Secret",
  app: "kubernetes:argoproj.io/v1alpha1:Application",
};

describe("MI keystore: Certificate and credentials of a service", () => {
  it("asks the internal CA for a JKS keystore the chart's values name, under the credentials Secret's password", () => {
    const cert = keystoreCertificateManifest(input);
    const chart = buildMIChartValues({
      tenant: input.tenant,
      service: input.service,
      environment: input.env,
      imageRepository: "registry.imaas.test/payroll/salary-sync",
      miVersion: "4.4.0",
      replicas: 1,
      resources: { cpu: "500m", memory: "1Gi" },
      serviceAccountName: "mi-workloads",
      imagePullSecret: "registry-pull",
    });
    assert.equal(cert.kind, "Certificate");
    assert.equal(cert.metadata.namespace, "payroll-prod");
    assert.equal(cert.metadata.name, chart.security.keystoreSecret);
    assert.equal(cert.spec.secretName, chart.security.keystoreSecret);
    assert.deepEqual(cert.spec.issuerRef, {
      name: INTERNAL_CA.issuer,
      kind: "ClusterIssuer",
      group: "cert-manager.io",
    });
    assert.deepEqual(cert.spec.keystores, {
      jks: {
        create: true,
        alias: MI_KEYSTORE_ALIAS,
        passwordSecretRef: { name: chart.security.credentialsSecret, key: CREDENTIAL_KEYS.keystorePassword },
      },
    });
    assert.equal(chart.security.keystoreAlias, MI_KEYSTORE_ALIAS);
    // MI's secure vault decrypts with the primary key (RSA/ECB/OAEP...): the key must be RSA.
    assert.equal(cert.spec.privateKey.algorithm, "RSA");
    assert.equal(cert.spec.privateKey.rotationPolicy, "Always");
    assert.deepEqual(
      { duration: cert.spec.duration, renewBefore: cert.spec.renewBefore },
      KEYSTORE_CERT_LIFETIME,
    );
    // The Secret cert-manager writes carries only the tenant's labels (managed-by is the platform's).
    assert.deepEqual(Object.keys(cert.spec.secretTemplate.labels).sort(), [
      "imaas.io/environment",
      "imaas.io/service",
      "imaas.io/tenant",
    ]);
  });

  it("names only the service's own in-cluster DNS names, for every example service", () => {
    assert.deepEqual(keystoreDnsNames(input), [
      "salary-sync",
      "salary-sync.payroll-prod",
      "salary-sync.payroll-prod.svc",
      "salary-sync.payroll-prod.svc.cluster.local",
    ]);
    const cfg = testConfig();
    const seen = new Map<string, string>();
    for (const t of exampleTenants(cfg)) {
      for (const s of t.services) {
        for (const env of s.environments) {
          const cert = keystoreCertificateManifest({ tenant: t.name, service: s.name, env });
          assert.equal(cert.spec.commonName, `${s.name}.${t.name}-${env}.svc`);
          // The bare service name is namespace-local by nature; every qualified name is unique.
          for (const dns of cert.spec.dnsNames.filter((d) => d.includes("."))) {
            const owner = `${t.name}/${env}/${s.name}`;
            assert.ok(
              !seen.has(dns) || seen.get(dns) === owner,
              `${dns} claimed by ${seen.get(dns)} and ${owner}`,
            );
            seen.set(dns, owner);
            if (dns.includes("."))
              assert.ok(dns.includes(`.${t.name}-${env}`), `${dns} outside its namespace`);
          }
        }
      }
    }
    assert.ok(seen.size > 10, `${seen.size} names checked`);
  });

  it("keeps the keystore password and the management user in one Secret, with a user that is not admin", () => {
    const secret = credentialsSecretManifest(input, { keystorePassword: "k", managementPassword: "m" });
    assert.equal(secret.metadata.name, "salary-sync-mi-credentials");
    assert.equal(secret.metadata.namespace, "payroll-prod");
    assert.deepEqual(secret.stringData, {
      [CREDENTIAL_KEYS.keystorePassword]: "k",
      [CREDENTIAL_KEYS.managementUsername]: MI_MANAGEMENT_USER,
      [CREDENTIAL_KEYS.managementPassword]: "m",
    });
    assert.doesNotMatch(MI_MANAGEMENT_USER, /admin/i);
  });

  it("generates letters-and-digits passwords without bias, drawing more bytes when it rejects some", () => {
    const a = generatePassword();
    const b = generatePassword();
    assert.match(a, /^[A-Za-z0-9]{32}$/);
    assert.notEqual(a, b);
    // Bytes 248–255 are rejected (62 × 4 = 248); 0 → "A", 61 → "9", 62 → "A" again.
    let calls = 0;
    const fake = (n: number) => {
      calls += 1;
      return Buffer.from(calls === 1 ? Array(n).fill(255) : [0, 61, 62, 250, 1, ...Array(n).fill(2)]);
    };
    assert.equal(generatePassword(4, fake), "A9AB");
    assert.equal(calls, 2, "a first draw of only rejected bytes is drawn again");
  });
});

describe("quota fit counts the keystore and credentials Secrets", () => {
  const errorsWith = (secrets: number) => {
    const cfg = testConfig({
      quota: {
        defaults: {
          cpu: "4",
          memory: "8Gi",
          pods: 20,
          storage: "20Gi",
          persistentVolumeClaims: 5,
          services: 10,
          configMaps: 50,
          secrets,
        },
      },
    });
    const text = [
      "apiVersion: imaas.io/v1alpha1",
      "kind: Tenant",
      "metadata: { name: payroll, displayName: Payroll }",
      "spec:",
      "  owners: [ana]",
      "  environments: [dev]",
      "  services:",
      "    - name: sync",
      "    - name: api",
    ].join("\n");
    return loadTenantSources([{ file: "payroll.yaml", text }], cfg).errors.map(formatError);
  };

  it("two services need the pull secret plus two Secrets each: 5 fit, 4 do not", () => {
    assert.deepEqual(errorsWith(5), []);
    const errors = errorsWith(4);
    assert.ok(
      errors.some((e) =>
        /in dev the services need up to 5 Secrets \(the pull secret, a keystore and a credentials Secret per service/.test(
          e,
        ),
      ),
      errors.join("\n"),
    );
  });
});

describe("internal CA (per cluster)", () => {
  it("bootstraps a CA with a self-signed issuer and serves it as the ClusterIssuer the keystores name", () => {
    const m = internalCaManifests(testConfig().clusters[0]);
    assert.deepEqual(m.bootstrap.spec, { selfSigned: {} });
    assert.equal(m.ca.metadata.namespace, CERT_MANAGER_NAMESPACE);
    assert.equal(m.ca.spec.isCA, true);
    assert.equal(m.ca.spec.issuerRef.name, m.bootstrap.metadata.name);
    assert.equal(m.issuer.metadata.name, keystoreCertificateManifest(input).spec.issuerRef.name);
    assert.deepEqual(m.issuer.spec, { ca: { secretName: m.ca.spec.secretName } });
  });
});

describe("imaas plan shows the keystores and the internal CA", function () {
  this.timeout(120_000);
  let resources: PlannedResource[];
  let text: string;

  before(async () => {
    const stack = readStackConfig(ROOT, "dev");
    ({ resources } = await planProgram({
      stack: "dev",
      config: stack.values,
      secretKeys: stack.secretKeys,
      tenantsDir: join(ROOT, "tenants"),
    }));
    const config = platformConfigOf(stack);
    const tenants = exampleTenants(config);
    text = renderPlan(planView({ stack: "dev", config, tenants, resources, only: [] }), "table");
  });

  it("one Certificate and one credentials Secret per service and environment, before its Application", () => {
    const apps = resources.filter((r) => r.type === T.app);
    assert.ok(apps.length >= 5, `${apps.length} Applications`);
    for (const app of apps) {
      const spec = (app.inputs as any).spec;
      const ns: string = spec.destination.namespace;
      const service: string = (app.inputs as any).metadata.labels["imaas.io/service"];
      const cert = resources.find(
        (r) =>
          r.type === T.certificate &&
          (r.inputs as any).metadata.name === `${service}-mi-keystore` &&
          (r.inputs as any).metadata.namespace === ns,
      );
      const secret = resources.find(
        (r) =>
          r.type === T.secret &&
          (r.inputs as any).metadata.name === `${service}-mi-credentials` &&
          (r.inputs as any).metadata.namespace === ns,
      );
      assert.ok(cert && secret, `${ns}/${service}: keystore Certificate and credentials Secret`);
      assert.ok(app.dependsOn?.includes(cert.name) && app.dependsOn?.includes(secret.name), app.name);
      // The passwords are Pulumi secrets, so the whole map is one in the plan: no value is shown.
      assert.equal(
        (secret.inputs as any).stringData,
        SECRET_CONFIG_PLACEHOLDER,
        "passwords are Pulumi secrets",
      );
      assert.deepEqual(secret.ignoreChanges?.slice().sort(), ["data", "stringData"]);
      assert.ok(
        new RegExp(`Certificate +${ns}/${service}-mi-keystore\\b`).test(text),
        `${ns}/${service} in the plan`,
      );
    }
  });

  it("the internal CA per cluster, its key protected, after cert-manager", () => {
    const issuers = resources
      .filter((r) => r.type === T.clusterIssuer)
      .map((r) => (r.inputs as any).metadata.name);
    assert.deepEqual(issuers.sort(), [INTERNAL_CA.issuer, INTERNAL_CA.bootstrapIssuer].sort());
    const ca = resources.find(
      (r) => r.type === T.certificate && (r.inputs as any).metadata.name === INTERNAL_CA.caCertificate,
    );
    assert.ok(ca?.protect, "the CA Certificate is protected");
    assert.ok(new RegExp(`ClusterIssuer +${INTERNAL_CA.issuer}\\b`).test(text));
  });
});
