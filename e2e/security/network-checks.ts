/**
 * Network isolation, judged on the NetworkPolicies and namespaces read back from the API server (no CNI
 * runs in the sandbox, so semantics are evaluated by test/support/network-evaluator.ts, not packets):
 *
 * - IMAAS-NET-DEFAULT-DENY: into each tenant namespace, from every other tenant namespace, on MI's ports;
 * - IMAAS-NET-EGRESS: out of each tenant namespace, judged on its own policies alone (the destination's
 *   ingress is the other check's business): the cloud metadata endpoints, the API server, Vault, every
 *   other tenant namespace, the internet — denied; the tenant's declared egress and the cluster DNS —
 *   allowed;
 * - IMAAS-NET-OWNER-POLICY: an owner's attempts to widen that with a NetworkPolicy of its own are refused
 *   by admission on the real API server; the owner's own in-namespace policy is admitted and created for
 *   real, and the egress matrix, evaluated again on the policies read back (the owner's included), is
 *   unchanged.
 */
import type { Environment } from "../../model/environments";
import { LABELS } from "../../model/naming";
import {
  connectionAllowed,
  type Endpoint,
  type NamespaceInfo,
  type Policy,
  type Protocol,
} from "../../test/support/network-evaluator";
import { kubectl, reason, refusedBy } from "./engine";
import {
  allRefused,
  type Check,
  type CheckContext,
  type Destination,
  dryCreate,
  expectAllowed,
  expectRefused,
  livePolicies,
  MI_PORTS,
  type Outcome,
  RBAC_DENIED,
  TRAFFIC_PORTS,
} from "./probe";

/** Addresses no tenant pod may reach, wherever the cluster runs. */
const METADATA: readonly Destination[] = [
  { what: "cloud metadata", ip: "169.254.169.254", port: 80 },
  { what: "cloud metadata (IPv6)", ip: "fd00:ec2::254", port: 80 },
];
/** Representatives of the internet. */
const INTERNET: readonly (Destination & { protocol?: Protocol })[] = [
  { what: "internet", ip: "1.1.1.1", port: 443 },
  { what: "internet", ip: "93.184.215.14", port: 80 },
  { what: "internet DNS", ip: "8.8.8.8", port: 53, protocol: "UDP" },
  { what: "internet (IPv6)", ip: "2606:4700:4700::1111", port: 443 },
];

const tenantOf = (n: NamespaceInfo) => n.labels[LABELS.tenant];
const envOf = (n: NamespaceInfo) => n.labels[LABELS.environment];

/** The first address of an IPv4 block plus one (or the address of a /32); IPv6 blocks: the base address. */
function addressIn(cidr: string): string {
  const [base, bits] = cidr.split("/");
  if (base.includes(":") || bits === "32") return base;
  const n = base.split(".").reduce((acc, p) => acc * 256 + Number(p), 0) + 1;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

interface Verdict {
  readonly what: string;
  readonly expected: boolean;
  readonly allowed: boolean;
}

/**
 * Egress of `namespace` judged on its own policies only: each named destination with the verdict the
 * platform promises.
 */
export function egressMatrix(
  ctx: Pick<CheckContext, "tenant" | "tenants" | "cluster">,
  namespace: string,
  env: Environment,
  policies: readonly Policy[],
): Verdict[] {
  const own = policies.filter((p) => p.namespace === namespace);
  const { namespaces } = ctx.cluster;
  const from: Endpoint = { namespace };
  const verdicts: Verdict[] = [];
  const judge = (what: string, to: Endpoint, port: number, expected: boolean, protocol: Protocol = "TCP") =>
    verdicts.push({
      what: `${what} ${to.namespace ?? to.ip}:${port}${protocol === "TCP" ? "" : `/${protocol}`}`,
      expected,
      allowed: connectionAllowed(own, namespaces, from, to, port, protocol),
    });
  for (const d of METADATA) judge(d.what, { ip: d.ip }, d.port, false);
  for (const d of ctx.cluster.apiServer) judge(d.what, { ip: d.ip }, d.port, false);
  if (typeof ctx.cluster.vault !== "string")
    for (const d of ctx.cluster.vault) judge(d.what, { ip: d.ip }, d.port, false);
  for (const d of INTERNET) judge(d.what, { ip: d.ip }, d.port, false, d.protocol);
  const self = ctx.tenants.find((t) => t.name === ctx.tenant);
  if (!self) throw new Error(`tenant ${ctx.tenant} is not in the tenant files`);
  for (const other of namespaces) {
    const tenant = tenantOf(other);
    if (!tenant || other.name === namespace) continue;
    for (const port of MI_PORTS) {
      const expected =
        tenant !== ctx.tenant &&
        envOf(other) === env &&
        self.callable.includes(tenant) &&
        TRAFFIC_PORTS.includes(port);
      judge(
        tenant === ctx.tenant ? "own other environment" : "tenant",
        { namespace: other.name },
        port,
        expected,
      );
    }
  }
  for (const e of self.egress) {
    const ip = addressIn(e.cidr);
    for (const port of e.ports) judge(`declared ${e.cidr}`, { ip }, port, true);
    const undeclared = [22, 3306, 6443].find((p) => !e.ports.includes(p)) as number;
    judge(`declared ${e.cidr}, undeclared port`, { ip }, undeclared, false);
  }
  return verdicts;
}

function summarise(verdicts: readonly Verdict[]): Outcome {
  const wrong = verdicts.filter((v) => v.allowed !== v.expected);
  if (wrong.length > 0)
    return {
      pass: false,
      detail: `unexpected: ${wrong.map((v) => `${v.what} ${v.allowed ? "open" : "closed"}`).join(", ")}`,
    };
  const open = verdicts.filter((v) => v.allowed);
  return {
    pass: true,
    detail: `${verdicts.length} destinations: ${open.length} open as declared (${open.map((v) => v.what).join(", ") || "none"}), ${verdicts.length - open.length} denied`,
  };
}

/** The owner's attempts to widen the namespace's egress or ingress, each with the reason it must be refused for. */
function wideningPolicies(
  ctx: CheckContext,
): { what: string; spec: Record<string, unknown>; because: RegExp }[] {
  const other = ctx.otherTenantNamespaces[0];
  const peerless = /names its sources/;
  const ipBlock = /ipBlock peers are refused/;
  const selector = /must select this namespace only/;
  return [
    { what: "allow-all egress", spec: { policyTypes: ["Egress"], egress: [{}] }, because: peerless },
    {
      what: "allow-all egress on 443",
      spec: { policyTypes: ["Egress"], egress: [{ ports: [{ port: 443 }] }] },
      because: peerless,
    },
    { what: "allow-all ingress", spec: { policyTypes: ["Ingress"], ingress: [{}] }, because: peerless },
    {
      what: "egress to 169.254.169.254",
      spec: { policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "169.254.169.254/32" } }] }] },
      because: ipBlock,
    },
    {
      what: "egress to 0.0.0.0/0",
      spec: { policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }] },
      because: ipBlock,
    },
    {
      what: "egress to every namespace",
      spec: { policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: {} }] }] },
      because: selector,
    },
    {
      what: `egress to ${other}`,
      spec: {
        policyTypes: ["Egress"],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": other } } }] }],
      },
      because: selector,
    },
    {
      what: "ingress from every tenant namespace",
      spec: {
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [{ namespaceSelector: { matchExpressions: [{ key: LABELS.tenant, operator: "Exists" }] } }],
          },
        ],
      },
      because: selector,
    },
    {
      what: "egress to the kube-system namespace",
      spec: {
        policyTypes: ["Egress"],
        egress: [
          { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }] },
        ],
      },
      because: selector,
    },
  ];
}

const networkPolicy = (ctx: CheckContext, name: string, spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace: ctx.namespace, labels: { "imaas.io/security-probe": "true" } },
  spec: { podSelector: {}, ...spec },
});

export const NETWORK_CHECKS: readonly Check[] = [
  {
    id: "IMAAS-NET-DEFAULT-DENY",
    title:
      "Default deny into each namespace from other tenants and environments on MI ports (applied policies, evaluated)",
    as: "cluster",
    run(ctx) {
      const { namespaces, policies } = ctx.cluster;
      const self = namespaces.find((n) => n.name === ctx.namespace);
      if (!self) return { pass: false, detail: `namespace ${ctx.namespace} not found` };
      if (!policies.some((p) => p.namespace === ctx.namespace))
        return { pass: false, detail: "no NetworkPolicy applied" };
      const target = ctx.tenants.find((t) => t.name === ctx.tenant);
      const wrong: string[] = [];
      let open = 0;
      let pairs = 0;
      // Inbound to this namespace from every other tenant namespace, on MI's traffic, management and
      // internal ports: only the same environment of tenants in allowFrom, and only on traffic ports.
      for (const from of namespaces) {
        if (from.name === self.name || !tenantOf(from)) continue;
        for (const port of MI_PORTS) {
          const expected =
            TRAFFIC_PORTS.includes(port) &&
            envOf(from) === envOf(self) &&
            (target?.allowFrom.includes(tenantOf(from)) ?? false);
          const allowed = connectionAllowed(
            policies,
            namespaces,
            { namespace: from.name },
            { namespace: self.name },
            port,
          );
          pairs++;
          if (allowed) open++;
          if (allowed !== expected) wrong.push(`${from.name}→:${port} ${allowed ? "open" : "closed"}`);
        }
      }
      // Control: inside the namespace, MI traffic flows.
      if (!connectionAllowed(policies, namespaces, { namespace: self.name }, { namespace: self.name }, 8290))
        wrong.push("same-namespace :8290 closed (control)");
      if (wrong.length > 0) return { pass: false, detail: `unexpected: ${wrong.join(", ")}` };
      return {
        pass: true,
        detail: `${pairs} inbound (namespace, port) pairs: ${open} open (allowFrom, same environment), rest denied; same-namespace control open`,
      };
    },
  },
  {
    id: "IMAAS-NET-EGRESS",
    title:
      "Egress: metadata, API server, Vault, other tenants, internet denied; declared egress and DNS allowed",
    as: "cluster",
    run(ctx) {
      const verdicts = egressMatrix(ctx, ctx.namespace, ctx.env, ctx.cluster.policies);
      // Control: the cluster DNS answers (UDP 53 to the DNS pods), so a closed matrix is not a dead namespace.
      const dnsNs = ctx.cluster.namespaces.find((n) => n.name === ctx.dns.namespace);
      const dns = connectionAllowed(
        ctx.cluster.policies.filter((p) => p.namespace === ctx.namespace),
        ctx.cluster.namespaces,
        { namespace: ctx.namespace },
        { namespace: ctx.dns.namespace, podLabels: ctx.dns.podLabels },
        53,
        "UDP",
      );
      if (!dnsNs || !dns) return { pass: false, detail: `control: DNS to ${ctx.dns.namespace} closed` };
      const o = summarise(verdicts);
      const vault = typeof ctx.cluster.vault === "string" ? `; Vault not judged: ${ctx.cluster.vault}` : "";
      return {
        pass: o.pass,
        detail: `${o.detail}; control: DNS to ${ctx.dns.namespace}:53/UDP open${vault}`,
      };
    },
  },
  {
    id: "IMAAS-NET-OWNER-POLICY",
    title:
      "Owner-written NetworkPolicies cannot widen egress or ingress (refused at admission); own in-namespace policy admitted",
    as: "owner",
    async run(ctx, id) {
      const mine = networkPolicy(ctx, "probe-owner-internal", {
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          { from: [{ podSelector: { matchLabels: { app: "probe-client" } } }], ports: [{ port: 8290 }] },
        ],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ctx.namespace } } }],
            ports: [{ port: 8290 }],
          },
        ],
      });
      if (ctx.env === "prod")
        return expectRefused(dryCreate(id, JSON.stringify(mine)), "a NetworkPolicy in prod", RBAC_DENIED);
      const attempts = wideningPolicies(ctx);
      const r = allRefused(
        attempts.map((a) => ({
          what: a.what,
          run: () => dryCreate(id, JSON.stringify(networkPolicy(ctx, "probe-wide", a.spec))),
          because: a.because,
        })),
      );
      if (r.failed) return r.failed;
      const by = refusedBy(dryCreate(id, JSON.stringify(networkPolicy(ctx, "probe-wide", attempts[0].spec))));
      // Positive control, for real: the owner's own policy is admitted and read back with the rest.
      const created = kubectl(id, ["create", "-o", "name", "-f", "-"], JSON.stringify(mine));
      const ok = expectAllowed(created, "own in-namespace NetworkPolicy");
      if (!ok.pass) return ok;
      try {
        const names = new Set(ctx.cluster.namespaces.filter((n) => tenantOf(n)).map((n) => n.name));
        const live = await livePolicies(ctx.api, names);
        if (!live.some((p) => p.namespace === ctx.namespace && p.name === "probe-owner-internal"))
          return { pass: false, detail: "the owner's policy is not in the policies read back" };
        const after = summarise(egressMatrix(ctx, ctx.namespace, ctx.env, live));
        if (!after.pass) return { pass: false, detail: `with the owner's policy: ${after.detail}` };
        // The matrix can fail: the refused allow-all, had it been admitted, opens the metadata endpoint.
        const hypothetical: Policy = {
          namespace: ctx.namespace,
          spec: networkPolicy(ctx, "x", attempts[0].spec).spec as Policy["spec"],
        };
        const wouldOpen = egressMatrix(ctx, ctx.namespace, ctx.env, [...live, hypothetical]).filter(
          (v) => v.allowed && !v.expected,
        ).length;
        if (wouldOpen === 0)
          return { pass: false, detail: "the evaluator does not see the allow-all egress as a hole" };
        return {
          pass: true,
          detail: `${r.layers.length} widening policies refused by ${by} (${r.layers.join(", ")}); own policy admitted and read back: egress unchanged (the refused allow-all would have opened ${wouldOpen} destinations)`,
        };
      } finally {
        const del = kubectl(id, ["delete", "networkpolicy", "probe-owner-internal", "-n", ctx.namespace]);
        if (del.code !== 0) console.error(`cleanup: ${reason(del)}`);
      }
    },
  },
];
