/**
 * Helm values of the kube-prometheus-stack release (Prometheus, its operator, Alertmanager), one per
 * cluster. Alertmanager's configuration is built by ../alerting.ts.
 */
import { OBSERVABILITY_RELEASES } from "../../../model/naming";
import {
  type AlertingInput,
  type AlertmanagerConfig,
  alertmanagerSecrets,
  buildAlertmanagerConfig,
} from "../alerting";
import type { ObservabilityConfig } from "./backends";

export interface KubePrometheusStackValues {
  readonly fullnameOverride: string;
  readonly grafana: { readonly enabled: false };
  readonly prometheus: {
    readonly prometheusSpec: {
      readonly retention: string;
      readonly storageSpec: {
        readonly volumeClaimTemplate: {
          readonly spec: {
            readonly accessModes: readonly string[];
            readonly resources: { readonly requests: { readonly storage: string } };
          };
        };
      };
      readonly serviceMonitorSelectorNilUsesHelmValues: false;
      readonly podMonitorSelectorNilUsesHelmValues: false;
      readonly ruleSelectorNilUsesHelmValues: false;
      readonly probeSelectorNilUsesHelmValues: false;
      readonly scrapeConfigSelectorNilUsesHelmValues: false;
      readonly serviceMonitorNamespaceSelector: Record<string, never>;
      readonly podMonitorNamespaceSelector: Record<string, never>;
      readonly ruleNamespaceSelector: Record<string, never>;
      /** Every metric and rule from a tenant's ServiceMonitor/PrometheusRule gets namespace=<its namespace>. */
      readonly enforcedNamespaceLabel: "namespace";
      readonly excludedFromEnforcement: readonly {
        readonly group: string;
        readonly resource: string;
        readonly namespace: string;
      }[];
    };
  };
  readonly alertmanager: {
    readonly config: AlertmanagerConfig;
    /** Secrets the operator mounts at `/etc/alertmanager/secrets/<name>/` (webhook URLs, SMTP password). */
    readonly alertmanagerSpec: { readonly secrets: readonly string[] };
  };
}

export function buildKubePrometheusStackValues(
  obs: ObservabilityConfig,
  alerting: AlertingInput,
): KubePrometheusStackValues {
  const own = (resource: string) => ({
    group: "monitoring.coreos.com",
    resource,
    namespace: obs.namespace,
  });
  return {
    fullnameOverride: OBSERVABILITY_RELEASES.prometheus,
    // Each tenant gets its own Grafana (grafana.ts); the stack's shared one would see every tenant.
    grafana: { enabled: false },
    prometheus: {
      prometheusSpec: {
        retention: obs.metricsRetention,
        storageSpec: {
          volumeClaimTemplate: {
            spec: {
              accessModes: ["ReadWriteOnce"],
              resources: { requests: { storage: obs.metricsStorage } },
            },
          },
        },
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
        serviceMonitorNamespaceSelector: {},
        podMonitorNamespaceSelector: {},
        ruleNamespaceSelector: {},
        enforcedNamespaceLabel: "namespace",
        // The stack's own monitors (kube-state-metrics, kubelet, …) keep the namespace label of the
        // series they export; only objects outside the observability namespace are forced.
        excludedFromEnforcement: [own("servicemonitors"), own("podmonitors"), own("prometheusrules")],
      },
    },
    alertmanager: {
      config: buildAlertmanagerConfig(alerting),
      alertmanagerSpec: { secrets: alertmanagerSecrets(alerting) },
    },
  };
}
