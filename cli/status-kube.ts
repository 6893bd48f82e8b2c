/**
 * The live side of `imaas status`: a {@link ClusterReader} per cluster through `@kubernetes/client-node`
 * 1.4 (its object-parameter API). Loaded only when `imaas status` runs, so the other commands never load
 * the Kubernetes client.
 *
 * Which kubeconfig context reads a cluster: `--context` if given (one-cluster stacks only), else the
 * cluster's `context` in `imaas:clusters`, else the kubeconfig's current context — the same choice the
 * program's Kubernetes providers make (index.ts `createProviders`).
 */
import { existsSync } from "node:fs";
import type { ClusterConfig } from "../model/platform-config";
import {
  type ArgoApplication,
  ClusterAccessError,
  type ClusterReader,
  type Deployment,
  type Pod,
} from "./status-objects";

/** Bad kubeconfig input (file, context): exit 1 like other invalid input. */
export class KubeconfigError extends Error {}

export interface KubeOptions {
  /** Kubeconfig file; default: `$KUBECONFIG`, then `~/.kube/config` (client-node's `loadFromDefault`). */
  readonly kubeconfig?: string;
  /** Context for every cluster of the stack (only for one-cluster stacks). */
  readonly context?: string;
}

/** Argo CD's Application resource (argoproj.io/v1alpha1, plural `applications`). */
const APPLICATIONS = { group: "argoproj.io", version: "v1alpha1", plural: "applications" } as const;

/** Returns a function giving each cluster its reader; throws {@link KubeconfigError} on a bad file or context. */
export async function kubeReaders(opts: KubeOptions): Promise<(cluster: ClusterConfig) => ClusterReader> {
  const k8s = await import("@kubernetes/client-node");
  const base = new k8s.KubeConfig();
  let source: string;
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig))
      throw new KubeconfigError(`--kubeconfig ${opts.kubeconfig}: no such file`);
    try {
      base.loadFromFile(opts.kubeconfig);
    } catch (err) {
      throw new KubeconfigError(`--kubeconfig ${opts.kubeconfig}: ${(err as Error).message}`);
    }
    source = opts.kubeconfig;
  } else {
    try {
      base.loadFromDefault();
    } catch (err) {
      throw new KubeconfigError(`kubeconfig ($KUBECONFIG or ~/.kube/config): ${(err as Error).message}`);
    }
    source = process.env.KUBECONFIG ? `$KUBECONFIG (${process.env.KUBECONFIG})` : "~/.kube/config";
  }
  const contexts = base.getContexts().map((c) => c.name);
  return (cluster) => {
    const wanted = opts.context ?? cluster.context;
    const kc = new k8s.KubeConfig();
    kc.loadFromString(base.exportConfig());
    if (wanted) {
      if (!contexts.includes(wanted)) {
        const where = opts.context ? "--context" : `imaas:clusters (cluster ${cluster.name})`;
        throw new KubeconfigError(
          `context "${wanted}" from ${where} is not in the kubeconfig ${source}; contexts there: ${contexts.join(", ") || "none"}`,
        );
      }
      kc.setCurrentContext(wanted);
    }
    const server = kc.getCurrentCluster()?.server ?? "(no server)";
    const context = kc.getCurrentContext() || "(none)";
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const where = `cluster ${cluster.name} (context ${context}, ${server})`;
    const read = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (err) {
        throw accessError(err, where, what, k8s.ApiException);
      }
    };
    return {
      async applications(namespace) {
        try {
          const list = (await custom.listNamespacedCustomObject({ ...APPLICATIONS, namespace })) as {
            items?: ArgoApplication[];
          };
          return list.items ?? [];
        } catch (err) {
          // 404 on the list: the API server does not know the resource, i.e. Argo CD's CRDs are not installed.
          if (err instanceof k8s.ApiException && err.code === 404) return undefined;
          throw accessError(err, where, `Applications in ${namespace}`, k8s.ApiException);
        }
      },
      async deployments(namespace) {
        const list = await read(`Deployments in ${namespace}`, () =>
          apps.listNamespacedDeployment({ namespace }),
        );
        return list.items as Deployment[];
      },
      async pods(namespace) {
        const list = await read(`Pods in ${namespace}`, () => core.listNamespacedPod({ namespace }));
        return list.items as Pod[];
      },
    };
  };
}

/** Errors of a file the kubeconfig points at (certificate, key, token file): bad input, exit 1. */
const FILE_ERRORS = ["ENOENT", "EACCES", "EISDIR"];
/** Errors of reaching the API server (node-fetch's FetchError carries the system error's code). */
const NETWORK_ERRORS = [
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
];

/**
 * An API or network error as a {@link ClusterAccessError} that says what to check (a file the kubeconfig
 * names that cannot be read: a {@link KubeconfigError}); other errors unchanged.
 */
export function accessError(
  err: unknown,
  where: string,
  what: string,
  ApiException: abstract new (...args: never[]) => { code: number; body: unknown },
): unknown {
  if (err instanceof ApiException) {
    const e = err as unknown as { code: number; body: unknown };
    const reason = apiMessage(e.body);
    if (e.code === 401) {
      return new ClusterAccessError(
        `${where}: unauthorized (401): the kubeconfig's credentials were refused; log in again or pick another --context`,
      );
    }
    if (e.code === 403) {
      return new ClusterAccessError(
        `${where}: forbidden (403) to list ${what}${reason ? `: ${reason}` : ""}; status needs read access to Argo CD's Applications and the tenant namespaces' Deployments and Pods`,
      );
    }
    return new ClusterAccessError(
      `${where}: listing ${what} failed (HTTP ${e.code})${reason ? `: ${reason}` : ""}`,
    );
  }
  const e = err as { code?: string; message?: string; name?: string; type?: string };
  if (e && (e.name === "FetchError" || e.type === "system" || typeof e.code === "string")) {
    const text = e.message ?? e.code;
    if (e.code && FILE_ERRORS.includes(e.code)) {
      return new KubeconfigError(`${where}: the kubeconfig names a file that cannot be read: ${text}`);
    }
    if (e.code && NETWORK_ERRORS.includes(e.code))
      return new ClusterAccessError(`${where}: unreachable: ${text}`);
    return new ClusterAccessError(`${where}: cannot connect: ${text}`);
  }
  return err;
}

function apiMessage(body: unknown): string | undefined {
  if (typeof body === "string") {
    try {
      return apiMessage(JSON.parse(body));
    } catch {
      return body.slice(0, 300) || undefined;
    }
  }
  const m = (body as { message?: unknown } | null)?.message;
  return typeof m === "string" ? m : undefined;
}
