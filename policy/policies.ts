/**
 * The IMaaS CrossGuard policies, each a plain object so tests can call them without starting the
 * policy server (`index.ts` builds the PolicyPack from `POLICIES`).
 *
 * Conventions they rely on (set by the platform's components):
 * - tenant namespaces are `kubernetes:core/v1:Namespace` labelled `imaas.io/tenant`; prod ones also
 *   `imaas.io/environment: prod`;
 * - a tenant namespace's ResourceQuota, LimitRange and NetworkPolicies have `metadata.namespace` set
 *   to it; the default-deny NetworkPolicy is `default-deny`, empty podSelector, both policy types;
 * - tenant RBAC subjects are groups named with a tenant prefix (`imaas:` by default) or tenant
 *   service accounts.
 *
 * What @pulumi/policy 1.21.0 can and cannot see (checked in its `policy.d.ts` and `server.js`):
 * - resource options carry `protect` but not `retainOnDelete` (the engine does not send it to
 *   analyzers at all), so no policy here can check `retainOnDelete`;
 * - in `validateResource`/`validateStack`, secret values arrive unwrapped — indistinguishable from
 *   plain values (pulumi/pulumi-policy#241). Only `remediateResource` receives them still marked (as
 *   `Secret` instances behind a proxy), so the plaintext-secret policy is a remediation.
 */
import {
  type EnforcementLevel,
  type PolicyResource,
  type ResourceValidationArgs,
  type ResourceValidationPolicy,
  Secret,
  type StackValidationPolicy,
} from "@pulumi/policy";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";

export const DEFAULT_ENFORCEMENT: EnforcementLevel = "mandatory";

export const TYPES = {
  namespace: "kubernetes:core/v1:Namespace",
  resourceQuota: "kubernetes:core/v1:ResourceQuota",
  limitRange: "kubernetes:core/v1:LimitRange",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  appProject: "kubernetes:argoproj.io/v1alpha1:AppProject",
  githubRepository: "github:index/repository:Repository",
} as const;

export const LABEL_TENANT = "imaas.io/tenant";
export const LABEL_ENVIRONMENT = "imaas.io/environment";
export const PSA_ENFORCE = "pod-security.kubernetes.io/enforce";
export const DEFAULT_DENY = "default-deny";

// ---- small readers over untyped props ----

type Props = Record<string, unknown>;
const isObject = (v: unknown): v is Props => typeof v === "object" && v !== null && !Array.isArray(v);
const asObject = (v: unknown): Props => (isObject(v) ? v : {});
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asString = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const metadata = (props: Props): Props => asObject(props["metadata"]);
const labels = (props: Props): Props => asObject(metadata(props)["labels"]);

/** The tenant a namespace belongs to, or undefined for a platform namespace. */
export function tenantOf(namespaceProps: Props): string | undefined {
  const t = asString(labels(namespaceProps)[LABEL_TENANT]);
  return t && t.length > 0 ? t : undefined;
}

const isTenantNamespace = (type: string, props: Props): boolean =>
  type === TYPES.namespace && tenantOf(props) !== undefined;

const isProdNamespace = (type: string, props: Props): boolean =>
  type === TYPES.namespace && labels(props)[LABEL_ENVIRONMENT] === "prod";

// ---- tenant namespaces ----

export const tenantNamespaceRestricted: ResourceValidationPolicy = {
  name: "tenant-namespace-psa-restricted",
  description: "Tenant namespaces enforce the restricted Pod Security Standard.",
  enforcementLevel: DEFAULT_ENFORCEMENT,
  severity: "high",
  validateResource: (args, report) => {
    if (!isTenantNamespace(args.type, args.props)) return;
    const level = labels(args.props)[PSA_ENFORCE];
    if (level !== "restricted") {
      report(
        `tenant namespace "${asString(metadata(args.props)["name"]) ?? args.name}" must carry the label ` +
          `${PSA_ENFORCE}: restricted (found ${level === undefined ? "none" : JSON.stringify(level)})`,
      );
    }
  },
};

/** True when a NetworkPolicy denies all ingress and egress to every pod of its namespace. */
export function isDefaultDeny(props: Props): boolean {
  const spec = asObject(props["spec"]);
  const selector = asObject(spec["podSelector"]);
  const emptySelector =
    Object.keys(asObject(selector["matchLabels"])).length === 0 &&
    asArray(selector["matchExpressions"]).length === 0;
  const types = asArray(spec["policyTypes"]);
  return (
    isObject(spec["podSelector"]) &&
    emptySelector &&
    types.includes("Ingress") &&
    types.includes("Egress") &&
    asArray(spec["ingress"]).length === 0 &&
    asArray(spec["egress"]).length === 0
  );
}

export const tenantNamespaceGuardrails: StackValidationPolicy = {
  name: "tenant-namespace-guardrails",
  description:
    "Every tenant namespace has a ResourceQuota, a LimitRange and a default-deny NetworkPolicy " +
    "(named default-deny, empty podSelector, Ingress and Egress, no rules).",
  enforcementLevel: DEFAULT_ENFORCEMENT,
  severity: "high",
  validateStack: (args, report) => {
    const inNamespace = (type: string, ns: string): PolicyResource[] =>
      args.resources.filter((r) => r.type === type && metadata(r.props)["namespace"] === ns);
    for (const ns of args.resources.filter((r) => isTenantNamespace(r.type, r.props))) {
      const name = asString(metadata(ns.props)["name"]);
      if (!name) {
        report("tenant namespace has no metadata.name; tenant namespaces are named explicitly", ns.urn);
        continue;
      }
      const missing: string[] = [];
      if (inNamespace(TYPES.resourceQuota, name).length === 0) missing.push("a ResourceQuota");
      if (inNamespace(TYPES.limitRange, name).length === 0) missing.push("a LimitRange");
      const deny = inNamespace(TYPES.networkPolicy, name).filter(
        (p) => metadata(p.props)["name"] === DEFAULT_DENY,
      );
      if (deny.length === 0) missing.push(`a NetworkPolicy "${DEFAULT_DENY}"`);
      else if (!deny.some((p) => isDefaultDeny(p.props))) {
        missing.push(
          `a NetworkPolicy "${DEFAULT_DENY}" that denies everything (its podSelector, policyTypes or rules allow traffic)`,
        );
      }
      if (missing.length > 0) report(`tenant namespace "${name}" lacks ${missing.join(", ")}`, ns.urn);
    }
  },
};

export const prodNamespaceProtected: ResourceValidationPolicy = {
  name: "prod-namespace-protected",
  description: "Prod namespaces are protected, so removing a tenant never deletes production.",
  enforcementLevel: DEFAULT_ENFORCEMENT,
  severity: "critical",
  validateResource: (args, report) => {
    if (!isProdNamespace(args.type, args.props)) return;
    if (args.opts.protect !== true) {
      report(
        `prod namespace "${asString(metadata(args.props)["name"]) ?? args.name}" must be created with ` +
          "{ protect: true }; decommissioning prod is a deliberate step",
      );
    }
  },
};

// ---- RBAC ----

export interface ClusterRoleBindingConfig {
  /** Group-name prefixes of tenant groups (the platform's prefix and the OIDC groups' prefixes). */
  readonly tenantGroupPrefixes: string[];
  /** Groups with the prefix that are not tenants' (platform admins). */
  readonly allowedGroups: string[];
}

export const CLUSTER_ROLE_BINDING_DEFAULTS: ClusterRoleBindingConfig = {
  tenantGroupPrefixes: ["imaas:"],
  allowedGroups: ["imaas:platform-admins"],
};

/** The subjects of a ClusterRoleBinding that belong to tenants, described for a message. */
export function tenantSubjects(
  bindingProps: Props,
  tenantNamespaces: ReadonlySet<string>,
  cfg: ClusterRoleBindingConfig,
): string[] {
  const found: string[] = [];
  for (const s of asArray(bindingProps["subjects"]).map(asObject)) {
    const kind = asString(s["kind"]);
    const name = asString(s["name"]) ?? "";
    const namespace = asString(s["namespace"]) ?? "";
    if (kind === "Group") {
      const saGroup = /^system:serviceaccounts:(.+)$/.exec(name);
      if (saGroup && tenantNamespaces.has(saGroup[1]!)) found.push(`group ${name}`);
      else if (
        !cfg.allowedGroups.includes(name) &&
        cfg.tenantGroupPrefixes.some((p) => p.length > 0 && name.startsWith(p))
      ) {
        found.push(`group ${name}`);
      }
    } else if (kind === "ServiceAccount" && tenantNamespaces.has(namespace)) {
      found.push(`service account ${namespace}/${name}`);
    } else if (kind === "User") {
      const sa = /^system:serviceaccount:([^:]+):/.exec(name);
      if (sa && tenantNamespaces.has(sa[1]!)) found.push(`user ${name}`);
    }
  }
  return found;
}

export const noTenantClusterRoleBindings: StackValidationPolicy = {
  name: "no-tenant-cluster-role-bindings",
  description:
    "No ClusterRoleBinding binds a tenant group or a service account of a tenant namespace: tenants " +
    "get namespace-scoped RBAC only.",
  enforcementLevel: DEFAULT_ENFORCEMENT,
  severity: "critical",
  configSchema: {
    properties: {
      tenantGroupPrefixes: { type: "array", items: { type: "string" }, default: ["imaas:"] },
      allowedGroups: { type: "array", items: { type: "string" }, default: ["imaas:platform-admins"] },
    },
  },
  validateStack: (args, report) => {
    const cfg = { ...CLUSTER_ROLE_BINDING_DEFAULTS, ...args.getConfig<Partial<ClusterRoleBindingConfig>>() };
    const tenantNamespaces = new Set(
      args.resources
        .filter((r) => isTenantNamespace(r.type, r.props))
        .map((r) => asString(metadata(r.props)["name"]))
        .filter((n): n is string => n !== undefined),
    );
    for (const crb of args.resources.filter((r) => r.type === TYPES.clusterRoleBinding)) {
      const subjects = tenantSubjects(crb.props, tenantNamespaces, cfg);
      if (subjects.length > 0) {
        report(
          `ClusterRoleBinding "${asString(metadata(crb.props)["name"]) ?? crb.name}" grants cluster-wide ` +
            `access to tenant subjects: ${subjects.join(", ")}; use a RoleBinding in the tenant's namespaces`,
          crb.urn,
        );
      }
    }
  },
};

// ---- Argo CD ----

const hasWildcard = (v: unknown): boolean => typeof v === "string" && v.includes("*");

/** Every field of an AppProject spec that holds a `*`, as `path: value`. */
export function appProjectWildcards(props: Props): string[] {
  const spec = asObject(props["spec"]);
  const found: string[] = [];
  asArray(spec["sourceRepos"]).forEach((r, i) => {
    if (hasWildcard(r)) found.push(`spec.sourceRepos[${i}]: ${String(r)}`);
  });
  asArray(spec["destinations"]).forEach((d, i) => {
    for (const key of ["server", "name", "namespace"]) {
      const v = asObject(d)[key];
      if (hasWildcard(v)) found.push(`spec.destinations[${i}].${key}: ${String(v)}`);
    }
  });
  asArray(spec["clusterResourceWhitelist"]).forEach((w, i) => {
    for (const key of ["group", "kind"]) {
      const v = asObject(w)[key];
      if (hasWildcard(v)) found.push(`spec.clusterResourceWhitelist[${i}].${key}: ${String(v)}`);
    }
  });
  return found;
}

export const appProjectNoWildcards: ResourceValidationPolicy = {
  name: "appproject-no-wildcards",
  description:
    "Argo CD AppProjects name their source repos, destinations and cluster resources exactly: no '*'.",
  enforcementLevel: DEFAULT_ENFORCEMENT,
  severity: "critical",
  validateResource: (args, report) => {
    if (args.type !== TYPES.appProject) return;
    const found = appProjectWildcards(args.props);
    if (found.length > 0) {
      report(
        `AppProject "${asString(metadata(args.props)["name"]) ?? args.name}" uses '*': ${found.join("; ")}`,
      );
    }
  },
};

// ---- GitHub ----

export const githubRepositoryPrivateAndKept: ResourceValidationPolicy = {
  name: "github-repository-private-and-kept",
  description:
    "Tenant repositories are private and archived, not deleted, on destroy (archiveOnDestroy). " +
    "retainOnDelete cannot be checked: @pulumi/policy does not receive that resource option.",
  enforcementLevel: DEFAULT_ENFORCEMENT,
  severity: "high",
  validateResource: (args, report) => {
    if (args.type !== TYPES.githubRepository) return;
    const name = asString(args.props["name"]) ?? args.name;
    if (args.props["visibility"] !== "private") {
      report(
        `repository "${name}" must set visibility: "private" (found ${JSON.stringify(args.props["visibility"] ?? null)})`,
      );
    }
    if (args.props["archiveOnDestroy"] !== true) {
      report(
        `repository "${name}" must set archiveOnDestroy: true so removing a service never deletes its code`,
      );
    }
  },
};

// ---- secrets ----

/** Keys whose values are secrets: they end in one of these words (case, `-` and `_` ignored). */
const SECRET_KEY = /(password|passwd|passphrase|token|secret|privatekey|apikey|clientsecret)$/;

/** True for a property name that holds a secret value (`adminPassword`, `private_key`, `token`). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.toLowerCase().replace(/[-_]/g, ""));
}

/**
 * The raw value of `obj[key]`: for the policy server's proxies this is the value underneath, where
 * secret-marked values are still `Secret` instances (the proxies have no descriptor trap).
 */
const raw = (obj: object, key: string): unknown => Object.getOwnPropertyDescriptor(obj, key)?.value;

/** Paths of plain (not secret-marked, known, non-empty) strings under secret-like keys. */
export function plaintextSecretPaths(props: object): string[] {
  const found: string[] = [];
  const walk = (value: unknown, path: string, secretKey: boolean): void => {
    if (value instanceof Secret) return;
    if (typeof value === "string") {
      if (secretKey && value.length > 0 && value !== unknownValue) found.push(path);
      return;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) walk(raw(value, String(i)), `${path}[${i}]`, secretKey);
      return;
    }
    if (typeof value === "object" && value !== null) {
      for (const k of Object.keys(value)) {
        walk(raw(value, k), path === "" ? k : `${path}.${k}`, isSecretKey(k));
      }
    }
  };
  walk(props, "", false);
  return found;
}

/** A copy of the raw props with the plaintext secret values marked secret; secrets stay marked. */
export function markPlaintextSecrets(props: object): Props {
  const copy = (value: unknown, secretKey: boolean): unknown => {
    if (value instanceof Secret) return value;
    if (typeof value === "string") {
      return secretKey && value.length > 0 && value !== unknownValue ? new Secret(value) : value;
    }
    if (Array.isArray(value)) return value.map((_, i) => copy(raw(value, String(i)), secretKey));
    if (typeof value === "object" && value !== null) {
      return Object.fromEntries(Object.keys(value).map((k) => [k, copy(raw(value, k), isSecretKey(k))]));
    }
    return value;
  };
  return copy(props, false) as Props;
}

export const noPlaintextSecrets: ResourceValidationPolicy = {
  name: "no-plaintext-secrets",
  description:
    "Inputs named like password/token/secret/privateKey are Pulumi secrets; plain values are marked " +
    "secret before they reach the provider or the state.",
  // Secretness is only visible to remediations (validations see every secret unwrapped), so this
  // policy remediates; as "mandatory" it would have nothing to run.
  enforcementLevel: "remediate",
  severity: "high",
  remediateResource: (args: ResourceValidationArgs) => {
    if (plaintextSecretPaths(args.props).length === 0) return undefined;
    return markPlaintextSecrets(args.props);
  },
};

/** Every policy of the pack. */
export const POLICIES: Array<ResourceValidationPolicy | StackValidationPolicy> = [
  tenantNamespaceRestricted,
  tenantNamespaceGuardrails,
  prodNamespaceProtected,
  noTenantClusterRoleBindings,
  appProjectNoWildcards,
  githubRepositoryPrivateAndKept,
  noPlaintextSecrets,
];
