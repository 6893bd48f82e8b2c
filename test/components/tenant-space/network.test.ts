/**
 * MI's management API (9164) behind the tenant namespace's network policies: reachable from the platform
 * tooling namespace only — not from the namespace's own pods, the ingress controller, or other tenants.
 */
import { strict as assert } from "node:assert";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import {
  MI_MANAGEMENT_PORT,
  MI_METRICS_PORT,
  MI_TRAFFIC_PORTS,
  managementClientNamespaces,
  tenantNetworkPolicies,
} from "../../../components/tenant-space/network";
import { namespaceName } from "../../../model/naming";
import { testConfig } from "../../support/mocks";
import { connectionAllowed, type NamespaceInfo, type Policy } from "../../support/network-evaluator";
import { exampleTenants } from "../../support/tenants";

const cfg = testConfig();
const tenants = exampleTenants(cfg);
const ns = (name: string, labels: Record<string, string> = {}): NamespaceInfo => ({
  name,
  labels: { "kubernetes.io/metadata.name": name, ...labels },
});

describe("tenant network policies: MI management port", () => {
  const env = "dev" as const;
  const tenantNamespaces = tenants.map((t) => ns(namespaceName(t.name, env), { "imaas.io/tenant": t.name }));
  const namespaces = [
    ...tenantNamespaces,
    ns(cfg.observability.namespace),
    ns(cfg.ingress.namespace),
    ns(cfg.argocd.namespace),
    ns(cfg.dns.namespace),
  ];
  const policies: Policy[] = tenants.flatMap((t) =>
    tenantNetworkPolicies(t, env, cfg).map((p) => ({
      namespace: namespaceName(t.name, env),
      name: p.name,
      spec: p.spec,
    })),
  );
  const allowed = (
    from: { namespace: string; podLabels?: Record<string, string> },
    to: string,
    port: number,
  ) => connectionAllowed(policies, namespaces, from, { namespace: to }, port);

  it("names the observability namespace as the platform's tooling", () => {
    assert.deepEqual(managementClientNamespaces(cfg), [cfg.observability.namespace]);
  });

  it("admits the tooling namespace to 9164 of every tenant namespace, and nobody else", () => {
    assert.ok(tenantNamespaces.length >= 3);
    for (const target of tenantNamespaces) {
      assert.equal(
        allowed({ namespace: cfg.observability.namespace }, target.name, MI_MANAGEMENT_PORT),
        true,
      );
      assert.equal(allowed({ namespace: target.name }, target.name, MI_MANAGEMENT_PORT), false, "own pods");
      assert.equal(
        allowed(
          { namespace: cfg.ingress.namespace, podLabels: cfg.ingress.controllerLabels },
          target.name,
          9164,
        ),
        false,
        "ingress controller",
      );
      assert.equal(allowed({ namespace: cfg.argocd.namespace }, target.name, MI_MANAGEMENT_PORT), false);
      for (const other of tenantNamespaces.filter((n) => n.name !== target.name)) {
        assert.equal(allowed({ namespace: other.name }, target.name, MI_MANAGEMENT_PORT), false, other.name);
      }
    }
  });

  it("keeps every other port open inside the namespace (TCP around 9164, and UDP)", () => {
    const target = tenantNamespaces[0].name;
    for (const port of [...MI_TRAFFIC_PORTS, MI_METRICS_PORT, 1, 9163, 9165, 65535]) {
      assert.equal(allowed({ namespace: target }, target, port), true, `:${port}`);
    }
    assert.equal(
      connectionAllowed(policies, namespaces, { namespace: target }, { namespace: target }, 5000, "UDP"),
      true,
    );
    assert.equal(
      allowed({ namespace: cfg.observability.namespace }, target, MI_METRICS_PORT),
      true,
      "scraper",
    );
  });

  it("every policy is a valid NetworkPolicy (endPort ranges included)", () => {
    for (const p of tenantNetworkPolicies(tenants[0], env, cfg)) {
      new NetworkPolicy({
        metadata: { name: p.name, namespace: namespaceName(tenants[0].name, env) },
        spec: p.spec as never,
      }).validate();
    }
  });
});
