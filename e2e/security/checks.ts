/**
 * The Kubernetes Multi-Tenancy Benchmark checks (kubernetes-sigs/multi-tenancy, kubectl-mtb) and the
 * platform's own isolation promises, as data: one entry per check, run by run.ts for every tenant,
 * environment and actor it applies to. Adding a check is adding an entry.
 *
 * Actors: `people` runs as the tenant's owner and as a member (impersonating the platform's RBAC groups);
 * `owner` as the owner only; `deployer` as the identity that applies workloads — in this platform tenant
 * people never create pods or Services themselves (they have no RBAC for it: workloads arrive through
 * Argo CD), so the pod and Service admission checks run as the deployer, where admission (Pod Security,
 * the platform's ValidatingAdmissionPolicies, ResourceQuota) is what stands between a tenant's manifests
 * and the cluster. A `people` check also proves the people cannot create pods at all.
 */
import type { Environment } from "../../model/environments";
import { type Actor, canI, type Identity, kubectl, type KubectlResult, reason, refused } from "./engine";

export interface CheckContext {
  readonly tenant: string;
  readonly env: Environment;
  readonly namespace: string;
  /** Namespaces of every other tenant. */
  readonly otherTenantNamespaces: readonly string[];
  /** Cluster-scoped resource names (`nodes`, `clusterroles.rbac.authorization.k8s.io`, …). */
  readonly clusterResources: readonly string[];
  readonly registry: string;
  readonly baseImageProject: string;
  /** Another tenant, for cross-tenant image checks. */
  readonly otherTenant: string;
  readonly actor?: Actor;
}

export interface Outcome {
  readonly pass: boolean;
  readonly detail: string;
}

export interface Check {
  readonly id: string;
  readonly title: string;
  readonly as: "people" | "owner" | "deployer";
  /** Environments it runs in; default every environment of the tenant. */
  readonly envs?: readonly Environment[];
  run(ctx: CheckContext, id: Identity): Outcome;
}

// ---- manifests -----------------------------------------------------------------------------------

interface PodOptions {
  image?: string;
  pullPolicy?: string;
  podSecurity?: Record<string, unknown>;
  container?: Record<string, unknown>;
  spec?: Record<string, unknown>;
  cpu?: string;
}

/** A pod that passes every rule, with one thing changed by `o`. */
export function pod(ctx: CheckContext, name: string, o: PodOptions = {}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ctx.namespace },
    spec: {
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10802,
        seccompProfile: { type: "RuntimeDefault" },
        ...o.podSecurity,
      },
      containers: [
        {
          name: "probe",
          image: o.image ?? `${ctx.registry}/${ctx.tenant}/probe:1.0.0`,
          imagePullPolicy: o.pullPolicy ?? "Always",
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            ...o.container,
          },
          resources: {
            requests: { cpu: "50m", memory: "64Mi" },
            limits: { cpu: o.cpu ?? "100m", memory: "128Mi" },
          },
        },
      ],
      ...o.spec,
    },
  });
}

function service(ctx: CheckContext, type: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `probe-${type.toLowerCase()}`, namespace: ctx.namespace },
    spec: { type, selector: { app: "probe" }, ports: [{ port: 8290 }] },
  });
}

const dryCreate = (id: Identity, manifest: string): KubectlResult =>
  kubectl(id, ["create", "--dry-run=server", "-o", "name", "-f", "-"], manifest);

const expectRefused = (r: KubectlResult, what: string): Outcome =>
  refused(r)
    ? { pass: true, detail: `refused: ${reason(r)}` }
    : { pass: false, detail: `${what} was NOT refused (${r.code === 0 ? r.out.trim() : reason(r)})` };
const expectAllowed = (r: KubectlResult, what: string): Outcome =>
  r.code === 0
    ? { pass: true, detail: `${what} admitted` }
    : { pass: false, detail: `${what} refused: ${reason(r)}` };

/** Resource rules an identity holds in a namespace (`kubectl auth can-i --list`), as resource → verbs. */
function rulesIn(id: Identity, namespace: string): Map<string, string[]> {
  const r = kubectl(id, ["auth", "can-i", "--list", "-n", namespace]);
  const rules = new Map<string, string[]>();
  for (const line of r.out.split("\n").slice(1)) {
    if (!line.trim() || line.startsWith(" ")) continue; // non-resource URL lines start with spaces
    const resource = line.split(/\s+/)[0];
    const verbs = /\[([^\]]*)\]\s*$/.exec(line)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
    rules.set(resource, [...(rules.get(resource) ?? []), ...verbs]);
  }
  return rules;
}

/** The `spec.hard` of the platform's quota in a namespace ({} when it cannot be read). */
function quotaHard(id: Identity, namespace: string): Record<string, string> {
  const r = kubectl(id, [
    "get",
    "resourcequota",
    "tenant-quota",
    "-n",
    namespace,
    "-o",
    "jsonpath={.spec.hard}",
  ]);
  return r.code === 0 ? (JSON.parse(r.out || "{}") as Record<string, string>) : {};
}

/** Self-introspection every authenticated user has by Kubernetes' defaults (system:basic-user). */
const SELF_REVIEWS = /^self(subject(access|rules)?)?reviews\./;

// ---- the checks ----------------------------------------------------------------------------------

const VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];

export const CHECKS: readonly Check[] = [
  {
    id: "MTB-PL1-CC-CPI-1",
    title: "Block access to cluster resources",
    as: "people",
    run(ctx, id) {
      const rules = rulesIn(id, ctx.namespace);
      const cluster = [...rules.entries()].filter(([res, verbs]) => {
        const plain = res.split(".")[0];
        const isCluster = ctx.clusterResources.some(
          (c) => c === res || (c.split(".")[0] === plain && !res.includes(".")),
        );
        return isCluster && !SELF_REVIEWS.test(res) && verbs.some((v) => VERBS.includes(v) || v === "*");
      });
      if (cluster.length > 0)
        return { pass: false, detail: `holds ${cluster.map(([r, v]) => `${r} [${v}]`).join(", ")}` };
      for (const args of [
        ["get", "nodes"],
        ["get", "namespaces"],
        ["get", "clusterroles"],
        ["create", "namespace", `probe-${ctx.tenant}`, "--dry-run=server"],
      ]) {
        const r = kubectl(id, args);
        if (!refused(r)) return { pass: false, detail: `kubectl ${args.join(" ")} was not refused` };
      }
      return {
        pass: true,
        detail: `no cluster-scoped rule among ${ctx.clusterResources.length} resources × ${VERBS.length} verbs; real requests refused`,
      };
    },
  },
  {
    id: "MTB-PL1-BC-CPI-2",
    title: "Block modification of the platform's multi-tenant resources",
    as: "people",
    run(ctx, id) {
      const attempts: string[][] = [
        ["delete", "resourcequota", "tenant-quota"],
        ["delete", "limitrange", "tenant-limits"],
        ["delete", "networkpolicy", "default-deny"],
        ["label", "networkpolicy", "default-deny", "probe=1", "--overwrite"],
        ["delete", "rolebinding", ctx.env === "prod" ? "tenant-viewer" : "tenant-owner"],
        [
          "label",
          "rolebinding",
          ctx.env === "prod" ? "tenant-viewer" : "tenant-owner",
          "probe=1",
          "--overwrite",
        ],
      ];
      for (const a of attempts) {
        const r = kubectl(id, [...a, "-n", ctx.namespace, "--dry-run=server"]);
        if (!refused(r)) return { pass: false, detail: `kubectl ${a.join(" ")} was not refused` };
      }
      return { pass: true, detail: "quota, limit range, network policies and role bindings are untouchable" };
    },
  },
  {
    id: "MTB-PL1-BC-CPI-3",
    title: "Block add capabilities",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(
          id,
          pod(ctx, "probe-caps", { container: { capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } } }),
        ),
        "a pod adding NET_ADMIN",
      ),
  },
  {
    id: "MTB-PL1-BC-CPI-4",
    title: "Require run as non-root user",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(id, pod(ctx, "probe-root", { podSecurity: { runAsNonRoot: false, runAsUser: 0 } })),
        "a root pod",
      ),
  },
  {
    id: "MTB-PL1-BC-CPI-5",
    title: "Block privileged containers",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(
          id,
          pod(ctx, "probe-priv", { container: { privileged: true, allowPrivilegeEscalation: true } }),
        ),
        "a privileged pod",
      ),
  },
  {
    id: "MTB-PL1-BC-CPI-6",
    title: "Block privilege escalation",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(id, pod(ctx, "probe-escalate", { container: { allowPrivilegeEscalation: true } })),
        "a pod allowing privilege escalation",
      ),
  },
  {
    id: "CONTROL-POD",
    title: "Positive control: a compliant pod from the tenant's registry is admitted",
    as: "deployer",
    run: (ctx, id) => expectAllowed(dryCreate(id, pod(ctx, "probe-ok")), "the compliant pod"),
  },
  {
    id: "PEOPLE-NO-PODS",
    title: "Tenant people cannot create pods or Services directly (workloads arrive through Argo CD)",
    as: "people",
    run(ctx, id) {
      const p = dryCreate(id, pod(ctx, "probe-direct"));
      if (!refused(p)) return { pass: false, detail: "a person created a pod directly" };
      return expectRefused(dryCreate(id, service(ctx, "ClusterIP")), "a Service created by a person");
    },
  },
  {
    id: "MTB-PL1-BC-HI-1",
    title: "Block use of host path volumes and NodePort services",
    as: "deployer",
    run(ctx, id) {
      const hp = dryCreate(
        id,
        pod(ctx, "probe-hostpath", { spec: { volumes: [{ name: "h", hostPath: { path: "/etc" } }] } }),
      );
      if (!refused(hp)) return { pass: false, detail: "a hostPath pod was not refused" };
      return expectRefused(dryCreate(id, service(ctx, "NodePort")), "a NodePort Service");
    },
  },
  {
    id: "MTB-PL1-BC-HI-3",
    title: "Block use of host networking and ports",
    as: "deployer",
    run(ctx, id) {
      const net = dryCreate(id, pod(ctx, "probe-hostnet", { spec: { hostNetwork: true } }));
      if (!refused(net)) return { pass: false, detail: "a hostNetwork pod was not refused" };
      const port = JSON.parse(pod(ctx, "probe-hostport"));
      port.spec.containers[0].ports = [{ containerPort: 8290, hostPort: 8290 }];
      return expectRefused(dryCreate(id, JSON.stringify(port)), "a hostPort pod");
    },
  },
  {
    id: "MTB-PL1-BC-HI-4",
    title: "Block use of host PID",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(dryCreate(id, pod(ctx, "probe-hostpid", { spec: { hostPID: true } })), "a hostPID pod"),
  },
  {
    id: "MTB-PL1-BC-HI-5",
    title: "Block use of host IPC",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(dryCreate(id, pod(ctx, "probe-hostipc", { spec: { hostIPC: true } })), "a hostIPC pod"),
  },
  {
    id: "MTB-PL1-CC-TI-1",
    title: "Block modification of resource quotas",
    as: "people",
    run(ctx, id) {
      const r = kubectl(id, [
        "patch",
        "resourcequota",
        "tenant-quota",
        "-n",
        ctx.namespace,
        "--dry-run=server",
        "--type=merge",
        "-p",
        '{"spec":{"hard":{"pods":"1000"}}}',
      ]);
      return expectRefused(r, "patching the quota");
    },
  },
  {
    id: "MTB-PL1-CC-TI-2",
    title: "Block access to other tenants' resources",
    as: "people",
    run(ctx, id) {
      for (const ns of ctx.otherTenantNamespaces) {
        const rules = [...rulesIn(id, ns).keys()].filter((r) => !SELF_REVIEWS.test(r));
        if (rules.length > 0) return { pass: false, detail: `holds ${rules.join(", ")} in ${ns}` };
      }
      const sample = ctx.otherTenantNamespaces[0];
      if (sample) {
        const r = kubectl(id, ["get", "pods", "-n", sample]);
        if (!refused(r)) return { pass: false, detail: `kubectl get pods -n ${sample} was not refused` };
      }
      return {
        pass: true,
        detail: `no rule in any of ${ctx.otherTenantNamespaces.length} other tenants' namespaces`,
      };
    },
  },
  {
    id: "MTB-PL2-CC-TI-1",
    title: "Block role escalation (no escalate, no binding of ClusterRoles not held)",
    as: "people",
    run(ctx, id) {
      for (const verb of ["escalate", "bind", "impersonate"]) {
        if (canI(id, verb, "roles", ctx.namespace) || canI(id, verb, "clusterroles"))
          return { pass: false, detail: `may ${verb}` };
      }
      for (const role of ["cluster-admin", "admin", "edit"]) {
        const r = kubectl(id, [
          "create",
          "rolebinding",
          `probe-${role}`,
          `--clusterrole=${role}`,
          "--group=probe",
          "-n",
          ctx.namespace,
          "--dry-run=server",
        ]);
        if (!refused(r)) return { pass: false, detail: `bound ClusterRole ${role}` };
      }
      return {
        pass: true,
        detail: "no escalate/bind/impersonate; binding cluster-admin, admin, edit refused",
      };
    },
  },
  {
    id: "MTB-PL1-CC-FNS-1",
    title: "Configure namespace resource quotas (CPU, memory, storage)",
    as: "deployer",
    run(ctx, id) {
      const hard = quotaHard(id, ctx.namespace);
      const missing = [
        "limits.cpu",
        "limits.memory",
        "requests.cpu",
        "requests.memory",
        "requests.storage",
      ].filter((k) => !(k in hard));
      if (missing.length > 0) return { pass: false, detail: `quota lacks ${missing.join(", ")}` };
      // Two containers, each within the limit range's per-container maximum, together above the quota:
      // the refusal must come from the ResourceQuota itself.
      const cpu = String(Math.ceil(Number.parseFloat(hard["limits.cpu"]) / 2 + 1));
      const big = JSON.parse(pod(ctx, "probe-overquota", { cpu }));
      big.spec.containers[0].resources.limits.cpu = String(Number.parseFloat(hard["limits.cpu"]));
      big.spec.containers.push({ ...big.spec.containers[0], name: "probe-2" });
      const over = dryCreate(id, JSON.stringify(big));
      if (!/exceeded quota/i.test(over.err))
        return { pass: false, detail: `not refused by the quota: ${reason(over)}` };
      return { pass: true, detail: `refused: ${reason(over)}` };
    },
  },
  {
    id: "MTB-PL1-CC-FNS-2",
    title: "Configure namespace object limits (PVCs, load balancers, node ports, pods)",
    as: "deployer",
    run(ctx, id) {
      const hard = quotaHard(id, ctx.namespace);
      const missing = [
        "persistentvolumeclaims",
        "services.loadbalancers",
        "services.nodeports",
        "pods",
      ].filter((k) => !(k in hard));
      if (missing.length > 0) return { pass: false, detail: `quota lacks ${missing.join(", ")}` };
      if (hard["services.loadbalancers"] !== "0" || hard["services.nodeports"] !== "0")
        return { pass: false, detail: "load balancers or node ports allowed" };
      return {
        pass: true,
        detail: `pods ${hard.pods}, PVCs ${hard.persistentvolumeclaims}, load balancers 0, node ports 0`,
      };
    },
  },
  {
    id: "MTB-PL1-CC-DI-1",
    title: "Require image pull policy Always (or a pinned digest)",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(id, pod(ctx, "probe-pull", { pullPolicy: "IfNotPresent" })),
        "a pod with IfNotPresent",
      ),
  },
  {
    id: "MTB-PL2-BC-OPS-3",
    title: "Create Roles and RoleBindings in the own namespace (dev/test), never beyond it",
    as: "owner",
    envs: ["dev", "test"],
    run(ctx, id) {
      const role = JSON.stringify({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "probe-reader", namespace: ctx.namespace },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      });
      const ok = dryCreate(id, role);
      if (ok.code !== 0) return { pass: false, detail: `own Role refused: ${reason(ok)}` };
      const bind = kubectl(id, [
        "create",
        "rolebinding",
        "probe-reader",
        "--role=tenant-developer",
        `--group=imaas:${ctx.tenant}:members`,
        "-n",
        ctx.namespace,
        "--dry-run=server",
      ]);
      if (bind.code !== 0) return { pass: false, detail: `own RoleBinding refused: ${reason(bind)}` };
      const wide = JSON.parse(role);
      wide.rules = [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }];
      if (!refused(dryCreate(id, JSON.stringify(wide))))
        return { pass: false, detail: "a Role granting * was admitted (escalation)" };
      const other = ctx.otherTenantNamespaces[0];
      if (
        other &&
        !refused(
          kubectl(id, [
            "create",
            "rolebinding",
            "probe",
            "--role=tenant-owner",
            "--group=probe",
            "-n",
            other,
            "--dry-run=server",
          ]),
        )
      ) {
        return { pass: false, detail: `created a RoleBinding in ${other}` };
      }
      return {
        pass: true,
        detail: "own Role and RoleBinding admitted; a * Role and other tenants' namespaces refused",
      };
    },
  },
  {
    id: "MTB-PL2-BC-OPS-4",
    title: "Create NetworkPolicies in the own namespace (dev/test)",
    as: "owner",
    envs: ["dev", "test"],
    run(ctx, id) {
      const np = JSON.stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "probe-policy", namespace: ctx.namespace },
        spec: { podSelector: { matchLabels: { app: "probe" } }, policyTypes: ["Ingress"] },
      });
      return expectAllowed(dryCreate(id, np), "the owner's own NetworkPolicy");
    },
  },
  {
    id: "IMAAS-PROD-READ-ONLY",
    title: "In prod, people cannot manage RBAC or network policies",
    as: "people",
    envs: ["prod"],
    run(ctx, id) {
      for (const res of ["roles", "rolebindings", "networkpolicies", "configmaps", "secrets"]) {
        if (canI(id, "create", res, ctx.namespace)) return { pass: false, detail: `may create ${res}` };
      }
      if (canI(id, "get", "secrets", ctx.namespace))
        return { pass: false, detail: "may read secrets in prod" };
      return { pass: true, detail: "read-only, no secrets" };
    },
  },
  {
    id: "IMAAS-FOREIGN-IMAGES",
    title: "Images from another tenant's registry project are refused",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(id, pod(ctx, "probe-foreign", { image: `${ctx.registry}/${ctx.otherTenant}/probe:1.0.0` })),
        "an image of another tenant",
      ),
  },
  {
    id: "IMAAS-NO-LOADBALANCER",
    title: "LoadBalancer Services are refused",
    as: "deployer",
    run: (ctx, id) => expectRefused(dryCreate(id, service(ctx, "LoadBalancer")), "a LoadBalancer Service"),
  },
  {
    id: "IMAAS-NO-ARGOCD-WRITES",
    title: "Tenant people cannot create or modify Argo CD Applications or AppProjects",
    as: "people",
    run(_ctx, id) {
      for (const res of ["applications.argoproj.io", "appprojects.argoproj.io"]) {
        for (const verb of ["create", "update", "patch", "delete"]) {
          if (canI(id, verb, res, "argocd")) return { pass: false, detail: `may ${verb} ${res}` };
        }
      }
      return { pass: true, detail: "no write on Applications or AppProjects" };
    },
  },
];
