/**
 * Namespace quota and default container resources, from the platform's resource model
 * (model/resources.ts): `quota.cpu` caps CPU requests and, at the MI limit ratio, CPU limits; `memory`
 * caps both. The quota also caps storage and object counts (no NodePorts or LoadBalancers at all); the
 * limit range gives containers that set no resources defaults that fit inside it, holds every container
 * to the same CPU limit/request ratio as MI's, and caps one container at the platform's largest pod.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { NamespaceQuota, PlatformConfig } from "../../model/platform-config";
import { containerLimits, quotaCompute } from "../../model/resources";

/** The ResourceQuota `spec.hard` of a namespace. */
export function quotaHard(q: NamespaceQuota): Record<string, string> {
  return {
    ...quotaCompute(q),
    "requests.storage": q.storage,
    persistentvolumeclaims: String(q.persistentVolumeClaims),
    pods: String(q.pods),
    services: String(q.services),
    "services.nodeports": "0",
    "services.loadbalancers": "0",
    configmaps: String(q.configMaps),
    secrets: String(q.secrets),
    "count/deployments.apps": String(q.pods),
    "count/jobs.batch": String(q.pods),
  };
}

/** Defaults for containers without resources, the CPU ratio, and a per-container ceiling. */
export function limitRangeSpec(
  q: NamespaceQuota,
  maxResources: PlatformConfig["service"]["maxResources"],
): k8s.types.input.core.v1.LimitRangeSpec & { limits: k8s.types.input.core.v1.LimitRangeItem[] } {
  return {
    limits: [
      { type: "Container", ...containerLimits(q, maxResources) },
      { type: "PersistentVolumeClaim", max: { storage: q.storage } },
    ],
  };
}
