/**
 * The platform's internal CA on one cluster, which signs the MI services' keystores (cluster-internal DNS
 * names that a public ACME issuer such as `imaas:certManager.issuer` cannot sign). cert-manager's own CA
 * bootstrap: a self-signed ClusterIssuer signs one CA Certificate, whose Secret backs a CA ClusterIssuer.
 *
 * A ClusterIssuer reads its Secret from cert-manager's cluster resource namespace (by default the namespace
 * cert-manager runs in), so the CA Certificate lives there. Created only when the platform installs
 * cert-manager (`imaas:certManager.install`); otherwise the organisation's cert-manager must provide a
 * ClusterIssuer named {@link INTERNAL_CA}.issuer.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { INTERNAL_CA } from "../../model/naming";
import type { ClusterConfig, PlatformConfig } from "../../model/platform-config";
import { platformLabels } from "../shared/labels";

/** Namespace the platform installs cert-manager into (components/platform/addons.ts). */
export const CERT_MANAGER_NAMESPACE = "cert-manager";

/** The CA certificate's lifetime: ten years, renewed a year ahead. */
export const INTERNAL_CA_LIFETIME = { duration: "87600h", renewBefore: "8760h" } as const;

/** The three cert-manager objects, in creation order. */
export function internalCaManifests(cluster: ClusterConfig) {
  const labels = platformLabels("internal-ca");
  const bootstrap = {
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: { name: INTERNAL_CA.bootstrapIssuer, labels },
    spec: { selfSigned: {} },
  };
  const ca = {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: INTERNAL_CA.caCertificate, namespace: CERT_MANAGER_NAMESPACE, labels },
    spec: {
      isCA: true,
      commonName: `IMaaS internal CA (${cluster.name})`,
      secretName: INTERNAL_CA.caCertificate,
      ...INTERNAL_CA_LIFETIME,
      privateKey: { algorithm: "ECDSA", size: 384 },
      usages: ["cert sign", "crl sign"],
      issuerRef: { name: INTERNAL_CA.bootstrapIssuer, kind: "ClusterIssuer", group: "cert-manager.io" },
    },
  };
  const issuer = {
    apiVersion: "cert-manager.io/v1",
    kind: "ClusterIssuer",
    metadata: { name: INTERNAL_CA.issuer, labels },
    spec: { ca: { secretName: INTERNAL_CA.caCertificate } },
  };
  return { bootstrap, ca, issuer };
}

/** Creates the internal CA when the platform installs cert-manager; returns the CA issuer (or nothing). */
export function createInternalCa(
  name: string,
  cfg: PlatformConfig,
  cluster: ClusterConfig,
  provider: k8s.Provider,
  parent: pulumi.Resource,
  dependsOn: pulumi.Resource[],
): k8s.apiextensions.CustomResource | undefined {
  if (!cfg.certManager.install) return undefined;
  const m = internalCaManifests(cluster);
  const opts = { parent, provider };
  const bootstrap = new k8s.apiextensions.CustomResource(`${name}-ca-bootstrap-issuer`, m.bootstrap, {
    ...opts,
    dependsOn,
  });
  const ca = new k8s.apiextensions.CustomResource(`${name}-internal-ca`, m.ca, {
    ...opts,
    dependsOn: [bootstrap],
    // Every MI keystore on the cluster chains to this key: never delete it with the stack by accident.
    protect: true,
  });
  return new k8s.apiextensions.CustomResource(`${name}-internal-ca-issuer`, m.issuer, {
    ...opts,
    dependsOn: [ca],
  });
}
