/**
 * A small evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), for checking isolation
 * without a CNI: given every policy and namespace, may an endpoint open a connection to another on a port?
 *
 * The API's rules, as the reference documents them:
 * - a pod is isolated for a direction when any policy that selects it has that direction in `policyTypes`;
 *   `policyTypes` left out means `Ingress`, plus `Egress` when the policy has an `egress` section;
 * - a connection needs the source's egress AND the destination's ingress to allow it (an endpoint outside
 *   the cluster has no policies);
 * - a rule allows a peer when one of its `ports` matches (none listed: every port) and one of its
 *   `from`/`to` peers matches (none listed or an empty list: every address);
 * - a peer is `podSelector` alone (pods of the policy's namespace), `namespaceSelector` (pods of the
 *   selected namespaces, narrowed by a `podSelector` beside it), or `ipBlock` (`cidr` minus `except`);
 * - label selectors: `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist), ANDed; an
 *   empty selector selects everything.
 *
 * Where the API leaves it to the implementation, this evaluator takes the permissive reading, so an
 * isolation check built on it can only err towards reporting a hole: an `ipBlock` also matches a pod
 * whose `ip` is given.
 */

export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

export interface Peer {
  readonly namespaceSelector?: LabelSelector;
  readonly podSelector?: LabelSelector;
  readonly ipBlock?: { readonly cidr: string; readonly except?: readonly string[] };
}

export interface PolicyPort {
  readonly protocol?: string;
  readonly port?: number | string;
  readonly endPort?: number;
}

export interface Rule {
  readonly from?: readonly Peer[];
  readonly to?: readonly Peer[];
  readonly ports?: readonly PolicyPort[];
}

export interface Policy {
  readonly namespace: string;
  /** The policy's name, for explanations; optional. */
  readonly name?: string;
  readonly spec: {
    readonly podSelector: LabelSelector;
    readonly policyTypes?: readonly string[];
    readonly ingress?: readonly Rule[];
    readonly egress?: readonly Rule[];
  };
}

/** A pod in a namespace (labels default none) or, with only `ip`, an address outside the cluster. */
export type Endpoint = PodEndpoint | ExternalEndpoint;

export interface PodEndpoint {
  readonly namespace: string;
  /** Labels of the pod; default none. */
  readonly podLabels?: Readonly<Record<string, string>>;
  /** The pod's IP, when known (then `ipBlock` peers may match it). */
  readonly ip?: string;
  /** Named container ports of the pod (name → number), for policies that name ports. */
  readonly namedPorts?: Readonly<Record<string, number>>;
}

export interface ExternalEndpoint {
  readonly ip: string;
  readonly namespace?: undefined;
}

export type Protocol = "TCP" | "UDP" | "SCTP";

const isPod = (e: Endpoint): e is PodEndpoint => e.namespace !== undefined;

/** Does the selector select these labels? An empty or absent selector selects everything. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  const byLabels = Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return (
    byLabels &&
    (selector?.matchExpressions ?? []).every((e) => {
      const has = Object.hasOwn(labels, e.key);
      switch (e.operator) {
        case "In":
          return has && (e.values ?? []).includes(labels[e.key]);
        case "NotIn":
          return !has || !(e.values ?? []).includes(labels[e.key]);
        case "Exists":
          return has;
        case "DoesNotExist":
          return !has;
        default:
          throw new Error(
            `label selector: unknown operator "${e.operator}" on key "${e.key}" (In, NotIn, Exists, DoesNotExist)`,
          );
      }
    })
  );
}

// ---- addresses -----------------------------------------------------------------------------------

interface Address {
  readonly v6: boolean;
  readonly value: bigint;
}

function parseIp(ip: string): Address {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    const parts = ip.split(".").map(Number);
    if (parts.some((p) => p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
    return { v6: false, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (ip.includes(":")) {
    const [head, tail, extra] = ip.split("::");
    if (extra !== undefined) throw new Error(`not an IPv6 address: ${ip}`);
    const groups = (s: string | undefined) => (s ? s.split(":") : []);
    const h = groups(head);
    const t = groups(tail);
    const fill = tail === undefined ? 0 : 8 - h.length - t.length;
    const all = [...h, ...Array(fill).fill("0"), ...t];
    if (all.length !== 8 || all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g)))
      throw new Error(`not an IPv6 address: ${ip}`);
    return { v6: true, value: all.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n) };
  }
  throw new Error(`not an IP address: ${ip}`);
}

/** Is `ip` inside `cidr`? Addresses of the other family never are. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bitsText, extra] = cidr.split("/");
  const net = parseIp(base ?? "");
  const width = net.v6 ? 128 : 32;
  const bits = Number(bitsText);
  if (extra !== undefined || !/^\d{1,3}$/.test(bitsText ?? "") || bits > width)
    throw new Error(`not a CIDR block: ${cidr}`);
  const addr = parseIp(ip);
  if (addr.v6 !== net.v6) return false;
  const shift = BigInt(width - bits);
  return addr.value >> shift === net.value >> shift;
}

// ---- the evaluation ------------------------------------------------------------------------------

/** The directions a policy isolates, with the API's default for a missing `policyTypes`. */
export function policyTypesOf(policy: Policy): readonly string[] {
  if (policy.spec.policyTypes && policy.spec.policyTypes.length > 0) return policy.spec.policyTypes;
  return policy.spec.egress ? ["Ingress", "Egress"] : ["Ingress"];
}

function selects(policy: Policy, ep: Endpoint): boolean {
  return (
    isPod(ep) &&
    policy.namespace === ep.namespace &&
    selectorMatches(policy.spec.podSelector, ep.podLabels ?? {})
  );
}

function peerMatches(
  peer: Peer,
  policyNs: string,
  other: Endpoint,
  namespaces: ReadonlyMap<string, NamespaceInfo>,
): boolean {
  if (peer.ipBlock) {
    if (other.ip === undefined) return false;
    return (
      cidrContains(peer.ipBlock.cidr, other.ip) &&
      !(peer.ipBlock.except ?? []).some((e) => cidrContains(e, other.ip!))
    );
  }
  if (!isPod(other)) return false; // selectors select pods, never outside addresses
  const nsOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, namespaces.get(other.namespace)?.labels ?? {})
    : other.namespace === policyNs;
  return nsOk && selectorMatches(peer.podSelector, other.podLabels ?? {});
}

function portMatches(rule: Rule, port: number, protocol: Protocol, dest: Endpoint): boolean {
  if (!rule.ports || rule.ports.length === 0) return true;
  return rule.ports.some((p) => {
    if ((p.protocol ?? "TCP") !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === "string") {
      const named = isPod(dest) ? dest.namedPorts?.[p.port] : undefined;
      return named === port;
    }
    return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
  });
}

function allowedBy(
  policies: readonly Policy[],
  direction: "Ingress" | "Egress",
  self: Endpoint,
  other: Endpoint,
  dest: Endpoint,
  port: number,
  protocol: Protocol,
  namespaces: ReadonlyMap<string, NamespaceInfo>,
): boolean {
  if (!isPod(self)) return true; // outside the cluster: no policies
  const applicable = policies.filter((p) => selects(p, self) && policyTypesOf(p).includes(direction));
  if (applicable.length === 0) return true; // not isolated in this direction
  return applicable.some((p) =>
    (direction === "Ingress" ? p.spec.ingress : p.spec.egress)?.some((rule) => {
      const peers = direction === "Ingress" ? rule.from : rule.to;
      return (
        portMatches(rule, port, protocol, dest) &&
        (peers === undefined ||
          peers.length === 0 ||
          peers.some((peer) => peerMatches(peer, p.namespace, other, namespaces)))
      );
    }),
  );
}

/** May `from` open a connection to `to` on `port` (TCP unless `protocol` says otherwise)? */
export function connectionAllowed(
  policies: readonly Policy[],
  namespaces: readonly NamespaceInfo[],
  from: Endpoint,
  to: Endpoint,
  port: number,
  protocol: Protocol = "TCP",
): boolean {
  const byName = new Map(namespaces.map((n) => [n.name, n]));
  return (
    allowedBy(policies, "Egress", from, to, to, port, protocol, byName) &&
    allowedBy(policies, "Ingress", to, from, to, port, protocol, byName)
  );
}
