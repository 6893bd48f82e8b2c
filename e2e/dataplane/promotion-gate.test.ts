/**
 * The promotion gate end to end on real pods: the platform program (`pulumi up`, stack file with
 * `imaas:argocd.promotionGate` pointing at a loopback stand-in for GitHub's API) creates a tenant's
 * Applications with the gate's annotations; the real Argo CD syncs the MI chart with a STAND-IN MI image
 * (e2e/images/mi-standin — not MI) onto the sandbox's node; once `dev` and `test` run Healthy, the real
 * notifications controller, reading the program's own notifications config, posts `imaas/dev-healthy` and
 * `imaas/test-healthy` on the service repository's branch heads — the commits a merge into `test` and
 * `prod` would promote. (The gate's negative cases: e2e/gitops/promotion-gate.test.ts.)
 */
import assert from "node:assert/strict";
import { gateNotificationsConfig, healthyStatusContext } from "../../components/platform/promotion-gate";
import {
  applicationName,
  branchName,
  namespaceName,
  repositoryName,
  repositoryUrl,
} from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { type FakeGitHub, startFakeGitHub } from "../gitops/fake-github";
import { ARGOCD_NAMESPACE } from "../sandbox/parts/argocd";
import { notificationsLog } from "../sandbox/parts/argocd-notifications";
import { kubectl } from "../sandbox/parts/control-plane";
import { git, SANDBOX_STACK } from "../sandbox/parts/git-world";
import { logTail } from "../sandbox/parts/process";
import { type PlatformSandbox, startPlatformSandbox } from "./platform-sandbox";
import { writeStandinKeystores } from "./standin";

const TENANT = "gamma";
const SERVICE = "ledger";
const ENVS = ["dev", "test", "prod"] as const;

const TENANT_FILE = `apiVersion: imaas.io/v1alpha1
kind: Tenant
metadata:
  name: ${TENANT}
  displayName: Promotion gate
spec:
  owners: [gate-tester]
  services:
    - name: ${SERVICE}
      description: Stand-in MI service whose healthy runs gate its promotions (e2e/dataplane/promotion-gate.test.ts)
      replicas: { prod: 1 }
      resources: { cpu: 100m, memory: 512Mi }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("promotion gate on real pods: Argo CD posts imaas/<env>-healthy for the platform's own Applications", function () {
  this.timeout(15 * 60_000);
  let sb: PlatformSandbox;
  let gh: FakeGitHub;

  before(async function () {
    this.timeout(55 * 60_000); // a cold tool build, and waiting for the node
    gh = await startFakeGitHub();
    sb = await startPlatformSandbox({
      name: "gate",
      tenants: { [`${TENANT}.yaml`]: TENANT_FILE },
      extraParts: ["argocd-notifications"],
      editStack: (doc) =>
        doc.setIn(
          ["config", "imaas:argocd", "promotionGate"],
          doc.createNode({
            github: { appId: gh.appId, installationId: gh.installationId, enterpriseBaseUrl: gh.baseUrl },
          }),
        ),
    });
    // What the argo-cd release writes from the same config (notifications.* values; install is off here).
    const cfg = platformConfigOf(readStackConfig(sb.project, SANDBOX_STACK));
    const notifications = gateNotificationsConfig(cfg.argocd.promotionGate!);
    kubectl(
      sb.ctx,
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "argocd-notifications-cm", namespace: ARGOCD_NAMESPACE },
            data: {
              context: "argocdUrl: https://argocd.sandbox.imaas.test\n",
              ...notifications.notifiers,
              ...notifications.triggers,
              ...notifications.templates,
            },
          },
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "argocd-notifications-secret", namespace: ARGOCD_NAMESPACE },
            stringData: { "github-privateKey": gh.privateKeyPem },
          },
        ],
      }),
    );
    assert.deepEqual(
      writeStandinKeystores(sb.ctx).sort(),
      ENVS.map((e) => `${namespaceName(TENANT, e)}/${SERVICE}-mi-keystore`).sort(),
    );
  });

  after(async function () {
    this.timeout(3 * 60_000);
    await sb?.stop();
    await gh?.close();
  });

  it("the program subscribed the dev and test Applications, not prod's", () => {
    for (const env of ENVS) {
      const app = sb.json([
        "-n",
        ARGOCD_NAMESPACE,
        "get",
        "application",
        applicationName(TENANT, SERVICE, env),
      ]);
      const subscriptions = Object.keys(app.metadata.annotations ?? {}).filter((k) =>
        k.startsWith("notifications.argoproj.io/subscribe."),
      );
      assert.deepEqual(
        subscriptions,
        env === "prod" ? [] : [`notifications.argoproj.io/subscribe.on-imaas-${env}-healthy.github`],
        env,
      );
    }
  });

  it("posts imaas/dev-healthy and imaas/test-healthy on the branch heads once the stand-in pods run Healthy there", async () => {
    const cfg = platformConfigOf(readStackConfig(sb.project, SANDBOX_STACK));
    const url = repositoryUrl(cfg.github.owner, TENANT, SERVICE, cfg.github.urlBase);
    for (const env of ["dev", "test"] as const) {
      const head = git(sb.work, ["ls-remote", url, `refs/heads/${branchName(env)}`], sb.work).split(/\s/)[0]!;
      const deadline = Date.now() + 6 * 60_000;
      for (;;) {
        const posted = gh.statuses.filter((s) => s.sha === head && s.context === healthyStatusContext(env));
        if (posted.length > 0) {
          assert.equal(posted.length, 1, "once per commit");
          assert.equal(posted[0]!.state, "success");
          assert.equal(
            `${posted[0]!.owner}/${posted[0]!.repo}`,
            `${cfg.github.owner}/${repositoryName(TENANT, SERVICE)}`,
          );
          break;
        }
        if (Date.now() > deadline) {
          const app = sb.json([
            "-n",
            ARGOCD_NAMESPACE,
            "get",
            "application",
            applicationName(TENANT, SERVICE, env),
          ]);
          throw new Error(
            `no ${healthyStatusContext(env)} on ${head.slice(0, 8)} within 6 min; statuses ${JSON.stringify(gh.statuses)}; ` +
              `refused ${JSON.stringify(gh.refused)}; app ${JSON.stringify({ sync: app.status?.sync?.status, health: app.status?.health })}\n` +
              logTail(notificationsLog(sb.ctx.dir), 15),
          );
        }
        await sleep(2000);
      }
      const app = sb.json([
        "-n",
        ARGOCD_NAMESPACE,
        "get",
        "application",
        applicationName(TENANT, SERVICE, env),
      ]);
      assert.equal(app.status.health.status, "Healthy", "the status follows a Healthy run");
      assert.equal(
        app.status.sync.revisions[1],
        head,
        "of the commit Argo CD synced from the service branch",
      );
    }
    assert.deepEqual(
      gh.statuses.filter((s) => s.context === healthyStatusContext("prod")),
      [],
      "nothing is promoted from prod",
    );
    assert.deepEqual(gh.refused, []);
  });
});
