import { strict as assert } from "node:assert";
import {
  type PolicyResource,
  type PolicyResourceOptions,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  Secret,
  type StackValidationArgs,
  type StackValidationPolicy,
  unknownCheckingProxy,
} from "@pulumi/policy";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import {
  appProjectNoWildcards,
  githubRepositoryPrivateAndKept,
  isSecretKey,
  noPlaintextSecrets,
  noTenantClusterRoleBindings,
  POLICIES,
  plaintextSecretPaths,
  prodNamespaceProtected,
  TYPES,
  tenantNamespaceGuardrails,
  tenantNamespaceRestricted,
} from "../../policy/policies";

const OPTS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

const urnOf = (type: string, name: string): string => `urn:pulumi:dev::imaas::${type}::${name}`;

function resourceArgs(
  type: string,
  name: string,
  props: Record<string, any>,
  opts: Partial<PolicyResourceOptions> = {},
  config: object = {},
): ResourceValidationArgs {
  return {
    type,
    name,
    urn: urnOf(type, name),
    props: unknownCheckingProxy(props),
    opts: { ...OPTS, ...opts },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`notApplicable: ${reason}`);
    },
  };
}

interface Violation {
  message: string;
  urn?: string;
}

async function validateResource(
  policy: ResourceValidationPolicy,
  ...args: Parameters<typeof resourceArgs>
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const validations = [policy.validateResource ?? []].flat();
  assert.ok(validations.length > 0, `${policy.name} has no validateResource`);
  for (const v of validations) {
    await v(resourceArgs(...args), (message, urn) => violations.push({ message, urn }));
  }
  return violations;
}

interface StackResource {
  type: string;
  name: string;
  props: Record<string, any>;
}

async function validateStack(
  policy: StackValidationPolicy,
  resources: StackResource[],
  config: object = {},
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const args: StackValidationArgs = {
    resources: resources.map(
      (r): PolicyResource => ({
        type: r.type,
        name: r.name,
        urn: urnOf(r.type, r.name),
        props: unknownCheckingProxy(r.props),
        opts: OPTS,
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
      }),
    ),
    stackTags: new Map(),
    getConfig: <T extends object>() => config as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`notApplicable: ${reason}`);
    },
  };
  await policy.validateStack(args, (message, urn) => violations.push({ message, urn }));
  return violations;
}

// The policy server's own (de)serializer (marked @internal, so not in its typings), to hand the
// policies values shaped exactly as the server does.
const { deserializeProperties, serializeProperties } = require("@pulumi/policy/deserialize") as {
  deserializeProperties(struct: Struct, proxySecrets: boolean): Record<string, any>;
  serializeProperties(obj: unknown): Promise<unknown>;
};

// ---- fixtures ----

const namespace = (name: string, labels: Record<string, string>): StackResource => ({
  type: TYPES.namespace,
  name,
  props: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } },
});
const tenantNs = (name: string, extra: Record<string, string> = {}) =>
  namespace(name, {
    "imaas.io/tenant": "payroll",
    "imaas.io/environment": "dev",
    "pod-security.kubernetes.io/enforce": "restricted",
    ...extra,
  });
const inNs = (type: string, name: string, ns: string, spec: object = {}): StackResource => ({
  type,
  name: `${ns}-${name}`,
  props: { metadata: { name, namespace: ns }, spec },
});
const denyAll = { podSelector: {}, policyTypes: ["Ingress", "Egress"] };
const guarded = (ns: string): StackResource[] => [
  tenantNs(ns),
  inNs(TYPES.resourceQuota, "tenant-quota", ns, { hard: { pods: "20" } }),
  inNs(TYPES.limitRange, "tenant-limits", ns, { limits: [] }),
  inNs(TYPES.networkPolicy, "default-deny", ns, denyAll),
];

describe("policy pack", () => {
  it("defaults every policy to mandatory, except the secrets remediation", () => {
    const names = POLICIES.map((p) => p.name);
    assert.equal(new Set(names).size, names.length);
    for (const p of POLICIES) {
      assert.equal(p.enforcementLevel, p === noPlaintextSecrets ? "remediate" : "mandatory", p.name);
    }
  });

  describe("tenant-namespace-psa-restricted", () => {
    it("passes a restricted tenant namespace and ignores platform namespaces", async () => {
      const ns = tenantNs("payroll-dev");
      assert.deepEqual(await validateResource(tenantNamespaceRestricted, ns.type, ns.name, ns.props), []);
      const platform = namespace("argocd", {});
      assert.deepEqual(
        await validateResource(tenantNamespaceRestricted, platform.type, platform.name, platform.props),
        [],
      );
    });

    it("flags a tenant namespace with a weaker or missing level", async () => {
      for (const level of ["baseline", undefined]) {
        const ns = tenantNs("payroll-dev");
        if (level) ns.props.metadata.labels["pod-security.kubernetes.io/enforce"] = level;
        else delete ns.props.metadata.labels["pod-security.kubernetes.io/enforce"];
        const v = await validateResource(tenantNamespaceRestricted, ns.type, ns.name, ns.props);
        assert.equal(v.length, 1);
        assert.match(
          v[0]!.message,
          /"payroll-dev" must carry the label pod-security\.kubernetes\.io\/enforce/,
        );
      }
    });
  });

  describe("tenant-namespace-guardrails", () => {
    it("passes when every tenant namespace has quota, limits and default deny", async () => {
      assert.deepEqual(
        await validateStack(tenantNamespaceGuardrails, [
          ...guarded("payroll-dev"),
          ...guarded("payroll-prod"),
        ]),
        [],
      );
    });

    it("names what each tenant namespace lacks, on the namespace's URN", async () => {
      const resources = [
        ...guarded("payroll-dev").filter((r) => r.type !== TYPES.limitRange),
        tenantNs("payroll-test"),
        // A quota in another namespace does not count.
        inNs(TYPES.resourceQuota, "tenant-quota", "payroll-dev-other"),
      ];
      const v = await validateStack(tenantNamespaceGuardrails, resources);
      assert.equal(v.length, 2);
      assert.match(v[0]!.message, /"payroll-dev" lacks a LimitRange$/);
      assert.equal(v[0]!.urn, urnOf(TYPES.namespace, "payroll-dev"));
      assert.match(
        v[1]!.message,
        /"payroll-test" lacks a ResourceQuota, a LimitRange, a NetworkPolicy "default-deny"/,
      );
    });

    it("does not accept a default-deny policy that selects pods, misses a type or allows traffic", async () => {
      for (const spec of [
        { podSelector: { matchLabels: { app: "x" } }, policyTypes: ["Ingress", "Egress"] },
        { podSelector: {}, policyTypes: ["Ingress"] },
        { podSelector: {}, policyTypes: ["Ingress", "Egress"], egress: [{}] },
      ]) {
        const resources = guarded("payroll-dev").map((r) =>
          r.type === TYPES.networkPolicy ? inNs(TYPES.networkPolicy, "default-deny", "payroll-dev", spec) : r,
        );
        const v = await validateStack(tenantNamespaceGuardrails, resources);
        assert.equal(v.length, 1, JSON.stringify(spec));
        assert.match(v[0]!.message, /denies everything/);
      }
    });
  });

  describe("prod-namespace-protected", () => {
    const prod = tenantNs("payroll-prod", { "imaas.io/environment": "prod" });

    it("passes a protected prod namespace and unprotected non-prod ones", async () => {
      assert.deepEqual(
        await validateResource(prodNamespaceProtected, prod.type, prod.name, prod.props, { protect: true }),
        [],
      );
      const dev = tenantNs("payroll-dev");
      assert.deepEqual(await validateResource(prodNamespaceProtected, dev.type, dev.name, dev.props), []);
    });

    it("flags an unprotected prod namespace", async () => {
      const v = await validateResource(prodNamespaceProtected, prod.type, prod.name, prod.props, {
        protect: false,
      });
      assert.equal(v.length, 1);
      assert.match(v[0]!.message, /"payroll-prod" must be created with \{ protect: true \}/);
    });
  });

  describe("no-tenant-cluster-role-bindings", () => {
    const crb = (name: string, subjects: object[]): StackResource => ({
      type: TYPES.clusterRoleBinding,
      name,
      props: { metadata: { name }, roleRef: { kind: "ClusterRole", name: "view" }, subjects },
    });

    it("passes platform bindings", async () => {
      const v = await validateStack(noTenantClusterRoleBindings, [
        tenantNs("payroll-dev"),
        crb("admins", [{ kind: "Group", name: "imaas:platform-admins" }]),
        crb("argocd", [
          { kind: "ServiceAccount", name: "argocd-application-controller", namespace: "argocd" },
        ]),
      ]);
      assert.deepEqual(v, []);
    });

    it("flags tenant groups and tenant service accounts, however they are written", async () => {
      const v = await validateStack(noTenantClusterRoleBindings, [
        tenantNs("payroll-dev"),
        crb("owners", [{ kind: "Group", name: "imaas:payroll:owners" }]),
        crb("sa", [{ kind: "ServiceAccount", name: "mi-workloads", namespace: "payroll-dev" }]),
        crb("sa-group", [{ kind: "Group", name: "system:serviceaccounts:payroll-dev" }]),
        crb("sa-user", [{ kind: "User", name: "system:serviceaccount:payroll-dev:mi-workloads" }]),
      ]);
      assert.deepEqual(
        v.map((x) => x.urn),
        ["owners", "sa", "sa-group", "sa-user"].map((n) => urnOf(TYPES.clusterRoleBinding, n)),
      );
      assert.match(v[0]!.message, /group imaas:payroll:owners/);
      assert.match(v[1]!.message, /service account payroll-dev\/mi-workloads/);
    });

    it("reads extra OIDC group prefixes from the policy config", async () => {
      const resources = [crb("oidc", [{ kind: "Group", name: "oidc:tenant-payroll" }])];
      assert.deepEqual(await validateStack(noTenantClusterRoleBindings, resources), []);
      const v = await validateStack(noTenantClusterRoleBindings, resources, {
        tenantGroupPrefixes: ["imaas:", "oidc:tenant-"],
      });
      assert.equal(v.length, 1);
    });
  });

  describe("appproject-no-wildcards", () => {
    const project = (spec: object) => ({ metadata: { name: "payroll", namespace: "argocd" }, spec });
    const exact = {
      sourceRepos: ["https://github.com/acme/payroll-salary-sync.git"],
      destinations: [{ server: "https://kubernetes.default.svc", namespace: "payroll-dev" }],
      clusterResourceWhitelist: [],
    };

    it("passes a project with exact names", async () => {
      assert.deepEqual(
        await validateResource(appProjectNoWildcards, TYPES.appProject, "p", project(exact)),
        [],
      );
    });

    it("flags '*' in repos, destinations and cluster resources", async () => {
      for (const [spec, path] of [
        [{ ...exact, sourceRepos: ["*"] }, "spec.sourceRepos[0]"],
        [{ ...exact, sourceRepos: ["https://github.com/acme/*"] }, "spec.sourceRepos[0]"],
        [
          { ...exact, destinations: [{ server: "*", namespace: "payroll-dev" }] },
          "spec.destinations[0].server",
        ],
        [
          { ...exact, destinations: [{ name: "in-cluster", namespace: "payroll-*" }] },
          "spec.destinations[0].namespace",
        ],
        [{ ...exact, destinations: [{ name: "*", namespace: "payroll-dev" }] }, "spec.destinations[0].name"],
        [
          { ...exact, clusterResourceWhitelist: [{ group: "*", kind: "*" }] },
          "spec.clusterResourceWhitelist[0].group",
        ],
      ] as const) {
        const v = await validateResource(appProjectNoWildcards, TYPES.appProject, "p", project(spec));
        assert.equal(v.length, 1, path);
        assert.ok(v[0]!.message.includes(path), v[0]!.message);
      }
    });
  });

  describe("github-repository-private-and-kept", () => {
    it("passes a private repository archived on destroy", async () => {
      const v = await validateResource(githubRepositoryPrivateAndKept, TYPES.githubRepository, "r", {
        name: "payroll-salary-sync",
        visibility: "private",
        archiveOnDestroy: true,
      });
      assert.deepEqual(v, []);
    });

    it("flags public/internal repositories and ones deleted on destroy", async () => {
      const v = await validateResource(githubRepositoryPrivateAndKept, TYPES.githubRepository, "r", {
        name: "payroll-salary-sync",
        visibility: "internal",
      });
      assert.equal(v.length, 2);
      assert.match(v[0]!.message, /visibility: "private" \(found "internal"\)/);
      assert.match(v[1]!.message, /archiveOnDestroy: true/);
    });
  });

  describe("no-plaintext-secrets", () => {
    /** What the policy server hands a remediation: engine values deserialized with secrets kept. */
    const remediationProps = (json: object) =>
      unknownCheckingProxy(deserializeProperties(Struct.fromJavaScript(json as any), true));
    /** What the server hands a validation: the same values with every secret unwrapped. */
    const validationProps = (json: object) =>
      unknownCheckingProxy(deserializeProperties(Struct.fromJavaScript(json as any), false));
    const secret = (value: unknown) => ({ [specialSigKey]: specialSecretSig, value });
    const remediate = (props: object) => {
      const args = resourceArgs("kubernetes:helm.sh/v3:Release", "grafana", {});
      return noPlaintextSecrets.remediateResource!({ ...args, props: props as Record<string, any> });
    };

    it("recognizes secret-like keys and not references to secrets", () => {
      for (const k of [
        "password",
        "adminPassword",
        "token",
        "github_token",
        "clientSecret",
        "privateKey",
        "api-key",
      ]) {
        assert.ok(isSecretKey(k), k);
      }
      for (const k of ["secretName", "imagePullSecrets", "tokenTtl", "passwordRef", "name", "secretKeyRef"]) {
        assert.ok(!isSecretKey(k), k);
      }
    });

    it("leaves values that are already secrets alone", async () => {
      const props = remediationProps({
        values: { adminPassword: secret("s3cret"), auth: { token: secret("t") } },
        name: "grafana",
      });
      assert.deepEqual(plaintextSecretPaths(props), []);
      assert.equal(await remediate(props), undefined);
    });

    it("marks plaintext secret values as secrets, recursively, and keeps the rest as is", async () => {
      const props = remediationProps({
        name: "grafana",
        values: {
          adminPassword: "hunter2",
          datasources: [{ name: "loki", secureJsonData: { token: "abc" } }],
          already: { password: secret("kept") },
          secretName: "grafana-admin",
          emptyPassword: "",
        },
      });
      assert.deepEqual(plaintextSecretPaths(props), [
        "values.adminPassword",
        "values.datasources[0].secureJsonData.token",
      ]);
      const fixed = await remediate(props);
      assert.ok(fixed);
      const wire = (await serializeProperties(fixed)) as any;
      assert.deepEqual(wire.values.adminPassword, secret("hunter2"));
      assert.deepEqual(wire.values.datasources[0].secureJsonData.token, secret("abc"));
      assert.deepEqual(wire.values.already.password, secret("kept"));
      assert.equal(wire.values.secretName, "grafana-admin");
      assert.equal(wire.name, "grafana");
      assert.ok((fixed as any).values.adminPassword instanceof Secret);
    });

    it("cannot tell secrets from plaintext in validations, which is why it remediates", () => {
      // The limitation the policy is built around (pulumi/pulumi-policy#241).
      const props = validationProps({ adminPassword: secret("s3cret") });
      assert.equal(props["adminPassword"], "s3cret");
      assert.deepEqual(plaintextSecretPaths(props), ["adminPassword"]);
      assert.equal(noPlaintextSecrets.validateResource, undefined);
    });
  });
});
