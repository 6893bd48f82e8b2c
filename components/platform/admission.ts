/**
 * Admission guard rails for every tenant namespace of a cluster, as ValidatingAdmissionPolicies (CEL,
 * built into Kubernetes ≥ 1.30) bound to namespaces labelled `imaas.io/tenant`. They cover what Pod
 * Security does not: no NodePort/LoadBalancer Services, images only from the tenant's own registry
 * project or the platform's base-image project, pull policy Always or digest-pinned images, no host
 * access (belt and braces over PSA), the platform's own objects untouchable by tenants, tenant-written
 * NetworkPolicies that can only shape traffic inside their own namespace (NetworkPolicies only ever add
 * permissions, so an unchecked one would undo the platform's egress allow-list), no service-account
 * token Secrets (they would mint long-lived tokens around RBAC's refusal of serviceaccounts/token), and
 * every pod — directly or through a workload's template — running as the workload service account
 * only (a Job as `secrets-reader` would hold the Vault login of the tenant's environment).
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { LABELS, MANAGED_BY, TENANT_OBJECTS } from "../../model/naming";
import type { PlatformConfig } from "../../model/platform-config";
import { platformLabels } from "../shared/labels";

export interface AdmissionPolicyDef {
  readonly name: string;
  readonly spec: Record<string, unknown>;
}

const TENANT_NAMESPACES = { matchExpressions: [{ key: LABELS.tenant, operator: "Exists" }] };

const podRules = [
  {
    apiGroups: [""],
    apiVersions: ["v1"],
    operations: ["CREATE", "UPDATE"],
    resources: ["pods", "pods/ephemeralcontainers"],
  },
];

/** All containers of a pod, including init and ephemeral ones. */
const ALL_CONTAINERS =
  "object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : []) + (has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : [])";

/** Users the platform's own objects may be changed by: cluster admins, platform admins, core controllers. */
function platformActor(cfg: PlatformConfig): string {
  return [
    `request.userInfo.groups.exists(g, g == 'system:masters' || g == '${cfg.identity.platformAdminsGroup}')`,
    "request.userInfo.username.startsWith('system:serviceaccount:kube-system:')",
    "request.userInfo.username == 'system:kube-controller-manager'",
  ].join(" || ");
}

export function admissionPolicies(cfg: PlatformConfig): AdmissionPolicyDef[] {
  const registry = cfg.registry.host;
  const base = `${registry}/${cfg.registry.baseImageProject}/`;
  const managed = (o: string) =>
    `(${o} != null && has(${o}.metadata.labels) && '${LABELS.managedBy}' in ${o}.metadata.labels && ${o}.metadata.labels['${LABELS.managedBy}'] == '${MANAGED_BY}')`;
  return [
    {
      name: "imaas-no-external-services",
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          namespaceSelector: TENANT_NAMESPACES,
          resourceRules: [
            {
              apiGroups: [""],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["services"],
            },
          ],
        },
        validations: [
          {
            expression:
              "!has(object.spec.type) || object.spec.type == 'ClusterIP' || object.spec.type == 'ExternalName'",
            message:
              "tenant Services are ClusterIP: NodePort and LoadBalancer are refused; ask for an endpoint (expose) in the tenant file",
            reason: "Forbidden",
          },
        ],
      },
    },
    {
      name: "imaas-tenant-images",
      spec: {
        failurePolicy: "Fail",
        matchConstraints: { namespaceSelector: TENANT_NAMESPACES, resourceRules: podRules },
        variables: [
          { name: "tenant", expression: `namespaceObject.metadata.labels['${LABELS.tenant}']` },
          { name: "containers", expression: ALL_CONTAINERS },
        ],
        validations: [
          {
            expression: `variables.containers.all(c, c.image.startsWith('${registry}/' + variables.tenant + '/') || c.image.startsWith('${base}'))`,
            messageExpression: `'images must come from ${registry}/' + variables.tenant + '/ or ${base}'`,
            reason: "Forbidden",
          },
          {
            expression:
              "variables.containers.all(c, c.image.contains('@sha256:') || (has(c.imagePullPolicy) && c.imagePullPolicy == 'Always'))",
            message: "set imagePullPolicy: Always or pin the image by digest (@sha256:…)",
            reason: "Forbidden",
          },
        ],
      },
    },
    {
      name: "imaas-no-host-access",
      spec: {
        failurePolicy: "Fail",
        matchConstraints: { namespaceSelector: TENANT_NAMESPACES, resourceRules: podRules },
        variables: [{ name: "containers", expression: ALL_CONTAINERS }],
        validations: [
          {
            expression:
              "!(has(object.spec.hostNetwork) && object.spec.hostNetwork) && !(has(object.spec.hostPID) && object.spec.hostPID) && !(has(object.spec.hostIPC) && object.spec.hostIPC)",
            message: "host network, PID and IPC namespaces are refused in tenant namespaces",
            reason: "Forbidden",
          },
          {
            expression: "!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))",
            message: "hostPath volumes are refused in tenant namespaces",
            reason: "Forbidden",
          },
          {
            expression:
              "variables.containers.all(c, !has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0))",
            message: "host ports are refused in tenant namespaces",
            reason: "Forbidden",
          },
        ],
      },
    },
    {
      name: "imaas-protect-platform-objects",
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          namespaceSelector: TENANT_NAMESPACES,
          resourceRules: [
            {
              apiGroups: [""],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE", "DELETE"],
              resources: ["resourcequotas", "limitranges", "serviceaccounts", "secrets"],
            },
            {
              apiGroups: ["networking.k8s.io"],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE", "DELETE"],
              resources: ["networkpolicies"],
            },
            {
              apiGroups: ["rbac.authorization.k8s.io"],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE", "DELETE"],
              resources: ["roles", "rolebindings"],
            },
          ],
        },
        validations: [
          {
            expression: `${platformActor(cfg)} || !(${managed("object")} || ${managed("oldObject")})`,
            message: `objects labelled ${LABELS.managedBy}=${MANAGED_BY} belong to the platform: tenants cannot create, change or delete them`,
            reason: "Forbidden",
          },
        ],
      },
    },
    {
      name: "imaas-tenant-network-policies",
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          namespaceSelector: TENANT_NAMESPACES,
          resourceRules: [
            {
              apiGroups: ["networking.k8s.io"],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["networkpolicies"],
            },
          ],
        },
        // The platform's own policies (DNS, ingress controller, allowFrom tenants, declared egress CIDRs)
        // are made by the platform; everyone else's may only shape traffic inside the namespace.
        matchConditions: [{ name: "not-the-platform", expression: `!(${platformActor(cfg)})` }],
        validations: [
          {
            expression: `${everyRule("ingress", "has(r.from) && size(r.from) > 0")} && ${everyRule("egress", "has(r.to) && size(r.to) > 0")}`,
            message:
              "every ingress rule of a tenant-written NetworkPolicy names its sources (from) and every egress rule its destinations (to): a rule without them allows every address",
            reason: "Forbidden",
          },
          {
            expression: everyPeer("!has(p.ipBlock)"),
            message:
              "ipBlock peers are refused in tenant-written NetworkPolicies: external systems are declared in the tenant file (network.egress)",
            reason: "Forbidden",
          },
          {
            expression: everyPeer(`!has(p.namespaceSelector) || ${OWN_NAMESPACE_SELECTOR}`),
            messageExpression: `'a namespaceSelector in a tenant-written NetworkPolicy must select this namespace only (matchLabels ${NS_NAME_LABEL}: ' + namespaceObject.metadata.name + ', or ${LABELS.tenant} and ${LABELS.environment} of this namespace); other tenants are allowed in the tenant file (network.allowFrom)'`,
            reason: "Forbidden",
          },
        ],
      },
    },
    {
      name: "imaas-no-token-secrets",
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          namespaceSelector: TENANT_NAMESPACES,
          resourceRules: [
            {
              apiGroups: [""],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["secrets"],
            },
          ],
        },
        // No exemption: the platform makes no token Secrets in tenant namespaces (1.24+ clusters never
        // need them; the External Secrets Operator asks for short-lived tokens with TokenRequest).
        validations: [
          {
            expression: `!has(object.type) || object.type != '${SA_TOKEN_SECRET}'`,
            message:
              "service-account token Secrets are refused in tenant namespaces: they would mint long-lived tokens for the namespace's service accounts (the platform's secrets-reader included)",
            reason: "Forbidden",
          },
        ],
      },
    },
    {
      name: "imaas-workload-service-account",
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          namespaceSelector: TENANT_NAMESPACES,
          resourceRules: [
            { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] },
            {
              apiGroups: [""],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["replicationcontrollers"],
            },
            {
              apiGroups: ["apps"],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["deployments", "replicasets", "statefulsets", "daemonsets"],
            },
            {
              apiGroups: ["batch"],
              apiVersions: ["v1"],
              operations: ["CREATE", "UPDATE"],
              resources: ["jobs", "cronjobs"],
            },
          ],
        },
        // Nobody is exempt: no pod in a tenant namespace has a reason to run as another account, and
        // controllers only copy templates that were checked here.
        variables: [
          {
            name: "podSpec",
            expression:
              "request.resource.resource == 'pods' ? object.spec : (request.resource.resource == 'cronjobs' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec)",
          },
          {
            name: "account",
            expression:
              "has(variables.podSpec.serviceAccountName) && variables.podSpec.serviceAccountName != '' ? variables.podSpec.serviceAccountName : (has(variables.podSpec.serviceAccount) && variables.podSpec.serviceAccount != '' ? variables.podSpec.serviceAccount : 'default')",
          },
        ],
        validations: [
          {
            expression: `variables.account == '${TENANT_OBJECTS.workloadServiceAccount}' && (!has(variables.podSpec.serviceAccount) || variables.podSpec.serviceAccount == '' || variables.podSpec.serviceAccount == '${TENANT_OBJECTS.workloadServiceAccount}')`,
            messageExpression: `'pods in tenant namespaces run as the service account ${TENANT_OBJECTS.workloadServiceAccount} (set serviceAccountName: ${TENANT_OBJECTS.workloadServiceAccount}), not ' + variables.account`,
            reason: "Forbidden",
          },
        ],
      },
    },
  ];
}

/** The type of a Secret the token controller fills with a long-lived service-account token. */
export const SA_TOKEN_SECRET = "kubernetes.io/service-account-token";
/** The immutable namespace label Kubernetes sets on every namespace. */
const NS_NAME_LABEL = "kubernetes.io/metadata.name";

/** `pred` (over `r`) holds for every rule of a NetworkPolicy direction; no rules, no constraint. */
function everyRule(direction: "ingress" | "egress", pred: string): string {
  return `(!has(object.spec.${direction}) || object.spec.${direction}.all(r, ${pred}))`;
}

/** `pred` (over `p`) holds for every peer of every ingress and egress rule of a NetworkPolicy. */
function everyPeer(pred: string): string {
  return [
    everyRule("ingress", `!has(r.from) || r.from.all(p, ${pred})`),
    everyRule("egress", `!has(r.to) || r.to.all(p, ${pred})`),
  ].join(" && ");
}

/**
 * A namespaceSelector whose matchLabels pin the policy's own namespace: by its name label, or by the
 * tenant and environment labels of the namespace (one namespace per tenant and environment). Selector
 * terms are ANDed, so matchExpressions beside them can only narrow.
 */
const OWN_NAMESPACE_SELECTOR = [
  "(has(p.namespaceSelector.matchLabels) && (",
  `('${NS_NAME_LABEL}' in p.namespaceSelector.matchLabels && p.namespaceSelector.matchLabels['${NS_NAME_LABEL}'] == namespaceObject.metadata.name)`,
  ` || ('${LABELS.tenant}' in p.namespaceSelector.matchLabels && '${LABELS.environment}' in p.namespaceSelector.matchLabels`,
  ` && p.namespaceSelector.matchLabels['${LABELS.tenant}'] == namespaceObject.metadata.labels['${LABELS.tenant}']`,
  ` && '${LABELS.environment}' in namespaceObject.metadata.labels`,
  ` && p.namespaceSelector.matchLabels['${LABELS.environment}'] == namespaceObject.metadata.labels['${LABELS.environment}'])))`,
].join("");

export function createAdmissionPolicies(
  name: string,
  cfg: PlatformConfig,
  provider: k8s.Provider,
  parent: pulumi.Resource,
): pulumi.Resource[] {
  const created: pulumi.Resource[] = [];
  for (const p of admissionPolicies(cfg)) {
    const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
      `${name}-${p.name}`,
      { metadata: { name: p.name, labels: platformLabels("admission") }, spec: p.spec },
      { parent, provider },
    );
    const binding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
      `${name}-${p.name}-binding`,
      {
        metadata: { name: p.name, labels: platformLabels("admission") },
        spec: {
          policyName: p.name,
          validationActions: ["Deny"],
          matchResources: { namespaceSelector: TENANT_NAMESPACES },
        },
      },
      { parent, provider, dependsOn: [policy] },
    );
    created.push(policy, binding);
  }
  return created;
}
