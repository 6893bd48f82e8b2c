/**
 * A service's public HTTPS endpoint in one environment: an Ingress on the platform's ingress class with a
 * cert-manager Certificate for its host. TLS ends at the ingress controller; the controller reaches MI's
 * HTTP port, which the tenant namespace's network policy opens to it alone.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import { namespaceName } from "../../model/naming";
import type { PlatformConfig } from "../../model/platform-config";
import { tenantLabels } from "../shared/labels";

/** MI's HTTP pass-through port, the Ingress backend. */
export const MI_HTTP_PORT = 8290;

export interface EndpointInput {
  readonly tenant: string;
  readonly service: string;
  readonly env: Environment;
  readonly host: string;
  /** Name of the Kubernetes Service the MI chart creates for this service. */
  readonly backendService: string;
}

export const tlsSecretName = (service: string): string => `${service}-tls`;

export function certificateManifest(cfg: PlatformConfig, input: EndpointInput) {
  return {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: {
      name: tlsSecretName(input.service),
      namespace: namespaceName(input.tenant, input.env),
      labels: tenantLabels(input.tenant, input.env, input.service),
    },
    spec: {
      secretName: tlsSecretName(input.service),
      dnsNames: [input.host],
      issuerRef: { name: cfg.certManager.issuer, kind: cfg.certManager.issuerKind, group: "cert-manager.io" },
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
      usages: ["server auth"],
    },
  };
}

export function ingressManifest(cfg: PlatformConfig, input: EndpointInput) {
  return {
    apiVersion: "networking.k8s.io/v1" as const,
    kind: "Ingress" as const,
    metadata: {
      name: input.service,
      namespace: namespaceName(input.tenant, input.env),
      labels: tenantLabels(input.tenant, input.env, input.service),
      annotations: {
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/proxy-body-size": "10m",
        "pulumi.com/skipAwait": "true", // the backend Service comes from Argo CD's sync, not from this update
      },
    },
    spec: {
      ingressClassName: cfg.ingress.className,
      tls: [{ hosts: [input.host], secretName: tlsSecretName(input.service) }],
      rules: [
        {
          host: input.host,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: input.backendService, port: { number: MI_HTTP_PORT } } },
              },
            ],
          },
        },
      ],
    },
  };
}

export function createEndpoint(
  name: string,
  cfg: PlatformConfig,
  input: EndpointInput,
  parent: pulumi.Resource,
  provider: k8s.Provider,
): { ingress: k8s.networking.v1.Ingress; certificate: k8s.apiextensions.CustomResource } {
  const opts = { parent, provider };
  const certificate = new k8s.apiextensions.CustomResource(
    `${name}-cert-${input.env}`,
    certificateManifest(cfg, input),
    opts,
  );
  const ingress = new k8s.networking.v1.Ingress(
    `${name}-ingress-${input.env}`,
    ingressManifest(cfg, input),
    opts,
  );
  return { ingress, certificate };
}
