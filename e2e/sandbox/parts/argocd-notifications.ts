/**
 * Argo CD's notifications controller (built by e2e/tools/build.sh `argocd`, the same binary as the other
 * components), watching the Applications in the `argocd` namespace and sending what `argocd-notifications-cm`
 * says — the promotion gate's commit statuses (components/platform/promotion-gate.ts). It runs as its own
 * service account with the argo-cd chart's namespaced notifications role (read its ConfigMap and Secret,
 * read and annotate Applications, read AppProjects), not as an administrator.
 *
 * The settings objects themselves (`argocd-notifications-cm`, `argocd-notifications-secret`) belong to
 * whoever configures the gate: in the cluster the argo-cd release, in the sandbox the test that applies
 * the program's own {@link gateNotificationsConfig}. Without them the controller runs and sends nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ARGOCD_NAMESPACE, applyAndWriteTokenKubeconfig, argoEnvironment, argoPorts } from "./argocd";
import type { Part, PartContext } from "./part";
import {
  allRunning,
  freePort,
  isRunning,
  logTail,
  recordedProcesses,
  spawnRecorded,
  stopRecorded,
  waitFor,
} from "./process";

const partDir = (ctx: PartContext) => join(ctx.dir, "parts", "argocd-notifications");

/** The service account the argo-cd chart gives the notifications controller. */
export const NOTIFICATIONS_SA = "argocd-notifications-controller";

/** Its identity and namespaced role, as the argo-cd chart (7.9.1, templates/argocd-notifications/role.yaml) grants it. */
export function notificationsRbac(namespace: string): object[] {
  const labels = {
    "app.kubernetes.io/part-of": "argocd",
    "app.kubernetes.io/component": "notifications-controller",
  };
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: NOTIFICATIONS_SA, namespace, labels } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: NOTIFICATIONS_SA, namespace, labels },
      rules: [
        {
          apiGroups: ["argoproj.io"],
          resources: ["applications", "appprojects"],
          verbs: ["get", "list", "watch", "update", "patch"],
        },
        { apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["list", "watch"] },
        {
          apiGroups: [""],
          resources: ["configmaps"],
          resourceNames: ["argocd-notifications-cm"],
          verbs: ["get"],
        },
        {
          apiGroups: [""],
          resources: ["secrets"],
          resourceNames: ["argocd-notifications-secret"],
          verbs: ["get"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: NOTIFICATIONS_SA, namespace, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: NOTIFICATIONS_SA },
      subjects: [{ kind: "ServiceAccount", name: NOTIFICATIONS_SA, namespace }],
    },
  ];
}

/** Port of the controller's /metrics (bound to all interfaces by v3.2.11: a private random port). */
export function notificationsMetricsPort(dir: string): number {
  return Number(readFileSync(join(dir, "parts", "argocd-notifications", "metrics-port"), "utf8").trim());
}

/** The controller's log file (the test reads what it sent or refused). */
export const notificationsLog = (dir: string): string =>
  join(dir, "parts", "argocd-notifications", "notifications-controller.log");

export const argocdNotificationsPart: Part = {
  name: "argocd-notifications",
  needs: ["argocd"],
  tools: ["argocd"],
  async start(ctx) {
    const dir = partDir(ctx);
    if (allRunning(dir)) {
      ctx.log(`${this.name}: already running`);
      return;
    }
    await this.stop(ctx);
    mkdirSync(join(dir, "home"), { recursive: true });
    mkdirSync(join(dir, "tmp"), { recursive: true });
    applyAndWriteTokenKubeconfig(
      ctx,
      dir,
      notificationsRbac(ARGOCD_NAMESPACE),
      NOTIFICATIONS_SA,
      ARGOCD_NAMESPACE,
    );
    const metrics = await freePort();
    writeFileSync(join(dir, "metrics-port"), `${metrics}\n`);
    const repoServer = argoPorts(ctx.dir).repoServer;
    spawnRecorded(
      "notifications-controller",
      [
        join(ctx.toolsDir, "bin", "argocd-notifications"),
        "--namespace",
        ARGOCD_NAMESPACE,
        "--argocd-repo-server",
        `127.0.0.1:${repoServer}`,
        "--argocd-repo-server-plaintext",
        "--metrics-port",
        String(metrics),
        "--loglevel",
        "debug",
        "--logformat",
        "text",
      ],
      { env: argoEnvironment(ctx, dir), cwd: dir, dir },
    );
    ctx.log(`argocd-notifications: metrics :${metrics}, repo-server 127.0.0.1:${repoServer}`);
  },
  async ready(ctx) {
    const dir = partDir(ctx);
    const alive = () => {
      for (const rec of recordedProcesses(dir)) {
        if (!isRunning(rec)) return `${rec.name} exited:\n${logTail(rec.log)}`;
      }
      return undefined;
    };
    const port = notificationsMetricsPort(ctx.dir);
    await waitFor(
      "argocd-notifications /metrics",
      async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).ok,
      { timeoutMs: 60_000, alive },
    );
  },
  async stop(ctx) {
    const dir = partDir(ctx);
    for (const rec of recordedProcesses(dir)) await stopRecorded(dir, rec);
  },
};
