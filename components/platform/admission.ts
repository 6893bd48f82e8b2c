/**
 * Admission guard rails for every tenant namespace of a cluster, as ValidatingAdmissionPolicies (CEL,
 * built into Kubernetes ≥ 1.30) bound to namespaces labelled `imaas.io/tenant`. They cover what Pod
 * Security does not: no NodePort/LoadBalancer Services, images only from the tenant's own registry
 * project or the platform's base-image project, pull policy Always or digest-pinned images, no host
 * access (belt and braces over PSA), and the platform's own objects untouchable by tenants.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { LABELS, MANAGED_BY } from "../../model/naming";
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
  ];
}

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
