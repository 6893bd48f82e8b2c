/**
 * Namespace quota and default container resources. The quota caps compute, storage and object counts
 * (no NodePorts or LoadBalancers at all); the limit range gives containers that set no resources
 * defaults that fit inside it, so a quota with limits never blocks a pod for leaving them out.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { NamespaceQuota } from "../../model/platform-config";

/** The ResourceQuota `spec.hard` of a namespace. */
export function quotaHard(q: NamespaceQuota): Record<string, string> {
  return {
    "requests.cpu": q.cpu,
    "limits.cpu": q.cpu,
    "requests.memory": q.memory,
    "limits.memory": q.memory,
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

/** Defaults for containers without resources, and a per-container ceiling at the namespace quota. */
export function limitRangeSpec(q: NamespaceQuota): k8s.types.input.core.v1.LimitRangeSpec & {
  limits: k8s.types.input.core.v1.LimitRangeItem[];
} {
  return {
    limits: [
      {
        type: "Container",
        default: { cpu: "500m", memory: "512Mi" },
        defaultRequest: { cpu: "100m", memory: "256Mi" },
        max: { cpu: q.cpu, memory: q.memory },
      },
      { type: "PersistentVolumeClaim", max: { storage: q.storage } },
    ],
  };
}
