/**
 * A service's MI keystore in one environment, created by the platform (never by the chart): a
 * cert-manager Certificate from the platform's internal CA with a JKS keystore output, and the Secret
 * holding its password and the management API user.
 *
 * Why here and not in the chart: the Certificate's issuer and DNS names decide which identities a tenant
 * workload can present inside the cluster. Created by the platform program they come only from the tenant
 * file and platform config (a branch's `deploy/values.yaml` cannot name another issuer or another service's
 * DNS name), the tenant's AppProject needs no right to create Certificates, and `imaas plan` shows them.
 */
import { randomBytes } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import { INTERNAL_CA, miCredentialsSecretName, miKeystoreName, namespaceName } from "../../model/naming";
import { tenantLabels } from "../shared/labels";
import { MI_KEYSTORE_ALIAS } from "./chart-values";

export interface MIKeystoreInput {
  readonly tenant: string;
  readonly service: string;
  readonly env: Environment;
}

/** Keys of the credentials Secret (the chart reads them by these names). */
export const CREDENTIAL_KEYS = {
  keystorePassword: "keystore-password",
  managementUsername: "management-username",
  managementPassword: "management-password",
} as const;

/** The management API user of every MI service (the password is per service and environment). */
export const MI_MANAGEMENT_USER = "imaas-ops";

/** Lifetime of a keystore certificate and when cert-manager renews it. */
export const KEYSTORE_CERT_LIFETIME = { duration: "2160h", renewBefore: "720h" } as const;

/**
 * The DNS names the service answers to inside the cluster: its Service, in the short and the fully
 * qualified forms (`cluster.local` is the cluster domain the platform assumes).
 */
export function keystoreDnsNames(input: MIKeystoreInput): string[] {
  const ns = namespaceName(input.tenant, input.env);
  return [
    input.service,
    `${input.service}.${ns}`,
    `${input.service}.${ns}.svc`,
    `${input.service}.${ns}.svc.cluster.local`,
  ];
}

/** The Certificate: RSA (MI's secure vault encrypts with the primary key: RSA/ECB/OAEP), JKS output. */
export function keystoreCertificateManifest(input: MIKeystoreInput) {
  const name = miKeystoreName(input.service);
  const labels = tenantLabels(input.tenant, input.env, input.service);
  const dnsNames = keystoreDnsNames(input);
  return {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name, namespace: namespaceName(input.tenant, input.env), labels },
    spec: {
      secretName: name,
      // The Secret is written by cert-manager: it carries the tenant's labels, not the platform's
      // managed-by label (reserved to objects the platform writes itself).
      secretTemplate: {
        labels: Object.fromEntries(Object.entries(labels).filter(([k]) => k.startsWith("imaas.io/"))),
      },
      commonName: dnsNames[2],
      dnsNames,
      ...KEYSTORE_CERT_LIFETIME,
      issuerRef: { name: INTERNAL_CA.issuer, kind: "ClusterIssuer", group: "cert-manager.io" },
      privateKey: { algorithm: "RSA", size: 2048, rotationPolicy: "Always" },
      usages: ["server auth", "client auth", "digital signature", "key encipherment"],
      keystores: {
        jks: {
          create: true,
          alias: MI_KEYSTORE_ALIAS,
          passwordSecretRef: {
            name: miCredentialsSecretName(input.service),
            key: CREDENTIAL_KEYS.keystorePassword,
          },
        },
      },
    },
  };
}

/** A password of `length` letters and digits (safe in TOML strings, shell words and JKS). */
export function generatePassword(length = 32, random: (n: number) => Buffer = randomBytes): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const out: string[] = [];
  // Rejection sampling: bytes ≥ 248 (= 62 × 4) would bias the first characters of the alphabet.
  while (out.length < length) {
    for (const b of random(length * 2)) {
      if (b < 248 && out.length < length) out.push(alphabet[b % 62]);
    }
  }
  return out.join("");
}

/** The credentials Secret; the values are generated once (see {@link createMIKeystore}). */
export function credentialsSecretManifest(
  input: MIKeystoreInput,
  values: { keystorePassword: pulumi.Input<string>; managementPassword: pulumi.Input<string> },
) {
  return {
    metadata: {
      name: miCredentialsSecretName(input.service),
      namespace: namespaceName(input.tenant, input.env),
      labels: tenantLabels(input.tenant, input.env, input.service),
    },
    type: "Opaque",
    stringData: {
      [CREDENTIAL_KEYS.keystorePassword]: values.keystorePassword,
      [CREDENTIAL_KEYS.managementUsername]: MI_MANAGEMENT_USER,
      [CREDENTIAL_KEYS.managementPassword]: values.managementPassword,
    },
  };
}

/**
 * The credentials Secret and the keystore Certificate of one service in one environment. The passwords
 * are drawn once: later runs draw new ones but `ignoreChanges` keeps the stored Secret (a new password
 * would re-encode the keystore and restart every pod). They are Pulumi secrets, never in plan output.
 * Rotation: delete the Secret (or `pulumi up --replace` it); cert-manager re-encodes the keystore.
 */
export function createMIKeystore(
  name: string,
  input: MIKeystoreInput,
  parent: pulumi.Resource,
  provider: k8s.Provider,
  /** What both must wait for (the namespace and its policies). @default none */
  dependsOn: pulumi.Input<pulumi.Resource>[] = [],
): { credentials: k8s.core.v1.Secret; certificate: k8s.apiextensions.CustomResource } {
  const credentials = new k8s.core.v1.Secret(
    `${name}-mi-credentials-${input.env}`,
    credentialsSecretManifest(input, {
      keystorePassword: pulumi.secret(generatePassword()),
      managementPassword: pulumi.secret(generatePassword()),
    }),
    {
      parent,
      provider,
      dependsOn,
      ignoreChanges: ["stringData", "data"],
      additionalSecretOutputs: ["stringData", "data"],
    },
  );
  const certificate = new k8s.apiextensions.CustomResource(
    `${name}-mi-keystore-${input.env}`,
    keystoreCertificateManifest(input),
    { parent, provider, dependsOn: [...dependsOn, credentials] },
  );
  return { credentials, certificate };
}
