/** Helm values of a tenant's prom-label-proxy release (one per tenant and cluster). */
import { LABELS, metricsProxyReleaseName } from "../../../model/naming";
import type { TenantScope } from "../scope";
import type { BackendUrls } from "./backends";

export interface PromLabelProxyValues {
  readonly fullnameOverride: string;
  readonly replicaCount: number;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly config: {
    readonly upstream: string;
    readonly label: "namespace";
    readonly extraArgs: readonly string[];
  };
}

/**
 * A proxy pinned to the tenant's exact namespaces: repeated `--label-value` flags make it inject
 * `namespace=~"<ns1>|<ns2>"` (values regex-quoted by the proxy) into every query, and
 * `--error-on-replace` refuses a query that names another namespace instead of silently rewriting it.
 */
export function buildPromLabelProxyValues(scope: TenantScope, urls: BackendUrls): PromLabelProxyValues {
  return {
    fullnameOverride: metricsProxyReleaseName(scope.tenant),
    replicaCount: 1,
    podLabels: { [LABELS.tenant]: scope.tenant },
    config: {
      upstream: urls.prometheus,
      label: "namespace",
      extraArgs: [
        ...scope.namespaces.map((ns) => `--label-value=${ns}`),
        "--error-on-replace=true",
        "--enable-label-apis=true",
      ],
    },
  };
}

/** The prom-label-proxy chart's default listen address (`config.listenAddress`). */
export const PROM_LABEL_PROXY_LISTEN = "0.0.0.0:8080";

/**
 * The proxy's command line as the chart renders it from these values: its deployment template passes
 * `--insecure-listen-address=<config.listenAddress>`, `--upstream=<config.upstream>`, `--label=<config.label>`,
 * then `config.extraArgs` as given (prometheus-community/helm-charts, charts/prom-label-proxy/templates/
 * deployment.yaml). The telemetry suite runs the real proxy with exactly these arguments.
 */
export function promLabelProxyArgs(
  values: PromLabelProxyValues,
  listenAddress = PROM_LABEL_PROXY_LISTEN,
): string[] {
  return [
    `--insecure-listen-address=${listenAddress}`,
    `--upstream=${values.config.upstream}`,
    `--label=${values.config.label}`,
    ...values.config.extraArgs,
  ];
}

/** The namespace values a tenant's proxy enforces, read back from its values (tests, plan). */
export function enforcedNamespaces(values: PromLabelProxyValues): string[] {
  return values.config.extraArgs
    .filter((a) => a.startsWith("--label-value="))
    .map((a) => a.slice("--label-value=".length));
}
