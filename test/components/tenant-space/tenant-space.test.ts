import { strict as assert } from "node:assert";
import { AppProject } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import * as pulumi from "@pulumi/pulumi";
import { LimitRange, Namespace, ResourceQuota, Secret, ServiceAccount } from "kubernetes-models/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from "kubernetes-models/admissionregistration.k8s.io/v1";
import { FORBIDDEN_VERBS } from "../../../components/tenant-space/rbac";
import type { TenantSpec } from "../../../model/spec";
import {
  type RecordedResource,
  type Recorder,
  setupMocks,
  testConfig,
  testContext,
} from "../../support/mocks";
import { connectionAllowed, type NamespaceInfo, type Policy } from "../../support/network-evaluator";
import { exampleTenants } from "../../support/tenants";

const T = {
  ns: "kubernetes:core/v1:Namespace",
  quota: "kubernetes:core/v1:ResourceQuota",
  limits: "kubernetes:core/v1:LimitRange",
  netpol: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  binding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  clusterBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  sa: "kubernetes:core/v1:ServiceAccount",
  secret: "kubernetes:core/v1:Secret",
  appProject: "kubernetes:argoproj.io/v1alpha1:AppProject",
  team: "github:index/team:Team",
  membership: "github:index/teamMembership:TeamMembership",
  dynamic: "pulumi-nodejs:dynamic:Resource",
  vap: "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
  vapBinding: "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
};

/** The inputs as the API server would get them: secret-wrapped values (as the mocks see them) unwrapped. */
function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Schema validators per recorded type: every Kubernetes object the component makes is checked. */
const VALIDATORS: Record<string, (o: any) => { validate(): void }> = {
  [T.ns]: (o) => new Namespace(o),
  [T.quota]: (o) => new ResourceQuota(o),
  [T.limits]: (o) => new LimitRange(o),
  [T.netpol]: (o) => new NetworkPolicy(o),
  [T.role]: (o) => new Role(o),
  [T.binding]: (o) => new RoleBinding(o),
  [T.sa]: (o) => new ServiceAccount(o),
  [T.secret]: (o) => new Secret(o),
  [T.appProject]: (o) => new AppProject(o),
  [T.vap]: (o) => new ValidatingAdmissionPolicy(o),
  [T.vapBinding]: (o) => new ValidatingAdmissionPolicyBinding(o),
};

describe("TenantSpace over the example tenants", () => {
  let r: Recorder;
  let tenants: TenantSpec[];
  const inNs = (type: string, ns: string): RecordedResource[] =>
    r.ofType(type).filter((x) => x.inputs.metadata?.namespace === ns);

  before(async () => {
    r = await setupMocks();
    const { TenantSpace } =
      require("../../../components/tenant-space") as typeof import("../../../components/tenant-space");
    const { ClusterPlatform } =
      require("../../../components/platform") as typeof import("../../../components/platform");
    const platform = testContext();
    tenants = exampleTenants(platform.config);
    for (const cluster of platform.config.clusters)
      new ClusterPlatform(`platform-${cluster.name}`, { cluster, platform });
    for (const tenant of tenants) new TenantSpace(tenant.name, { tenant, platform });
    await r.settle();
  });

  it("the mocks saw the tenants' resources", () => {
    assert.ok(r.ofType(T.ns).length >= 8, `${r.ofType(T.ns).length} namespaces`);
  });

  it("every Kubernetes object validates against its schema", () => {
    let checked = 0;
    for (const res of r.resources) {
      const make = VALIDATORS[res.type];
      if (!make) continue;
      make(unwrapSecrets(res.inputs)).validate();
      checked++;
    }
    assert.ok(checked > 100, `${checked} objects validated`);
  });

  it("one namespace per environment, labelled and pinned to Pod Security restricted", () => {
    const payroll = r.ofType(T.ns).filter((n) => n.inputs.metadata.labels["imaas.io/tenant"] === "payroll");
    assert.deepEqual(
      payroll.map((n) => n.inputs.metadata.name),
      ["payroll-dev", "payroll-test", "payroll-prod"],
    );
    for (const n of payroll) {
      const l = n.inputs.metadata.labels;
      assert.equal(l["pod-security.kubernetes.io/enforce"], "restricted");
      assert.equal(l["pod-security.kubernetes.io/audit"], "restricted");
      assert.equal(l["pod-security.kubernetes.io/warn"], "restricted");
      assert.match(l["pod-security.kubernetes.io/enforce-version"], /^v1\.\d+$/);
      assert.equal(l["cost-center"], "cc-2001");
    }
    const hr = r.ofType(T.ns).filter((n) => n.inputs.metadata.labels["imaas.io/tenant"] === "hr-onboarding");
    assert.deepEqual(
      hr.map((n) => n.inputs.metadata.name),
      ["hr-onboarding-dev", "hr-onboarding-test"],
    );
  });

  it("quotas cap compute, storage and object counts, with no NodePorts or LoadBalancers, and honour overrides", () => {
    const prod = inNs(T.quota, "payroll-prod")[0].inputs.spec.hard;
    // quota.cpu caps requests; limits are CPU_LIMIT_RATIO (2) × that, the MI container's own ratio.
    assert.equal(prod["requests.cpu"], "6");
    assert.equal(prod["limits.cpu"], "12");
    assert.equal(prod["limits.memory"], "12Gi");
    assert.equal(prod["requests.memory"], "12Gi");
    assert.equal(prod.pods, "30");
    assert.equal(prod["services.nodeports"], "0");
    assert.equal(prod["services.loadbalancers"], "0");
    for (const k of [
      "requests.storage",
      "persistentvolumeclaims",
      "services",
      "configmaps",
      "secrets",
      "requests.cpu",
      "limits.memory",
    ]) {
      assert.ok(prod[k] !== undefined, k);
    }
    assert.equal(
      inNs(T.quota, "payroll-dev")[0].inputs.spec.hard["requests.cpu"],
      "4",
      "dev keeps the default",
    );
    assert.equal(inNs(T.quota, "hr-onboarding-dev")[0].inputs.spec.hard["requests.cpu"], "2");
    assert.equal(inNs(T.quota, "hr-onboarding-dev")[0].inputs.spec.hard["limits.cpu"], "4");
  });

  it("a limit range gives defaults so pods without resources fit the quota, with MI's CPU ratio and ceiling", () => {
    const c = inNs(T.limits, "payroll-dev")[0].inputs.spec.limits.find((l: any) => l.type === "Container");
    assert.deepEqual(c.defaultRequest, { cpu: "100m", memory: "256Mi" });
    assert.deepEqual(c.default, { cpu: "200m", memory: "256Mi" });
    assert.deepEqual(c.maxLimitRequestRatio, { cpu: "2" });
    // the platform's largest pod (4 CPU) at the limit ratio, the namespace quota's memory (8Gi < 8Gi max)
    assert.deepEqual(c.max, { cpu: "8", memory: "8Gi" });
    const hr = inNs(T.limits, "hr-onboarding-dev")[0].inputs.spec.limits.find(
      (l: any) => l.type === "Container",
    );
    assert.equal(hr.max.cpu, "4", "a 2-CPU quota caps one container at 2 CPU of requests, 4 of limits");
  });

  it("network: default deny, DNS, same namespace, ingress controller and scraper only on their ports", () => {
    const byName = Object.fromEntries(
      inNs(T.netpol, "payroll-dev").map((p) => [p.inputs.metadata.name, p.inputs.spec]),
    );
    assert.deepEqual(byName["default-deny"], { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    assert.deepEqual(
      byName["allow-dns"].egress[0].ports.map((p: any) => `${p.protocol}/${p.port}`),
      ["UDP/53", "TCP/53"],
    );
    assert.deepEqual(
      byName["allow-ingress-controller"].ingress[0].ports.map((p: any) => p.port),
      [8290, 8253],
    );
    assert.deepEqual(
      byName["allow-metrics-scrape"].ingress[0].ports.map((p: any) => p.port),
      [9201],
    );
    assert.deepEqual(byName["allow-external-egress"].egress[0], {
      to: [{ ipBlock: { cidr: "10.40.0.0/16" } }],
      ports: [
        { protocol: "TCP", port: 443 },
        { protocol: "TCP", port: 8443 },
      ],
    });
  });

  it("allowFrom admits the same environment of the allowed tenant only, and a tenant without it admits no other tenant", () => {
    const policies: Policy[] = r
      .ofType(T.netpol)
      .map((p) => ({ namespace: p.inputs.metadata.namespace, spec: p.inputs.spec }));
    const namespaces: NamespaceInfo[] = r.ofType(T.ns).map((n) => ({
      name: n.inputs.metadata.name,
      labels: { ...n.inputs.metadata.labels, "kubernetes.io/metadata.name": n.inputs.metadata.name },
    }));
    const tenantNs = namespaces.filter((n) => n.labels["imaas.io/tenant"]);
    for (const from of tenantNs) {
      for (const to of tenantNs) {
        if (from.name === to.name) continue;
        const allowed = connectionAllowed(
          policies,
          namespaces,
          { namespace: from.name },
          { namespace: to.name },
          8290,
        );
        const fromTenant = from.labels["imaas.io/tenant"];
        const toTenant = to.labels["imaas.io/tenant"];
        const expected =
          fromTenant === "logistics" &&
          toTenant === "payroll" &&
          from.labels["imaas.io/environment"] === to.labels["imaas.io/environment"];
        assert.equal(allowed, expected, `${from.name} → ${to.name} on 8290`);
      }
    }
    // Even the allowed pair is refused on a port that is not MI's traffic port.
    assert.equal(
      connectionAllowed(
        policies,
        namespaces,
        { namespace: "logistics-dev" },
        { namespace: "payroll-dev" },
        9164,
      ),
      false,
    );
  });

  it("RBAC: namespace Roles only, bound to the tenant's groups; no escalate, bind or impersonate; prod read-only", () => {
    assert.equal(r.ofType(T.clusterRole).length, 0);
    assert.equal(r.ofType(T.clusterBinding).length, 0, "nothing cluster-scoped is granted to a tenant");
    for (const role of r.ofType(T.role)) {
      for (const rule of role.inputs.rules) {
        for (const v of rule.verbs) assert.ok(!FORBIDDEN_VERBS.includes(v), `${role.name}: ${v}`);
        assert.ok(!rule.resources.includes("*") && !rule.apiGroups.includes("*"), role.name);
        if (rule.resources.some((x: string) => ["resourcequotas", "limitranges"].includes(x))) {
          assert.deepEqual(rule.verbs, ["get", "list", "watch"], `${role.name} may only read quotas`);
        }
      }
    }
    const prodRoles = inNs(T.role, "payroll-prod");
    assert.deepEqual(
      prodRoles.map((x) => x.inputs.metadata.name),
      ["tenant-viewer"],
    );
    for (const rule of prodRoles[0].inputs.rules) assert.deepEqual(rule.verbs, ["get", "list", "watch"]);
    assert.ok(
      !prodRoles[0].inputs.rules.some((x: any) => x.resources.includes("secrets")),
      "prod viewers do not read secrets",
    );
    const owner = inNs(T.role, "payroll-dev").find((x) => x.inputs.metadata.name === "tenant-owner");
    assert.ok(
      owner?.inputs.rules.some(
        (x: any) => x.resources.includes("rolebindings") && x.verbs.includes("create"),
      ),
    );
    assert.ok(
      owner?.inputs.rules.some(
        (x: any) => x.resources.includes("networkpolicies") && x.verbs.includes("create"),
      ),
    );
    const binding = inNs(T.binding, "payroll-dev").find((x) => x.inputs.metadata.name === "tenant-owner");
    assert.deepEqual(binding?.inputs.subjects, [
      { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "imaas:payroll:owners" },
    ]);
    assert.deepEqual(binding?.inputs.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "tenant-owner",
    });
  });

  it("a workload service account without token automount, using the registry pull secret", () => {
    const sa = inNs(T.sa, "payroll-prod").find((s) => s.inputs.metadata.name === "mi-workloads");
    assert.equal(sa?.inputs.automountServiceAccountToken, false);
    assert.deepEqual(sa?.inputs.imagePullSecrets, [{ name: "registry-pull" }]);
    const secret = inNs(T.secret, "payroll-prod").find((s) => s.inputs.metadata.name === "registry-pull");
    assert.equal(secret?.inputs.type, "kubernetes.io/dockerconfigjson");
    const stringData = secret?.inputs.stringData;
    assert.equal(
      stringData[pulumi.runtime.specialSigKey],
      pulumi.runtime.specialSecretSig,
      "a Pulumi secret",
    );
    const config = JSON.parse(stringData.value[".dockerconfigjson"]);
    // Both pull robots: the kubelet tries each matching entry in turn (see test/components/tenant-space/registry.test.ts).
    assert.deepEqual(Object.keys(config.auths), ["registry.imaas.test/payroll", "registry.imaas.test"]);
  });

  it("GitHub team with owners as maintainers and members as members", () => {
    assert.equal(r.get(T.team, "payroll-team").inputs.name, "payroll");
    const roles = r
      .ofType(T.membership)
      .filter((m) => m.name.startsWith("payroll-"))
      .map((m) => `${m.inputs.username}:${m.inputs.role}`);
    assert.deepEqual(roles.sort(), ["ana-lopez:maintainer", "ben42:member", "chloe-m:member"]);
  });

  it("a private Harbor project with quota and scanning, a CI robot (push, pull, tag) and two pull-only robots", () => {
    const project = r.get(T.dynamic, "payroll-registry");
    assert.equal(project.inputs.name, "payroll");
    assert.equal(project.inputs.private, true);
    assert.equal(project.inputs.autoScan, true);
    assert.equal(project.inputs.storageLimitBytes, 20 * 2 ** 30);
    assert.deepEqual(r.get(T.dynamic, "payroll-robot-ci").inputs.permissions, ["push", "pull", "tag:create"]);
    assert.deepEqual(r.get(T.dynamic, "payroll-robot-pull").inputs.permissions, ["pull"]);
    assert.deepEqual(r.get(T.dynamic, "payroll-robot-pull-b").inputs.permissions, ["pull"]);
    assert.equal(r.get(T.dynamic, "payroll-registry-retention").inputs.keepLastPushed, 20);
  });

  it("AppProject: the tenant's repos and namespaces only, no wildcards, nothing cluster-scoped, guard-rail kinds blacklisted", () => {
    const p = r.ofType(T.appProject).find((x) => x.inputs.metadata.name === "payroll")!.inputs;
    assert.equal(p.metadata.namespace, "argocd");
    assert.deepEqual(p.spec.sourceRepos, [
      "https://github.com/acme/imaas.git",
      "https://github.com/acme/payroll-salary-sync.git",
      "https://github.com/acme/payroll-payslip-api.git",
    ]);
    assert.deepEqual(
      p.spec.destinations.map((d: any) => d.namespace),
      ["payroll-dev", "payroll-test", "payroll-prod"],
    );
    assert.deepEqual(p.spec.clusterResourceWhitelist, []);
    const json = JSON.stringify({ repos: p.spec.sourceRepos, dest: p.spec.destinations });
    assert.ok(!json.includes("*"), "no wildcards");
    assert.deepEqual(p.spec.namespaceResourceBlacklist.map((k: any) => k.kind).sort(), [
      "LimitRange",
      "NetworkPolicy",
      "ResourceQuota",
      "Role",
      "RoleBinding",
      "SecretStore",
    ]);
    const members = p.spec.roles.find((x: any) => x.name === "members");
    assert.deepEqual(members.groups, ["imaas:payroll:members"]);
    assert.ok(
      !members.policies.some((x: string) => x.includes(", sync, ") && x.endsWith("-prod, allow")),
      "members cannot sync prod",
    );
    assert.ok(
      members.policies.some((x: string) => x.includes(", sync, ") && x.endsWith("-dev, allow")),
      "members sync dev",
    );
    const owners = p.spec.roles.find((x: any) => x.name === "owners");
    assert.ok(
      owners.policies.includes(
        "p, proj:payroll:owners, applications, sync, payroll/payroll-salary-sync-prod, allow",
      ),
    );
  });

  it("admission policies are created once per cluster and bound to tenant namespaces", () => {
    const names = r
      .ofType(T.vap)
      .map((v) => v.inputs.metadata.name)
      .sort();
    assert.deepEqual(names, [
      "imaas-no-external-services",
      "imaas-no-host-access",
      "imaas-no-token-secrets",
      "imaas-protect-platform-objects",
      "imaas-tenant-images",
      "imaas-tenant-network-policies",
      "imaas-workload-service-account",
    ]);
    for (const b of r.ofType(T.vapBinding)) {
      assert.deepEqual(b.inputs.spec.validationActions, ["Deny"]);
      assert.deepEqual(b.inputs.spec.matchResources.namespaceSelector, {
        matchExpressions: [{ key: "imaas.io/tenant", operator: "Exists" }],
      });
    }
  });
});

describe("admission policies (as data)", () => {
  const { admissionPolicies } =
    require("../../../components/platform/admission") as typeof import("../../../components/platform/admission");
  const policies = Object.fromEntries(admissionPolicies(testConfig()).map((p) => [p.name, p.spec as any]));
  const text = (name: string) => JSON.stringify(policies[name]);

  it("every policy fails closed and matches tenant namespaces only", () => {
    for (const [name, spec] of Object.entries(policies)) {
      assert.equal(spec.failurePolicy, "Fail", name);
      assert.deepEqual(
        spec.matchConstraints.namespaceSelector,
        { matchExpressions: [{ key: "imaas.io/tenant", operator: "Exists" }] },
        name,
      );
    }
  });

  it("pod policies see init and ephemeral containers, and the tenant comes from the namespace label", () => {
    for (const name of ["imaas-tenant-images", "imaas-no-host-access"]) {
      const rules = policies[name].matchConstraints.resourceRules;
      assert.deepEqual(rules[0].resources, ["pods", "pods/ephemeralcontainers"], name);
      assert.deepEqual(rules[0].operations, ["CREATE", "UPDATE"], name);
      assert.match(text(name), /object\.spec\.initContainers/);
      assert.match(text(name), /object\.spec\.ephemeralContainers/);
    }
    assert.match(text("imaas-tenant-images"), /namespaceObject\.metadata\.labels\['imaas\.io\/tenant'\]/);
    assert.match(text("imaas-tenant-images"), /registry\.imaas\.test\/platform\//, "the base-image project");
  });

  it("platform objects: create, update and delete refused to anyone but the platform", () => {
    const spec = policies["imaas-protect-platform-objects"];
    const kinds = spec.matchConstraints.resourceRules.flatMap((r: any) => r.resources);
    for (const k of ["resourcequotas", "limitranges", "networkpolicies", "roles", "rolebindings"]) {
      assert.ok(kinds.includes(k), k);
    }
    for (const r of spec.matchConstraints.resourceRules) {
      assert.deepEqual(r.operations, ["CREATE", "UPDATE", "DELETE"]);
    }
    assert.match(
      text("imaas-protect-platform-objects"),
      /oldObject/,
      "a DELETE or relabel is judged by the old object",
    );
    assert.match(text("imaas-protect-platform-objects"), /imaas:platform-admins/);
  });
});

describe("TenantSpace without the Harbor password", () => {
  it("a real run fails naming the tenant; a plan uses a placeholder", async () => {
    const r = await setupMocks();
    const { TenantSpace } =
      require("../../../components/tenant-space") as typeof import("../../../components/tenant-space");
    const ctx = testContext();
    const tenant = exampleTenants(ctx.config).find((t) => t.name === "payroll")!;
    const secrets = { ...ctx.secrets, harborPassword: undefined };
    assert.throws(
      () => new TenantSpace("payroll-real", { tenant, platform: { ...ctx, secrets, planOnly: false } }),
      (e: unknown) =>
        pulumi.ResourceError.isInstance(e) &&
        /tenant payroll/.test(e.message) &&
        /imaas:harborPassword/.test(e.message),
    );
    new TenantSpace("payroll-plan", { tenant, platform: { ...ctx, secrets, planOnly: true } });
    await r.settle();
    assert.ok(r.resources.some((x) => x.name === "payroll-plan-registry"));
  });
});

describe("TenantSpace with a prod sync window and a registry switched off", () => {
  it("adds an allow window for prod applications, and no pull secret without a registry", async () => {
    const r = await setupMocks();
    const { TenantSpace } =
      require("../../../components/tenant-space") as typeof import("../../../components/tenant-space");
    const cfg = testConfig({
      argocd: {
        platformRepo: "https://github.com/acme/imaas.git",
        prodSyncWindow: { schedule: "0 6 * * 1-5", duration: "10h" },
      },
      registry: { enabled: false, host: "registry.imaas.test" },
    });
    const platform = testContext(cfg);
    const tenant = exampleTenants(cfg).find((t) => t.name === "payroll")!;
    new TenantSpace("payroll", { tenant, platform });
    await r.settle();
    const p = r.ofType(T.appProject)[0].inputs;
    assert.deepEqual(p.spec.syncWindows, [
      {
        kind: "allow",
        schedule: "0 6 * * 1-5",
        duration: "10h",
        applications: ["payroll-salary-sync-prod", "payroll-payslip-api-prod"],
        manualSync: true,
      },
    ]);
    assert.equal(r.ofType(T.secret).length, 0);
    assert.equal(r.ofType(T.dynamic).length, 0);
    const sa = r.ofType(T.sa).find((s) => s.inputs.metadata.name === "mi-workloads");
    assert.equal(sa?.inputs.imagePullSecrets, undefined);
  });
});
