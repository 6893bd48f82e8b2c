/**
 * The promotion gate, with the real Argo CD notifications controller (v3.2.11) reading the program's own
 * notifications config (gateNotificationsConfig) and posting to a loopback stand-in for GitHub's API
 * (fake-github.ts: the App's JWT exchange and commit statuses).
 *
 * The sandbox has no nodes here, so no MI pod turns Healthy: the Applications of this test deploy a small
 * chart of their own — a ConfigMap (Healthy as soon as it exists) and, when the values ask for it, a
 * Deployment that can never become available. They have the platform's shape where the gate depends on
 * it: two sources with the service repository (`ref: values`) second, and exactly the annotations the
 * program puts on a service's Applications (gateAnnotations). What is proven: the status goes to the
 * service repository's commit that ran Synced and Healthy, with the environment's context, once per
 * commit; a commit that never turns Healthy gets none.
 */
import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  gateAnnotations,
  gateNotificationsConfig,
  healthyStatusContext,
  STATUS_REPOSITORY_ANNOTATION,
} from "../../components/platform/promotion-gate";
import { ARGOCD_NAMESPACE } from "../sandbox/parts/argocd";
import { argocdNotificationsPart, notificationsLog } from "../sandbox/parts/argocd-notifications";
import { git } from "../sandbox/parts/git-world";
import { logTail } from "../sandbox/parts/process";
import { type FakeGitHub, startFakeGitHub } from "./fake-github";
import "./hooks";
import { apply, application, commitValues, describeApp, gitops, hardRefresh, waitUntil } from "./sandbox";

const NAME = "gate-demo";
const OWNER = "imaas-sandbox";
const REPO_WEB = `https://github.com/${OWNER}/${NAME}`;
const ENVS = ["dev", "test"] as const;

const CHART: Record<string, string> = {
  "Chart.yaml": "apiVersion: v2\nname: gate-demo\nversion: 0.1.0\n",
  "templates/configmap.yaml": [
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata: { name: gate-demo }",
    "data:",
    "  tag: {{ .Values.image.tag | quote }}",
  ].join("\n"),
  "templates/deployment.yaml": [
    "{{- if .Values.withDeployment }}",
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata: { name: gate-demo }",
    "spec:",
    "  replicas: 1",
    "  selector: { matchLabels: { app: gate-demo } }",
    "  template:",
    "    metadata: { labels: { app: gate-demo } }",
    "    spec:",
    "      containers:",
    "        - name: never",
    "          image: registry.invalid/none/never:0",
    "{{- end }}",
  ].join("\n"),
};
const values = (tag: string, withDeployment = false) =>
  `image:\n  tag: ${tag}\n${withDeployment ? "withDeployment: true\n" : ""}`;

/** A bare repository in the scratch folder with `files` on each of `branches`; its file:// URL. */
function bareRepo(
  name: string,
  branches: readonly string[],
  files: (branch: string) => Record<string, string>,
): string {
  const { work } = gitops();
  const bare = join(work, `${name}.git`);
  git(work, ["init", "--quiet", "--bare", bare], work);
  const src = mkdtempSync(join(work, `${name}-src-`));
  git(src, ["init", "--quiet"], work);
  for (const [i, branch] of branches.entries()) {
    git(src, i === 0 ? ["checkout", "--quiet", "-b", branch] : ["checkout", "--quiet", "-B", branch], work);
    for (const [path, content] of Object.entries(files(branch))) {
      mkdirSync(join(src, path, ".."), { recursive: true });
      writeFileSync(join(src, path), content);
    }
    git(src, ["add", "--all"], work);
    git(src, ["commit", "--quiet", "--allow-empty", "--message", `${name} on ${branch}`], work);
    git(src, ["push", "--quiet", `file://${bare}`, branch], work);
  }
  return `file://${bare}`;
}

const head = (url: string, branch: string) =>
  git(gitops().work, ["ls-remote", url, `refs/heads/${branch}`], gitops().work).split(/\s/)[0]!;

describe("promotion gate: the real notifications controller posts imaas/<env>-healthy", function () {
  this.timeout(15 * 60_000);
  let gh: FakeGitHub;
  let valuesUrl: string;

  before(async () => {
    const { ctx } = gitops();
    gh = await startFakeGitHub();
    const cfg = gateNotificationsConfig({
      github: { appId: gh.appId, installationId: gh.installationId, enterpriseBaseUrl: gh.baseUrl },
      minHealthyMinutes: 0,
    });
    apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "argocd-notifications-cm", namespace: ARGOCD_NAMESPACE },
      data: {
        context: "argocdUrl: https://argocd.sandbox.imaas.test\n",
        ...cfg.notifiers,
        ...cfg.triggers,
        ...cfg.templates,
      },
    });
    apply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "argocd-notifications-secret", namespace: ARGOCD_NAMESPACE },
      stringData: { "github-privateKey": gh.privateKeyPem },
    });
    const chartUrl = bareRepo(`${NAME}-chart`, ["main"], () => CHART);
    valuesUrl = bareRepo(NAME, ENVS, (env) => ({ "deploy/values.yaml": values(`1.0.0-${env}`) }));
    for (const env of ENVS)
      apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: `${NAME}-${env}` } });
    apply({
      apiVersion: "argoproj.io/v1alpha1",
      kind: "AppProject",
      metadata: { name: NAME, namespace: ARGOCD_NAMESPACE },
      spec: {
        sourceRepos: [chartUrl, valuesUrl],
        destinations: ENVS.map((env) => ({
          server: "https://kubernetes.default.svc",
          namespace: `${NAME}-${env}`,
        })),
        namespaceResourceWhitelist: [
          { group: "", kind: "ConfigMap" },
          { group: "apps", kind: "Deployment" },
        ],
      },
    });
    for (const env of ENVS) {
      apply({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: {
          name: `${NAME}-${env}`,
          namespace: ARGOCD_NAMESPACE,
          // Exactly what the program puts on a service's Application of `env` (components/mi-service).
          annotations: gateAnnotations(env, ["dev", "test", "prod"], REPO_WEB),
        },
        spec: {
          project: NAME,
          destination: { server: "https://kubernetes.default.svc", namespace: `${NAME}-${env}` },
          sources: [
            {
              repoURL: chartUrl,
              targetRevision: "main",
              path: ".",
              helm: { valueFiles: ["$values/deploy/values.yaml"] },
            },
            { repoURL: valuesUrl, targetRevision: env, ref: "values" },
          ],
          syncPolicy: { automated: { prune: true, selfHeal: true } },
        },
      });
    }
    await argocdNotificationsPart.start(ctx);
    await argocdNotificationsPart.ready(ctx);
  });

  after(async () => {
    const { ctx } = gitops();
    await argocdNotificationsPart.stop(ctx).catch(() => undefined);
    await gh?.close();
  });

  const statusesFor = (sha: string) => gh.statuses.filter((s) => s.sha === sha);
  const waitForStatus = (env: string, sha: string) =>
    waitUntil(
      `${healthyStatusContext(env as "dev")} on ${sha.slice(0, 8)}`,
      () => statusesFor(sha),
      (s) => s.length > 0,
      {
        timeoutMs: 300_000,
        describe: (s) =>
          `${JSON.stringify(s)}; all: ${JSON.stringify(gh.statuses.map((x) => [x.context, x.sha.slice(0, 8)]))}; ` +
          `refused: ${JSON.stringify(gh.refused)}; app: ${describeApp(application(`${NAME}-${env}`))}\n` +
          logTail(notificationsLog(gitops().ctx.dir), 15),
      },
    );

  it("posts success with the environment's context on the service repository's commit each environment ran Healthy", async () => {
    for (const env of ENVS) {
      const sha = head(valuesUrl, env);
      const [posted] = await waitForStatus(env, sha);
      assert.equal(posted!.state, "success");
      assert.equal(posted!.context, healthyStatusContext(env));
      assert.equal(
        `${posted!.owner}/${posted!.repo}`,
        `${OWNER}/${NAME}`,
        `from ${STATUS_REPOSITORY_ANNOTATION}`,
      );
      assert.equal(
        posted!.targetUrl,
        `https://argocd.sandbox.imaas.test/applications/${ARGOCD_NAMESPACE}/${NAME}-${env}`,
      );
      assert.match(
        posted!.description ?? "",
        new RegExp(`${NAME}-${env} ran this commit Synced and Healthy in ${env}`),
      );
      const app = application(`${NAME}-${env}`);
      assert.equal(
        app.status?.sync?.revisions?.[1],
        sha,
        "the commit Argo CD synced from the service repository",
      );
      assert.equal(app.status?.health?.status, "Healthy");
    }
    assert.deepEqual(gh.refused, [], "the App's token exchange and every status were accepted");
  });

  it("posts nothing for a commit that never turns Healthy, once per commit, and again for the next Healthy commit", async () => {
    const healthySha = head(valuesUrl, "test");
    const broken = commitValues(
      valuesUrl,
      "test",
      values("1.0.1-test", true),
      "a Deployment that never becomes available",
    );
    const app = `${NAME}-test`;
    hardRefresh(app); // read Git now, not after the 3-minute revision cache
    await waitUntil(
      `${app} synced at ${broken.slice(0, 8)} and not Healthy`,
      () => application(app),
      (a) =>
        a.status?.sync?.revisions?.[1] === broken &&
        a.status?.sync?.status === "Synced" &&
        a.status?.health?.status !== "Healthy",
      { timeoutMs: 300_000, describe: describeApp },
    );
    // Past the controller's 60 s resync: had it matched, it would have sent by now.
    await new Promise((r) => setTimeout(r, 75_000));
    assert.equal(application(app).status?.health?.status, "Progressing");
    assert.deepEqual(statusesFor(broken), [], "no status for a commit that is not Healthy");
    assert.equal(statusesFor(healthySha).length, 1, "the earlier commit's status was sent once");

    const fixed = commitValues(valuesUrl, "test", values("1.0.2-test"), "back to a healthy release");
    hardRefresh(app);
    const [posted] = await waitForStatus("test", fixed);
    assert.equal(posted!.context, "imaas/test-healthy");
    assert.deepEqual(statusesFor(broken), []);
    assert.deepEqual(gh.refused, []);
  });
});
