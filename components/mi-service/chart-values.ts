/**
 * Values for the platform's MI chart (`charts/wso2-mi`), built by pure functions: no Pulumi, no I/O.
 *
 * Argo CD renders the chart with two value sources per environment: the service branch's
 * `deploy/values.yaml` (owned by the service team and its CI) and the platform values inline
 * (`helm.valuesObject`), which take precedence. Helm deep-merges maps and replaces everything else, so
 * every leaf the platform controls is set explicitly here — a leaf left out would be a gap a branch file
 * could fill. The branch file may set only {@link TENANT_VALUE_PATHS}.
 */
import type { Environment } from "../../model/environments";
import { LABELS, miCredentialsSecretName, miKeystoreName } from "../../model/naming";
import { isProblem, parseBytes, parseCpu } from "../../model/quantity";
import { containerResources } from "../../model/resources";
import { CHART_ENV_NAMES, IMAGE_ENV_NAMES } from "../../model/tenant";

/** Autoscaling of one service in one environment. */
export interface MIChartAutoscaling {
  /** Fewest pods the HorizontalPodAutoscaler keeps (≥ 1). */
  readonly min: number;
  /** Most pods the HorizontalPodAutoscaler starts (≥ min). */
  readonly max: number;
  /** Average CPU utilization to aim for, percent of the CPU request (1–400). */
  readonly targetCPUUtilization: number;
}

/** What the platform knows about one MI service in one environment. */
export interface MIChartInput {
  /** Tenant name (label `imaas.io/tenant`). */
  readonly tenant: string;
  /** Service name (label `imaas.io/service`; also the Helm release name). */
  readonly service: string;
  /** Environment (label `imaas.io/environment`). */
  readonly environment: Environment;
  /** Image repository without tag, `<registry>/<tenant>/<service>` (`model/naming.ts` `imageRepository`). */
  readonly imageRepository: string;
  /**
   * Tag seeded into the branch's `deploy/values.yaml` until CI writes the first real one, e.g.
   * `0.0.0-initial`. Not `latest`: pods pull with `Always`, and a moving tag would make rollouts
   * unreproducible. Only {@link buildInitialBranchValues} uses it; the inline values carry no tag.
   * @default "" (no image yet: the chart refuses to render until CI records a tag, so nothing runs)
   */
  readonly initialTag?: string;
  /** MI runtime version the service's image is built on, e.g. `4.4.0`. */
  readonly miVersion: string;
  /** Pods when autoscaling is not set (0–50). */
  readonly replicas: number;
  /** Autoscaling; when set, `replicas` is ignored and a HorizontalPodAutoscaler manages the pod count. */
  readonly autoscaling?: MIChartAutoscaling;
  /**
   * CPU and memory of one pod, as the platform's resource model reads them (model/resources.ts):
   * memory is request and limit; `cpu` is the request and the limit is CPU_LIMIT_RATIO × `cpu`.
   */
  readonly resources: { readonly cpu: string; readonly memory: string };
  /** Service account in the namespace the pods run as (created by TenantSpace). */
  readonly serviceAccountName: string;
  /** Image pull secret in the namespace (created by TenantSpace). */
  readonly imagePullSecret: string;
  /** OTLP gRPC endpoint of the platform's collector; undefined switches tracing off. */
  readonly otlpEndpoint?: string;
  /** Platform-set environment variables of the MI container. @default {} */
  readonly config?: Readonly<Record<string, string>>;
  /** Secret in the namespace whose keys become environment variables (optional mount). @default none */
  readonly secretName?: string;
  /** Render a ServiceMonitor (needs the Prometheus Operator CRDs in the cluster). @default true */
  readonly serviceMonitor?: boolean;
  /**
   * Secret with the tenant environment's coordination database credentials (a stateful service where the
   * platform has a coordination server): switches on MI's WSO2_COORDINATION_DB datasource. @default none
   */
  readonly coordinationSecretName?: string;
  /**
   * Registration with the platform's Integration Control Plane (imaas:mi.icp; components/mi-service/icp.ts
   * builds it): MI's `[dashboard_config]` and ICP's management API user. @default none (not registered)
   */
  readonly icp?: MIChartIcp;
}

/** What the chart needs to register a runtime with ICP 1.x. */
export interface MIChartIcp {
  /** ICP's heartbeat API, `https://<service>.<namespace>.svc:9743/dashboard/api`. */
  readonly dashboardUrl: string;
  /** ICP group of the runtime (`<tenant>-<environment>`). */
  readonly groupId: string;
  /** Secret in the namespace with `username` and `password` of ICP's runtime user. */
  readonly credentialsSecret: string;
}

/** The platform's label keys the chart accepts under `labels`. */
export interface MIChartLabels {
  readonly "imaas.io/tenant": string;
  readonly "imaas.io/environment": Environment;
  readonly "imaas.io/service": string;
}

/** The platform-controlled chart values: exactly what goes inline into the Argo CD Application. */
export interface MIChartValues {
  readonly miVersion: string;
  readonly labels: MIChartLabels;
  /** Only the repository: tag and digest are the branch's. */
  readonly image: { readonly repository: string };
  readonly replicas: number;
  readonly autoscaling: {
    readonly enabled: boolean;
    readonly minReplicas: number;
    readonly maxReplicas: number;
    readonly targetCPUUtilizationPercentage: number;
  };
  readonly resources: {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu: string; readonly memory: string };
  };
  readonly javaMemOpts: string;
  readonly serviceAccountName: string;
  readonly imagePullSecrets: readonly string[];
  readonly config: Readonly<Record<string, string>>;
  /** "" when the service has no secret: set explicitly so a branch file cannot name one. */
  readonly secretName: string;
  /** The service's keystore (cert-manager) and credentials (platform-generated) Secrets. */
  readonly security: {
    readonly keystoreSecret: string;
    readonly keystoreAlias: string;
    readonly credentialsSecret: string;
  };
  /** MI cluster coordination; set in full when off, so that a branch file cannot switch it on. */
  readonly coordination: { readonly enabled: boolean; readonly secretName: string };
  /** ICP registration; set in full when off, so that a branch file cannot register a runtime elsewhere. */
  readonly icp: {
    readonly enabled: boolean;
    readonly dashboardUrl: string;
    readonly groupId: string;
    readonly credentialsSecret: string;
  };
  readonly tracing: { readonly enabled: boolean; readonly otlpEndpoint: string };
  readonly serviceMonitor: {
    readonly enabled: boolean;
    readonly interval: string;
    readonly scrapeTimeout: string;
  };
}

/** What the branch's `deploy/values.yaml` may hold (CI writes `image.tag`). */
export interface MIBranchValues {
  readonly image?: { readonly tag?: string; readonly digest?: string };
  readonly extraConfig?: Readonly<Record<string, string>>;
}

/** Top-level chart keys the platform sets inline; a branch file cannot override them. */
export const PLATFORM_VALUE_KEYS = [
  "miVersion",
  "labels",
  "image",
  "replicas",
  "autoscaling",
  "resources",
  "javaMemOpts",
  "serviceAccountName",
  "imagePullSecrets",
  "config",
  "secretName",
  "security",
  "coordination",
  "icp",
  "tracing",
  "serviceMonitor",
] as const satisfies readonly (keyof MIChartValues)[];

/**
 * Value paths a service team may set in its branch's `deploy/values.yaml`. `image` is shared: the
 * platform sets `image.repository`, the branch `image.tag` / `image.digest` (Helm merges the map).
 */
export const TENANT_VALUE_PATHS = ["image.tag", "image.digest", "extraConfig"] as const;

/** The top-level keys the platform controls (see {@link PLATFORM_VALUE_KEYS}). */
export function miChartValueKeysPlatformControlled(): readonly (keyof MIChartValues)[] {
  return PLATFORM_VALUE_KEYS;
}

/**
 * JVM memory flags: heap sized from the container's memory limit, leaving a third for metaspace,
 * threads and direct buffers (MI's own default, `-Xms256m -Xmx1024m`, ignores the limit).
 */
export const JAVA_MEM_OPTS = "-XX:InitialRAMPercentage=50.0 -XX:MaxRAMPercentage=65.0";

/** Alias of the key pair in the service's keystore.jks (the Certificate's `spec.keystores.jks.alias`). */
export const MI_KEYSTORE_ALIAS = "mi";

/** Scrape interval and timeout of the ServiceMonitor. */
export const METRICS_SCRAPE = { interval: "30s", scrapeTimeout: "10s" } as const;

/** Environment variable names the chart or the image sets (the chart's schema refuses them in config maps). */
export const RESERVED_ENV_NAMES: ReadonlySet<string> = new Set([...CHART_ENV_NAMES, ...IMAGE_ENV_NAMES]);

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)+$/;
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENDPOINT = /^https?:\/\/[^\s"]+$/;
const DASHBOARD_URL = /^https:\/\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}\/dashboard\/api$/;
const GROUP_ID = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const VERSION = /^\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$/;

/** Every problem with an input, each naming the offending key. */
export function validateMIChartInput(input: MIChartInput): string[] {
  const errors: string[] = [];
  const add = (key: string, message: string) => errors.push(`${key}: ${message}`);
  if (!REPOSITORY.test(input.imageRepository)) {
    add("imageRepository", `"${input.imageRepository}" is not <registry>/<tenant>/<service> without a tag`);
  }
  if (input.initialTag !== undefined && (input.initialTag === "latest" || !TAG.test(input.initialTag))) {
    add("initialTag", `"${input.initialTag}" is not a fixed image tag (and "latest" is refused)`);
  }
  if (!VERSION.test(input.miVersion)) add("miVersion", `"${input.miVersion}" is not a version like 4.4.0`);
  if (!Number.isInteger(input.replicas) || input.replicas < 0 || input.replicas > 50) {
    add("replicas", `${input.replicas} is not an integer from 0 to 50`);
  }
  const a = input.autoscaling;
  if (a) {
    if (!Number.isInteger(a.min) || a.min < 1 || a.min > 50) add("autoscaling.min", `${a.min} is not 1–50`);
    if (!Number.isInteger(a.max) || a.max < 1 || a.max > 50) add("autoscaling.max", `${a.max} is not 1–50`);
    if (a.min > a.max) add("autoscaling", `min (${a.min}) is greater than max (${a.max})`);
    if (
      !Number.isInteger(a.targetCPUUtilization) ||
      a.targetCPUUtilization < 1 ||
      a.targetCPUUtilization > 400
    ) {
      add("autoscaling.targetCPUUtilization", `${a.targetCPUUtilization} is not a percentage from 1 to 400`);
    }
  }
  const cpu = parseCpu(input.resources.cpu);
  if (isProblem(cpu)) add("resources.cpu", cpu.problem);
  else if (cpu <= 0) add("resources.cpu", "must be above 0");
  const memory = parseBytes(input.resources.memory);
  if (isProblem(memory)) add("resources.memory", memory.problem);
  if (!K8S_NAME.test(input.serviceAccountName)) add("serviceAccountName", "is not a Kubernetes name");
  if (!K8S_NAME.test(input.imagePullSecret)) add("imagePullSecret", "is not a Kubernetes name");
  if (input.coordinationSecretName !== undefined && !K8S_NAME.test(input.coordinationSecretName)) {
    add("coordinationSecretName", "is not a Kubernetes name");
  }
  if (input.icp) {
    if (!DASHBOARD_URL.test(input.icp.dashboardUrl)) {
      add("icp.dashboardUrl", `"${input.icp.dashboardUrl}" is not https://<host>:<port>/dashboard/api`);
    }
    if (!GROUP_ID.test(input.icp.groupId) || input.icp.groupId.length > 63) {
      add("icp.groupId", `"${input.icp.groupId}" is not a DNS label`);
    }
    if (!K8S_NAME.test(input.icp.credentialsSecret)) add("icp.credentialsSecret", "is not a Kubernetes name");
  }
  if (input.secretName !== undefined && !K8S_NAME.test(input.secretName)) {
    add("secretName", "is not a Kubernetes name");
  }
  if (input.otlpEndpoint !== undefined && !ENDPOINT.test(input.otlpEndpoint)) {
    add("otlpEndpoint", `"${input.otlpEndpoint}" is not an http(s) URL`);
  }
  for (const [name, value] of Object.entries(input.config ?? {})) {
    if (!ENV_NAME.test(name)) add(`config.${name}`, "is not an environment variable name");
    else if (RESERVED_ENV_NAMES.has(name)) add(`config.${name}`, "is set by the chart itself");
    if (typeof value !== "string") add(`config.${name}`, "value must be a string");
  }
  return errors;
}

function assertValid(input: MIChartInput): void {
  const errors = validateMIChartInput(input);
  if (errors.length > 0) {
    const where = `tenant "${input.tenant}", service "${input.service}", environment "${input.environment}"`;
    throw new Error(`invalid MI chart input for ${where}:\n  ${errors.join("\n  ")}`);
  }
}

/** The platform-controlled values for one service in one environment; throws on invalid input. */
export function buildMIChartValues(input: MIChartInput): MIChartValues {
  assertValid(input);
  const a = input.autoscaling;
  return {
    miVersion: input.miVersion,
    labels: {
      [LABELS.tenant]: input.tenant,
      [LABELS.environment]: input.environment,
      [LABELS.service]: input.service,
    } as MIChartLabels,
    image: { repository: input.imageRepository },
    replicas: input.replicas,
    // Set in full even when off, so that a branch file cannot switch it on or retune it.
    autoscaling: {
      enabled: a !== undefined,
      minReplicas: a?.min ?? Math.max(1, input.replicas),
      maxReplicas: a?.max ?? Math.max(1, input.replicas),
      targetCPUUtilizationPercentage: a?.targetCPUUtilization ?? 70,
    },
    resources: containerResources(input.resources.cpu, input.resources.memory),
    javaMemOpts: JAVA_MEM_OPTS,
    serviceAccountName: input.serviceAccountName,
    imagePullSecrets: [input.imagePullSecret],
    config: { ...(input.config ?? {}) },
    secretName: input.secretName ?? "",
    // The platform creates both Secrets per service and environment (components/mi-service/keystore.ts).
    security: {
      keystoreSecret: miKeystoreName(input.service),
      keystoreAlias: MI_KEYSTORE_ALIAS,
      credentialsSecret: miCredentialsSecretName(input.service),
    },
    coordination: {
      enabled: input.coordinationSecretName !== undefined,
      secretName: input.coordinationSecretName ?? "",
    },
    icp: {
      enabled: input.icp !== undefined,
      dashboardUrl: input.icp?.dashboardUrl ?? "",
      groupId: input.icp?.groupId ?? "",
      credentialsSecret: input.icp?.credentialsSecret ?? "",
    },
    tracing: { enabled: input.otlpEndpoint !== undefined, otlpEndpoint: input.otlpEndpoint ?? "" },
    serviceMonitor: { enabled: input.serviceMonitor ?? true, ...METRICS_SCRAPE },
  };
}

/** The first content of a branch's `deploy/values.yaml`: the initial tag and an empty `extraConfig`. */
export function buildInitialBranchValues(input: MIChartInput): MIBranchValues {
  assertValid(input);
  return { image: { tag: input.initialTag ?? "" }, extraConfig: {} };
}
