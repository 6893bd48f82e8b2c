/**
 * Namespace-scoped RBAC for the tenant's people. Owners and members get Roles in their own namespaces
 * only — never a ClusterRole binding, never `escalate`, `bind` or `impersonate`, never write access to
 * quotas or limit ranges. In dev and test owners may manage Roles, RoleBindings and NetworkPolicies of
 * their own (Kubernetes' escalation check stops them granting more than they hold, and the platform's
 * admission policy stops them touching the platform's objects); in prod people read, and changes arrive
 * through Argo CD.
 */
import type { Environment } from "../../model/environments";
import { membersGroup, ownersGroup } from "../../model/naming";

export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

const READ = ["get", "list", "watch"] as const;
const WRITE = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"] as const;

/** What everyone in the tenant may read (no Secrets: their values are not for browsing). */
const readRules: PolicyRule[] = [
  {
    apiGroups: [""],
    resources: [
      "pods",
      "pods/log",
      "services",
      "endpoints",
      "configmaps",
      "events",
      "serviceaccounts",
      "persistentvolumeclaims",
      "resourcequotas",
      "limitranges",
    ],
    verbs: READ,
  },
  { apiGroups: ["apps"], resources: ["deployments", "replicasets", "statefulsets"], verbs: READ },
  { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: READ },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: READ },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: READ },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies", "ingresses"], verbs: READ },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: READ },
  { apiGroups: ["external-secrets.io"], resources: ["externalsecrets", "secretstores"], verbs: READ },
  { apiGroups: ["monitoring.coreos.com"], resources: ["servicemonitors", "prometheusrules"], verbs: READ },
];

/** Working on running services in dev and test (members and owners). */
const workRules: PolicyRule[] = [
  { apiGroups: [""], resources: ["pods"], verbs: ["delete"] },
  { apiGroups: [""], resources: ["pods/portforward", "pods/exec"], verbs: ["create"] },
  { apiGroups: [""], resources: ["configmaps", "secrets"], verbs: WRITE },
  { apiGroups: ["apps"], resources: ["deployments", "deployments/scale"], verbs: ["patch", "update"] },
  { apiGroups: ["batch"], resources: ["jobs"], verbs: WRITE },
];

/** Owners in dev and test: their own Roles, RoleBindings and NetworkPolicies (MTB PL2 OPS-3/4). */
const ownerRules: PolicyRule[] = [
  { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles", "rolebindings"], verbs: WRITE },
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: WRITE },
];

export interface RoleDef {
  readonly name: string;
  readonly rules: readonly PolicyRule[];
  readonly groups: readonly string[];
}

/** The Roles of one tenant namespace, each with the groups bound to it. */
export function tenantRoles(tenant: string, env: Environment, groupPrefix: string): RoleDef[] {
  const owners = ownersGroup(groupPrefix, tenant);
  const members = membersGroup(groupPrefix, tenant);
  if (env === "prod") return [{ name: "tenant-viewer", rules: readRules, groups: [owners, members] }];
  return [
    { name: "tenant-developer", rules: [...readRules, ...workRules], groups: [members] },
    { name: "tenant-owner", rules: [...readRules, ...workRules, ...ownerRules], groups: [owners] },
  ];
}

/** Verbs no tenant Role may ever hold. */
export const FORBIDDEN_VERBS: readonly string[] = ["escalate", "bind", "impersonate", "*"];
