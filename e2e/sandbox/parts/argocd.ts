/**
 * Argo CD's application-controller and repo-server (built by e2e/tools/build.sh `argocd`), reconciling the
 * Applications and AppProjects that `pulumi up` creates in the `argocd` namespace against the sandbox's
 * API server. Each instance has its own loopback ports, HOME, TMPDIR and ask-pass socket, so several
 * sandboxes run side by side; no argocd-server, Dex or UI.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { kubeconfigPath, kubectl } from "./control-plane";
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
import { redisAddress } from "./redis";

/** The Argo CD release built and run here (e2e/tools/argocd/go.mod). */
export const ARGOCD_VERSION = "v3.2.11";
/** Namespace of the Argo CD objects (the stack's `argocd.namespace`). */
export const ARGOCD_NAMESPACE = "argocd";

const partDir = (ctx: PartContext) => join(ctx.dir, "parts", "argocd");

export interface ArgoPorts {
  readonly repoServer: number;
  readonly repoServerMetrics: number;
  readonly controllerMetrics: number;
}

export function argoPorts(dir: string): ArgoPorts {
  return JSON.parse(readFileSync(join(dir, "parts", "argocd", "ports.json"), "utf8")) as ArgoPorts;
}

/** Service account the application-controller acts as (the argo-cd chart's name). */
export const CONTROLLER_SA = "argocd-application-controller";

/** The admin kubeconfig with the user replaced by a bearer token. */
export function kubeconfigWithToken(adminKubeconfig: string, user: string, token: string): string {
  const doc = YAML.parse(adminKubeconfig);
  doc.users = [{ name: user, user: { token } }];
  for (const c of doc.contexts) c.context.user = user;
  return YAML.stringify(doc);
}

/**
 * Applies `manifests` (the part's settings and identity) server-side, then writes `<dir>/kubeconfig`: the
 * sandbox's admin kubeconfig with the user replaced by a 30-day TokenRequest token of `serviceAccount`, so
 * the part's processes act with that account's RBAC, as they would in a cluster.
 */
export function applyAndWriteTokenKubeconfig(
  ctx: PartContext,
  dir: string,
  manifests: readonly object[],
  serviceAccount: string,
  namespace: string,
): void {
  kubectl(ctx, ["apply", "--server-side", "-f", "-"], manifests.map((m) => JSON.stringify(m)).join("\n"));
  const token = kubectl(ctx, [
    "create",
    "token",
    serviceAccount,
    "-n",
    namespace,
    "--duration",
    "720h",
  ]).trim();
  writeFileSync(
    join(dir, "kubeconfig"),
    kubeconfigWithToken(readFileSync(kubeconfigPath(ctx.dir), "utf8"), serviceAccount, token),
    { mode: 0o600 },
  );
}

/** The objects Argo CD reads its settings from; `argocd-cm` must carry the part-of label or the controller exits. */
export function argoSettingsManifests(namespace: string): object[] {
  const labels = { "app.kubernetes.io/part-of": "argocd" };
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    // The controller's own identity, as the argo-cd chart installs it: a service account bound to a
    // cluster-wide role on everything — not the sandbox's system:masters admin, which admission exempts.
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: CONTROLLER_SA, namespace, labels } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `${namespace}-${CONTROLLER_SA}`, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: CONTROLLER_SA, namespace }],
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "argocd-cm",
        namespace,
        labels: { ...labels, "app.kubernetes.io/name": "argocd-cm" },
      },
      data: {},
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "argocd-secret",
        namespace,
        labels: { ...labels, "app.kubernetes.io/name": "argocd-secret" },
      },
      type: "Opaque",
    },
  ];
}

/** The environment both components run with: private HOME/TMPDIR/socket, the tools' helm and git, no GPG. */
export function argoEnvironment(ctx: PartContext, dir: string): Record<string, string> {
  return {
    PATH: `${join(ctx.toolsDir, "bin")}:/usr/bin:/bin`,
    HOME: join(dir, "home"),
    TMPDIR: join(dir, "tmp"),
    ARGOCD_ASK_PASS_SOCK: join(dir, "tmp", "ask-pass.sock"),
    ARGOCD_GPG_ENABLED: "false",
    // In-cluster address https://kubernetes.default.svc is the sandbox's API server (single-file KUBECONFIG).
    ARGOCD_FAKE_IN_CLUSTER: "true",
    KUBECONFIG: join(dir, "kubeconfig"),
    GIT_CONFIG_NOSYSTEM: "1",
  };
}

export const argocdPart: Part = {
  name: "argocd",
  needs: ["control-plane", "redis", "git"],
  tools: ["argocd", "helm"],
  async start(ctx) {
    const dir = partDir(ctx);
    if (allRunning(dir)) {
      ctx.log(`${this.name}: already running`);
      return;
    }
    await this.stop(ctx); // leftovers of a part that died
    mkdirSync(join(dir, "home"), { recursive: true });
    mkdirSync(join(dir, "tmp"), { recursive: true });
    // The controller acts as its own service account, bound as the argo-cd chart binds it.
    applyAndWriteTokenKubeconfig(
      ctx,
      dir,
      argoSettingsManifests(ARGOCD_NAMESPACE),
      CONTROLLER_SA,
      ARGOCD_NAMESPACE,
    );
    const taken = new Set<number>();
    const ports: ArgoPorts = {
      repoServer: await freePort(taken),
      repoServerMetrics: await freePort(taken),
      controllerMetrics: await freePort(taken),
    };
    writeFileSync(join(dir, "ports.json"), `${JSON.stringify(ports)}\n`);
    const env = argoEnvironment(ctx, dir);
    const bin = join(ctx.toolsDir, "bin");
    const redis = redisAddress(ctx.dir);
    spawnRecorded(
      "repo-server",
      [
        join(bin, "argocd-repo-server"),
        "--address",
        "127.0.0.1",
        "--port",
        String(ports.repoServer),
        "--metrics-address",
        "127.0.0.1",
        "--metrics-port",
        String(ports.repoServerMetrics),
        "--disable-tls",
        "--redis",
        redis,
        "--loglevel",
        "info",
      ],
      { env, cwd: dir, dir },
    );
    spawnRecorded(
      "application-controller",
      [
        join(bin, "argocd-application-controller"),
        "--namespace",
        ARGOCD_NAMESPACE,
        "--repo-server",
        `127.0.0.1:${ports.repoServer}`,
        "--repo-server-plaintext",
        "--redis",
        redis,
        // v3.2.11 binds its metrics and /healthz listener to 0.0.0.0 (controller/appcontroller.go): a
        // private random port; nothing but this machine's loopback talks to it.
        "--metrics-port",
        String(ports.controllerMetrics),
        "--status-processors",
        "4",
        "--operation-processors",
        "4",
        "--loglevel",
        "info",
      ],
      { env, cwd: dir, dir },
    );
    ctx.log(
      `argocd ${ARGOCD_VERSION}: repo-server 127.0.0.1:${ports.repoServer}, controller metrics :${ports.controllerMetrics}, redis ${redis}`,
    );
  },
  async ready(ctx) {
    const dir = partDir(ctx);
    const ports = argoPorts(ctx.dir);
    const alive = () => {
      for (const rec of recordedProcesses(dir)) {
        if (!isRunning(rec)) return `${rec.name} exited:\n${logTail(rec.log)}`;
      }
      return undefined;
    };
    const healthy = (port: number) => async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    await waitFor("argocd-repo-server /healthz", healthy(ports.repoServerMetrics), {
      timeoutMs: 60_000,
      alive,
    });
    await waitFor("argocd-application-controller /healthz", healthy(ports.controllerMetrics), {
      timeoutMs: 60_000,
      alive,
    });
  },
  async stop(ctx) {
    const dir = partDir(ctx);
    // The controller first (it calls the repo-server), then the repo-server.
    const recs = recordedProcesses(dir).sort((a, b) =>
      a.name === "application-controller" ? -1 : b.name === "application-controller" ? 1 : 0,
    );
    for (const rec of recs) await stopRecorded(dir, rec);
    rmSync(join(dir, "tmp"), { recursive: true, force: true });
  },
};
