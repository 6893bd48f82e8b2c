/**
 * The tenant contract: what a business unit writes in `tenants/<name>.yaml`.
 *
 * The schema is strict (unknown keys are errors) and carries every rule that can be checked within one
 * file. Rules that need other files or the platform's config (quota caps, `allowFrom` targets, name
 * collisions, the file's own name) live in `validate.ts`.
 */
import { z } from "zod";
import { credentialKind } from "./credentials";
import { parseCidr } from "./egress";
import { ENVIRONMENTS, type Environment } from "./environments";
import { isProblem, parseBytes, parseCpu } from "./quantity";
import { MIN_SERVICE_CPU_MILLICORES, MIN_SERVICE_MEMORY_BYTES } from "./resources";
import { hiddenCharacter, nonAscii } from "./text";

export const API_VERSION = "imaas.io/v1alpha1";
export const KIND = "Tenant";

/** DNS-label-like names; tenant names become namespace prefixes, service names repo suffixes. */
const NAME_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/**
 * Names a tenant may not take: they are platform namespaces, or they would make a namespace that
 * Kubernetes or the platform reserves.
 */
export const RESERVED_TENANT_NAMES: readonly string[] = [
  "default",
  "argocd",
  "imaas",
  "platform",
  "observability",
  "monitoring",
  "kube",
  "cert-manager",
  "ingress-nginx",
  "external-secrets",
  "jenkins",
  "library", // Harbor's default public project
];

/** A name checked against `pattern`, with a precise message for a non-ASCII look-alike character. */
function asciiName(pattern: RegExp, message: string) {
  return z
    .string()
    .refine((v) => nonAscii(v) === undefined, {
      error: (issue) => `contains ${nonAscii(String(issue.input))}; use plain ASCII`,
      abort: true,
    })
    .regex(pattern, message);
}

/** Free text shown to people: no control characters, no bidirectional overrides, no invisible characters. */
function plainText(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .superRefine((v, ctx) => {
      const hidden = hiddenCharacter(v);
      if (hidden)
        ctx.addIssue({
          code: "custom",
          message: `contains a control, invisible or text-direction character (${hidden}); remove it`,
        });
    });
}

/** GitHub's login rules: alphanumerics and single inner hyphens, at most 39 characters. */
const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

/** Kubernetes label keys (optional DNS prefix) and values. */
const LABEL_KEY =
  /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

const tenantName = asciiName(
  NAME_PATTERN,
  "use lowercase letters, digits and inner hyphens, starting with a letter",
)
  .min(2, "a tenant name has 2 to 20 characters")
  .max(20, "a tenant name has 2 to 20 characters")
  .refine((n) => !RESERVED_TENANT_NAMES.includes(n) && !n.startsWith("kube-"), {
    message: "this name is reserved by the platform or Kubernetes; choose another",
  })
  .describe("Tenant name: lowercase letters, digits and inner hyphens, 2 to 20 characters");

const serviceName = asciiName(
  NAME_PATTERN,
  "use lowercase letters, digits and inner hyphens, starting with a letter",
)
  .min(2, "a service name has 2 to 30 characters")
  .max(30, "a service name has 2 to 30 characters")
  .describe("Service name: lowercase letters, digits and inner hyphens, 2 to 30 characters");

const githubLogin = asciiName(
  GITHUB_LOGIN,
  "not a valid GitHub login (letters, digits, single inner hyphens, at most 39)",
).describe("A GitHub login (compared without regard to case)");

/**
 * A CPU or byte amount (model/quantity.ts), at least `floor` when given. An unquoted number is refused
 * with the quoted form to write: YAML reads `cpu: 0.5` as a number and `memory: 1e3` as a float.
 */
function amount(kind: "cpu" | "bytes", floor?: { value: number; text: string }) {
  const parse = kind === "cpu" ? parseCpu : parseBytes;
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v === "number") {
        ctx.addIssue({
          code: "custom",
          message: `quote it: write "${v}${kind === "bytes" ? "Mi" : ""}" (amounts are strings${kind === "cpu" ? " of cores or millicores" : " with a unit"})`,
        });
        return;
      }
      if (typeof v !== "string") {
        ctx.addIssue({
          code: "custom",
          message: `expected a quoted amount such as ${kind === "cpu" ? '"500m"' : '"1Gi"'}`,
        });
        return;
      }
      const r = parse(v);
      if (isProblem(r)) ctx.addIssue({ code: "custom", message: r.problem });
      else if (floor && r < floor.value)
        ctx.addIssue({
          code: "custom",
          message: `"${v}" is below the minimum of ${floor.text} for an MI pod`,
        });
    })
    .transform((v) => v as string)
    .pipe(z.string())
    .describe(
      kind === "cpu" ? "CPU: cores (2, 0.5) or millicores (500m)" : "Size with a unit: 512Mi, 1.5Gi, 4G",
    );
}

const environment = z.enum(ENVIRONMENTS).describe("An environment: dev, test or prod");

const environmentList = z
  .array(environment)
  .min(1, "list at least one environment")
  .superRefine((envs, ctx) => {
    envs.forEach((e, i) => {
      if (envs.indexOf(e) !== i)
        ctx.addIssue({ code: "custom", path: [i], message: `"${e}" is listed twice` });
    });
  });

/** A value per environment: `{ dev: …, test: …, prod: … }`, each optional. */
function perEnvironment<T extends z.ZodType>(value: T) {
  return z.strictObject({ dev: value.optional(), test: value.optional(), prod: value.optional() });
}

const port = z
  .number()
  .int("a port is a whole number")
  .min(1, "ports are 1-65535")
  .max(65535, "ports are 1-65535");

const cidr = z
  .string()
  .refine((v) => parseCidr(v) !== undefined, {
    message: "not a CIDR block (examples: 10.40.0.0/16, 192.0.2.10/32)",
  })
  .describe("An IPv4 or IPv6 CIDR block");

export const quotaSchema = z
  .strictObject({
    cpu: amount("cpu").optional(),
    memory: amount("bytes").optional(),
    pods: z.number().int().min(0, "pods must be 0 or more").optional(),
    storage: amount("bytes").optional(),
    persistentVolumeClaims: z.number().int().min(0).optional(),
    services: z.number().int().min(0).optional(),
  })
  .describe("Namespace quota override; unset fields take the platform default");

const autoscaling = z
  .strictObject({
    min: z.number().int().min(1, "autoscaling min must be at least 1"),
    max: z.number().int().min(1, "autoscaling max must be at least 1"),
    targetCPUUtilization: z
      .number()
      .int()
      .min(10)
      .max(95)
      .optional()
      .describe("Target average CPU utilization in percent; default 70"),
  })
  .superRefine((a, ctx) => {
    if (a.min > a.max)
      ctx.addIssue({ code: "custom", path: ["min"], message: `min (${a.min}) is above max (${a.max})` });
  });

/** Environment variable names a service may set; the platform's own variables are off limits. */
const ENV_VAR_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Variables the MI chart sets on the container itself (charts/wso2-mi/templates/deployment.yaml; the
 * chart's values.schema.json refuses them in config maps, and a test keeps the three lists equal).
 */
export const CHART_ENV_NAMES: readonly string[] = [
  "WSO2_SERVER_HOME",
  "JVM_MEM_OPTS",
  "JAVA_MEM_OPTS",
  "JAVA_OPTS",
  "POD_NAME",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  // MI's keystore password and management API user, from the platform's credentials Secret (charts/wso2-mi/README.md)
  "IMAAS_MI_KEYSTORE_PASSWORD",
  "IMAAS_MI_MANAGEMENT_USERNAME",
  "IMAAS_MI_MANAGEMENT_PASSWORD",
  // MI's WSO2_COORDINATION_DB datasource, from the coordination Secret (docs/coordination-db.md)
  "IMAAS_COORDINATION_DB_URL",
  "IMAAS_COORDINATION_DB_USERNAME",
  "IMAAS_COORDINATION_DB_PASSWORD",
  // The Integration Control Plane's runtime user, from the namespace's ICP Secret (charts/wso2-mi/README.md: ICP)
  "IMAAS_ICP_USERNAME",
  "IMAAS_ICP_PASSWORD",
];

/**
 * Variables a tenant may not set: the chart's, the ones MI's start script reads (`CARBON_HOME`), and the
 * process-level ones that change what runs (the loader, the JVM's own option variables, the shell's).
 */
/** Variables the MI image sets (WSO2's image, on a JDK base image): the chart refuses them too. */
export const IMAGE_ENV_NAMES: readonly string[] = ["JAVA_HOME"];

export const RESERVED_CONFIG_NAMES: ReadonlySet<string> = new Set([
  ...CHART_ENV_NAMES,
  ...IMAGE_ENV_NAMES,
  "CARBON_HOME",
  "PATH",
  "HOME",
  "USER",
  "SHELL",
  "PWD",
  "HOSTNAME",
  "TMPDIR",
  "CLASSPATH",
  "JAVA_TOOL_OPTIONS",
  "JDK_JAVA_OPTIONS",
  "_JAVA_OPTIONS",
]);
/** Prefixes owned by others: the platform, OpenTelemetry's SDK settings, the kubelet, the dynamic loader. */
export const RESERVED_CONFIG_PREFIXES: readonly string[] = ["IMAAS_", "OTEL_", "KUBERNETES_", "LD_"];
/** Hard ceiling of services in one file; the platform's own limit (imaas:service.maxPerTenant) is lower. */
export const MAX_SERVICES_PER_FILE = 200;
/** Config values are small settings, not payloads. */
export const MAX_CONFIG_VALUE_LENGTH = 4096;
export const MAX_CONFIG_ENTRIES = 100;

const envVarName = (what: string) =>
  asciiName(ENV_VAR_NAME, `${what} names are UPPER_SNAKE_CASE environment variable names`)
    .max(128)
    .superRefine((n, ctx) => {
      if (RESERVED_CONFIG_NAMES.has(n))
        ctx.addIssue({
          code: "custom",
          message: `${n} is set by the platform or the runtime; choose another name`,
        });
      const prefix = RESERVED_CONFIG_PREFIXES.find((p) => n.startsWith(p));
      if (prefix)
        ctx.addIssue({
          code: "custom",
          message: `names starting with ${prefix} belong to the platform or the runtime (${RESERVED_CONFIG_PREFIXES.join(", ")}); choose another name`,
        });
    });

const configValue = z
  .union([z.string(), z.number(), z.boolean()], {
    error: "a config value is a string, number or boolean; structured values go in a string (e.g. JSON)",
  })
  .transform(String)
  .pipe(
    z
      .string()
      .max(MAX_CONFIG_VALUE_LENGTH, `a config value has at most ${MAX_CONFIG_VALUE_LENGTH} characters`)
      .superRefine((v, ctx) => {
        const kind = credentialKind(v);
        if (kind)
          ctx.addIssue({
            code: "custom",
            message: `looks like ${kind}: config is plain text in Git and in the pod spec; move it to secrets: (list its name under the service's secrets and write the value to the secret store, see tenants/README.md)`,
          });
      }),
  );

const configMap = z
  .record(envVarName("config"), configValue)
  .refine((m) => Object.keys(m).length <= MAX_CONFIG_ENTRIES, {
    message: `at most ${MAX_CONFIG_ENTRIES} config entries per environment`,
  });

const hostName = z
  .string()
  .max(253)
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]([-a-z0-9]*[a-z0-9])?$/,
    "not a DNS host name (lowercase, dot-separated, e.g. payments.example.com)",
  );

const exposure = z.union(
  [
    z.boolean(),
    z.strictObject({
      host: hostName.describe("Public host; default <service>.<tenant>.<env>.<platform domain>"),
    }),
  ],
  {
    error: (issue) =>
      `write true (the default host), false, or { host: <name> }; got ${JSON.stringify(issue.input)?.slice(0, 40)}`,
  },
);

export const serviceSchema = z.strictObject({
  name: serviceName,
  description: plainText(200).optional(),
  environments: environmentList
    .optional()
    .describe("Subset of the tenant's environments; default: all of them"),
  miVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, "use a WSO2 MI release like 4.4.0")
    .optional()
    .describe("WSO2 Micro Integrator version; default from the platform config"),
  replicas: perEnvironment(z.number().int().min(0, "replicas must be 0 or more").max(50)).optional(),
  autoscaling: perEnvironment(autoscaling).optional(),
  resources: z
    .strictObject({
      cpu: amount("cpu", { value: MIN_SERVICE_CPU_MILLICORES, text: "100m" }).optional(),
      memory: amount("bytes", { value: MIN_SERVICE_MEMORY_BYTES, text: "512Mi" }).optional(),
    })
    .optional()
    .describe("Per-pod resources; default 500m CPU and 1Gi memory"),
  config: perEnvironment(configMap)
    .optional()
    .describe("Non-secret settings per environment, passed to MI as environment variables"),
  secrets: z
    .array(envVarName("secret"))
    .max(50)
    .superRefine((names, ctx) => {
      names.forEach((n, i) => {
        if (names.indexOf(n) !== i)
          ctx.addIssue({ code: "custom", path: [i], message: `"${n}" is listed twice` });
      });
    })
    .optional()
    .describe("Names of secrets the service needs; values live in the secret store, never in Git"),
  expose: perEnvironment(exposure)
    .optional()
    .describe("HTTPS endpoint per environment: true for the default host, or { host }"),
  stateful: z
    .boolean()
    .optional()
    .describe(
      "The service has scheduled tasks, message processors or polling inbound endpoints: with more than one replica they need MI's coordination database, which the platform provides per environment (imaas:mi.coordination); without one, at most one replica. Default false",
    ),
});

/** Where a tenant's Argo CD runs: the cluster's shared instance, or one of its own (docs/isolation-tiers.md). */
export const ISOLATION_TIERS = ["shared", "dedicated"] as const;
export type IsolationTier = (typeof ISOLATION_TIERS)[number];

/** Names of alert webhooks: each is a property of the tenant's `<tenant>/alerts` entry in its secret store. */
const ALERT_WEBHOOK_NAME = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/**
 * Where a tenant's alerts go. Webhook URLs usually carry a token, so the file names a secret (whose value,
 * the URL, the tenant writes to its secret store), never a URL.
 */
export const alertsSchema = z
  .strictObject({
    email: z
      .array(z.email("not an e-mail address"))
      .max(20)
      .optional()
      .describe("Addresses that receive the tenant's alerts (the platform's mail relay sends them)"),
    webhooks: z
      .array(
        z
          .string()
          .max(40)
          .regex(
            ALERT_WEBHOOK_NAME,
            "the name of a secret in your store's <tenant>/alerts entry (lowercase, digits, hyphens), never a URL",
          ),
      )
      .max(5)
      .superRefine((names, ctx) => {
        names.forEach((n, i) => {
          if (names.indexOf(n) !== i)
            ctx.addIssue({ code: "custom", path: [i], message: `"${n}" is listed twice` });
        });
      })
      .optional()
      .describe(
        "Webhooks (chat, incident tools) by secret name: the URL is the property <name> of <tenant>/alerts in the secret store",
      ),
  })
  .refine((a) => (a.email?.length ?? 0) + (a.webhooks?.length ?? 0) > 0, {
    message: "name at least one e-mail address or webhook",
  });

const specSchema = z
  .strictObject({
    owners: z
      .array(githubLogin)
      .min(1, "name at least one owner")
      .describe("GitHub logins of the tenant admins"),
    members: z.array(githubLogin).optional().describe("GitHub logins of the other team members"),
    environments: environmentList
      .optional()
      .describe("Environments of the tenant; default dev, test and prod"),
    quota: perEnvironment(quotaSchema).optional(),
    network: z
      .strictObject({
        allowFrom: z
          .array(tenantName)
          .optional()
          .describe("Tenants whose services may call this tenant's services"),
        egress: z
          .array(z.strictObject({ cidr, ports: z.array(port).min(1, "list at least one port") }))
          .optional()
          .describe("External systems this tenant's services may reach"),
      })
      .optional(),
    services: z
      .array(serviceSchema)
      .max(MAX_SERVICES_PER_FILE, `at most ${MAX_SERVICES_PER_FILE} services in a tenant file`)
      .optional(),
    alerts: alertsSchema.optional().describe("Where the tenant's alerts go; unset: to the platform team"),
    isolation: z
      .enum(ISOLATION_TIERS)
      .optional()
      .describe(
        "Control plane of the tenant's Applications: shared (the cluster's Argo CD, isolated by the AppProject) or dedicated (an Argo CD of its own in <tenant>-argocd per cluster, if the platform allows it: imaas:argocd.dedicated). Default shared",
      ),
  })
  .superRefine((spec, ctx) => {
    const tenantEnvs: readonly Environment[] = spec.environments ?? ENVIRONMENTS;
    const seen = new Map<string, number>();
    (spec.services ?? []).forEach((svc, i) => {
      const first = seen.get(svc.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["services", i, "name"],
          message: `service "${svc.name}" is already defined at services[${first}]`,
        });
      } else seen.set(svc.name, i);
      const configured = new Set(Object.values(svc.config ?? {}).flatMap((m) => Object.keys(m ?? {})));
      (svc.secrets ?? []).forEach((n, j) => {
        if (configured.has(n)) {
          ctx.addIssue({
            code: "custom",
            path: ["services", i, "secrets", j],
            message: `"${n}" is also a config name; a name is either config or secret`,
          });
        }
      });
      (svc.environments ?? []).forEach((e, j) => {
        if (!tenantEnvs.includes(e)) {
          ctx.addIssue({
            code: "custom",
            path: ["services", i, "environments", j],
            message: `"${e}" is not one of the tenant's environments (${tenantEnvs.join(", ")})`,
          });
        }
      });
      // CI builds an image once, on the service's first branch, and promotes it; prod never builds.
      const runsIn = (svc.environments ?? tenantEnvs).filter((e) => tenantEnvs.includes(e));
      if (runsIn.length > 0 && runsIn.every((e) => e === "prod")) {
        ctx.addIssue({
          code: "custom",
          path: svc.environments ? ["services", i, "environments"] : ["services", i, "name"],
          message:
            `service "${svc.name}" runs only in prod, and prod never builds images (build once, promote the same image): ` +
            `give it a dev or test environment to build in${svc.environments ? "" : " (spec.environments of the tenant, or the service's own environments)"}`,
        });
      }
      for (const key of ["replicas", "autoscaling", "config", "expose"] as const) {
        for (const e of Object.keys(svc[key] ?? {}) as Environment[]) {
          if (svc[key]?.[e] === undefined) continue;
          if (!(svc.environments ?? tenantEnvs).includes(e)) {
            // e.g. replicas for prod on a service that runs only in dev
            ctx.addIssue({
              code: "custom",
              path: ["services", i, key, e],
              message: `the service does not run in "${e}"`,
            });
          }
        }
      }
    });
    // GitHub logins are case-insensitive: MKim and mkim are one person.
    const people = new Map<string, string>();
    for (const [list, logins] of [
      ["owners", spec.owners],
      ["members", spec.members ?? []],
    ] as const) {
      logins.forEach((login, i) => {
        const key = login.toLowerCase();
        const first = people.get(key);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [list, i],
            message: `"${login}" is already listed as ${first} (GitHub logins ignore case); list each person once`,
          });
        } else people.set(key, `${list === "owners" ? "an owner" : "a member"} "${login}"`);
      });
    }
    for (const [e, q] of Object.entries(spec.quota ?? {})) {
      if (q && !tenantEnvs.includes(e as Environment)) {
        ctx.addIssue({ code: "custom", path: ["quota", e], message: `the tenant has no "${e}" environment` });
      }
    }
  });

export const tenantSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { message: `apiVersion must be ${API_VERSION}` }),
  kind: z.literal(KIND, { message: `kind must be ${KIND}` }),
  metadata: z.strictObject({
    name: tenantName,
    displayName: plainText(100).optional(),
    labels: z
      .record(
        z.string().regex(LABEL_KEY, "not a valid Kubernetes label key"),
        z
          .string()
          .regex(LABEL_VALUE, "not a valid Kubernetes label value (63 characters, alphanumerics, -_.)"),
      )
      .optional(),
  }),
  spec: specSchema,
});

/** A tenant file as written. */
export type TenantFile = z.infer<typeof tenantSchema>;
export type ServiceFile = z.infer<typeof serviceSchema>;
export type QuotaFile = z.infer<typeof quotaSchema>;

/** JSON Schema for editors (the YAML language server), generated from the zod schema. */
export function tenantJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(tenantSchema, { target: "draft-7", io: "input", unrepresentable: "any" });
  return {
    ...schema,
    $id: "https://imaas.io/schemas/tenant.schema.json",
    title: "IMaaS tenant",
    description: "A tenant of the IMaaS platform: one file per tenant in tenants/<name>.yaml",
  };
}
