/**
 * A tenant's dedicated Argo CD (spec.isolation: dedicated) as a sandbox part: a second application-controller
 * and repo-server, with a Redis of their own, reconciling only the Applications in `<tenant>-argocd`. The
 * part plays the installer the stack leaves out when `imaas:argocd.install` is false (as the shared `argocd`
 * part does): it writes Argo CD's settings objects into the namespace and runs the processes — as the
 * ServiceAccount `pulumi up` created there, with a token of it, so the controller's reach is exactly the
 * RBAC the program grants (Roles in the tenant's environment namespaces, nothing cluster-wide).
 *
 * Start it after `pulumi up` made the namespace and the ServiceAccount; it refuses to start before.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { DEDICATED_CONTROLLER_SA } from "../../../components/tenant-space/argocd-dedicated";
import { dedicatedArgoNamespace } from "../../../model/naming";
import { applyAndWriteTokenKubeconfig, argoEnvironment } from "./argocd";
import { kubectl } from "./control-plane";
import type { Part, PartContext } from "./part";
import {
  allRunning,
  freePort,
  isRunning,
  logTail,
  type ProcessRecord,
  recordedProcesses,
  spawnRecorded,
  stopRecorded,
  waitFor,
} from "./process";

export interface DedicatedArgoPorts {
  readonly redis: number;
  readonly repoServer: number;
  readonly repoServerMetrics: number;
  readonly controllerMetrics: number;
}

/** The part's folder: `<dir>/parts/argocd-<tenant>`. */
export const dedicatedArgoDir = (dir: string, tenant: string): string =>
  join(dir, "parts", `argocd-${tenant}`);

/** The kubeconfig the dedicated controller runs with (its ServiceAccount's token). */
export const dedicatedKubeconfig = (dir: string, tenant: string): string =>
  join(dedicatedArgoDir(dir, tenant), "kubeconfig");

/** The settings objects Argo CD reads in its namespace (argocd-cm must carry the part-of label). */
export function dedicatedSettingsManifests(namespace: string): object[] {
  const labels = { "app.kubernetes.io/part-of": "argocd" };
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "argocd-cm",
        namespace,
        labels: { ...labels, "app.kubernetes.io/name": "argocd-cm" },
      },
      data: { "application.resourceTrackingMethod": "annotation" },
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

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: "127.0.0.1", port }, () => sock.write("PING\r\n"));
    sock.setTimeout(1000, () => sock.destroy());
    sock.once("data", (d) => {
      resolve(d.toString().startsWith("+PONG"));
      sock.destroy();
    });
    sock.once("error", () => resolve(false));
    sock.once("close", () => resolve(false));
  });
}

/** The processes of a running dedicated instance (for measuring them). */
export function dedicatedProcesses(dir: string, tenant: string): ProcessRecord[] {
  return recordedProcesses(dedicatedArgoDir(dir, tenant));
}

export function dedicatedArgoPart(tenant: string): Part {
  const namespace = dedicatedArgoNamespace(tenant);
  const partDir = (ctx: PartContext) => dedicatedArgoDir(ctx.dir, tenant);
  const ports = (ctx: PartContext) =>
    JSON.parse(readFileSync(join(partDir(ctx), "ports.json"), "utf8")) as DedicatedArgoPorts;
  return {
    name: `argocd-${tenant}`,
    needs: ["control-plane"],
    tools: ["argocd", "helm", "redis"],
    async start(ctx) {
      const dir = partDir(ctx);
      if (allRunning(dir)) {
        ctx.log(`${this.name}: already running`);
        return;
      }
      await this.stop(ctx);
      try {
        kubectl(ctx, ["get", "serviceaccount", DEDICATED_CONTROLLER_SA, "-n", namespace]);
      } catch (err) {
        throw new Error(
          `${this.name}: no ServiceAccount ${namespace}/${DEDICATED_CONTROLLER_SA}: run pulumi up with tenant "${tenant}" on spec.isolation: dedicated first (${(err as { stderr?: string }).stderr?.trim() ?? err})`,
        );
      }
      mkdirSync(join(dir, "home"), { recursive: true });
      mkdirSync(join(dir, "tmp"), { recursive: true });
      mkdirSync(join(dir, "redis"), { recursive: true });
      applyAndWriteTokenKubeconfig(
        ctx,
        dir,
        dedicatedSettingsManifests(namespace),
        DEDICATED_CONTROLLER_SA,
        namespace,
      );
      const taken = new Set<number>();
      const p: DedicatedArgoPorts = {
        redis: await freePort(taken),
        repoServer: await freePort(taken),
        repoServerMetrics: await freePort(taken),
        controllerMetrics: await freePort(taken),
      };
      writeFileSync(join(dir, "ports.json"), `${JSON.stringify(p)}\n`);
      const bin = join(ctx.toolsDir, "bin");
      spawnRecorded(
        "redis-server",
        [
          join(bin, "redis-server"),
          "--bind",
          "127.0.0.1",
          "--port",
          String(p.redis),
          "--protected-mode",
          "yes",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          join(dir, "redis"),
        ],
        { env: { PATH: "/usr/bin:/bin" }, cwd: dir, dir },
      );
      const env = argoEnvironment(ctx, dir);
      const redis = `127.0.0.1:${p.redis}`;
      spawnRecorded(
        "repo-server",
        [
          join(bin, "argocd-repo-server"),
          "--address",
          "127.0.0.1",
          "--port",
          String(p.repoServer),
          "--metrics-address",
          "127.0.0.1",
          "--metrics-port",
          String(p.repoServerMetrics),
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
          namespace,
          "--repo-server",
          `127.0.0.1:${p.repoServer}`,
          "--repo-server-plaintext",
          "--redis",
          redis,
          "--metrics-port",
          String(p.controllerMetrics),
          "--status-processors",
          "2",
          "--operation-processors",
          "2",
          "--loglevel",
          "info",
        ],
        { env, cwd: dir, dir },
      );
      ctx.log(
        `${this.name}: controller --namespace ${namespace} as ${DEDICATED_CONTROLLER_SA}, repo-server 127.0.0.1:${p.repoServer}, redis ${redis}`,
      );
    },
    async ready(ctx) {
      const dir = partDir(ctx);
      const p = ports(ctx);
      const alive = () => {
        for (const rec of recordedProcesses(dir)) {
          if (!isRunning(rec)) return `${rec.name} exited:\n${logTail(rec.log)}`;
        }
        return undefined;
      };
      await waitFor(`${this.name} redis PING`, () => ping(p.redis), { timeoutMs: 20_000, alive });
      const healthy = (port: number) => async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
      await waitFor(`${this.name} repo-server /healthz`, healthy(p.repoServerMetrics), {
        timeoutMs: 60_000,
        alive,
      });
      await waitFor(`${this.name} application-controller /healthz`, healthy(p.controllerMetrics), {
        timeoutMs: 60_000,
        alive,
      });
    },
    async stop(ctx) {
      const dir = partDir(ctx);
      const order = ["application-controller", "repo-server", "redis-server"];
      const recs = recordedProcesses(dir).sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
      for (const rec of recs) await stopRecorded(dir, rec);
      rmSync(join(dir, "tmp"), { recursive: true, force: true });
      rmSync(join(dir, "redis"), { recursive: true, force: true });
    },
  };
}
