/**
 * The Kubernetes Multi-Tenancy Benchmark checks (kubernetes-sigs/multi-tenancy, kubectl-mtb) and the
 * platform's own isolation promises, as data: one entry per check (id, title, actor, environments, and
 * `run`, which builds the requests and states the expected outcome), run by run.ts for every tenant,
 * environment and actor it applies to. Adding a check is adding an entry. Families: access (here),
 * workloads through the deployer (workload-checks.ts), service-account tokens (token-checks.ts), network
 * isolation (network-checks.ts); the helpers every check uses are in probe.ts.
 *
 * Actors: `people` runs as the tenant's owner and as a member (impersonating the platform's RBAC groups);
 * `owner` as the owner only; `deployer` as the identity that applies workloads. In this platform tenant
 * people never create pods or Services themselves (no RBAC for it, which PEOPLE-NO-PODS proves: workloads
 * arrive through Argo CD), so the pod and Service admission checks run as the deployer — the cluster
 * admin here, whom neither Pod Security nor the platform's pod and Service policies exempt — where
 * admission is what stands between a tenant's manifests and the cluster. `cluster` checks run once per
 * namespace with no actor.
 *
 * Every refusal is checked for its reason (`because`), so a probe refused for something other than the
 * one thing under test does not pass; each family has a positive control that must be admitted.
 */
import { admin, kubectl, reason, refusedBy } from "./engine";
import { NETWORK_CHECKS } from "./network-checks";
import {
  allRefused,
  attr,
  type Check,
  dryCreate,
  expectAllowed,
  expectRefused,
  pod,
  platformRole,
  RBAC_DENIED,
  selfReview,
  service,
  VERBS,
} from "./probe";
import { TOKEN_CHECKS } from "./token-checks";
import { WORKLOAD_CHECKS } from "./workload-checks";

// ---- the checks ----------------------------------------------------------------------------------

/** What tenant people may and may not do with their own rights (RBAC, escalation, the platform's objects). */
const ACCESS_CHECKS: readonly Check[] = [
  {
    id: "MTB-PL1-CC-CPI-1",
    title: "Block access to cluster resources",
    as: "people",
    async run(ctx, id) {
      const cluster = ctx.cluster.resources.filter((r) => !r.namespaced);
      const attrs = cluster
        .flatMap((r) => VERBS.map((verb) => ({ verb, group: r.group, resource: r.resource })))
        .filter((a) => !selfReview(a));
      const held = await ctx.api.allowedOf(id, attrs);
      if (held.length > 0) return { pass: false, detail: `allowed: ${held.map(attr).join(", ")}` };
      const real = allRefused(
        [
          ["get", "nodes"],
          ["get", "namespaces"],
          ["get", "clusterroles"],
          ["get", "validatingadmissionpolicies"],
          ["create", "namespace", `probe-${ctx.tenant}`, "--dry-run=server"],
          [
            "create",
            "clusterrolebinding",
            "probe",
            "--clusterrole=view",
            "--group=probe",
            "--dry-run=server",
          ],
          ["delete", "validatingadmissionpolicy", "imaas-tenant-images", "--dry-run=server"],
          ["label", "namespace", ctx.namespace, "probe=1", "--dry-run=server"],
        ].map((args) => ({
          what: `kubectl ${args.join(" ")}`,
          run: () => kubectl(id, args),
          because: RBAC_DENIED,
        })),
      );
      if (real.failed) return real.failed;
      return {
        pass: true,
        detail: `${attrs.length} access reviews denied (${cluster.length} cluster-scoped resources × ${VERBS.length} verbs, self reviews excepted); ${real.layers.length} real requests refused by RBAC`,
      };
    },
  },
  {
    id: "MTB-PL1-BC-CPI-2",
    title: "Block modification of the platform's multi-tenant resources",
    as: "people",
    async run(ctx, id) {
      const objects = [
        ["resourcequota", "tenant-quota"],
        ["limitrange", "tenant-limits"],
        ["networkpolicy", "default-deny"],
        ["rolebinding", platformRole(ctx.env)],
        ["role", platformRole(ctx.env)],
      ];
      const layers: string[] = [];
      for (const [kind, name] of objects) {
        const current = kubectl(admin, ["get", kind, name, "-n", ctx.namespace, "-o", "json"]);
        if (current.code !== 0) return { pass: false, detail: `${kind}/${name} missing: ${reason(current)}` };
        const changed = JSON.parse(current.out);
        changed.metadata.labels = { ...changed.metadata.labels, "imaas.io/probe": "1" };
        const r = allRefused([
          {
            what: `update ${kind}/${name}`,
            run: () => kubectl(id, ["replace", "--dry-run=server", "-f", "-"], JSON.stringify(changed)),
          },
          {
            what: `patch ${kind}/${name}`,
            run: () =>
              kubectl(id, [
                "label",
                kind,
                name,
                "probe=1",
                "--overwrite",
                "-n",
                ctx.namespace,
                "--dry-run=server",
              ]),
          },
          {
            what: `delete ${kind}/${name}`,
            run: () => kubectl(id, ["delete", kind, name, "-n", ctx.namespace, "--dry-run=server"]),
          },
        ]);
        if (r.failed) return r.failed;
        const by = refusedBy(kubectl(id, ["delete", kind, name, "-n", ctx.namespace, "--dry-run=server"]));
        layers.push(`${kind}: ${by}`);
      }
      // deletecollection: one request for every network policy of the namespace.
      const path = `/apis/networking.k8s.io/v1/namespaces/${ctx.namespace}/networkpolicies?dryRun=All`;
      const before = ctx.cluster.policies.filter((p) => p.namespace === ctx.namespace).length;
      const dc = await ctx.api.request("DELETE", path, undefined, id);
      if (dc.status < 400)
        return { pass: false, detail: `deletecollection of networkpolicies admitted (${dc.status})` };
      const after = (await ctx.api.request("GET", path.replace("?dryRun=All", ""))).body.items?.length ?? 0;
      if (after < before) return { pass: false, detail: `network policies went from ${before} to ${after}` };
      layers.push(`deletecollection networkpolicies: ${refusedBy(dc)}`);
      return { pass: true, detail: `update, patch, delete refused — ${layers.join("; ")}` };
    },
  },
  {
    id: "PEOPLE-NO-PODS",
    title: "Tenant people cannot create pods or Services directly (workloads arrive through Argo CD)",
    as: "people",
    run(ctx, id) {
      const r = allRefused([
        { what: "a pod", run: () => dryCreate(id, pod(ctx, "probe-direct")), because: RBAC_DENIED },
        { what: "a Service", run: () => dryCreate(id, service(ctx, "ClusterIP")), because: RBAC_DENIED },
      ]);
      return r.failed ?? { pass: true, detail: "pods and Services refused by RBAC" };
    },
  },
  {
    id: "MTB-PL1-CC-TI-1",
    title: "Block modification of resource quotas",
    as: "people",
    async run(ctx, id) {
      const held = await ctx.api.allowedOf(
        id,
        ["create", "update", "patch", "delete", "deletecollection"].map((verb) => ({
          verb,
          group: "",
          resource: "resourcequotas",
          namespace: ctx.namespace,
        })),
      );
      if (held.length > 0) return { pass: false, detail: `allowed: ${held.map(attr).join(", ")}` };
      return expectRefused(
        kubectl(id, [
          "patch",
          "resourcequota",
          "tenant-quota",
          "-n",
          ctx.namespace,
          "--dry-run=server",
          "--type=merge",
          "-p",
          '{"spec":{"hard":{"pods":"1000"}}}',
        ]),
        "patching the quota",
        RBAC_DENIED,
      );
    },
  },
  {
    id: "MTB-PL1-CC-TI-2",
    title: "Block access to other tenants' resources",
    as: "people",
    async run(ctx, id) {
      // Rules review: nothing at all in any other tenant's namespace.
      for (const ns of ctx.otherTenantNamespaces) {
        const { rules, incomplete } = await ctx.api.rules(id, ns);
        const own = rules.filter(
          (r) => !(r.resources ?? []).every((res) => /^self(subject(access|rules)?)?reviews$/.test(res)),
        );
        if (own.length > 0 || incomplete)
          return {
            pass: false,
            detail: `in ${ns}: ${incomplete ? "incomplete review; " : ""}${JSON.stringify(own)}`,
          };
      }
      // Access reviews: every namespaced resource × verb in every other tenant's namespace.
      const namespaced = ctx.cluster.resources.filter((r) => r.namespaced);
      const attrs = ctx.otherTenantNamespaces.flatMap((namespace) =>
        namespaced.flatMap((r) =>
          VERBS.map((verb) => ({ verb, group: r.group, resource: r.resource, namespace })),
        ),
      );
      const held = await ctx.api.allowedOf(id, attrs);
      if (held.length > 0)
        return { pass: false, detail: `allowed: ${held.slice(0, 5).map(attr).join(", ")}` };
      const other = ctx.otherTenantNamespaces[0];
      const real = allRefused(
        [
          ["get", "pods", "-n", other],
          ["get", "secrets", "-n", other],
          ["get", "configmaps", "-n", other],
          ["create", "configmap", "probe", "-n", other, "--dry-run=server"],
          ["delete", "networkpolicy", "default-deny", "-n", other, "--dry-run=server"],
        ].map((args) => ({
          what: `kubectl ${args.join(" ")}`,
          run: () => kubectl(id, args),
          because: RBAC_DENIED,
        })),
      );
      if (real.failed) return real.failed;
      return {
        pass: true,
        detail: `no rule in ${ctx.otherTenantNamespaces.length} other tenants' namespaces; ${attrs.length} access reviews denied; ${real.layers.length} real requests in ${other} refused`,
      };
    },
  },
  {
    id: "MTB-PL2-CC-TI-1",
    title: "Block role escalation (no escalate, no binding of ClusterRoles not held)",
    as: "people",
    async run(ctx, id) {
      const attrs = ["escalate", "bind", "impersonate"].flatMap((verb) => [
        { verb, group: "rbac.authorization.k8s.io", resource: "roles", namespace: ctx.namespace },
        { verb, group: "rbac.authorization.k8s.io", resource: "clusterroles", namespace: ctx.namespace },
        { verb, group: "rbac.authorization.k8s.io", resource: "clusterroles" },
        { verb, group: "", resource: "users" },
        { verb, group: "", resource: "groups" },
        { verb, group: "", resource: "serviceaccounts", namespace: ctx.namespace },
      ]);
      const held = await ctx.api.allowedOf(id, attrs);
      if (held.length > 0) return { pass: false, detail: `allowed: ${held.map(attr).join(", ")}` };
      // Members hold no RoleBinding rights (RBAC refuses); owners in dev/test do, so the refusal must come
      // from RBAC's escalation check on binding a ClusterRole they do not hold.
      const because =
        ctx.actor === "owner" && ctx.env !== "prod" ? /not currently held|escalat/ : RBAC_DENIED;
      const r = allRefused(
        ["cluster-admin", "admin", "edit"].map((role) => ({
          what: `binding ClusterRole ${role}`,
          run: () =>
            kubectl(id, [
              "create",
              "rolebinding",
              `probe-${role}`,
              `--clusterrole=${role}`,
              `--user=${id.user}`,
              "-n",
              ctx.namespace,
              "--dry-run=server",
            ]),
          because,
        })),
      );
      if (r.failed) return r.failed;
      return {
        pass: true,
        detail: `no escalate/bind/impersonate (${attrs.length} reviews); binding cluster-admin, admin, edit refused (${because === RBAC_DENIED ? "RBAC" : "escalation check"})`,
      };
    },
  },
  {
    id: "MTB-PL2-BC-OPS-3",
    title:
      "Owner creates Roles and RoleBindings in its own namespace (dev/test), never beyond it; not in prod",
    as: "owner",
    run(ctx, id) {
      const role = {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "probe-reader", namespace: ctx.namespace },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      };
      const bind = () =>
        kubectl(id, [
          "create",
          "rolebinding",
          "probe-reader",
          "--role=tenant-developer",
          `--group=imaas:${ctx.tenant}:members`,
          "-n",
          ctx.namespace,
          "--dry-run=server",
        ]);
      if (ctx.env === "prod") {
        const r = allRefused([
          { what: "a Role in prod", run: () => dryCreate(id, JSON.stringify(role)), because: RBAC_DENIED },
          { what: "a RoleBinding in prod", run: bind, because: RBAC_DENIED },
        ]);
        return r.failed ?? { pass: true, detail: "prod is read-only: Role and RoleBinding refused by RBAC" };
      }
      const ok = expectAllowed(dryCreate(id, JSON.stringify(role)), "own Role");
      if (!ok.pass) return ok;
      const okb = expectAllowed(bind(), "own RoleBinding");
      if (!okb.pass) return okb;
      const wide = { ...role, rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }] };
      const other = ctx.otherTenantNamespaces[0];
      const r = allRefused([
        {
          what: "a Role granting *",
          run: () => dryCreate(id, JSON.stringify(wide)),
          because: /not currently held|escalat/,
        },
        {
          what: "a Role granting escalate on roles",
          run: () =>
            dryCreate(
              id,
              JSON.stringify({
                ...role,
                rules: [
                  { apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"], verbs: ["escalate"] },
                ],
              }),
            ),
          because: /not currently held|escalat/,
        },
        {
          what: `a RoleBinding in ${other}`,
          run: () =>
            kubectl(id, [
              "create",
              "rolebinding",
              "probe",
              "--role=tenant-owner",
              `--user=${id.user}`,
              "-n",
              other,
              "--dry-run=server",
            ]),
          because: RBAC_DENIED,
        },
        {
          what: "a Role labelled as the platform's",
          run: () =>
            dryCreate(
              id,
              JSON.stringify({
                ...role,
                metadata: { ...role.metadata, labels: { "app.kubernetes.io/managed-by": "imaas" } },
              }),
            ),
          because: /belong to the platform/,
        },
      ]);
      return (
        r.failed ?? {
          pass: true,
          detail: `own Role and RoleBinding admitted; refused: ${r.layers.join(", ")}`,
        }
      );
    },
  },
  {
    id: "MTB-PL2-BC-OPS-4",
    title: "Owner creates NetworkPolicies in its own namespace (dev/test), never beyond it; not in prod",
    as: "owner",
    run(ctx, id) {
      const np = (namespace: string, labels?: Record<string, string>) =>
        JSON.stringify({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: "probe-policy", namespace, ...(labels ? { labels } : {}) },
          spec: { podSelector: { matchLabels: { app: "security-probe" } }, policyTypes: ["Ingress"] },
        });
      if (ctx.env === "prod")
        return expectRefused(dryCreate(id, np(ctx.namespace)), "a NetworkPolicy in prod", RBAC_DENIED);
      const ok = expectAllowed(dryCreate(id, np(ctx.namespace)), "own NetworkPolicy");
      if (!ok.pass) return ok;
      const other = ctx.otherTenantNamespaces[0];
      const r = allRefused([
        { what: `a NetworkPolicy in ${other}`, run: () => dryCreate(id, np(other)), because: RBAC_DENIED },
        {
          what: "a NetworkPolicy labelled as the platform's",
          run: () => dryCreate(id, np(ctx.namespace, { "app.kubernetes.io/managed-by": "imaas" })),
          because: /belong to the platform/,
        },
      ]);
      return (
        r.failed ?? { pass: true, detail: `own NetworkPolicy admitted; refused: ${r.layers.join(", ")}` }
      );
    },
  },
  {
    id: "IMAAS-PROD-READ-ONLY",
    title: "In prod, people cannot change anything or read secrets",
    as: "people",
    envs: ["prod"],
    async run(ctx, id) {
      const attrs = ctx.cluster.resources
        .filter((r) => r.namespaced)
        .flatMap((r) =>
          ["create", "update", "patch", "delete", "deletecollection"].map((verb) => ({
            verb,
            group: r.group,
            resource: r.resource,
            namespace: ctx.namespace,
          })),
        )
        .concat([{ verb: "get", group: "", resource: "secrets", namespace: ctx.namespace }])
        .filter((a) => !selfReview(a));
      const held = await ctx.api.allowedOf(id, attrs);
      if (held.length > 0) return { pass: false, detail: `allowed: ${held.map(attr).join(", ")}` };
      return { pass: true, detail: `${attrs.length} write and secret-read reviews denied` };
    },
  },
  {
    id: "IMAAS-NO-ARGOCD-WRITES",
    title: "Tenant people cannot create or modify Argo CD Applications or AppProjects",
    as: "people",
    async run(ctx, id) {
      const ns = ctx.argocdNamespace;
      const attrs = ["applications", "appprojects", "applicationsets"].flatMap((resource) =>
        ["create", "update", "patch", "delete", "deletecollection"].map((verb) => ({
          verb,
          group: "argoproj.io",
          resource,
          namespace: ns,
        })),
      );
      const held = await ctx.api.allowedOf(id, attrs);
      if (held.length > 0) return { pass: false, detail: `allowed: ${held.map(attr).join(", ")}` };
      const app = JSON.stringify({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: { name: `probe-${ctx.tenant}`, namespace: ns },
        spec: {
          project: ctx.tenant,
          source: { repoURL: "https://example.com/probe.git", path: ".", targetRevision: "HEAD" },
          destination: { server: "https://kubernetes.default.svc", namespace: ctx.namespace },
        },
      });
      const r = allRefused([
        { what: "creating an Application", run: () => dryCreate(id, app), because: RBAC_DENIED },
        {
          what: `patching AppProject ${ctx.tenant}`,
          run: () =>
            kubectl(id, [
              "patch",
              "appprojects.argoproj.io",
              ctx.tenant,
              "-n",
              ns,
              "--type=merge",
              "-p",
              '{"spec":{"destinations":[{"server":"*","namespace":"*"}]}}',
              "--dry-run=server",
            ]),
          because: RBAC_DENIED,
        },
        {
          what: `deleting AppProject ${ctx.tenant}`,
          run: () =>
            kubectl(id, ["delete", "appprojects.argoproj.io", ctx.tenant, "-n", ns, "--dry-run=server"]),
          because: RBAC_DENIED,
        },
      ]);
      return (
        r.failed ?? {
          pass: true,
          detail: `${attrs.length} reviews denied; refused by RBAC: ${r.layers.join(", ")}`,
        }
      );
    },
  },
];

export const CHECKS: readonly Check[] = [
  ...ACCESS_CHECKS,
  ...WORKLOAD_CHECKS,
  ...TOKEN_CHECKS,
  ...NETWORK_CHECKS,
];
