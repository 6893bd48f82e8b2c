/**
 * `imaas status`: what runs, per tenant × service × environment, read from the live clusters and compared
 * with what the tenant files and the stack config say should run. Pure: the cluster is read through a
 * {@link ClusterReader} (the real one is `status-kube.ts`, tests inject recorded API objects).
 *
 * Expected objects come from the program's own naming: the Application `applicationName(...)` in the Argo CD
 * namespace (`imaas:argocd.namespace`) of the cluster hosting the environment (`clusterFor`), the Deployment
 * of the MI chart (named after the service, the Helm release name) in `namespaceName(...)`, the URL from the
 * loader's exposed host, the Grafana from `grafanaHost(...)` when observability is on.
 *
 * Argo CD's Application status fields read here (`status.sync`, `status.health`, `status.conditions`,
 * `status.operationState.syncResult.resources[].images`, `status.resources[].health`) are those of the
 * Application CRD of Argo CD v3.2.11 (`manifests/crds/application-crd.yaml`, the CRD the sandbox installs).
 */
import type { Environment } from "../model/environments";
import {
  applicationName,
  dedicatedArgoNamespace,
  grafanaHost,
  imageRepository,
  namespaceName,
} from "../model/naming";
import { type ClusterConfig, clusterFor, type PlatformConfig } from "../model/platform-config";
import type { TenantSpec } from "../model/spec";
import {
  type ArgoApplication,
  type ArgoSource,
  ClusterAccessError,
  type ClusterReader,
  type Deployment,
  type Pod,
} from "./status-objects";

/** A source as the report shows it: where, at which revision, and its `ref` for a values-only source. */
function sourceOf(src: ArgoSource): { repoURL: string; targetRevision?: string; ref?: string } {
  return {
    repoURL: src.repoURL ?? "",
    ...(src.targetRevision ? { targetRevision: src.targetRevision } : {}),
    ...(src.ref ? { ref: src.ref } : {}),
  };
}

/** Exit codes of `imaas status` (1 invalid input and 2 usage are the CLI's own). */
export const STATUS_EXIT = {
  /** Every service environment Synced, Healthy, with all desired replicas ready. */
  healthy: 0,
  /** Read completely; something is not Synced, not Healthy, short of replicas, or missing. */
  unhealthy: 3,
  /** A cluster could not be read (unreachable, unauthorized, forbidden): its rows are unknown. */
  unreadable: 4,
} as const;

/** The MI container of the platform chart's Deployment (`charts/wso2-mi/templates/deployment.yaml`). */
export const MI_CONTAINER = "micro-integrator";

// --- What should run -------------------------------------------------------------------------------------

export interface StatusTarget {
  readonly tenant: string;
  readonly service: string;
  readonly env: Environment;
  readonly cluster: ClusterConfig;
  readonly namespace: string;
  readonly argocdNamespace: string;
  readonly application: string;
  /** The MI chart's Deployment: named after the Helm release, which is the service. */
  readonly deployment: string;
  /** The platform's image repository for the service (`<registry>/<tenant>/<service>`). */
  readonly imageRepository: string;
  /** Public URL when the service is exposed in this environment. */
  readonly url?: string;
  /** The tenant's Grafana on this cluster, when observability is on. */
  readonly grafana?: string;
}

/** Every service environment of `tenants` (all, or only those named in `only`), in file order. */
export function statusTargets(
  tenants: readonly TenantSpec[],
  cfg: PlatformConfig,
  only: readonly string[] = [],
): StatusTarget[] {
  const targets: StatusTarget[] = [];
  for (const t of tenants) {
    if (only.length > 0 && !only.includes(t.name)) continue;
    for (const s of t.services) {
      for (const env of s.environments) {
        const cluster = clusterFor(cfg, env);
        // The loader refuses an environment no cluster hosts; this is a guard, not a user path.
        if (!cluster)
          throw new Error(`no cluster of the stack hosts environment "${env}" (tenant ${t.name})`);
        const host = s.expose[env]?.host;
        targets.push({
          tenant: t.name,
          service: s.name,
          env,
          cluster,
          namespace: namespaceName(t.name, env),
          // A tenant on its own Argo CD (spec.isolation: dedicated) keeps its Applications in its namespace.
          argocdNamespace:
            t.isolation === "dedicated" ? dedicatedArgoNamespace(t.name) : cfg.argocd.namespace,
          application: applicationName(t.name, s.name, env),
          deployment: s.name,
          imageRepository: imageRepository(cfg.registry.host, t.name, s.name),
          ...(host ? { url: `https://${host}` } : {}),
          ...(cfg.observability.enabled
            ? { grafana: `https://${grafanaHost(t.name, cluster.name, cfg.domain)}` }
            : {}),
        });
      }
    }
  }
  return targets;
}

// --- What runs -------------------------------------------------------------------------------------------

export interface ServiceStatus {
  readonly tenant: string;
  readonly service: string;
  readonly env: Environment;
  readonly cluster: string;
  readonly namespace: string;
  readonly application: {
    readonly name: string;
    readonly namespace: string;
    /** False when the Application does not exist (or the cluster could not be read: see `unreadable`). */
    readonly found: boolean;
    /** Argo CD's sync status (Synced, OutOfSync, Unknown). */
    readonly sync?: string;
    /** Argo CD's health status (Healthy, Progressing, Degraded, Suspended, Missing, Unknown). */
    readonly health?: string;
    /**
     * Commit of each source, in the Application's source order: the platform chart, then the service branch
     * whose `deploy/values.yaml` holds the image tag (`ref: values`).
     */
    readonly revisions: readonly {
      readonly repoURL: string;
      readonly revision: string;
      readonly ref?: string;
    }[];
    /** What each source asks for, from the Application's spec (present even when no sync has happened). */
    readonly sources?: readonly {
      readonly repoURL: string;
      readonly targetRevision?: string;
      readonly ref?: string;
    }[];
    /**
     * The sources of the spec Argo CD last compared (`status.sync.comparedTo`): `sync` and `health` describe
     * those. Right after the spec changes they are still the old ones until Argo CD compares again.
     */
    readonly comparedTo?: readonly {
      readonly repoURL: string;
      readonly targetRevision?: string;
      readonly ref?: string;
    }[];
    /** The last sync operation: its phase (Succeeded, Failed, Error, Running) and message. */
    readonly operation?: { readonly phase: string; readonly message: string; readonly finishedAt?: string };
  };
  readonly deployment: {
    readonly name: string;
    readonly found: boolean;
    /** Image of the MI container as the Deployment holds it. */
    readonly image?: string;
    readonly imageTag?: string;
    /** The images Argo CD applied for the Deployment in its last sync; undefined when it has none recorded. */
    readonly desiredImages?: readonly string[];
    /** Whether the Deployment's image is the one the Application's last sync applied (undefined: unknown). */
    readonly imageAsDesired?: boolean;
    readonly readyReplicas?: number;
    readonly desiredReplicas?: number;
  };
  readonly url?: string;
  readonly grafana?: string;
  /** The Application's sync errors: error conditions and a failed last sync operation. */
  readonly syncErrors: readonly string[];
  /** Why it is not healthy, in words (missing objects, health messages, pods that do not run, …). */
  readonly problems: readonly string[];
  /** The cluster could not be read: everything above is unknown. */
  readonly unreadable?: string;
  readonly healthy: boolean;
}

export interface ClusterStatus {
  readonly name: string;
  /** Error reading it (unreachable, unauthorized, forbidden). */
  readonly error?: string;
  /** True when the cluster has no Application CRD. */
  readonly noArgoCd?: boolean;
}

export interface StatusReport {
  readonly stack: string;
  readonly clusters: readonly ClusterStatus[];
  readonly services: readonly ServiceStatus[];
  readonly healthy: boolean;
  readonly exitCode: number;
  /** Why there is no Grafana link, when observability is off. */
  readonly grafanaNote?: string;
}

/** `repo:tag` → tag; `repo@sha256:…` → the digest; a registry port (`host:5000/x`) is not a tag. */
export function imageTagOf(image: string): string | undefined {
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(at + 1);
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? image.slice(colon + 1) : undefined;
}

/** The repository part of an image reference. */
export function imageRepositoryOf(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) return image.slice(0, at);
  const colon = image.lastIndexOf(":");
  return colon > image.lastIndexOf("/") ? image.slice(0, colon) : image;
}

const isErrorCondition = (type: string | undefined) => type !== undefined && /Error$/.test(type);
const FAILED_PHASES = ["Failed", "Error"];

/** Error conditions, then a failed last sync with each resource that failed. */
export function syncErrorsOf(app: ArgoApplication): string[] {
  const errors: string[] = [];
  for (const c of app.status?.conditions ?? []) {
    if (isErrorCondition(c.type)) errors.push(`${c.type}: ${c.message ?? ""}`.trim());
  }
  const op = app.status?.operationState;
  if (op?.phase && FAILED_PHASES.includes(op.phase)) {
    // Argo CD also repeats a failed automated sync as a SyncError condition ("Failed last sync attempt to
    // [...]: <message>"): each text once.
    const said = (text: string) => errors.some((e) => e.includes(text));
    if (!said(op.message ?? ""))
      errors.push(`last sync ${op.phase.toLowerCase()}: ${op.message ?? ""}`.trim());
    for (const r of op.syncResult?.resources ?? []) {
      if (r.status === "SyncFailed" && r.message && !said(r.message)) {
        errors.push(`${r.kind}/${r.name}: ${r.message}`);
      }
    }
  }
  return errors;
}

function matches(labels: Readonly<Record<string, string>> | undefined, selector: Record<string, string>) {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Pods of the Deployment that do not run, grouped by why: `2 pods Pending: Unschedulable: 0/0 nodes…`. */
export function podProblems(pods: readonly Pod[], selector: Readonly<Record<string, string>>): string[] {
  if (Object.keys(selector).length === 0) return [];
  const why = new Map<string, number>();
  for (const p of pods) {
    if (!matches(p.metadata?.labels, selector)) continue;
    const phase = p.status?.phase ?? "Unknown";
    const unscheduled = (p.status?.conditions ?? []).find(
      (c) => c.type === "PodScheduled" && c.status === "False",
    );
    const waiting = (p.status?.containerStatuses ?? []).find((c) => c.state?.waiting?.reason)?.state?.waiting;
    let reason: string | undefined;
    if (unscheduled) reason = `${unscheduled.reason ?? "Unschedulable"}: ${unscheduled.message ?? ""}`.trim();
    else if (waiting && waiting.reason !== "ContainerCreating")
      reason = `${waiting.reason}: ${waiting.message ?? ""}`.replace(/: $/, "");
    else if (phase === "Pending") reason = "not scheduled yet";
    if (reason === undefined) continue;
    const key = `${phase}: ${reason}`;
    why.set(key, (why.get(key) ?? 0) + 1);
  }
  return [...why].map(([k, n]) => `${n} pod${n === 1 ? "" : "s"} ${k}`);
}

/** Deployment conditions that explain a stuck rollout (quota refusals, deadline exceeded). */
function deploymentProblems(d: Deployment): string[] {
  return (d.status?.conditions ?? [])
    .filter(
      (c) =>
        (c.type === "ReplicaFailure" && c.status === "True") ||
        (c.type === "Progressing" && c.status === "False"),
    )
    .map((c) => `Deployment ${c.type} (${c.reason ?? "?"}): ${c.message ?? ""}`.trim());
}

/** One service environment's status from what its cluster returned. */
export function evaluate(
  target: StatusTarget,
  app: ArgoApplication | undefined,
  deployment: Deployment | undefined,
  pods: readonly Pod[],
  opts: { readonly noArgoCd?: boolean } = {},
): ServiceStatus {
  const problems: string[] = [];
  const status = app?.status;
  const sources: readonly ArgoSource[] = app?.spec?.sources ?? (app?.spec?.source ? [app.spec.source] : []);
  const comparedTo = status?.sync?.comparedTo;
  const compared: readonly ArgoSource[] =
    comparedTo?.sources ?? (comparedTo?.source ? [comparedTo.source] : []);
  const revs = status?.sync?.revisions ?? (status?.sync?.revision ? [status.sync.revision] : []);
  const revisions = revs.map((revision, i) => ({
    repoURL: sources[i]?.repoURL ?? "",
    revision,
    ...(sources[i]?.ref ? { ref: sources[i]!.ref! } : {}),
  }));
  const op = status?.operationState;
  if (!app) {
    problems.push(
      opts.noArgoCd
        ? `no Application CRD on cluster ${target.cluster.name}: Argo CD is not installed there`
        : `Application ${target.argocdNamespace}/${target.application} does not exist (not deployed yet, or deleted)`,
    );
  } else {
    for (const r of status?.resources ?? []) {
      const h = r.health?.status;
      if (h && h !== "Healthy") {
        problems.push(`${r.kind}/${r.name} ${h}${r.health?.message ? `: ${r.health.message}` : ""}`);
      }
    }
  }

  const syncedDeployment = (op?.syncResult?.resources ?? []).find(
    (r) => r.kind === "Deployment" && r.name === target.deployment,
  );
  const desiredImages = syncedDeployment?.images?.length ? [...syncedDeployment.images] : undefined;
  let dep: ServiceStatus["deployment"] = { name: target.deployment, found: false };
  if (!deployment) {
    problems.push(`Deployment ${target.namespace}/${target.deployment} does not exist`);
  } else {
    const containers = deployment.spec?.template?.spec?.containers ?? [];
    const image = (containers.find((c) => c.name === MI_CONTAINER) ?? containers[0])?.image;
    const desired = deployment.spec?.replicas ?? 1;
    const ready = deployment.status?.readyReplicas ?? 0;
    const imageTag = image ? imageTagOf(image) : undefined;
    dep = {
      name: target.deployment,
      found: true,
      ...(image ? { image } : {}),
      ...(imageTag ? { imageTag } : {}),
      ...(desiredImages
        ? { desiredImages, imageAsDesired: image !== undefined && desiredImages.includes(image) }
        : {}),
      readyReplicas: ready,
      desiredReplicas: desired,
    };
    if (image && imageRepositoryOf(image) !== target.imageRepository) {
      problems.push(`image ${image} is not from the platform's repository ${target.imageRepository}`);
    }
    if (dep.imageAsDesired === false) {
      problems.push(`image ${image} is not the one Argo CD last applied (${desiredImages!.join(", ")})`);
    }
    if (ready < desired) {
      problems.push(`${ready} of ${desired} replicas ready`);
      problems.push(...deploymentProblems(deployment));
      problems.push(...podProblems(pods, deployment.spec?.selector?.matchLabels ?? {}));
    }
  }
  const syncErrors = app ? syncErrorsOf(app) : [];
  const healthy =
    app !== undefined &&
    status?.sync?.status === "Synced" &&
    status?.health?.status === "Healthy" &&
    dep.found &&
    dep.readyReplicas === dep.desiredReplicas &&
    problems.length === 0;
  return {
    tenant: target.tenant,
    service: target.service,
    env: target.env,
    cluster: target.cluster.name,
    namespace: target.namespace,
    application: {
      name: target.application,
      namespace: target.argocdNamespace,
      found: app !== undefined,
      ...(status?.sync?.status ? { sync: status.sync.status } : {}),
      ...(status?.health?.status ? { health: status.health.status } : {}),
      revisions,
      ...(app
        ? {
            sources: sources.map(sourceOf),
          }
        : {}),
      ...(compared.length > 0 ? { comparedTo: compared.map(sourceOf) } : {}),
      ...(op?.phase
        ? {
            operation: {
              phase: op.phase,
              message: op.message ?? "",
              ...(op.finishedAt ? { finishedAt: op.finishedAt } : {}),
            },
          }
        : {}),
    },
    deployment: dep,
    ...(target.url ? { url: target.url } : {}),
    ...(target.grafana ? { grafana: target.grafana } : {}),
    syncErrors,
    problems,
    healthy,
  };
}

function unreadableStatus(target: StatusTarget, error: string): ServiceStatus {
  return {
    tenant: target.tenant,
    service: target.service,
    env: target.env,
    cluster: target.cluster.name,
    namespace: target.namespace,
    application: { name: target.application, namespace: target.argocdNamespace, found: false, revisions: [] },
    deployment: { name: target.deployment, found: false },
    ...(target.url ? { url: target.url } : {}),
    ...(target.grafana ? { grafana: target.grafana } : {}),
    syncErrors: [],
    problems: [],
    unreadable: error,
    healthy: false,
  };
}

/**
 * Reads each cluster once (its Argo CD namespace's Applications, each tenant namespace's Deployments and
 * Pods) and evaluates every target. A cluster that cannot be read marks its rows unreadable; the others are
 * still reported.
 */
export async function collectStatus(
  stack: string,
  cfg: PlatformConfig,
  targets: readonly StatusTarget[],
  readerFor: (cluster: ClusterConfig) => ClusterReader,
): Promise<StatusReport> {
  const byCluster = new Map<string, StatusTarget[]>();
  for (const t of targets) byCluster.set(t.cluster.name, [...(byCluster.get(t.cluster.name) ?? []), t]);
  const clusters: ClusterStatus[] = [];
  const results = new Map<StatusTarget, ServiceStatus>();
  for (const [name, list] of byCluster) {
    const reader = readerFor(list[0]!.cluster);
    try {
      // The shared Argo CD's namespace first (it tells whether Argo CD is there at all), then each dedicated one.
      const argoNamespaces = [...new Set([cfg.argocd.namespace, ...list.map((t) => t.argocdNamespace)])];
      const read = await Promise.all(argoNamespaces.map((ns) => reader.applications(ns)));
      const apps = read[0];
      const appByName = new Map(
        read.flatMap((xs, i) =>
          (xs ?? []).map((a) => [`${argoNamespaces[i]}/${a.metadata?.name ?? ""}`, a] as const),
        ),
      );
      const namespaces = [...new Set(list.map((t) => t.namespace))];
      const perNs = new Map<string, { deployments: readonly Deployment[]; pods: readonly Pod[] }>();
      for (const ns of namespaces) {
        const [deployments, pods] = await Promise.all([reader.deployments(ns), reader.pods(ns)]);
        perNs.set(ns, { deployments, pods });
      }
      for (const t of list) {
        const { deployments, pods } = perNs.get(t.namespace)!;
        const d = deployments.find((x) => x.metadata?.name === t.deployment);
        results.set(
          t,
          evaluate(t, appByName.get(`${t.argocdNamespace}/${t.application}`), d, pods, {
            noArgoCd: apps === undefined,
          }),
        );
      }
      clusters.push({ name, ...(apps === undefined ? { noArgoCd: true } : {}) });
    } catch (err) {
      if (!(err instanceof ClusterAccessError)) throw err;
      clusters.push({ name, error: err.message });
      for (const t of list) results.set(t, unreadableStatus(t, err.message));
    }
  }
  const services = targets.map((t) => results.get(t)!);
  const unreadable = clusters.some((c) => c.error !== undefined);
  const healthy = !unreadable && services.every((s) => s.healthy);
  return {
    stack,
    clusters,
    services,
    healthy,
    exitCode: unreadable ? STATUS_EXIT.unreadable : healthy ? STATUS_EXIT.healthy : STATUS_EXIT.unhealthy,
    ...(cfg.observability.enabled
      ? {}
      : { grafanaNote: `no Grafana: imaas:observability.enabled is false in stack ${stack}` }),
  };
}
