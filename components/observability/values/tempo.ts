/** Helm values of the Tempo release, one per cluster. */
import { OBSERVABILITY_RELEASES } from "../../../model/naming";
import { type ObservabilityConfig, retentionHours } from "./backends";

export interface TempoValues {
  readonly fullnameOverride: string;
  readonly multitenancyEnabled: true;
  readonly traces: {
    readonly otlp: { readonly grpc: { readonly enabled: true }; readonly http: { readonly enabled: true } };
  };
  readonly compactor: {
    readonly config: { readonly compaction: { readonly block_retention: string } };
  };
}

export function buildTempoValues(obs: ObservabilityConfig): TempoValues {
  return {
    fullnameOverride: OBSERVABILITY_RELEASES.tempo,
    multitenancyEnabled: true,
    traces: { otlp: { grpc: { enabled: true }, http: { enabled: true } } },
    compactor: {
      config: { compaction: { block_retention: `${retentionHours(obs.tracesRetention)}h` } },
    },
  };
}
