/**
 * The namespace's NetworkPolicies: deny everything, then allow exactly what an MI service needs —
 * DNS, traffic inside the namespace, the ingress controller and the metrics scraper on their ports,
 * the same environment of tenants that allowFrom this one, the tenant's declared external systems, and
 * the telemetry collector.
 */
import type { Environment } from "../../model/environments";
import { LABELS, namespaceName, TENANT_OBJECTS } from "../../model/naming";
import { icpSettings, type PlatformConfig } from "../../model/platform-config";
import { coordinationEnvironments, type TenantSpec } from "../../model/spec";
import { icpHeartbeatEgressPolicySpec, icpPodLabels } from "../platform/icp";

/** MI's API/proxy ports (HTTP and HTTPS pass-through). */
export const MI_TRAFFIC_PORTS = [8290, 8253] as const;
/** MI's internal API (health and Prometheus metrics). */
export const MI_METRICS_PORT = 9201;
/** MI's management API (HTTPS; its user comes from the service's credentials Secret). */
export const MI_MANAGEMENT_PORT = 9164;
/** OTLP gRPC and HTTP on the platform's collector. */
export const OTLP_PORTS = [4317, 4318] as const;

const NS_NAME_LABEL = "kubernetes.io/metadata.name";

export interface PolicyDef {
  readonly name: string;
  readonly spec: NetworkPolicySpec;
}

/** The NetworkPolicy spec, as plain data (what the tests and the policy evaluator read). */
export interface NetworkPolicySpec {
  podSelector: Record<string, unknown>;
  policyTypes: ("Ingress" | "Egress")[];
  ingress?: { from?: Peer[]; ports?: Port[] }[];
  egress?: { to?: Peer[]; ports?: Port[] }[];
}
export interface Peer {
  namespaceSelector?: { matchLabels: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string };
}
export interface Port {
  protocol: "TCP" | "UDP";
  port: number;
  /** Last port of a range starting at `port` (NetworkPolicy `endPort`, Kubernetes ≥ 1.25). */
  endPort?: number;
}

const tcp = (ports: readonly number[]): Port[] => ports.map((port) => ({ protocol: "TCP", port }));
/**
 * Every port but the MI management port: inside the namespace, pods reach each other on anything except
 * 9164 (NetworkPolicies only add allowances, so "all but one" is two TCP ranges, plus UDP).
 */
const ALL_BUT_MANAGEMENT: Port[] = [
  { protocol: "TCP", port: 1, endPort: MI_MANAGEMENT_PORT - 1 },
  { protocol: "TCP", port: MI_MANAGEMENT_PORT + 1, endPort: 65535 },
  { protocol: "UDP", port: 1, endPort: 65535 },
];

/**
 * Namespaces of the platform's tooling that may call MI's management API: the observability namespace, or, with
 * the Integration Control Plane on (imaas:mi.icp), ICP's namespace only — and there only ICP's pods (see
 * {@link managementClientPeers}): ICP holds the one credential every runtime accepts, so nothing else in the
 * tooling namespace (a tenant's Grafana, say) may reach 9164 then. People use `kubectl port-forward`, which
 * enters the pod's own network namespace and needs no policy.
 */
export const managementClientNamespaces = (cfg: PlatformConfig): string[] => {
  const icp = icpSettings(cfg);
  return icp ? [icp.namespace] : [cfg.observability.namespace];
};
/** The peers `allow-management-from-tooling` admits to 9164. */
const managementClientPeers = (cfg: PlatformConfig): Peer[] => {
  const icp = icpSettings(cfg);
  return icp
    ? [namespacePeer(icp.namespace, icpPodLabels())]
    : managementClientNamespaces(cfg).map((n) => namespacePeer(n));
};
/** A peer selecting a namespace by its immutable name label (tenants cannot relabel namespaces). */
const namespacePeer = (name: string, podLabels?: Record<string, string>): Peer => ({
  namespaceSelector: { matchLabels: { [NS_NAME_LABEL]: name } },
  ...(podLabels ? { podSelector: { matchLabels: podLabels } } : {}),
});

export function tenantNetworkPolicies(
  tenant: TenantSpec,
  env: Environment,
  cfg: PlatformConfig,
): PolicyDef[] {
  const policies: PolicyDef[] = [
    { name: TENANT_OBJECTS.defaultDeny, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
    {
      name: "allow-dns",
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [namespacePeer(cfg.dns.namespace, cfg.dns.podLabels)],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      },
    },
    {
      name: "allow-same-namespace",
      spec: {
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
        // Not the management port: one service's pods cannot call another's management API.
        ingress: [{ from: [{ podSelector: {} }], ports: ALL_BUT_MANAGEMENT }],
        egress: [{ to: [{ podSelector: {} }] }],
      },
    },
    {
      name: "allow-ingress-controller",
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [namespacePeer(cfg.ingress.namespace, cfg.ingress.controllerLabels)],
            ports: tcp(MI_TRAFFIC_PORTS),
          },
        ],
      },
    },
    {
      name: "allow-metrics-scrape",
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ from: [namespacePeer(cfg.observability.namespace)], ports: tcp([MI_METRICS_PORT]) }],
      },
    },
    {
      name: "allow-management-from-tooling",
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: managementClientPeers(cfg),
            ports: tcp([MI_MANAGEMENT_PORT]),
          },
        ],
      },
    },
    {
      name: "allow-telemetry-egress",
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [{ to: [namespacePeer(cfg.observability.namespace)], ports: tcp(OTLP_PORTS) }],
      },
    },
  ];
  const icp = icpSettings(cfg);
  if (icp) {
    // MI's heartbeats to the platform's Integration Control Plane (components/platform/icp.ts): its pods, 9743 only.
    policies.push({ name: "allow-icp-heartbeat", spec: icpHeartbeatEgressPolicySpec(icp) });
  }
  if (tenant.network.allowFrom.length > 0) {
    policies.push({
      name: "allow-from-tenants",
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        // The same environment of each allowed tenant, never another environment.
        ingress: [
          {
            from: tenant.network.allowFrom.map((t) => namespacePeer(namespaceName(t, env))),
            ports: tcp(MI_TRAFFIC_PORTS),
          },
        ],
      },
    });
  }
  if (tenant.network.callable.length > 0) {
    policies.push({
      name: "allow-to-tenants",
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: tenant.network.callable.map((t) => namespacePeer(namespaceName(t, env))),
            ports: tcp(MI_TRAFFIC_PORTS),
          },
        ],
      },
    });
  }
  const coordination = cfg.mi.coordination;
  if (coordination && coordination.networks.length > 0 && coordinationEnvironments(tenant).includes(env)) {
    // The stateful services' pods reach the platform's coordination PostgreSQL (docs/coordination-db.md).
    const stateful = tenant.services
      .filter((s) => s.stateful && s.environments.includes(env))
      .map((s) => s.name);
    policies.push({
      name: "allow-coordination-db",
      spec: {
        podSelector: { matchExpressions: [{ key: LABELS.service, operator: "In", values: stateful }] },
        policyTypes: ["Egress"],
        egress: [
          {
            to: coordination.networks.map((cidr) => ({ ipBlock: { cidr } })),
            ports: tcp([coordination.port]),
          },
        ],
      },
    });
  }
  if (tenant.network.egress.length > 0) {
    policies.push({
      name: "allow-external-egress",
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: tenant.network.egress.map((e) => ({
          to: [{ ipBlock: { cidr: e.cidr } }],
          ports: tcp(e.ports),
        })),
      },
    });
  }
  return policies;
}
