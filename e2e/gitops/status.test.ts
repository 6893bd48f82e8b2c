/**
 * `imaas status` — the real process — against the GitOps suite's sandbox: the real Argo CD v3.2.11 syncing
 * the example tenants, a real API server, the real @kubernetes/client-node. It reuses the suite's one sandbox
 * (e2e/gitops/hooks.ts) and sets up its own state first, so it holds whether it runs after gitops.test.ts or
 * alone: CI records a tag on payroll/salary-sync's dev branch (Synced), and its test branch loses its tag
 * (the chart refuses to render: a sync error). The test branch is reverted afterwards.
 *
 * Without nodes no pod runs: health stays Progressing, and status must say why (the pods' scheduling
 * condition), not just that.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import "./hooks";
import type { ServiceStatus, StatusReport } from "../../cli/status";
import { STATUS_EXIT } from "../../cli/status";
import { loadTenantDir } from "../../model/load";
import { applicationName, namespaceName, repositoryUrl } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { ARGOCD_NAMESPACE, ARGOCD_VERSION } from "../sandbox/parts/argocd";
import { kubeconfigPath, kubectl, sandboxEnv } from "../sandbox/parts/control-plane";
import { SANDBOX_STACK } from "../sandbox/parts/git-world";
import {
  type Application,
  application,
  commitImageTag,
  commitValues,
  describeApp,
  gitops,
  hardRefresh,
  kubectlJson,
  ROOT,
  revertLast,
  TENANTS_DIR,
  waitUntil,
} from "./sandbox";

const TENANT = "payroll";
const SERVICE = "salary-sync";
const TAG = "2.0.0-status";

/** `imaas status` as a user runs it, from the project root, with the sandbox's kubeconfig in KUBECONFIG. */
function imaasStatus(args: readonly string[], env: Record<string, string> = {}) {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "bin/imaas.js"), "status", "--stack", SANDBOX_STACK, ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, ...sandboxEnv(gitops().ctx.dir), ...env },
      timeout: 120_000,
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe(`imaas status against the real Argo CD ${ARGOCD_VERSION}`, function () {
  this.timeout(6 * 60_000);
  const cfg = () => platformConfigOf(readStackConfig(gitops().ctx.dir, SANDBOX_STACK));
  const url = () => repositoryUrl(cfg().github.owner, TENANT, SERVICE, cfg().github.urlBase);
  const devApp = applicationName(TENANT, SERVICE, "dev");
  const testApp = applicationName(TENANT, SERVICE, "test");
  let devRevision = "";
  let report: StatusReport;
  const row = (env: string): ServiceStatus =>
    report.services.find((s) => s.service === SERVICE && s.env === env)!;

  before(async () => {
    devRevision = commitImageTag(url(), "dev", TAG);
    commitValues(url(), "test", 'image:\n  tag: ""\n', "Remove the image tag [skip ci]");
    hardRefresh(devApp);
    hardRefresh(testApp);
    await waitUntil(
      `${devApp} Synced at ${devRevision.slice(0, 8)}`,
      () => application(devApp),
      (a) =>
        a.status?.sync?.status === "Synced" &&
        a.status?.operationState?.phase === "Succeeded" &&
        (a.status?.sync?.revisions ?? []).includes(devRevision),
      { describe: describeApp },
    );
    await waitUntil(
      `${testApp} refusing to render`,
      () => application(testApp),
      (a) =>
        (a.status?.conditions ?? []).some(
          (c) => c.type === "ComparisonError" && /image\.tag \(or image\.digest\) is not set/.test(c.message),
        ),
      { describe: describeApp },
    );
    const r = imaasStatus(["--tenant", TENANT, "--format", "json"]);
    assert.equal(r.code, STATUS_EXIT.unhealthy, `exit code; stderr: ${r.stderr}`);
    report = JSON.parse(r.stdout) as StatusReport;
  });

  after(async () => {
    if (devRevision) {
      revertLast(url(), "test"); // the test branch's tag back, whatever it was before
      hardRefresh(testApp);
    }
  });

  it("one row per service environment of the tenant, exit 3 (nothing is Healthy without nodes)", () => {
    const { tenants } = loadTenantDir(TENANTS_DIR, cfg());
    const payroll = tenants.find((t) => t.name === TENANT)!;
    assert.deepEqual(
      report.services.map((s) => `${s.service}/${s.env}`),
      payroll.services.flatMap((s) => s.environments.map((e) => `${s.name}/${e}`)),
    );
    assert.equal(report.healthy, false);
    assert.equal(report.exitCode, STATUS_EXIT.unhealthy);
    assert.deepEqual(report.clusters, [{ name: "sandbox" }]);
  });

  it("the synced environment: Synced at the branch's commit, Progressing explained by no nodes, the CI tag, the URL", () => {
    const dev = row("dev");
    assert.equal(dev.application.sync, "Synced");
    assert.equal(dev.application.health, "Progressing");
    assert.equal(dev.application.operation?.phase, "Succeeded");
    assert.deepEqual(
      dev.application.revisions.find((r) => r.ref === "values"),
      { repoURL: url(), revision: devRevision, ref: "values" },
      "the branch values' commit",
    );
    assert.equal(dev.deployment.imageTag, TAG);
    assert.equal(dev.deployment.image, `${cfg().registry.host}/${TENANT}/${SERVICE}:${TAG}`);
    assert.equal(dev.deployment.imageAsDesired, true, "the image Argo CD's last sync applied");
    assert.equal(dev.deployment.readyReplicas, 0);
    assert.equal(dev.deployment.desiredReplicas, 1);
    // Every pod of the Deployment counts: after a new tag the old ReplicaSet's pod stays Pending beside the
    // new one (the chart's rolling update keeps the old pod until the new one is ready), so 1 or 2 pods here.
    assert.ok(
      dev.problems.some((p) =>
        /^\d+ pods? Pending: Unschedulable: no nodes available to schedule pods$/.test(p),
      ),
      JSON.stringify(dev.problems),
    );
    assert.deepEqual(dev.syncErrors, []);
    const { tenants } = loadTenantDir(TENANTS_DIR, cfg());
    const host = tenants.find((t) => t.name === TENANT)!.services.find((s) => s.name === SERVICE)!.expose
      .dev!.host;
    assert.equal(dev.url, `https://${host}`);
    assert.equal(dev.grafana, undefined, "observability is off in the sandbox stack");
    assert.equal(dev.healthy, false);
  });

  it("the broken environment: Helm's refusal as the sync error", () => {
    const test = row("test");
    assert.equal(test.application.sync, "Unknown");
    assert.equal(test.healthy, false);
    assert.ok(test.syncErrors.length >= 1, JSON.stringify(test));
    assert.match(
      test.syncErrors[0]!,
      /^ComparisonError: Failed to load target state: .*image\.tag \(or image\.digest\) is not set: CI writes it into the branch's deploy\/values\.yaml/s,
    );
  });

  it("every row says what kubectl says: the Application's sync and health, the Deployment's image", () => {
    for (const s of report.services) {
      const a = kubectlJson<Application>(["get", "application", s.application.name, "-n", ARGOCD_NAMESPACE]);
      assert.equal(s.application.sync, a.status?.sync?.status, `${s.application.name} sync`);
      assert.equal(s.application.health, a.status?.health?.status, `${s.application.name} health`);
      const ns = namespaceName(TENANT, s.env);
      const found = kubectl(gitops().ctx, ["get", "deployments", "-n", ns, "-o", "name"]).includes(
        `deployment.apps/${s.service}\n`,
      );
      assert.equal(s.deployment.found, found, `${ns}/${s.service} exists`);
      if (found) {
        const d = kubectlJson<{ spec: { template: { spec: { containers: { image: string }[] } } } }>([
          "get",
          "deployment",
          s.service,
          "-n",
          ns,
        ]);
        assert.equal(s.deployment.image, d.spec.template.spec.containers[0]!.image);
      }
    }
  });

  it("the table a person reads", () => {
    const r = imaasStatus(["--tenant", TENANT]);
    assert.equal(r.code, STATUS_EXIT.unhealthy, r.stderr);
    assert.match(r.stdout, /^TENANT\s+SERVICE\s+ENV\s+SYNC\s+HEALTH\s+REVISION\s+IMAGE TAG\s+READY\s+URL\n/);
    assert.match(
      r.stdout,
      new RegExp(
        `\\npayroll\\s+salary-sync\\s+dev\\s+Synced\\s+Progressing\\s+${devRevision.slice(0, 8)}\\s+${TAG.replace(/\./g, "\\.")}\\s+0/1\\s+https://`,
      ),
    );
    assert.match(r.stdout, /\n {4}sync error: ComparisonError: .*image\.tag \(or image\.digest\) is not set/);
    assert.match(r.stdout, /\(exit 3: not everything is Synced, Healthy and ready\)\n$/);
    process.stderr.write(`${r.stdout.replace(/^/gm, "      | ")}\n`);
  });

  it("credentials the API server refuses to list Applications with: exit 4, the server's reason", () => {
    const { ctx } = gitops();
    kubectl(ctx, ["create", "serviceaccount", "status-nobody", "-n", "default"]);
    const token = kubectl(ctx, ["create", "token", "status-nobody", "-n", "default"]).trim();
    const admin = YAML.parse(readFileSync(kubeconfigPath(ctx.dir), "utf8"));
    admin.users = [{ name: "nobody", user: { token } }];
    admin.contexts = [{ name: "nobody", context: { cluster: admin.clusters[0].name, user: "nobody" } }];
    admin["current-context"] = "nobody";
    const file = join(gitops().work, "nobody.kubeconfig");
    writeFileSync(file, YAML.stringify(admin));
    try {
      const r = imaasStatus(["--tenant", TENANT, "--kubeconfig", file]);
      assert.equal(r.code, STATUS_EXIT.unreadable, r.stderr);
      assert.match(
        r.stdout,
        /^cannot read cluster sandbox \(context nobody, https:\/\/127\.0\.0\.1:\d+\): forbidden \(403\) to list Applications in argocd: applications\.argoproj\.io is forbidden: User "system:serviceaccount:default:status-nobody" cannot list resource "applications"/,
      );
    } finally {
      kubectl(ctx, ["delete", "serviceaccount", "status-nobody", "-n", "default"]);
    }
  });
});
