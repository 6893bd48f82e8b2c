/**
 * The platform's resource model, in one place: what a service's `resources` and a tenant's `quota` mean,
 * and whether every service of an environment fits its namespace at its largest. The quota and limit
 * range (components/tenant-space/quota.ts) and the MI chart values (components/mi-service/chart-values.ts)
 * are built from these functions, and the loader refuses a tenant file that would not fit.
 *
 * - A service's `resources.cpu` is each pod's CPU **request**; its CPU **limit** is
 *   {@link CPU_LIMIT_RATIO} × the request, so the JVM's start-up and JIT bursts are not throttled.
 * - `resources.memory` is each pod's memory request **and** limit (the JVM heap is sized from the limit;
 *   a pod is never OOM-killed for using what it asked for).
 * - A namespace quota's `cpu` caps the sum of CPU requests; the sum of CPU limits is capped at
 *   {@link CPU_LIMIT_RATIO} × `cpu`, so every pod that fits by request fits by limit. `memory` caps both
 *   requests and limits.
 * - At its largest a service runs `autoscaling.max` pods (or `replicas`), plus {@link ROLLOUT_SURGE} extra
 *   pod during a rolling update (the chart's `maxSurge`).
 */
import type { Environment } from "./environments";
import type { NamespaceQuota, PlatformConfig } from "./platform-config";
import { bytesOf, cpuMillicores, describeBytes, describeCpu, formatCpu } from "./quantity";

/** CPU limit of an MI container = this × its request. */
export const CPU_LIMIT_RATIO = 2;
/** Extra pods a Deployment starts during a rolling update: the MI chart's `strategy.rollingUpdate.maxSurge`. */
export const ROLLOUT_SURGE = 1;
/** Smallest CPU request of an MI pod: the JVM does not start in useful time below it. */
export const MIN_SERVICE_CPU_MILLICORES = 100;
/** Smallest memory of an MI pod: MI 4.x needs about 400 MiB of heap and metaspace to start. */
export const MIN_SERVICE_MEMORY_BYTES = 512 * 2 ** 20;
/** Objects of the tenant's namespace that are not services: `kube-root-ca.crt` (ConfigMap). */
export const NAMESPACE_CONFIGMAPS = 1;
/** Secrets the platform puts in every namespace: the registry pull secret. */
export const NAMESPACE_SECRETS = 1;
/**
 * Secrets every MI service has in each of its namespaces: the keystore cert-manager writes and the
 * platform's credentials Secret (components/mi-service/keystore.ts).
 */
export const SECRETS_PER_MI_SERVICE = 2;

/** Requests and limits of one MI container, as quantities. */
export interface ContainerResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu: string; readonly memory: string };
}

/** The container resources of a service whose `resources` are `cpu` and `memory` (both validated). */
export function containerResources(cpu: string, memory: string): ContainerResources {
  const request = cpuMillicores(cpu);
  return {
    requests: { cpu: formatCpu(request), memory },
    limits: { cpu: formatCpu(request * CPU_LIMIT_RATIO), memory },
  };
}

/** The ResourceQuota `spec.hard` compute entries of a namespace quota. */
export function quotaCompute(q: NamespaceQuota): Record<string, string> {
  return {
    "requests.cpu": q.cpu,
    "limits.cpu": formatCpu(cpuMillicores(q.cpu) * CPU_LIMIT_RATIO),
    "requests.memory": q.memory,
    "limits.memory": q.memory,
  };
}

/**
 * The LimitRange of a namespace: defaults for containers without resources (the same ratio as MI's),
 * the ratio itself, and a per-container ceiling at the platform's largest service size, never above the
 * namespace quota.
 */
export function containerLimits(q: NamespaceQuota, max: PlatformConfig["service"]["maxResources"]) {
  const maxCpu = Math.min(cpuMillicores(q.cpu), cpuMillicores(max.cpu));
  const maxMemory = bytesOf(q.memory) <= bytesOf(max.memory) ? q.memory : max.memory;
  return {
    defaultRequest: { cpu: "100m", memory: "256Mi" },
    default: { cpu: formatCpu(100 * CPU_LIMIT_RATIO), memory: "256Mi" },
    max: { cpu: formatCpu(maxCpu * CPU_LIMIT_RATIO), memory: maxMemory },
    maxLimitRequestRatio: { cpu: String(CPU_LIMIT_RATIO) },
  };
}

/** What one service in one environment needs at its largest. */
export interface ServiceNeed {
  readonly service: string;
  /** Index in the tenant file's `spec.services`. */
  readonly index: number;
  /** Pods at the service's largest: replicas or autoscaling max. */
  readonly pods: number;
  /** `pods` plus the rolling update's surge pod. */
  readonly rolloutPods: number;
  /** CPU request of one pod, millicores. */
  readonly cpu: number;
  /** Memory of one pod, bytes. */
  readonly memory: number;
  /** Which field sets `pods`, for the message: `autoscaling.prod.max` or `replicas.prod`. */
  readonly podsFrom: string;
}

export interface ServiceSizing {
  readonly name: string;
  readonly environments: readonly Environment[];
  readonly replicas: Readonly<Partial<Record<Environment, number>>>;
  readonly autoscaling: Readonly<Partial<Record<Environment, { readonly max: number }>>>;
  readonly resources: { readonly cpu: string; readonly memory: string };
}

/** Each service's need in `env`, in file order (services that do not run there are left out). */
export function serviceNeeds(services: readonly ServiceSizing[], env: Environment): ServiceNeed[] {
  const needs: ServiceNeed[] = [];
  services.forEach((s, index) => {
    if (!s.environments.includes(env)) return;
    const a = s.autoscaling[env];
    const pods = a ? a.max : (s.replicas[env] ?? 0);
    needs.push({
      service: s.name,
      index,
      pods,
      rolloutPods: pods > 0 ? pods + ROLLOUT_SURGE : 0,
      cpu: cpuMillicores(s.resources.cpu),
      memory: bytesOf(s.resources.memory),
      podsFrom: a ? `autoscaling.${env}.max` : `replicas.${env}`,
    });
  });
  return needs;
}

/** One way an environment's services do not fit its quota. */
export interface QuotaShortfall {
  /** Quota field: `cpu`, `memory`, `pods`, `services`, `configMaps`, `secrets`. */
  readonly field: keyof NamespaceQuota;
  /** The service that needs the most of it (where the error points when the quota is not set). */
  readonly largest: ServiceNeed;
  /** The arithmetic, e.g. `salary-sync 9 pods × 500m = 4.5 CPU + payslip-api 3 pods × 500m = 1.5 CPU = 6 CPU`. */
  readonly needs: string;
  readonly has: string;
}

/** Where the services of one environment do not fit the namespace quota `q`; empty when they fit. */
export function quotaShortfalls(
  needs: readonly ServiceNeed[],
  q: NamespaceQuota,
  secretsPerService: (need: ServiceNeed) => number,
): QuotaShortfall[] {
  if (needs.length === 0) return [];
  const out: QuotaShortfall[] = [];
  const largestBy = (f: (n: ServiceNeed) => number) => needs.reduce((a, b) => (f(b) > f(a) ? b : a));
  const sum = (f: (n: ServiceNeed) => number) => needs.reduce((t, n) => t + f(n), 0);
  const terms = (f: (n: ServiceNeed) => string) => needs.map(f).join(" + ");

  const cpu = sum((n) => n.rolloutPods * n.cpu);
  if (cpu > cpuMillicores(q.cpu)) {
    out.push({
      field: "cpu",
      largest: largestBy((n) => n.rolloutPods * n.cpu),
      needs: `${terms((n) => `${n.service} ${n.rolloutPods} pods × ${describeCpu(n.cpu)}`)} = ${describeCpu(cpu)} of requests (${describeCpu(cpu * CPU_LIMIT_RATIO)} of limits)`,
      has: describeCpu(cpuMillicores(q.cpu)),
    });
  }
  const memory = sum((n) => n.rolloutPods * n.memory);
  if (memory > bytesOf(q.memory)) {
    out.push({
      field: "memory",
      largest: largestBy((n) => n.rolloutPods * n.memory),
      needs: `${terms((n) => `${n.service} ${n.rolloutPods} pods × ${describeBytes(n.memory)}`)} = ${describeBytes(memory)}`,
      has: describeBytes(bytesOf(q.memory)),
    });
  }
  const pods = sum((n) => n.rolloutPods);
  if (pods > q.pods) {
    out.push({
      field: "pods",
      largest: largestBy((n) => n.rolloutPods),
      needs: `${terms((n) => `${n.service} ${n.rolloutPods}`)} = ${pods} pods`,
      has: `${q.pods} pods`,
    });
  }
  if (needs.length > q.services) {
    out.push({
      field: "services",
      largest: needs[needs.length - 1],
      needs: `${needs.length} Services (one per MI service)`,
      has: `${q.services}`,
    });
  }
  const configMaps = needs.length + NAMESPACE_CONFIGMAPS;
  if (configMaps > q.configMaps) {
    out.push({
      field: "configMaps",
      largest: needs[needs.length - 1],
      needs: `${configMaps} ConfigMaps (one per MI service and kube-root-ca.crt)`,
      has: `${q.configMaps}`,
    });
  }
  const secrets = sum(secretsPerService) + needs.length * SECRETS_PER_MI_SERVICE + NAMESPACE_SECRETS;
  if (secrets > q.secrets) {
    out.push({
      field: "secrets",
      largest: needs[needs.length - 1],
      needs: `${secrets} Secrets (the pull secret, a keystore and a credentials Secret per service, and one per service with secrets)`,
      has: `${q.secrets}`,
    });
  }
  return out;
}
