/**
 * The NetworkPolicy evaluator that `npm run test:security` and the component tests judge isolation with:
 * each rule of the API it follows, and the platform's own policies evaluated for egress.
 */
import { strict as assert } from "node:assert";
import { tenantNetworkPolicies } from "../../components/tenant-space/network";
import { namespaceName } from "../../model/naming";
import { testConfig } from "./mocks";
import {
  cidrContains,
  connectionAllowed,
  type NamespaceInfo,
  type Policy,
  policyTypesOf,
  selectorMatches,
} from "./network-evaluator";
import { inlineTenants } from "./tenants";

const ns = (name: string, labels: Record<string, string> = {}): NamespaceInfo => ({
  name,
  labels: { "kubernetes.io/metadata.name": name, ...labels },
});
const NAMESPACES = [ns("a", { team: "x", env: "dev" }), ns("b", { team: "y", env: "dev" }), ns("c")];
const denyAll = (namespace: string): Policy => ({
  namespace,
  spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
});
const allow = (pols: Policy[], from: any, to: any, port: number, protocol?: "TCP" | "UDP") =>
  connectionAllowed(pols, NAMESPACES, from, to, port, protocol);
const METADATA = { ip: "169.254.169.254" };

describe("network evaluator: isolation and directions", () => {
  it("no policy: everything flows; default deny: nothing does, in either direction", () => {
    assert.equal(allow([], { namespace: "a" }, { namespace: "b" }, 80), true);
    assert.equal(allow([], { namespace: "a" }, METADATA, 80), true);
    assert.equal(allow([denyAll("a")], { namespace: "a" }, { namespace: "b" }, 80), false, "a's egress");
    assert.equal(allow([denyAll("a")], { namespace: "b" }, { namespace: "a" }, 80), false, "a's ingress");
    assert.equal(allow([denyAll("a")], { namespace: "a" }, METADATA, 80), false);
    assert.equal(allow([denyAll("a")], { namespace: "b" }, { namespace: "c" }, 80), true, "others untouched");
  });

  it("a connection needs the source's egress and the destination's ingress", () => {
    const egressToB: Policy = {
      namespace: "a",
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { team: "y" } } }] }],
      },
    };
    const pols = [denyAll("a"), denyAll("b"), egressToB];
    assert.equal(allow(pols, { namespace: "a" }, { namespace: "b" }, 80), false, "b's ingress still closed");
    const ingressFromA: Policy = {
      namespace: "b",
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "x" } } }] }],
      },
    };
    assert.equal(allow([...pols, ingressFromA], { namespace: "a" }, { namespace: "b" }, 80), true);
    assert.equal(allow([...pols, ingressFromA], { namespace: "b" }, { namespace: "a" }, 80), false);
  });

  it("policyTypes left out: Ingress always, Egress when the policy has an egress section", () => {
    const withEgress: Policy = {
      namespace: "a",
      spec: { podSelector: {}, egress: [{ to: [{ podSelector: {} }] }] },
    };
    const ingressOnly: Policy = { namespace: "a", spec: { podSelector: {}, ingress: [] } };
    assert.deepEqual(policyTypesOf(withEgress), ["Ingress", "Egress"]);
    assert.deepEqual(policyTypesOf(ingressOnly), ["Ingress"]);
    // withEgress isolates a's ingress too (it has no ingress rules), and allows egress only inside a.
    assert.equal(allow([withEgress], { namespace: "b" }, { namespace: "a" }, 80), false);
    assert.equal(
      allow([withEgress], { namespace: "a" }, { namespace: "a" }, 80),
      false,
      "ingress of a closed",
    );
    assert.equal(allow([withEgress], { namespace: "a" }, { namespace: "b" }, 80), false);
    assert.equal(allow([withEgress], { namespace: "a" }, METADATA, 80), false);
    // ingressOnly leaves egress alone.
    assert.equal(allow([ingressOnly], { namespace: "a" }, METADATA, 80), true);
  });

  it("a pod selector chooses which pods a policy isolates", () => {
    const dbOnly: Policy = {
      namespace: "a",
      spec: { podSelector: { matchLabels: { app: "db" } }, policyTypes: ["Egress"] },
    };
    assert.equal(allow([dbOnly], { namespace: "a", podLabels: { app: "db" } }, METADATA, 80), false);
    assert.equal(allow([dbOnly], { namespace: "a", podLabels: { app: "web" } }, METADATA, 80), true);
  });
});

describe("network evaluator: peers", () => {
  // Egress isolated by a deny-all egress policy; ingress left open, so the peer is what is judged.
  const egress = (to: any[] | undefined, ports?: any[]): Policy[] => [
    { namespace: "a", spec: { podSelector: {}, policyTypes: ["Egress"] } },
    { namespace: "a", spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to, ports }] } },
  ];

  it("a rule without peers, or with an empty list, allows every address — the allow-all an owner could write", () => {
    for (const to of [undefined, []]) {
      const pols = egress(to);
      assert.equal(allow(pols, { namespace: "a" }, METADATA, 80), true, "the cloud metadata endpoint");
      assert.equal(allow(pols, { namespace: "a" }, { ip: "1.1.1.1" }, 443), true, "the internet");
      assert.equal(allow(pols, { namespace: "a" }, { namespace: "b" }, 8290), true, "another tenant");
    }
  });

  it("ipBlock: the cidr minus its excepts; selectors never match an outside address", () => {
    const pols = egress([{ ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.0.0/16", "10.0.0.0/8"] } }]);
    assert.equal(allow(pols, { namespace: "a" }, { ip: "1.1.1.1" }, 443), true);
    assert.equal(allow(pols, { namespace: "a" }, METADATA, 80), false);
    assert.equal(allow(pols, { namespace: "a" }, { ip: "10.0.0.1" }, 443), false);
    assert.equal(
      allow(pols, { namespace: "a" }, { namespace: "b" }, 8290),
      false,
      "a pod without a known IP",
    );
    assert.equal(
      allow(pols, { namespace: "a" }, { namespace: "b", ip: "100.64.0.9" }, 8290),
      true,
      "a pod whose IP falls in the block (implementation-defined: taken as allowed)",
    );
    const selectors = egress([{ namespaceSelector: {} }]);
    assert.equal(allow(selectors, { namespace: "a" }, METADATA, 80), false);
    assert.equal(
      allow(selectors, { namespace: "a" }, { namespace: "c" }, 80),
      true,
      "{} selects every namespace",
    );
  });

  it("a podSelector alone means the policy's own namespace; beside a namespaceSelector it narrows it", () => {
    const own = egress([{ podSelector: {} }]);
    assert.equal(allow(own, { namespace: "a" }, { namespace: "a" }, 80), true);
    assert.equal(allow(own, { namespace: "a" }, { namespace: "b" }, 80), false);
    const both = egress([
      { namespaceSelector: { matchLabels: { env: "dev" } }, podSelector: { matchLabels: { app: "api" } } },
    ]);
    assert.equal(allow(both, { namespace: "a" }, { namespace: "b", podLabels: { app: "api" } }, 80), true);
    assert.equal(allow(both, { namespace: "a" }, { namespace: "b", podLabels: { app: "db" } }, 80), false);
    assert.equal(allow(both, { namespace: "a" }, { namespace: "c", podLabels: { app: "api" } }, 80), false);
  });

  it("matchExpressions: In, NotIn, Exists, DoesNotExist, ANDed with matchLabels", () => {
    const labels = { team: "x", env: "dev" };
    const m = (matchExpressions: any[], matchLabels?: Record<string, string>) =>
      selectorMatches({ matchExpressions, matchLabels }, labels);
    assert.equal(m([{ key: "team", operator: "In", values: ["x", "z"] }]), true);
    assert.equal(m([{ key: "team", operator: "In", values: ["y"] }]), false);
    assert.equal(m([{ key: "missing", operator: "In", values: [""] }]), false);
    assert.equal(m([{ key: "team", operator: "NotIn", values: ["y"] }]), true);
    assert.equal(
      m([{ key: "missing", operator: "NotIn", values: ["y"] }]),
      true,
      "NotIn holds for absent keys",
    );
    assert.equal(m([{ key: "env", operator: "Exists" }]), true);
    assert.equal(m([{ key: "env", operator: "DoesNotExist" }]), false);
    assert.equal(m([{ key: "env", operator: "Exists" }], { team: "y" }), false, "ANDed with matchLabels");
    assert.throws(() => m([{ key: "env", operator: "Equals" }]), /unknown operator "Equals" on key "env"/);
    const pols = egress([
      { namespaceSelector: { matchExpressions: [{ key: "team", operator: "NotIn", values: ["y"] }] } },
    ]);
    assert.equal(allow(pols, { namespace: "a" }, { namespace: "b" }, 80), false);
    assert.equal(allow(pols, { namespace: "a" }, { namespace: "c" }, 80), true);
  });

  it("ingress from an outside address is judged by ipBlock", () => {
    const pols: Policy[] = [
      denyAll("a"),
      {
        namespace: "a",
        spec: {
          podSelector: {},
          policyTypes: ["Ingress"],
          ingress: [{ from: [{ ipBlock: { cidr: "192.0.2.0/24" } }] }],
        },
      },
    ];
    assert.equal(allow(pols, { ip: "192.0.2.7" }, { namespace: "a" }, 80), true);
    assert.equal(allow(pols, { ip: "198.51.100.7" }, { namespace: "a" }, 80), false);
  });
});

describe("network evaluator: ports and protocols", () => {
  const pols = (ports: any[]): Policy[] => [
    denyAll("a"),
    { namespace: "a", spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports }] } },
  ];

  it("TCP by default; UDP and SCTP only when named", () => {
    assert.equal(allow(pols([{ port: 53 }]), { namespace: "a" }, { ip: "1.1.1.1" }, 53), true);
    assert.equal(allow(pols([{ port: 53 }]), { namespace: "a" }, { ip: "1.1.1.1" }, 53, "UDP"), false);
    assert.equal(
      allow(pols([{ protocol: "UDP", port: 53 }]), { namespace: "a" }, { ip: "1.1.1.1" }, 53, "UDP"),
      true,
    );
  });

  it("port ranges (endPort), any port of a protocol, and named ports resolved on the destination", () => {
    const range = pols([{ port: 8000, endPort: 8999 }]);
    assert.equal(allow(range, { namespace: "a" }, { ip: "1.1.1.1" }, 8290), true);
    assert.equal(allow(range, { namespace: "a" }, { ip: "1.1.1.1" }, 9201), false);
    assert.equal(allow(pols([{ protocol: "TCP" }]), { namespace: "a" }, { ip: "1.1.1.1" }, 1), true);
    const named = pols([{ port: "http" }]);
    assert.equal(
      allow(named, { namespace: "a" }, { namespace: "b", namedPorts: { http: 8290 } }, 8290),
      true,
    );
    assert.equal(
      allow(named, { namespace: "a" }, { namespace: "b", namedPorts: { http: 8290 } }, 8253),
      false,
    );
    assert.equal(allow(named, { namespace: "a" }, { ip: "1.1.1.1" }, 8290), false, "outside: no names");
  });
});

describe("network evaluator: addresses", () => {
  it("IPv4 and IPv6 blocks; families never mix; bad input is named", () => {
    assert.equal(cidrContains("169.254.0.0/16", "169.254.169.254"), true);
    assert.equal(cidrContains("169.254.0.0/16", "169.255.0.1"), false);
    assert.equal(cidrContains("0.0.0.0/0", "8.8.8.8"), true);
    assert.equal(cidrContains("10.40.0.0/16", "10.40.255.255"), true);
    assert.equal(cidrContains("fd00:ec2::254/128", "fd00:ec2::254"), true);
    assert.equal(cidrContains("fd00::/8", "fd00:ec2::254"), true);
    assert.equal(cidrContains("::/0", "169.254.169.254"), false);
    assert.equal(cidrContains("0.0.0.0/0", "::1"), false);
    assert.throws(() => cidrContains("10.0.0.0/33", "10.0.0.1"), /not a CIDR block: 10\.0\.0\.0\/33/);
    assert.throws(() => cidrContains("10.0.0.0/8", "10.0.0.256"), /not an IPv4 address: 10\.0\.0\.256/);
    assert.throws(() => cidrContains("10.0.0.0/8", "example.com"), /not an IP address: example\.com/);
  });
});

describe("network evaluator: the platform's own policies, egress", () => {
  const cfg = testConfig();
  const [payroll] = inlineTenants(
    {
      "payroll.yaml": [
        "apiVersion: imaas.io/v1alpha1",
        "kind: Tenant",
        "metadata: { name: payroll, displayName: Payroll }",
        "spec:",
        "  owners: [ana-lopez]",
        "  environments: [dev]",
        "  network:",
        "    egress: [{ cidr: 10.40.0.0/16, ports: [443, 8443] }, { cidr: 192.0.2.10/32, ports: [5432] }]",
      ].join("\n"),
    },
    cfg,
  );
  const namespaces = [
    ns(namespaceName("payroll", "dev"), { "imaas.io/tenant": "payroll", "imaas.io/environment": "dev" }),
    ns(namespaceName("logistics", "dev"), { "imaas.io/tenant": "logistics", "imaas.io/environment": "dev" }),
    ns(cfg.dns.namespace),
    ns(cfg.observability.namespace),
  ];
  const policies: Policy[] = tenantNetworkPolicies(payroll, "dev", cfg).map((p) => ({
    namespace: namespaceName("payroll", "dev"),
    name: p.name,
    spec: p.spec,
  }));
  const from = { namespace: namespaceName("payroll", "dev") };
  const out = (to: any, port: number, protocol?: "TCP" | "UDP") =>
    connectionAllowed(policies, namespaces, from, to, port, protocol);

  it("declared egress flows on its ports only; metadata, the internet and other tenants do not", () => {
    assert.ok(payroll.network.egress.length > 0, "the example declares egress");
    for (const e of payroll.network.egress) {
      const inside = e.cidr.replace(/\.0\/16$/, ".1").replace(/\/\d+$/, "");
      for (const port of e.ports) assert.equal(out({ ip: inside }, port), true, `${inside}:${port}`);
      assert.equal(out({ ip: inside }, 22), false, `${inside}:22`);
    }
    assert.equal(out(METADATA, 80), false);
    assert.equal(out({ ip: "1.1.1.1" }, 443), false);
    assert.equal(out({ namespace: namespaceName("logistics", "dev") }, 8290), false);
  });

  it("DNS to the cluster DNS pods and OTLP to the collector namespace flow", () => {
    assert.equal(out({ namespace: cfg.dns.namespace, podLabels: cfg.dns.podLabels }, 53, "UDP"), true);
    assert.equal(out({ namespace: cfg.dns.namespace }, 53, "UDP"), false, "other kube-system pods");
    assert.equal(out({ namespace: cfg.observability.namespace }, 4317), true);
  });
});
