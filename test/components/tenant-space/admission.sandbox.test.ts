/**
 * The guard rails against a real Kubernetes API server: CEL admission policies, RBAC escalation checks
 * and Pod Security, which no mock can evaluate. Opt-in, because it needs a running control plane:
 *
 *   IMAAS_SANDBOX_DIR=/tmp/vap-sandbox e2e/sandbox/up.sh
 *   IMAAS_ADMISSION_SANDBOX=/tmp/vap-sandbox npx mocha test/components/tenant-space/admission.sandbox.test.ts
 *   IMAAS_SANDBOX_DIR=/tmp/vap-sandbox e2e/sandbox/down.sh
 *
 * It applies the platform's admission policies and one tenant's namespace objects exactly as the pure
 * builders make them, under names unique to the run and bound only to namespaces carrying the run's
 * label, so it cannot disturb anything else in the cluster; it removes them afterwards. Tenant people
 * are impersonated (`--as`, `--as-group`); writes are server-side dry runs unless a case needs state.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { admissionPolicies } from "../../../components/platform/admission";
import { platformLabels, tenantLabels } from "../../../components/shared/labels";
import { podSecurityLabels } from "../../../components/tenant-space/namespaces";
import { tenantNetworkPolicies } from "../../../components/tenant-space/network";
import { limitRangeSpec, quotaHard } from "../../../components/tenant-space/quota";
import { tenantRoles } from "../../../components/tenant-space/rbac";
import type { Environment } from "../../../model/environments";
import { LABELS, membersGroup, ownersGroup, TENANT_OBJECTS } from "../../../model/naming";
import { testConfig } from "../../support/mocks";
import { exampleTenant } from "../../support/tenants";

const SANDBOX = process.env.IMAAS_ADMISSION_SANDBOX;
const RUN_LABEL = "imaas.io/admission-test";

const cfg = testConfig();
const run = `vap${Date.now().toString(36)}`;
const tenant = { ...exampleTenant("payroll", cfg), name: run };
const ns = (env: Environment | "nopsa") => `${run}-${env}`;
const OWNER = ["--as=alice", `--as-group=${ownersGroup(cfg.identity.groupPrefix, run)}`];
const MEMBER = ["--as=bob", `--as-group=${membersGroup(cfg.identity.groupPrefix, run)}`];
const IMAGE = `${cfg.registry.host}/${run}/svc:1`;

function kubectl(args: string[], input?: unknown): { ok: boolean; out: string } {
  const bin = join(process.env.IMAAS_TOOLS_DIR ?? join(homedir(), ".cache", "imaas-tools"), "bin", "kubectl");
  const res = spawnSync(
    existsSync(bin) ? bin : "kubectl",
    ["--kubeconfig", join(SANDBOX!, "kubeconfig"), ...args],
    { input: input === undefined ? undefined : JSON.stringify(input), encoding: "utf8", timeout: 30_000 },
  );
  return { ok: res.status === 0, out: `${res.stdout}${res.stderr}` };
}

const dryRun = (who: string[], obj: unknown) =>
  kubectl([...who, "create", "--dry-run=server", "-f", "-"], obj);

/** The run's selector: tenant namespaces of this run only. */
const runSelector = {
  matchLabels: { [RUN_LABEL]: run },
  matchExpressions: [{ key: LABELS.tenant, operator: "Exists" }],
};

function policyObjects(): unknown[] {
  return admissionPolicies(cfg).flatMap((p) => {
    const name = `${run}-${p.name}`;
    const spec = p.spec as { matchConstraints: Record<string, unknown> };
    return [
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name, labels: { ...platformLabels("admission"), [RUN_LABEL]: run } },
        spec: { ...spec, matchConstraints: { ...spec.matchConstraints, namespaceSelector: runSelector } },
      },
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name, labels: { [RUN_LABEL]: run } },
        spec: {
          policyName: name,
          validationActions: ["Deny"],
          matchResources: { namespaceSelector: runSelector },
        },
      },
    ];
  });
}

function namespaceObjects(env: Environment): unknown[] {
  const meta = (name: string) => ({ name, namespace: ns(env), labels: tenantLabels(run, env) });
  const quota = tenant.quota[env]!;
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: ns(env),
        labels: { ...tenantLabels(run, env), ...podSecurityLabels(), [RUN_LABEL]: run },
      },
    },
    {
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: meta(TENANT_OBJECTS.quota),
      spec: { hard: quotaHard(quota) },
    },
    {
      apiVersion: "v1",
      kind: "LimitRange",
      metadata: meta(TENANT_OBJECTS.limitRange),
      spec: limitRangeSpec(quota, cfg.service.maxResources),
    },
    ...tenantNetworkPolicies(tenant, env, cfg).map((p) => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(p.name),
      spec: p.spec,
    })),
    ...tenantRoles(run, env, cfg.identity.groupPrefix).flatMap((r) => [
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(r.name), rules: r.rules },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: meta(r.name),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: r.name },
        subjects: r.groups.map((g) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: g })),
      },
    ]),
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: meta(TENANT_OBJECTS.workloadServiceAccount),
      automountServiceAccountToken: false,
    },
  ];
}

const restricted = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
function pod(namespace: string, containers: Record<string, unknown>[], spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace },
    spec: {
      serviceAccountName: TENANT_OBJECTS.workloadServiceAccount,
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      containers: containers.map((c, i) => ({
        name: `c${i}`,
        imagePullPolicy: "Always",
        securityContext: restricted,
        ...c,
      })),
      ...spec,
    },
  };
}
const netpol = (namespace: string, name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace, labels },
  spec: { podSelector: {}, policyTypes: ["Ingress"] },
});

const allowAllEgress = (namespace: string) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "open", namespace },
  spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{}] },
});
const tokenSecret = (namespace: string, account: string) => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: {
    name: `${account}-token`,
    namespace,
    annotations: { "kubernetes.io/service-account.name": account },
  },
  type: "kubernetes.io/service-account-token",
});
/** A Job whose pod runs as `account` (undefined: no serviceAccountName, so `default`). */
const job = (namespace: string, account: string | undefined) => {
  const p = pod(namespace, [{ image: IMAGE }]);
  const spec: Record<string, unknown> = { ...p.spec, restartPolicy: "Never" };
  if (account === undefined) delete spec.serviceAccountName;
  else spec.serviceAccountName = account;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "j", namespace },
    spec: { template: { spec } },
  };
};

const admitted = (r: { ok: boolean; out: string }, what: string) => assert.ok(r.ok, `${what}: ${r.out}`);
function refused(r: { ok: boolean; out: string }, by: RegExp, what: string) {
  assert.ok(!r.ok, `${what} was admitted`);
  assert.match(r.out, by, what);
}
const POLICY = (name: string) => new RegExp(`ValidatingAdmissionPolicy '${run}-${name}'`);
const RBAC = /forbidden: User .* cannot|attempting to grant RBAC permissions not currently held/;

(SANDBOX ? describe : describe.skip)(
  "guard rails on a real API server (IMAAS_ADMISSION_SANDBOX)",
  function () {
    this.timeout(120_000);
    const dev = ns("dev");

    before(async () => {
      const apply = kubectl(["apply", "--server-side", "-f", "-"], {
        apiVersion: "v1",
        kind: "List",
        items: [
          ...policyObjects(),
          ...namespaceObjects("dev"),
          ...namespaceObjects("prod"),
          {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: ns("nopsa"), labels: { ...tenantLabels(run, "dev"), [RUN_LABEL]: run } },
          },
          {
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name: TENANT_OBJECTS.workloadServiceAccount, namespace: ns("nopsa") },
            automountServiceAccountToken: false,
          },
        ],
      });
      assert.ok(apply.ok, apply.out);
      // Each policy takes effect once the API server has loaded it: wait until each refuses a probe (the
      // quota, with services.nodeports 0, may refuse a NodePort earlier, so look at who refused).
      const probes: [string, unknown, string[]?][] = [
        [
          "imaas-no-external-services",
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "probe", namespace: dev },
            spec: { type: "NodePort", ports: [{ port: 80 }] },
          },
        ],
        ["imaas-tenant-images", pod(dev, [{ image: "nginx:1.27" }])],
        ["imaas-no-host-access", pod(ns("nopsa"), [{ image: IMAGE }], { hostPID: true })],
        ["imaas-protect-platform-objects", netpol(dev, "probe", { [LABELS.managedBy]: "imaas" }), OWNER],
        ["imaas-tenant-network-policies", allowAllEgress(dev), OWNER],
        ["imaas-no-token-secrets", tokenSecret(dev, "default"), MEMBER],
        ["imaas-workload-service-account", job(dev, "default"), MEMBER],
      ];
      for (const [policy, probe, who = []] of probes) {
        const loaded = () => POLICY(policy).test(dryRun(who, probe).out);
        for (let i = 0; i < 60 && !loaded(); i++) await new Promise((r) => setTimeout(r, 500));
      }
    });

    after(() => {
      kubectl([
        "delete",
        "namespace",
        ns("dev"),
        ns("prod"),
        ns("nopsa"),
        "--wait=false",
        "--ignore-not-found",
      ]);
      kubectl([
        "delete",
        "validatingadmissionpolicybindings,validatingadmissionpolicies",
        "-l",
        `${RUN_LABEL}=${run}`,
      ]);
    });

    it("Services: ClusterIP admitted, NodePort and LoadBalancer refused", () => {
      const svc = (type: string) => ({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "s", namespace: dev },
        spec: { type, ports: [{ port: 80 }] },
      });
      admitted(dryRun([], svc("ClusterIP")), "ClusterIP");
      refused(dryRun([], svc("NodePort")), POLICY("imaas-no-external-services"), "NodePort");
      refused(dryRun([], svc("LoadBalancer")), POLICY("imaas-no-external-services"), "LoadBalancer");
    });

    it("images: the tenant's project and the base-image project only, in every kind of container", () => {
      const images = POLICY("imaas-tenant-images");
      admitted(dryRun([], pod(dev, [{ image: IMAGE }])), "own project");
      admitted(
        dryRun([], pod(dev, [{ image: `${cfg.registry.host}/platform/mi-base:4.4.0` }])),
        "base image",
      );
      for (const image of [
        `${cfg.registry.host}/logistics/svc:1`,
        "nginx:1.27",
        `${cfg.registry.host}.evil.example/${run}/svc:1`,
      ]) {
        refused(dryRun([], pod(dev, [{ image }])), images, image);
      }
      refused(
        dryRun(
          [],
          pod(dev, [{ image: IMAGE }], {
            initContainers: [{ name: "i", image: "busybox", securityContext: restricted }],
          }),
        ),
        images,
        "an init container from elsewhere",
      );
    });

    it("pull policy: Always or a digest", () => {
      const images = POLICY("imaas-tenant-images");
      refused(
        dryRun([], pod(dev, [{ image: IMAGE, imagePullPolicy: "IfNotPresent" }])),
        images,
        "IfNotPresent",
      );
      const digest = `${cfg.registry.host}/${run}/svc@sha256:${"0".repeat(64)}`;
      admitted(dryRun([], pod(dev, [{ image: digest, imagePullPolicy: "IfNotPresent" }])), "digest-pinned");
    });

    it("ephemeral containers are checked too", () => {
      const created = kubectl(["create", "-f", "-"], pod(dev, [{ image: IMAGE }]));
      admitted(created, "pod");
      try {
        const current = JSON.parse(kubectl(["get", "pod", "p", "-n", dev, "-o", "json"]).out);
        const withDebug = (image: string) => ({
          ...current,
          spec: {
            ...current.spec,
            ephemeralContainers: [
              { name: "dbg", image, imagePullPolicy: "Always", securityContext: restricted },
            ],
          },
        });
        const replace = (image: string) =>
          kubectl(
            ["replace", "--subresource=ephemeralcontainers", "--dry-run=server", "-f", "-"],
            withDebug(image),
          );
        refused(replace("busybox"), POLICY("imaas-tenant-images"), "debug container from elsewhere");
        admitted(replace(`${cfg.registry.host}/${run}/debug:1`), "debug container from the tenant's project");
      } finally {
        kubectl(["delete", "pod", "p", "-n", dev, "--wait=false"]);
      }
    });

    it("host access is refused even where Pod Security would not refuse it", () => {
      const host = POLICY("imaas-no-host-access");
      const nopsa = ns("nopsa");
      admitted(dryRun([], pod(nopsa, [{ image: IMAGE }])), "a plain pod");
      for (const [what, spec] of [
        ["hostNetwork", { hostNetwork: true }],
        ["hostPID", { hostPID: true }],
        ["hostIPC", { hostIPC: true }],
        ["hostPath", { volumes: [{ name: "h", hostPath: { path: "/" } }] }],
      ] as const) {
        refused(dryRun([], pod(nopsa, [{ image: IMAGE }], spec)), host, what);
      }
      refused(
        dryRun([], pod(nopsa, [{ image: IMAGE, ports: [{ containerPort: 8290, hostPort: 8290 }] }])),
        host,
        "hostPort",
      );
    });

    it("owners manage their own network policies and roles in dev, never the platform's", () => {
      const protect = POLICY("imaas-protect-platform-objects");
      admitted(kubectl([...OWNER, "create", "-f", "-"], netpol(dev, "mine")), "own NetworkPolicy");
      admitted(kubectl([...OWNER, "delete", "networkpolicy", "mine", "-n", dev]), "deleting it");
      refused(
        dryRun(OWNER, netpol(dev, "fake", { [LABELS.managedBy]: "imaas" })),
        protect,
        "posing as the platform",
      );
      const del = (kind: string, name: string) =>
        kubectl([...OWNER, "delete", kind, name, "-n", dev, "--dry-run=server"]);
      refused(del("networkpolicy", TENANT_OBJECTS.defaultDeny), protect, "delete default-deny");
      refused(del("rolebinding", "tenant-owner"), protect, "delete the platform's RoleBinding");
      refused(
        kubectl([
          ...OWNER,
          "label",
          "networkpolicy",
          TENANT_OBJECTS.defaultDeny,
          "-n",
          dev,
          `${LABELS.managedBy}-`,
          "--dry-run=server",
        ]),
        protect,
        "unlabel default-deny",
      );
      refused(
        kubectl([
          ...OWNER,
          "delete",
          "--raw",
          `/apis/networking.k8s.io/v1/namespaces/${dev}/networkpolicies`,
        ]),
        protect,
        "deletecollection of network policies",
      );
      refused(del("resourcequota", TENANT_OBJECTS.quota), RBAC, "delete the quota");
      refused(del("limitrange", TENANT_OBJECTS.limitRange), RBAC, "delete the limit range");
      admitted(
        kubectl([
          ...OWNER,
          "create",
          "role",
          "r",
          "--verb=get",
          "--resource=pods",
          "-n",
          dev,
          "--dry-run=server",
        ]),
        "own Role",
      );
      admitted(
        kubectl([
          ...OWNER,
          "create",
          "rolebinding",
          "b",
          "--role=tenant-developer",
          "--user=carol",
          "-n",
          dev,
          "--dry-run=server",
        ]),
        "binding a Role they hold",
      );
    });

    it("no escalation: no escalate verb, no binding of ClusterRoles they do not hold, no cluster scope", () => {
      const create = (...args: string[]) =>
        kubectl([...OWNER, "create", ...args, "-n", dev, "--dry-run=server"]);
      refused(create("role", "r", "--verb=escalate", "--resource=roles"), RBAC, "escalate");
      refused(create("role", "r", "--verb=update", "--resource=resourcequotas"), RBAC, "a Role over quotas");
      refused(create("rolebinding", "b", "--clusterrole=admin", "--user=alice"), RBAC, "bind admin");
      refused(
        create("rolebinding", "b", "--clusterrole=cluster-admin", "--user=alice"),
        RBAC,
        "bind cluster-admin",
      );
      refused(kubectl([...OWNER, "get", "namespaces"]), RBAC, "list namespaces");
      refused(kubectl([...OWNER, "get", "pods", "-n", "kube-system"]), RBAC, "another namespace");
    });

    it("owner-written NetworkPolicies shape traffic inside the namespace only, never widen it", () => {
      const np = (name: string, spec: Record<string, unknown>) => ({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name, namespace: dev },
        spec: { podSelector: {}, ...spec },
      });
      const shape = POLICY("imaas-tenant-network-policies");
      const byName = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": dev } } };
      const byTenantEnv = {
        namespaceSelector: { matchLabels: { [LABELS.tenant]: run, [LABELS.environment]: "dev" } },
        podSelector: { matchLabels: { app: "a" } },
      };
      for (const [what, spec] of [
        ["pods of the namespace", { policyTypes: ["Egress"], egress: [{ to: [{ podSelector: {} }] }] }],
        ["the namespace by name", { policyTypes: ["Ingress"], ingress: [{ from: [byName] }] }],
        [
          "the namespace by tenant and environment",
          { policyTypes: ["Egress"], egress: [{ to: [byTenantEnv], ports: [{ port: 8290 }] }] },
        ],
        ["deny all (no rules)", { policyTypes: ["Ingress", "Egress"] }],
      ] as const) {
        admitted(dryRun(OWNER, np("ok", spec)), what);
      }
      const refusals: [string, Record<string, unknown>, RegExp][] = [
        ["allow-all egress", { policyTypes: ["Egress"], egress: [{}] }, /names its sources/],
        [
          "allow-all egress on a port",
          { policyTypes: ["Egress"], egress: [{ ports: [{ port: 443 }] }] },
          /names its sources/,
        ],
        ["allow-all ingress", { policyTypes: ["Ingress"], ingress: [{}] }, /names its sources/],
        [
          "the cloud metadata endpoint",
          { policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "169.254.169.254/32" } }] }] },
          /ipBlock peers are refused/,
        ],
        [
          "the internet",
          { policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }] },
          /ipBlock peers are refused/,
        ],
        [
          "every namespace",
          { policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: {} }] }] },
          /must select this namespace only/,
        ],
        [
          "another namespace by name",
          {
            policyTypes: ["Ingress"],
            ingress: [
              {
                from: [
                  { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } },
                ],
              },
            ],
          },
          /must select this namespace only/,
        ],
        [
          "the tenant's prod namespace",
          {
            policyTypes: ["Egress"],
            egress: [{ to: [{ namespaceSelector: { matchLabels: { [LABELS.tenant]: run } } }] }],
          },
          /must select this namespace only/,
        ],
        [
          "a namespace by expression",
          {
            policyTypes: ["Egress"],
            egress: [
              {
                to: [
                  { namespaceSelector: { matchExpressions: [{ key: LABELS.tenant, operator: "Exists" }] } },
                ],
              },
            ],
          },
          /must select this namespace only/,
        ],
      ];
      for (const [what, spec, because] of refusals) {
        const r = dryRun(OWNER, np("wide", spec));
        refused(r, shape, what);
        assert.match(r.out, because, what);
      }
      // An admitted policy cannot be widened by an update either.
      admitted(kubectl([...OWNER, "create", "-f", "-"], np("mine", { policyTypes: ["Egress"] })), "create");
      try {
        refused(
          kubectl([
            ...OWNER,
            "patch",
            "networkpolicy",
            "mine",
            "-n",
            dev,
            "--type=merge",
            "-p",
            '{"spec":{"egress":[{}]}}',
          ]),
          shape,
          "widening by patch",
        );
      } finally {
        kubectl([...OWNER, "delete", "networkpolicy", "mine", "-n", dev]);
      }
    });

    it("no service-account tokens for people: no token Secrets, no TokenRequest, no pods as another account", () => {
      const tokens = POLICY("imaas-no-token-secrets");
      const account = POLICY("imaas-workload-service-account");
      for (const sa of [TENANT_OBJECTS.secretReader, TENANT_OBJECTS.workloadServiceAccount, "default"]) {
        refused(dryRun(MEMBER, tokenSecret(dev, sa)), tokens, `a token Secret for ${sa}`);
      }
      refused(dryRun([], tokenSecret(dev, "default")), tokens, "a token Secret, even by the cluster admin");
      admitted(
        dryRun(MEMBER, {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "s", namespace: dev },
          stringData: { a: "b" },
        }),
        "an Opaque Secret",
      );
      refused(
        kubectl([...MEMBER, "create", "token", TENANT_OBJECTS.workloadServiceAccount, "-n", dev]),
        RBAC,
        "a TokenRequest",
      );
      refused(dryRun(MEMBER, job(dev, TENANT_OBJECTS.secretReader)), account, "a Job as secrets-reader");
      refused(dryRun(MEMBER, job(dev, undefined)), account, "a Job as default");
      admitted(dryRun(MEMBER, job(dev, TENANT_OBJECTS.workloadServiceAccount)), "a Job as mi-workloads");
      const legacy = job(dev, undefined);
      (legacy.spec.template.spec as Record<string, unknown>).serviceAccount = TENANT_OBJECTS.secretReader;
      refused(dryRun(MEMBER, legacy), account, "a Job with the deprecated serviceAccount field");
      const cron = {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "c", namespace: dev },
        spec: { schedule: "* * * * *", jobTemplate: { spec: job(dev, TENANT_OBJECTS.secretReader).spec } },
      };
      refused(dryRun([], cron), account, "a CronJob as secrets-reader (cluster admin)");
      const deployment = (sa: string) => ({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "d", namespace: dev },
        spec: {
          selector: { matchLabels: { app: "d" } },
          template: {
            metadata: { labels: { app: "d" } },
            spec: { ...pod(dev, [{ image: IMAGE }]).spec, serviceAccountName: sa },
          },
        },
      });
      admitted(dryRun([], deployment(TENANT_OBJECTS.workloadServiceAccount)), "a Deployment as mi-workloads");
      refused(dryRun([], deployment("default")), account, "a Deployment as default");
      refused(
        dryRun([], {
          ...pod(dev, [{ image: IMAGE }]),
          spec: { ...pod(dev, [{ image: IMAGE }]).spec, serviceAccountName: "default" },
        }),
        account,
        "a pod as default",
      );
    });

    it("prod is read-only for people; members never manage RBAC or network policies", () => {
      const prod = ns("prod");
      admitted(kubectl([...OWNER, "get", "pods", "-n", prod]), "owners read prod");
      refused(dryRun(OWNER, netpol(prod, "mine")), RBAC, "a NetworkPolicy in prod");
      refused(kubectl([...OWNER, "get", "secrets", "-n", prod]), RBAC, "secrets in prod");
      refused(dryRun(MEMBER, netpol(dev, "m")), RBAC, "member NetworkPolicy");
      refused(
        kubectl([
          ...MEMBER,
          "create",
          "rolebinding",
          "b",
          "--role=tenant-developer",
          "--user=carol",
          "-n",
          dev,
          "--dry-run=server",
        ]),
        RBAC,
        "member RoleBinding",
      );
    });
  },
);
