/** Helm values of the Loki release, one per cluster. */
import { OBSERVABILITY_RELEASES } from "../../../model/naming";
import { type ObservabilityConfig, retentionHours } from "./backends";

export interface LokiValues {
  readonly fullnameOverride: string;
  readonly deploymentMode: "SingleBinary";
  readonly loki: {
    readonly auth_enabled: true;
    readonly commonConfig: { readonly replication_factor: number };
    readonly storage: { readonly type: "filesystem" };
    readonly schemaConfig: {
      readonly configs: readonly {
        readonly from: string;
        readonly store: "tsdb";
        readonly object_store: "filesystem";
        readonly schema: "v13";
        readonly index: { readonly prefix: string; readonly period: "24h" };
      }[];
    };
    readonly limits_config: { readonly retention_period: string };
    readonly compactor: {
      readonly retention_enabled: true;
      readonly delete_request_store: "filesystem";
      readonly working_directory: string;
    };
  };
  readonly singleBinary: { readonly replicas: number; readonly persistence: { readonly size: string } };
  readonly read: { readonly replicas: 0 };
  readonly write: { readonly replicas: 0 };
  readonly backend: { readonly replicas: 0 };
  readonly chunksCache: { readonly enabled: boolean };
  readonly resultsCache: { readonly enabled: boolean };
}

/**
 * Loki in multi-tenant mode (every push and query needs `X-Scope-OrgID`), single binary on a volume,
 * retention enforced by the compactor. Loki requires the retention to be a multiple of the 24h index
 * period, so a value like `36h` is refused here rather than by a crash-looping pod.
 */
export function buildLokiValues(obs: ObservabilityConfig): LokiValues {
  const hours = retentionHours(obs.logsRetention);
  if (hours % 24 !== 0) {
    throw new Error(
      `imaas:observability.logsRetention: "${obs.logsRetention}" must be a multiple of 24h (Loki's index period)`,
    );
  }
  return {
    fullnameOverride: OBSERVABILITY_RELEASES.loki,
    deploymentMode: "SingleBinary",
    loki: {
      auth_enabled: true,
      commonConfig: { replication_factor: 1 },
      storage: { type: "filesystem" },
      schemaConfig: {
        configs: [
          {
            from: "2024-04-01",
            store: "tsdb",
            object_store: "filesystem",
            schema: "v13",
            index: { prefix: "loki_index_", period: "24h" },
          },
        ],
      },
      limits_config: { retention_period: `${hours}h` },
      compactor: {
        retention_enabled: true,
        delete_request_store: "filesystem",
        working_directory: "/var/loki/compactor",
      },
    },
    singleBinary: { replicas: 1, persistence: { size: "50Gi" } },
    read: { replicas: 0 },
    write: { replicas: 0 },
    backend: { replicas: 0 },
    // The memcached caches reserve several GiB by default; a single-binary Loki does without them.
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
  };
}
