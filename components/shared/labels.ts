/** The labels the platform puts on tenant objects. */
import type { Environment } from "../../model/environments";
import { LABELS, MANAGED_BY } from "../../model/naming";

export function tenantLabels(tenant: string, env?: Environment, service?: string): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.partOf]: "imaas",
    [LABELS.tenant]: tenant,
    ...(env ? { [LABELS.environment]: env } : {}),
    ...(service ? { [LABELS.service]: service } : {}),
  };
}

/** Labels for the platform's own objects (no tenant). */
export function platformLabels(component: string): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.partOf]: "imaas",
    "app.kubernetes.io/component": component,
  };
}
