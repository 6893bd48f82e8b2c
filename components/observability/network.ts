/**
 * Network policies of the observability namespace, as pure specs: the backends (Loki, Tempo,
 * Prometheus, Alertmanager) accept traffic only from the observability namespace, so nothing outside
 * it can send its own `X-Scope-OrgID` or an unscoped PromQL query; a tenant's metrics proxy accepts only
 * that tenant's Grafana; a tenant's Grafana accepts only the ingress controller.
 */
import { grafanaReleaseName, metricsProxyReleaseName } from "../../model/naming";

export interface NetworkPolicySpec {
  podSelector: {
    matchLabels?: Readonly<Record<string, string>>;
    matchExpressions?: {
      key: string;
      operator: "In";
      values: string[];
    }[];
  };
  policyTypes: ["Ingress"];
  ingress: {
    from: {
      podSelector?: { matchLabels?: Readonly<Record<string, string>> };
      namespaceSelector?: { matchLabels: Readonly<Record<string, string>> };
    }[];
  }[];
}

const NAME = "app.kubernetes.io/name";
const INSTANCE = "app.kubernetes.io/instance";

/** Pod names (`app.kubernetes.io/name`) of the storage and query backends. */
export const BACKEND_APPS = ["loki", "tempo", "prometheus", "alertmanager"] as const;

export function backendsPolicy(): NetworkPolicySpec {
  return {
    podSelector: { matchExpressions: [{ key: NAME, operator: "In", values: [...BACKEND_APPS] }] },
    policyTypes: ["Ingress"],
    ingress: [{ from: [{ podSelector: {} }] }],
  };
}

export function metricsProxyPolicy(tenant: string): NetworkPolicySpec {
  return {
    podSelector: { matchLabels: { [NAME]: "prom-label-proxy", [INSTANCE]: metricsProxyReleaseName(tenant) } },
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [
          { podSelector: { matchLabels: { [NAME]: "grafana", [INSTANCE]: grafanaReleaseName(tenant) } } },
        ],
      },
    ],
  };
}

export function grafanaPolicy(
  tenant: string,
  ingressNamespace: string,
  controllerLabels: Readonly<Record<string, string>>,
): NetworkPolicySpec {
  return {
    podSelector: { matchLabels: { [NAME]: "grafana", [INSTANCE]: grafanaReleaseName(tenant) } },
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ingressNamespace } },
            podSelector: { matchLabels: controllerLabels },
          },
        ],
      },
    ],
  };
}
