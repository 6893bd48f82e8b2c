/**
 * The cert-manager objects the platform creates for MI keystores — a service's Certificate with a JKS
 * keystore, the internal CA's ClusterIssuers and CA Certificate — checked against cert-manager's own CRD
 * schemas (the `openAPIV3Schema` of `deploy/crds/*.yaml`, the release e2e/tools/build.sh puts into
 * ${IMAAS_TOOLS_DIR:-~/.cache/imaas-tools}/crds, which the sandbox's API server also serves).
 *
 * Run: npx mocha e2e/chart/cert-manager-crd.test.ts   (part of `npm run test:chart`).
 */
import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import Ajv from "ajv";
import YAML from "yaml";
import { keystoreCertificateManifest } from "../../components/mi-service/keystore";
import { icpManifests } from "../../components/platform/icp";
import { internalCaManifests } from "../../components/platform/internal-ca";
import { icpSettings } from "../../model/platform-config";
import { testConfig } from "../../test/support/mocks";

const CRDS = join(process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"), "crds");

type Validate = (o: unknown) => string[];

/** A validator of `kind` from cert-manager's CRD file, for API version v1. */
function crdValidator(file: string): Validate {
  const crd = YAML.parse(readFileSync(join(CRDS, file), "utf8"));
  const v1 = crd.spec.versions.find((v: { name: string }) => v.name === "v1");
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(v1.schema.openAPIV3Schema);
  return (o) => (validate(o) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));
}

/** Like the API server's pruning: a field the schema does not declare is an error here, not dropped. */
function undeclared(schema: any, value: any, path = ""): string[] {
  if (!schema || typeof value !== "object" || value === null || Array.isArray(value)) return [];
  if (!schema.properties || schema["x-kubernetes-preserve-unknown-fields"]) return [];
  return Object.entries(value).flatMap(([k, v]) =>
    schema.properties[k]
      ? undeclared(schema.properties[k], v, `${path}.${k}`)
      : [`${path}.${k} is not in the CRD`],
  );
}

describe("cert-manager objects of the MI keystores against cert-manager's CRDs", () => {
  let certificate: Validate;
  let clusterIssuer: Validate;
  let certSchema: any;

  before(() => {
    if (!existsSync(join(CRDS, "cert-manager-certificates.yaml"))) {
      throw new Error(`cert-manager CRDs not found in ${CRDS}: build them with \`e2e/tools/build.sh crds\`.`);
    }
    certificate = crdValidator("cert-manager-certificates.yaml");
    clusterIssuer = crdValidator("cert-manager-clusterissuers.yaml");
    certSchema = YAML.parse(readFileSync(join(CRDS, "cert-manager-certificates.yaml"), "utf8")).spec
      .versions[0].schema.openAPIV3Schema;
  });

  it("a service's keystore Certificate (JKS output with alias and password Secret) is valid", () => {
    const cert = keystoreCertificateManifest({ tenant: "payroll", service: "salary-sync", env: "prod" });
    assert.deepEqual(certificate(cert), []);
    assert.deepEqual(undeclared(certSchema, cert), []);
  });

  it("the internal CA's Certificate and ClusterIssuers are valid", () => {
    const m = internalCaManifests(testConfig().clusters[0]);
    assert.deepEqual(certificate(m.ca), []);
    assert.deepEqual(undeclared(certSchema, m.ca), []);
    assert.deepEqual(clusterIssuer(m.bootstrap), []);
    assert.deepEqual(clusterIssuer(m.issuer), []);
  });

  it("the Integration Control Plane's keystore Certificate (imaas:mi.icp) is valid", () => {
    const icp = icpSettings(
      testConfig({
        mi: { icp: { enabled: true, image: "registry.imaas.test/wso2/icp:1.1.0", home: "/opt/icp" } },
      }),
    );
    assert.ok(icp);
    const cert = icpManifests(icp).certificate;
    assert.deepEqual(certificate(cert), []);
    assert.deepEqual(undeclared(certSchema, cert), []);
  });

  it("the schema check can fail: an unknown keystore field and a wrong type are reported", () => {
    const cert = keystoreCertificateManifest({ tenant: "payroll", service: "salary-sync", env: "prod" });
    const bad = {
      ...cert,
      spec: { ...cert.spec, keystores: { jks: { create: "yes", alias: "mi", bogus: 1 } } },
    };
    assert.notDeepEqual(certificate(bad), []);
    assert.deepEqual(undeclared(certSchema, bad), [".spec.keystores.jks.bogus is not in the CRD"]);
  });
});
