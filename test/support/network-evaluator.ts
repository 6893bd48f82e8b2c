/**
 * A small evaluator of Kubernetes NetworkPolicy semantics, for checking isolation without a CNI: given
 * the policies of every namespace, may a pod in namespace A open a TCP connection to a pod in namespace
 * B on a port? Follows the API's rules: a pod is isolated for a direction when any policy selecting it
 * lists that direction; a connection needs the source's egress AND the destination's ingress to allow
 * it. Pod selectors are taken as selecting every pod (all tenant policies select `{}` or platform pods
 * by label, which the caller states).
 */

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface Policy {
  readonly namespace: string;
  readonly spec: {
    readonly podSelector: { readonly matchLabels?: Record<string, string> };
    readonly policyTypes?: readonly string[];
    readonly ingress?: readonly Rule[];
    readonly egress?: readonly Rule[];
  };
}

interface Rule {
  readonly from?: readonly Peer[];
  readonly to?: readonly Peer[];
  readonly ports?: readonly { readonly protocol?: string; readonly port?: number | string }[];
}

interface Peer {
  readonly namespaceSelector?: { readonly matchLabels?: Record<string, string> };
  readonly podSelector?: { readonly matchLabels?: Record<string, string> };
  readonly ipBlock?: { readonly cidr: string };
}

export interface Endpoint {
  readonly namespace: string;
  /** Labels of the pod; default none. */
  readonly podLabels?: Readonly<Record<string, string>>;
}

const matches = (selector: Record<string, string> | undefined, labels: Readonly<Record<string, string>>) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);

function selects(policy: Policy, ep: Endpoint): boolean {
  return (
    policy.namespace === ep.namespace && matches(policy.spec.podSelector.matchLabels, ep.podLabels ?? {})
  );
}

function peerMatches(
  peer: Peer,
  policyNs: string,
  other: Endpoint,
  namespaces: ReadonlyMap<string, NamespaceInfo>,
): boolean {
  if (peer.ipBlock) return false; // cluster pods are not addressed by ipBlock rules here
  const nsLabels = namespaces.get(other.namespace)?.labels ?? {};
  const nsOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector.matchLabels, nsLabels)
    : other.namespace === policyNs;
  const podOk = peer.podSelector ? matches(peer.podSelector.matchLabels, other.podLabels ?? {}) : true;
  return nsOk && podOk;
}

function portMatches(rule: Rule, port: number): boolean {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((p) => (p.protocol ?? "TCP") === "TCP" && (p.port === undefined || p.port === port));
}

function allowedBy(
  policies: readonly Policy[],
  direction: "Ingress" | "Egress",
  self: Endpoint,
  other: Endpoint,
  port: number,
  namespaces: ReadonlyMap<string, NamespaceInfo>,
): boolean {
  const applicable = policies.filter(
    (p) => selects(p, self) && (p.spec.policyTypes ?? ["Ingress"]).includes(direction),
  );
  if (applicable.length === 0) return true; // not isolated in this direction
  return applicable.some((p) =>
    (direction === "Ingress" ? p.spec.ingress : p.spec.egress)?.some(
      (rule) =>
        portMatches(rule, port) &&
        ((direction === "Ingress" ? rule.from : rule.to) === undefined ||
          (direction === "Ingress" ? rule.from : rule.to)!.some((peer) =>
            peerMatches(peer, p.namespace, other, namespaces),
          )),
    ),
  );
}

/** May `from` open a TCP connection to `to` on `port`? */
export function connectionAllowed(
  policies: readonly Policy[],
  namespaces: readonly NamespaceInfo[],
  from: Endpoint,
  to: Endpoint,
  port: number,
): boolean {
  const byName = new Map(namespaces.map((n) => [n.name, n]));
  return (
    allowedBy(policies, "Egress", from, to, port, byName) &&
    allowedBy(policies, "Ingress", to, from, port, byName)
  );
}
