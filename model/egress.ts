/**
 * CIDR blocks and the egress a tenant may declare. A tenant's `network.egress` becomes NetworkPolicy
 * `ipBlock` peers, so a block that covers the cloud metadata endpoint, loopback, the cluster's own pod,
 * service or API server addresses, or the whole internet would open exactly what the default deny closes.
 * The platform refuses those by default; `imaas:network` relaxes or extends the list.
 */
import { BlockList, isIP } from "node:net";

export interface Cidr {
  readonly text: string;
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** Blocks no tenant may reach unless the platform config says otherwise. */
export const DEFAULT_FORBIDDEN_EGRESS: readonly string[] = [
  "169.254.0.0/16", // link-local: cloud metadata endpoints (169.254.169.254), node-local DNS caches
  "127.0.0.0/8", // loopback
  "0.0.0.0/8", // "this network"
  "::1/128", // IPv6 loopback
  "fe80::/10", // IPv6 link-local
  "fd00:ec2::254/128", // the IPv6 cloud metadata endpoint
];

/** Shortest prefixes a tenant may declare: anything wider is "the internet", refused by default. */
export const DEFAULT_MIN_EGRESS_PREFIX = { ipv4: 8, ipv6: 32 } as const;

/** The CIDR in `text`, or undefined when it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const [address, bits, extra] = text.split("/");
  const v = isIP(address ?? "");
  if (extra !== undefined || v === 0 || bits === undefined || !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > (v === 4 ? 32 : 128)) return undefined;
  return { text, address, prefix, family: v === 4 ? "ipv4" : "ipv6" };
}

/** One BlockList per block, built once (the same forbidden blocks are checked for every tenant). */
const blockLists = new Map<string, BlockList>();

function contains(outer: Cidr, address: string, family: Cidr["family"]): boolean {
  if (outer.family !== family) return false;
  const key = `${outer.address}/${outer.prefix}`;
  let list = blockLists.get(key);
  if (!list) {
    list = new BlockList();
    list.addSubnet(outer.address, outer.prefix, outer.family);
    blockLists.set(key, list);
  }
  return list.check(address, family);
}

/** True when the two blocks share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b.address, b.family) || contains(b, a.address, a.family);
}

/** What is wrong with declaring `cidr` as egress, or undefined when it may be declared. */
export function egressProblem(
  cidr: Cidr,
  rules: {
    readonly forbidden: readonly string[];
    readonly clusterNetworks: readonly { readonly cluster: string; readonly cidr: string }[];
    readonly minPrefix: { readonly ipv4: number; readonly ipv6: number };
  },
): string | undefined {
  const min = rules.minPrefix[cidr.family];
  if (cidr.prefix < min) {
    return `${cidr.text} is wider than /${min}: egress to the whole internet or a large part of it is refused; list the systems' own blocks (ask the platform admins to lower imaas:network.minEgressPrefix.${cidr.family} if you really need it)`;
  }
  for (const f of rules.forbidden) {
    const block = parseCidr(f);
    if (block && overlaps(cidr, block)) {
      return `${cidr.text} overlaps ${f}, which the platform forbids (${describeForbidden(f)}); list only the external systems' blocks`;
    }
  }
  for (const n of rules.clusterNetworks) {
    const block = parseCidr(n.cidr);
    if (block && overlaps(cidr, block)) {
      return `${cidr.text} overlaps ${n.cidr}, a network of cluster "${n.cluster}" (pods, services or the API server); traffic inside the cluster is governed by allowFrom, not egress`;
    }
  }
  return undefined;
}

function describeForbidden(cidr: string): string {
  if (cidr.startsWith("169.254.") || cidr === "fd00:ec2::254/128")
    return "link-local: the cloud metadata endpoint";
  if (cidr.startsWith("127.") || cidr === "::1/128") return "loopback";
  if (cidr.startsWith("fe80:")) return "IPv6 link-local";
  return "imaas:network.forbiddenEgress";
}
