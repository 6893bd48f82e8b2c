/**
 * Helm values of the Fluent Bit release (a DaemonSet per cluster that ships every container's log to
 * Loki): its classic config and its Lua filter are rendered from typed data by small renderers.
 */
import { LABELS, OBSERVABILITY_RELEASES, PLATFORM_TELEMETRY_TENANT } from "../../../model/naming";
import type { BackendUrls } from "./backends";

/** One section of Fluent Bit's classic configuration, as ordered key/value pairs. */
export interface FluentBitSection {
  readonly kind: "SERVICE" | "INPUT" | "FILTER" | "OUTPUT" | "PARSER";
  readonly entries: readonly (readonly [string, string | number])[];
}

/** Renders sections in Fluent Bit's classic format (the chart takes config as text). */
export function renderFluentBitConfig(sections: readonly FluentBitSection[]): string {
  return sections
    .map((s) => {
      for (const [k, v] of s.entries) {
        if (/[\n\r]/.test(`${k}${v}`)) throw new Error(`Fluent Bit ${s.kind} entry ${k} spans lines`);
      }
      return [`[${s.kind}]`, ...s.entries.map(([k, v]) => `    ${k} ${v}`)].join("\n");
    })
    .join("\n\n")
    .concat("\n");
}

/** Record key the tenant is lifted to; the loki output's `tenant_id_key`. */
export const FLUENT_BIT_TENANT_KEY = "imaas_tenant";
export const FLUENT_BIT_LUA_FILE = "imaas-tenant.lua";
export const FLUENT_BIT_LUA_FUNCTION = "imaas_tenant";

/**
 * The Lua filter that sets the Loki tenant of a record. The tenant comes from the namespace label
 * `imaas.io/tenant` (which only the platform can set), and is accepted only when the record's namespace
 * — taken by the kubernetes filter from the log file path, which a pod cannot choose — starts with
 * `<tenant>-`. Anything else (platform namespaces, a missing label) goes to the platform tenant.
 */
export function buildTenantLuaScript(tenantLabel: string, fallbackTenant: string): string {
  const lua = (s: string) => JSON.stringify(s); // a JSON string of printable ASCII is a valid Lua string
  return [
    `function ${FLUENT_BIT_LUA_FUNCTION}(tag, timestamp, record)`,
    `  local tenant = ${lua(fallbackTenant)}`,
    `  local k8s = record["kubernetes"]`,
    `  local ns = record["kubernetes_namespace"]`,
    `  if type(k8s) == "table" and type(ns) == "table" and type(ns["labels"]) == "table" then`,
    `    local label = ns["labels"][${lua(tenantLabel)}]`,
    `    local name = k8s["namespace_name"]`,
    `    if type(label) == "string" and label ~= "" and type(name) == "string"`,
    `      and string.sub(name, 1, string.len(label) + 1) == label .. "-" then`,
    `      tenant = label`,
    `    end`,
    `  end`,
    `  record["kubernetes_namespace"] = nil`,
    `  record[${lua(FLUENT_BIT_TENANT_KEY)}] = tenant`,
    `  return 2, timestamp, record`,
    `end`,
    ``,
  ].join("\n");
}

export interface FluentBitPipeline {
  readonly inputs: readonly FluentBitSection[];
  readonly filters: readonly FluentBitSection[];
  readonly outputs: readonly FluentBitSection[];
}

export function buildFluentBitPipeline(urls: BackendUrls): FluentBitPipeline {
  return {
    inputs: [
      {
        kind: "INPUT",
        entries: [
          ["Name", "tail"],
          ["Path", "/var/log/containers/*.log"],
          ["multiline.parser", "docker, cri"],
          ["Tag", "kube.*"],
          ["Mem_Buf_Limit", "50MB"],
          ["Skip_Long_Lines", "On"],
          ["DB", "/var/log/imaas-fluent-bit.db"],
        ],
      },
    ],
    filters: [
      {
        kind: "FILTER",
        entries: [
          ["Name", "kubernetes"],
          ["Match", "kube.*"],
          // JSON log lines are merged under their own key, so a log line cannot forge top-level keys.
          ["Merge_Log", "On"],
          ["Merge_Log_Key", "log_processed"],
          ["Keep_Log", "Off"],
          ["K8S-Logging.Parser", "On"],
          ["K8S-Logging.Exclude", "Off"],
          ["Labels", "On"],
          ["Annotations", "Off"],
          // Namespace labels land in the record key `kubernetes_namespace` (Fluent Bit >= 3.0).
          ["Namespace_Labels", "On"],
          ["Kube_Meta_Namespace_Cache_TTL", "300"],
        ],
      },
      {
        kind: "FILTER",
        entries: [
          ["Name", "lua"],
          ["Match", "kube.*"],
          ["script", `/fluent-bit/scripts/${FLUENT_BIT_LUA_FILE}`],
          ["call", FLUENT_BIT_LUA_FUNCTION],
        ],
      },
    ],
    outputs: [
      {
        kind: "OUTPUT",
        entries: [
          ["Name", "loki"],
          ["Match", "kube.*"],
          ["Host", urls.lokiHost],
          ["Port", urls.lokiPort],
          ["tenant_id_key", FLUENT_BIT_TENANT_KEY],
          ["tenant_id", PLATFORM_TELEMETRY_TENANT],
          [
            "labels",
            "job=fluent-bit, namespace=$kubernetes['namespace_name'], pod=$kubernetes['pod_name'], container=$kubernetes['container_name']",
          ],
          ["remove_keys", FLUENT_BIT_TENANT_KEY],
          ["line_format", "json"],
          ["Retry_Limit", "False"],
        ],
      },
    ],
  };
}

export interface FluentBitValues {
  readonly kind: "DaemonSet";
  readonly fullnameOverride: string;
  readonly luaScripts: Readonly<Record<string, string>>;
  readonly config: {
    readonly inputs: string;
    readonly filters: string;
    readonly outputs: string;
  };
  readonly tolerations: readonly { readonly operator: "Exists" }[];
}

export function buildFluentBitValues(urls: BackendUrls): FluentBitValues {
  const p = buildFluentBitPipeline(urls);
  return {
    kind: "DaemonSet",
    fullnameOverride: OBSERVABILITY_RELEASES.fluentBit,
    luaScripts: { [FLUENT_BIT_LUA_FILE]: buildTenantLuaScript(LABELS.tenant, PLATFORM_TELEMETRY_TENANT) },
    config: {
      inputs: renderFluentBitConfig(p.inputs),
      filters: renderFluentBitConfig(p.filters),
      outputs: renderFluentBitConfig(p.outputs),
    },
    // Logs from every node, tainted ones included.
    tolerations: [{ operator: "Exists" }],
  };
}
