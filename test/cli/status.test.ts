/**
 * `imaas status` without a cluster: the expected objects come from the program's naming functions, and each
 * state is judged from Argo CD and Kubernetes objects recorded in the sandbox (Argo CD v3.2.11, see RECORDED
 * at the end) or small edits of them; the CLI runs through main() against a refused loopback port.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiException } from "@kubernetes/client-node";
import { main } from "../../cli/main";
import {
  collectStatus,
  evaluate,
  imageRepositoryOf,
  imageTagOf,
  STATUS_EXIT,
  type StatusTarget,
  statusTargets,
  syncErrorsOf,
} from "../../cli/status";
import {
  type ArgoApplication,
  ClusterAccessError,
  type ClusterReader,
  type Deployment,
  type Pod,
} from "../../cli/status-objects";
import { accessError, KubeconfigError } from "../../cli/status-kube";
import { renderStatus, shownRevision } from "../../cli/status-render";
import { loadTenantDir } from "../../model/load";
import { applicationName, grafanaHost, imageRepository, namespaceName } from "../../model/naming";
import { clusterFor, type PlatformConfig } from "../../model/platform-config";
import type { TenantSpec } from "../../model/spec";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");
const TENANTS = join(ROOT, "tenants");

function world(stack: string): { cfg: PlatformConfig; tenants: TenantSpec[] } {
  const cfg = platformConfigOf(readStackConfig(ROOT, stack));
  const { tenants, errors } = loadTenantDir(TENANTS, cfg, { stack });
  assert.deepEqual(errors, []);
  return { cfg, tenants };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };
const rec = () => clone(RECORDED) as unknown as Mutable<typeof RECORDED> & Record<string, any>;

/** The sandbox target the recordings belong to: payroll / salary-sync / dev. */
function target(env: "dev" | "test" = "dev"): StatusTarget {
  const { cfg, tenants } = world("sandbox");
  return statusTargets(tenants, cfg, ["payroll"]).find((t) => t.service === "salary-sync" && t.env === env)!;
}

/** A reader serving fixed objects per namespace, counting calls. */
function reader(objects: {
  apps?: readonly ArgoApplication[] | undefined;
  deployments?: Record<string, readonly Deployment[]>;
  pods?: Record<string, readonly Pod[]>;
  fail?: Error;
}): ClusterReader & { calls: string[] } {
  const calls: string[] = [];
  const guard = () => {
    if (objects.fail) throw objects.fail;
  };
  return {
    calls,
    async applications(ns) {
      calls.push(`applications ${ns}`);
      guard();
      return "apps" in objects ? objects.apps : [];
    },
    async deployments(ns) {
      calls.push(`deployments ${ns}`);
      guard();
      return objects.deployments?.[ns] ?? [];
    },
    async pods(ns) {
      calls.push(`pods ${ns}`);
      guard();
      return objects.pods?.[ns] ?? [];
    },
  };
}

const healthyDeployment = (): Deployment => {
  const d = rec().deployment;
  d.status = { replicas: 1, readyReplicas: 1, updatedReplicas: 1, availableReplicas: 1 } as any;
  return d as Deployment;
};
const healthyApp = (): ArgoApplication => {
  const a = rec()["payroll-salary-sync-dev"];
  a.status.health.status = "Healthy";
  return a as ArgoApplication;
};

describe("imaas status", () => {
  describe("what should run", () => {
    it("one target per tenant service environment, named by the program's own naming functions", () => {
      const { cfg, tenants } = world("prod");
      const targets = statusTargets(tenants, cfg);
      const expected = tenants.flatMap((t) =>
        t.services.flatMap((s) => s.environments.map((e) => `${t.name}/${s.name}/${e}`)),
      );
      assert.deepEqual(
        targets.map((t) => `${t.tenant}/${t.service}/${t.env}`),
        expected,
      );
      assert.ok(targets.length >= 10, "the example tenants have many service environments");
      for (const t of targets) {
        assert.equal(t.application, applicationName(t.tenant, t.service, t.env));
        assert.equal(t.namespace, namespaceName(t.tenant, t.env));
        assert.equal(t.argocdNamespace, cfg.argocd.namespace);
        assert.equal(t.cluster.name, clusterFor(cfg, t.env)!.name);
        assert.equal(
          t.deployment,
          t.service,
          "the chart's Deployment is named after the release, the service",
        );
        assert.equal(t.imageRepository, imageRepository(cfg.registry.host, t.tenant, t.service));
        assert.equal(t.grafana, `https://${grafanaHost(t.tenant, t.cluster.name, cfg.domain)}`);
        const host = tenants.find((x) => x.name === t.tenant)!.services.find((s) => s.name === t.service)!
          .expose[t.env]?.host;
        assert.equal(t.url, host ? `https://${host}` : undefined);
      }
      const salary = targets.filter((t) => t.tenant === "payroll" && t.service === "salary-sync");
      assert.deepEqual(
        salary.map((t) => [t.env, t.cluster.name, t.url]),
        [
          ["dev", "nonprod", "https://salary-sync.payroll.dev.imaas.example.com"],
          ["test", "nonprod", undefined],
          ["prod", "prod", "https://salary-sync.payroll.imaas.example.com"],
        ],
      );
      assert.notEqual(salary[0]!.grafana, salary[2]!.grafana, "one Grafana per cluster");
    });

    it("--tenant keeps only those tenants; no Grafana link when observability is off", () => {
      const { cfg, tenants } = world("sandbox");
      const targets = statusTargets(tenants, cfg, ["payroll", "hr-onboarding"]);
      assert.deepEqual([...new Set(targets.map((t) => t.tenant))].sort(), ["hr-onboarding", "payroll"]);
      assert.ok(targets.every((t) => t.grafana === undefined));
    });
  });

  describe("one service environment, judged from recorded objects", () => {
    it("Synced, Healthy, all replicas ready: healthy", () => {
      const s = evaluate(target(), healthyApp(), healthyDeployment(), []);
      assert.equal(s.healthy, true, JSON.stringify(s.problems));
      assert.deepEqual(s.problems, []);
      assert.deepEqual(s.syncErrors, []);
      assert.equal(s.application.sync, "Synced");
      assert.equal(s.application.health, "Healthy");
      assert.equal(s.deployment.imageTag, "0.1.0-sandbox");
      assert.equal(s.deployment.imageAsDesired, true);
      assert.equal(s.deployment.readyReplicas, 1);
      assert.equal(s.deployment.desiredReplicas, 1);
      assert.equal(s.url, "https://salary-sync.payroll.dev.sandbox.imaas.test");
      assert.equal(shownRevision(s), "29115dac", "the service branch's commit (the `ref: values` source)");
      assert.deepEqual(
        s.application.revisions.map((r) => r.ref ?? "chart"),
        ["chart", "values"],
      );
    });

    it("as recorded in the sandbox (no nodes): Synced but Progressing, explained by the unschedulable pod", () => {
      const r = rec();
      const s = evaluate(target(), r["payroll-salary-sync-dev"], r.deployment, r.pods);
      assert.equal(s.healthy, false);
      assert.equal(s.application.sync, "Synced");
      assert.equal(s.application.health, "Progressing");
      assert.deepEqual(s.problems, [
        "0 of 1 replicas ready",
        "1 pod Pending: Unschedulable: no nodes available to schedule pods",
      ]);
      assert.deepEqual(s.syncErrors, [], "an OrphanedResourceWarning is not a sync error");
    });

    it("OutOfSync: the Deployment runs another image than Argo CD last applied", () => {
      const r = rec();
      const app = r["payroll-salary-sync-dev"];
      app.status.sync.status = "OutOfSync";
      app.status.resources[2].status = "OutOfSync";
      const d = healthyDeployment() as any;
      d.spec.template.spec.containers[0].image =
        "registry.sandbox.imaas.test/payroll/salary-sync:9.9.9-hotfix";
      const s = evaluate(target(), app, d, []);
      assert.equal(s.healthy, false);
      assert.equal(s.application.sync, "OutOfSync");
      assert.equal(s.deployment.imageTag, "9.9.9-hotfix");
      assert.equal(s.deployment.imageAsDesired, false);
      assert.deepEqual(s.problems, [
        "image registry.sandbox.imaas.test/payroll/salary-sync:9.9.9-hotfix is not the one Argo CD last applied (registry.sandbox.imaas.test/payroll/salary-sync:0.1.0-sandbox)",
      ]);
    });

    it("an image from outside the platform's repository is a problem even when Argo CD is content", () => {
      const d = healthyDeployment() as any;
      d.spec.template.spec.containers[0].image = "evil.example.com/miner:1";
      const s = evaluate(target(), healthyApp(), d, []);
      assert.equal(s.healthy, false);
      assert.match(
        s.problems[0]!,
        /^image evil\.example\.com\/miner:1 is not from the platform's repository registry\.sandbox\.imaas\.test\/payroll\/salary-sync$/,
      );
    });

    it("the chart refuses to render (recorded ComparisonError): sync Unknown, Helm's message as the sync error", () => {
      const r = rec();
      const s = evaluate(target("test"), r["payroll-salary-sync-test"], undefined, []);
      assert.equal(s.application.sync, "Unknown");
      assert.equal(s.syncErrors.length, 1);
      assert.match(s.syncErrors[0]!, /^ComparisonError: Failed to load target state: /);
      assert.match(
        s.syncErrors[0]!,
        /image\.tag \(or image\.digest\) is not set: CI writes it into the branch's deploy\/values\.yaml/,
      );
      const table = renderStatus(
        { stack: "sandbox", clusters: [{ name: "sandbox" }], services: [s], healthy: false, exitCode: 3 },
        "table",
      );
      assert.match(
        table,
        /\n {4}sync error: ComparisonError: Failed to load target state: .* Use --debug flag to render out invalid YAML\n/,
        "one line",
      );
    });

    it("Degraded after a failed sync (recorded admission refusal): each error text once", () => {
      const r = rec();
      const app = r["payroll-salary-sync-dev"];
      app.status.health.status = "Degraded";
      app.status.sync.status = "OutOfSync";
      app.status.conditions = r["probe-nodeport"].status.conditions;
      app.status.operationState = r["probe-nodeport"].status.operationState;
      const d = r.deployment as any;
      d.status.conditions.push({
        type: "Progressing",
        status: "False",
        reason: "ProgressDeadlineExceeded",
        message: 'ReplicaSet "salary-sync-6665dbfc87" has timed out progressing.',
      });
      const s = evaluate(target(), app, d, r.pods);
      assert.equal(s.application.health, "Degraded");
      assert.equal(s.application.operation?.phase, "Failed");
      assert.deepEqual(s.syncErrors, [
        "SyncError: Failed last sync attempt to [b5a6b25d7d8c36a89e6d80bc8917cf136dcd1af7]: one or more objects failed to apply, reason: services \"probe-nodeport\" is forbidden: ValidatingAdmissionPolicy 'imaas-no-external-services' with binding 'imaas-no-external-services' denied request: tenant Services are ClusterIP: NodePort and LoadBalancer are refused; ask for an endpoint (expose) in the tenant file",
      ]);
      assert.ok(
        s.problems.includes(
          'Deployment Progressing (ProgressDeadlineExceeded): ReplicaSet "salary-sync-6665dbfc87" has timed out progressing.',
        ),
        JSON.stringify(s.problems),
      );
    });

    it("a failed operation without a condition repeating it: the operation's message and each failed resource", () => {
      const app = healthyApp() as any;
      app.status.operationState = {
        phase: "Failed",
        message: "one or more objects failed to apply (dry run)",
        syncResult: {
          resources: [
            {
              kind: "Service",
              name: "salary-sync",
              status: "SyncFailed",
              message: 'Service "salary-sync" is invalid',
            },
            { kind: "ConfigMap", name: "salary-sync-mi-conf", status: "Synced", message: "configured" },
          ],
        },
      };
      assert.deepEqual(syncErrorsOf(app), [
        "last sync failed: one or more objects failed to apply (dry run)",
        'Service/salary-sync: Service "salary-sync" is invalid',
      ]);
    });

    it("health messages Argo CD keeps per resource (as 2.x does) explain a non-Healthy resource", () => {
      const app = rec()["payroll-salary-sync-dev"] as any;
      app.status.resources[2].health = {
        status: "Progressing",
        message: "Waiting for rollout to finish: 0 of 1 updated replicas are available...",
      };
      const s = evaluate(target(), app, healthyDeployment(), []);
      assert.deepEqual(s.problems, [
        "Deployment/salary-sync Progressing: Waiting for rollout to finish: 0 of 1 updated replicas are available...",
      ]);
    });

    it("a missing Application and a missing Deployment are reported, not crashed on", () => {
      const s = evaluate(target(), undefined, undefined, []);
      assert.equal(s.healthy, false);
      assert.equal(s.application.found, false);
      assert.equal(s.deployment.found, false);
      assert.deepEqual(s.problems, [
        "Application argocd/payroll-salary-sync-dev does not exist (not deployed yet, or deleted)",
        "Deployment payroll-dev/salary-sync does not exist",
      ]);
      const onlyDeploymentMissing = evaluate(target(), healthyApp(), undefined, []);
      assert.equal(onlyDeploymentMissing.healthy, false);
      assert.deepEqual(onlyDeploymentMissing.problems, ["Deployment payroll-dev/salary-sync does not exist"]);
    });

    it("replicas short: 1 of 3 ready, the waiting container's reason named", () => {
      const d = healthyDeployment() as any;
      d.spec.replicas = 3;
      d.status.readyReplicas = 1;
      const pods = clone(rec().pods) as any[];
      const pending = (name: string, waiting: object) => ({
        metadata: { name, labels: pods[0].metadata.labels },
        status: { phase: "Pending", containerStatuses: [{ name: "micro-integrator", state: { waiting } }] },
      });
      const all = [
        pending("a", { reason: "ImagePullBackOff", message: "Back-off pulling image" }),
        pending("b", { reason: "ImagePullBackOff", message: "Back-off pulling image" }),
        {
          metadata: { name: "other", labels: { "app.kubernetes.io/instance": "payslip-api" } },
          status: { phase: "Pending" },
        },
        { metadata: { name: "c", labels: pods[0].metadata.labels }, status: { phase: "Running" } },
      ];
      const s = evaluate(target(), healthyApp(), d, all);
      assert.equal(s.healthy, false);
      assert.equal(s.deployment.readyReplicas, 1);
      assert.equal(s.deployment.desiredReplicas, 3);
      assert.deepEqual(s.problems, [
        "1 of 3 replicas ready",
        "2 pods Pending: ImagePullBackOff: Back-off pulling image",
      ]);
    });
  });

  describe("reading the clusters", () => {
    it("reads each cluster once per namespace, exit 0 when every service environment is healthy", async () => {
      const { cfg, tenants } = world("sandbox");
      const targets = statusTargets(tenants, cfg, ["payroll"]).filter(
        (t) => t.service === "salary-sync" && t.env === "dev",
      );
      const r = reader({ apps: [healthyApp()], deployments: { "payroll-dev": [healthyDeployment()] } });
      const report = await collectStatus("sandbox", cfg, targets, () => r);
      assert.equal(report.exitCode, STATUS_EXIT.healthy);
      assert.equal(report.healthy, true);
      assert.deepEqual(r.calls, ["applications argocd", "deployments payroll-dev", "pods payroll-dev"]);
    });

    it("exit 3 when anything is not healthy; every tenant namespace read once", async () => {
      const { cfg, tenants } = world("sandbox");
      const targets = statusTargets(tenants, cfg, ["payroll"]);
      const r = reader({ apps: [healthyApp()], deployments: { "payroll-dev": [healthyDeployment()] } });
      const report = await collectStatus("sandbox", cfg, targets, () => r);
      assert.equal(report.exitCode, STATUS_EXIT.unhealthy);
      assert.deepEqual(
        report.services.map((s) => `${s.service}/${s.env}:${s.healthy}`),
        targets.map((t) => `${t.service}/${t.env}:${t.service === "salary-sync" && t.env === "dev"}`),
      );
      assert.equal(r.calls.filter((c) => c.startsWith("applications")).length, 1);
      assert.deepEqual(r.calls.filter((c) => c.startsWith("deployments")).sort(), [
        "deployments payroll-dev",
        "deployments payroll-prod",
        "deployments payroll-test",
      ]);
    });

    it("no Application CRD: every row says Argo CD is not installed there", async () => {
      const { cfg, tenants } = world("sandbox");
      const targets = statusTargets(tenants, cfg, ["hr-onboarding"]);
      const report = await collectStatus("sandbox", cfg, targets, () => reader({ apps: undefined }));
      assert.deepEqual(report.clusters, [{ name: "sandbox", noArgoCd: true }]);
      assert.equal(report.exitCode, STATUS_EXIT.unhealthy);
      assert.match(
        report.services[0]!.problems[0]!,
        /^no Application CRD on cluster sandbox: Argo CD is not installed there$/,
      );
    });

    it("a cluster that cannot be read: its rows unknown, exit 4; the other cluster is still reported", async () => {
      const { cfg, tenants } = world("prod");
      const targets = statusTargets(tenants, cfg, ["payroll"]);
      const readers: Record<string, ClusterReader> = {
        nonprod: reader({ apps: [], deployments: {} }),
        prod: reader({
          fail: new ClusterAccessError(
            "cluster prod (context imaas-prod, https://127.0.0.1:1): unreachable: connect ECONNREFUSED",
          ),
        }),
      };
      const report = await collectStatus("prod", cfg, targets, (c) => readers[c.name]!);
      assert.equal(report.exitCode, STATUS_EXIT.unreadable);
      assert.deepEqual(
        report.clusters.map((c) => [c.name, c.error !== undefined]),
        [
          ["nonprod", false],
          ["prod", true],
        ],
      );
      for (const s of report.services) {
        if (s.env === "prod") {
          assert.match(s.unreadable ?? "", /ECONNREFUSED/);
          assert.deepEqual(s.problems, []);
        } else {
          assert.equal(s.unreadable, undefined);
          assert.match(s.problems[0]!, /does not exist/);
        }
      }
      const table = renderStatus(report, "table");
      assert.match(
        table,
        /^cannot read cluster prod \(context imaas-prod, https:\/\/127\.0\.0\.1:1\): unreachable: connect ECONNREFUSED\n/,
      );
      assert.match(
        table,
        /\npayroll\s+salary-sync\s+prod\s+\?\s+\?\s+-\s+-\s+\?\s+https:\/\/salary-sync\.payroll\.imaas\.example\.com\n/,
      );
      assert.match(
        table,
        /\nGrafana:\n {2}payroll {2}https:\/\/grafana\.payroll\.nonprod\.imaas\.example\.com {2}\(dev, test\)\n {2}payroll {2}https:\/\/grafana\.payroll\.prod\.imaas\.example\.com {2}\(prod\)\n/,
      );
      assert.match(table, /\(exit 4: a cluster could not be read\)\n$/);
    });

    it("other errors are bugs, not an unreadable cluster: they propagate", async () => {
      const { cfg, tenants } = world("sandbox");
      await assert.rejects(
        collectStatus("sandbox", cfg, statusTargets(tenants, cfg), () =>
          reader({ fail: new TypeError("x is undefined") }),
        ),
        /x is undefined/,
      );
    });

    it("client-node's errors become what to check: 401, 403, other HTTP codes, network errors", () => {
      const where = "cluster c (context k, https://127.0.0.1:6443)";
      const e401 = accessError(
        new ApiException(401, "Unauthorized", "", {}),
        where,
        "Pods in a",
        ApiException,
      );
      assert.ok(e401 instanceof ClusterAccessError);
      assert.match(
        e401.message,
        /^cluster c \(context k, https:\/\/127\.0\.0\.1:6443\): unauthorized \(401\): the kubeconfig's credentials were refused/,
      );
      const body = JSON.stringify({
        kind: "Status",
        message: 'pods is forbidden: User "ana" cannot list resource "pods"',
      });
      const e403 = accessError(
        new ApiException(403, "Forbidden", body, {}),
        where,
        "Pods in payroll-dev",
        ApiException,
      ) as Error;
      assert.match(
        e403.message,
        /forbidden \(403\) to list Pods in payroll-dev: pods is forbidden: User "ana" cannot list resource "pods"; status needs read access/,
      );
      const e500 = accessError(
        new ApiException(503, "x", { message: "etcd down" }, {}),
        where,
        "Pods in a",
        ApiException,
      ) as Error;
      assert.match(e500.message, /listing Pods in a failed \(HTTP 503\): etcd down$/);
      const net = Object.assign(
        new Error("request to https://127.0.0.1:6443/api failed, reason: connect ECONNREFUSED"),
        {
          name: "FetchError",
          type: "system",
          code: "ECONNREFUSED",
        },
      );
      assert.match(
        (accessError(net, where, "Pods in a", ApiException) as Error).message,
        /: unreachable: request to .* ECONNREFUSED$/,
      );
      const tls = Object.assign(
        new Error("request to https://127.0.0.1:6443/api failed, reason: self-signed certificate"),
        {
          name: "FetchError",
          type: "system",
          code: "DEPTH_ZERO_SELF_SIGNED_CERT",
        },
      );
      assert.match(
        (accessError(tls, where, "Pods in a", ApiException) as Error).message,
        /: cannot connect: .*self-signed certificate$/,
      );
      const ca = Object.assign(new Error("ENOENT: no such file or directory, open '/gone/ca.crt'"), {
        code: "ENOENT",
      });
      const caError = accessError(ca, where, "Pods in a", ApiException);
      assert.ok(caError instanceof KubeconfigError, "a file the kubeconfig names is input, exit 1");
      assert.match(
        caError.message,
        /: the kubeconfig names a file that cannot be read: ENOENT: .*\/gone\/ca\.crt/,
      );
      const bug = new TypeError("cannot read properties of undefined");
      assert.equal(accessError(bug, where, "Pods in a", ApiException), bug);
    });
  });

  it("image references: tag, digest, registry port", () => {
    assert.equal(imageTagOf("reg.example.com:5000/a/b:1.2.3"), "1.2.3");
    assert.equal(imageTagOf("reg.example.com:5000/a/b"), undefined);
    assert.equal(imageTagOf(`r/a/b@sha256:${"a".repeat(64)}`), `sha256:${"a".repeat(64)}`);
    assert.equal(imageRepositoryOf("reg.example.com:5000/a/b:1.2.3"), "reg.example.com:5000/a/b");
    assert.equal(imageRepositoryOf(`r/a/b@sha256:${"a".repeat(64)}`), "r/a/b");
  });

  it("JSON output is the report itself", async () => {
    const { cfg, tenants } = world("sandbox");
    const r = rec();
    const targets = statusTargets(tenants, cfg, ["payroll"]).filter(
      (t) => t.service === "salary-sync" && t.env === "dev",
    );
    const report = await collectStatus("sandbox", cfg, targets, () =>
      reader({
        apps: [r["payroll-salary-sync-dev"]],
        deployments: { "payroll-dev": [r.deployment] },
        pods: { "payroll-dev": r.pods },
      }),
    );
    assert.deepEqual(JSON.parse(renderStatus(report, "json")), JSON.parse(JSON.stringify(report)));
    const table = renderStatus(report, "table");
    assert.match(table, /^TENANT\s+SERVICE\s+ENV\s+SYNC\s+HEALTH\s+REVISION\s+IMAGE TAG\s+READY\s+URL\n/);
    assert.match(
      table,
      /\npayroll\s+salary-sync\s+dev\s+Synced\s+Progressing\s+29115dac\s+0\.1\.0-sandbox\s+0\/1\s+https:\/\/salary-sync\.payroll\.dev\.sandbox\.imaas\.test\n/,
    );
    assert.match(table, /\nno Grafana: imaas:observability\.enabled is false in stack sandbox\n/);
  });

  describe("the command", () => {
    let dir: string;
    let out: string;
    let err: string;
    const io = { out: (s: string) => (out += s), err: (s: string) => (err += s) };
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "imaas-status-"));
      out = "";
      err = "";
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    /** A kubeconfig whose API server is a loopback port nothing listens on. */
    const refusedKubeconfig = () => {
      const file = join(dir, "kubeconfig");
      writeFileSync(
        file,
        [
          "apiVersion: v1",
          "kind: Config",
          "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]",
          "users: [{name: u, user: {token: t}}]",
          "contexts: [{name: refused, context: {cluster: c, user: u}}]",
          "current-context: refused",
          "",
        ].join("\n"),
      );
      return file;
    };

    it("a cluster nobody answers for: the rows printed as unknown, exit 4", async () => {
      const code = await main(
        ["status", "--stack", "sandbox", "-t", "payroll", "--kubeconfig", refusedKubeconfig()],
        io,
      );
      assert.equal(code, STATUS_EXIT.unreadable, err);
      assert.match(
        out,
        /^cannot read cluster sandbox \(context refused, https:\/\/127\.0\.0\.1:1\): unreachable: .*ECONNREFUSED/,
      );
      assert.equal(out.match(/^payroll /gm)?.length, 5, "payroll's five service environments");
    });

    it("input errors exit 1: unknown tenant, unknown context, missing kubeconfig, --context on a multi-cluster stack", async () => {
      const kc = refusedKubeconfig();
      assert.equal(await main(["status", "--stack", "sandbox", "-t", "nobody", "--kubeconfig", kc], io), 1);
      assert.match(
        err,
        /--tenant "nobody": no such tenant in tenants; tenants there: hr-onboarding, logistics, payroll/,
      );
      err = "";
      assert.equal(
        await main(["status", "--stack", "sandbox", "--context", "nope", "--kubeconfig", kc], io),
        1,
      );
      assert.match(
        err,
        /context "nope" from --context is not in the kubeconfig .*kubeconfig; contexts there: refused/,
      );
      err = "";
      assert.equal(await main(["status", "--stack", "prod", "--kubeconfig", kc], io), 1);
      assert.match(
        err,
        /context "imaas-nonprod" from imaas:clusters \(cluster nonprod\) is not in the kubeconfig/,
      );
      err = "";
      const noCa = join(dir, "no-ca.kubeconfig");
      writeFileSync(
        noCa,
        readFileSync(kc, "utf8").replace(
          "insecure-skip-tls-verify: true",
          `certificate-authority: ${join(dir, "gone.crt")}`,
        ),
      );
      assert.equal(await main(["status", "--stack", "sandbox", "--kubeconfig", noCa], io), 1);
      assert.match(err, /: the kubeconfig names a file that cannot be read: .*gone\.crt/);
      err = "";
      assert.equal(await main(["status", "--stack", "sandbox", "--kubeconfig", join(dir, "absent")], io), 1);
      assert.match(err, /--kubeconfig .*absent: no such file/);
      err = "";
      assert.equal(await main(["status", "--stack", "prod", "--context", "x", "--kubeconfig", kc], io), 1);
      assert.match(
        err,
        /--context x: stack "prod" has 2 clusters \(nonprod, prod\); set each cluster's context in imaas:clusters instead/,
      );
      assert.equal(out, "");
    });

    it("usage errors exit 2", async () => {
      assert.equal(await main(["status", "--format", "xml"], io), 2);
      assert.match(err, /use one of table, json/);
    });
  });
});

/** Recorded in the sandbox (Argo CD v3.2.11, Kubernetes v1.33) with `kubectl get -o json`, trimmed to the fields status reads: payroll/salary-sync dev (Synced, Progressing: no nodes), test (its branch without a tag: the chart refuses to render), and a probe Application whose sync the platform's admission policy refused. */
const RECORDED = {
  "payroll-salary-sync-dev": {
    metadata: {
      name: "payroll-salary-sync-dev",
    },
    spec: {
      sources: [
        {
          repoURL: "file:///tmp/status-sb/parts/git/imaas-sandbox/imaas.git",
          path: "charts/wso2-mi",
          targetRevision: "main",
        },
        {
          repoURL: "file:///tmp/status-sb/parts/git/imaas-sandbox/payroll-salary-sync.git",
          ref: "values",
          targetRevision: "dev",
        },
      ],
    },
    status: {
      sync: {
        status: "Synced",
        revisions: ["f8e21e2513dc35e04469ff57475d99c69d291ed1", "29115dac8559da5dcb7a850d538e34fc26473b6d"],
      },
      health: {
        status: "Progressing",
      },
      conditions: [
        {
          message: "Application has 5 orphaned resources",
          type: "OrphanedResourceWarning",
        },
      ],
      operationState: {
        phase: "Succeeded",
        message: "successfully synced (all tasks run)",
        finishedAt: "2026-12-01T05:26:28Z",
        syncResult: {
          resources: [
            {
              kind: "ConfigMap",
              message: "configmap/salary-sync-mi-conf created",
              name: "salary-sync-mi-conf",
              namespace: "payroll-dev",
              status: "Synced",
            },
            {
              kind: "Service",
              message: "service/salary-sync created",
              name: "salary-sync",
              namespace: "payroll-dev",
              status: "Synced",
            },
            {
              images: ["registry.sandbox.imaas.test/payroll/salary-sync:0.1.0-sandbox"],
              kind: "Deployment",
              message: "deployment.apps/salary-sync created",
              name: "salary-sync",
              namespace: "payroll-dev",
              status: "Synced",
            },
          ],
        },
      },
      resources: [
        {
          kind: "ConfigMap",
          name: "salary-sync-mi-conf",
          namespace: "payroll-dev",
          status: "Synced",
        },
        {
          kind: "Service",
          name: "salary-sync",
          namespace: "payroll-dev",
          status: "Synced",
        },
        {
          group: "apps",
          kind: "Deployment",
          name: "salary-sync",
          namespace: "payroll-dev",
          status: "Synced",
        },
      ],
      summary: {
        images: ["registry.sandbox.imaas.test/payroll/salary-sync:0.1.0-sandbox"],
      },
    },
  },
  "payroll-salary-sync-test": {
    metadata: {
      name: "payroll-salary-sync-test",
    },
    spec: {
      sources: [
        {
          repoURL: "file:///tmp/status-sb/parts/git/imaas-sandbox/imaas.git",
          path: "charts/wso2-mi",
          targetRevision: "main",
        },
        {
          repoURL: "file:///tmp/status-sb/parts/git/imaas-sandbox/payroll-salary-sync.git",
          ref: "values",
          targetRevision: "test",
        },
      ],
    },
    status: {
      sync: {
        status: "Unknown",
      },
      health: {
        status: "Progressing",
      },
      conditions: [
        {
          message:
            "Failed to load target state: failed to generate manifest for source 1 of 2: rpc error: code = Unknown desc = failed to execute helm template command: failed to get command args to log: `helm template . --name-template salary-sync --namespace payroll-test --kube-version 1.33 --values <path to cached source>/deploy/values.yaml --values /tmp/status-sb/parts/argocd/tmp/25c2fa21-d4af-4f8c-8f59-50854140cb2f <api versions removed> --include-crds` failed exit status 1: Error: execution error at (wso2-mi/templates/deployment.yaml:73:20): image.tag (or image.digest) is not set: CI writes it into the branch's deploy/values.yaml\n\nUse --debug flag to render out invalid YAML",
          type: "ComparisonError",
        },
        {
          message: "Application has 3 orphaned resources",
          type: "OrphanedResourceWarning",
        },
      ],
      operationState: {
        phase: "Succeeded",
        message: "successfully synced (all tasks run)",
        finishedAt: "2026-12-01T05:26:32Z",
        syncResult: {
          resources: [
            {
              kind: "ConfigMap",
              message: "configmap/salary-sync-mi-conf created",
              name: "salary-sync-mi-conf",
              namespace: "payroll-test",
              status: "Synced",
            },
            {
              kind: "Service",
              message: "service/salary-sync created",
              name: "salary-sync",
              namespace: "payroll-test",
              status: "Synced",
            },
            {
              images: ["registry.sandbox.imaas.test/payroll/salary-sync:0.1.0-sandbox"],
              kind: "Deployment",
              message: "deployment.apps/salary-sync created",
              name: "salary-sync",
              namespace: "payroll-test",
              status: "Synced",
            },
          ],
        },
      },
      resources: [
        {
          kind: "ConfigMap",
          name: "salary-sync-mi-conf",
          namespace: "payroll-test",
          requiresPruning: true,
          status: "Unknown",
        },
        {
          kind: "Service",
          name: "salary-sync",
          namespace: "payroll-test",
          requiresPruning: true,
          status: "Unknown",
        },
        {
          group: "apps",
          kind: "Deployment",
          name: "salary-sync",
          namespace: "payroll-test",
          requiresPruning: true,
          status: "Unknown",
        },
      ],
      summary: {
        images: ["registry.sandbox.imaas.test/payroll/salary-sync:0.1.0-sandbox"],
      },
    },
  },
  "probe-nodeport": {
    metadata: {
      name: "probe-nodeport",
    },
    spec: {
      source: {
        repoURL: "file:///tmp/status-sb/parts/git/imaas-sandbox/payroll-payslip-api.git",
        path: "probe",
        targetRevision: "dev",
      },
    },
    status: {
      sync: {
        status: "OutOfSync",
        revision: "b5a6b25d7d8c36a89e6d80bc8917cf136dcd1af7",
      },
      health: {
        status: "Missing",
      },
      conditions: [
        {
          message: "Application has 5 orphaned resources",
          type: "OrphanedResourceWarning",
        },
        {
          message:
            "Failed last sync attempt to [b5a6b25d7d8c36a89e6d80bc8917cf136dcd1af7]: one or more objects failed to apply, reason: services \"probe-nodeport\" is forbidden: ValidatingAdmissionPolicy 'imaas-no-external-services' with binding 'imaas-no-external-services' denied request: tenant Services are ClusterIP: NodePort and LoadBalancer are refused; ask for an endpoint (expose) in the tenant file",
          type: "SyncError",
        },
      ],
      operationState: {
        phase: "Failed",
        message:
          "one or more objects failed to apply, reason: services \"probe-nodeport\" is forbidden: ValidatingAdmissionPolicy 'imaas-no-external-services' with binding 'imaas-no-external-services' denied request: tenant Services are ClusterIP: NodePort and LoadBalancer are refused; ask for an endpoint (expose) in the tenant file",
        finishedAt: "2026-12-01T05:34:00Z",
        syncResult: {
          resources: [
            {
              kind: "Service",
              message:
                "services \"probe-nodeport\" is forbidden: ValidatingAdmissionPolicy 'imaas-no-external-services' with binding 'imaas-no-external-services' denied request: tenant Services are ClusterIP: NodePort and LoadBalancer are refused; ask for an endpoint (expose) in the tenant file",
              name: "probe-nodeport",
              namespace: "payroll-dev",
              status: "SyncFailed",
            },
          ],
        },
      },
      resources: [
        {
          kind: "Service",
          name: "probe-nodeport",
          namespace: "payroll-dev",
          status: "OutOfSync",
        },
      ],
      summary: {},
    },
  },
  deployment: {
    metadata: {
      name: "salary-sync",
    },
    spec: {
      replicas: 1,
      selector: {
        matchLabels: {
          "app.kubernetes.io/instance": "salary-sync",
          "app.kubernetes.io/name": "wso2-mi",
        },
      },
      template: {
        spec: {
          containers: [
            {
              name: "micro-integrator",
              image: "registry.sandbox.imaas.test/payroll/salary-sync:0.1.0-sandbox",
            },
          ],
        },
      },
    },
    status: {
      conditions: [
        {
          lastTransitionTime: "2026-12-01T05:26:28Z",
          lastUpdateTime: "2026-12-01T05:26:28Z",
          message: "Deployment does not have minimum availability.",
          reason: "MinimumReplicasUnavailable",
          status: "False",
          type: "Available",
        },
        {
          lastTransitionTime: "2026-12-01T05:26:28Z",
          lastUpdateTime: "2026-12-01T05:26:28Z",
          message: 'ReplicaSet "salary-sync-6665dbfc87" is progressing.',
          reason: "ReplicaSetUpdated",
          status: "True",
          type: "Progressing",
        },
      ],
      observedGeneration: 1,
      replicas: 1,
      unavailableReplicas: 1,
      updatedReplicas: 1,
    },
  },
  pods: [
    {
      metadata: {
        name: "salary-sync-6665dbfc87-8psb8",
        labels: {
          "app.kubernetes.io/component": "micro-integrator",
          "app.kubernetes.io/instance": "salary-sync",
          "app.kubernetes.io/managed-by": "Helm",
          "app.kubernetes.io/name": "wso2-mi",
          "app.kubernetes.io/part-of": "imaas",
          "app.kubernetes.io/version": "4.4.0",
          "helm.sh/chart": "wso2-mi-0.1.0",
          "imaas.io/environment": "dev",
          "imaas.io/service": "salary-sync",
          "imaas.io/tenant": "payroll",
          "pod-template-hash": "6665dbfc87",
        },
      },
      status: {
        phase: "Pending",
        conditions: [
          {
            lastProbeTime: null,
            lastTransitionTime: "2026-12-01T05:26:28Z",
            message: "no nodes available to schedule pods",
            reason: "Unschedulable",
            status: "False",
            type: "PodScheduled",
          },
        ],
      },
    },
  ],
};
