/**
 * The tenant contract: what a business unit writes in `tenants/<name>.yaml`.
 *
 * The schema is strict (unknown keys are errors) and carries every rule that can be checked within one
 * file. Rules that need other files or the platform's config (quota caps, `allowFrom` targets, name
 * collisions, the file's own name) live in `validate.ts`.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { ENVIRONMENTS, type Environment } from "./environments";
import { isQuantity } from "./quantity";

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
];

/** GitHub's login rules: alphanumerics and single inner hyphens, at most 39 characters. */
const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

/** Kubernetes label keys (optional DNS prefix) and values. */
const LABEL_KEY =
  /^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

const tenantName = z
  .string()
  .min(2, "a tenant name has 2 to 20 characters")
  .max(20, "a tenant name has 2 to 20 characters")
  .regex(NAME_PATTERN, "use lowercase letters, digits and inner hyphens, starting with a letter")
  .refine((n) => !RESERVED_TENANT_NAMES.includes(n) && !n.startsWith("kube-"), {
    message: "this name is reserved by the platform or Kubernetes; choose another",
  })
  .describe("Tenant name: lowercase letters, digits and inner hyphens, 2 to 20 characters");

const serviceName = z
  .string()
  .min(2, "a service name has 2 to 30 characters")
  .max(30, "a service name has 2 to 30 characters")
  .regex(NAME_PATTERN, "use lowercase letters, digits and inner hyphens, starting with a letter")
  .describe("Service name: lowercase letters, digits and inner hyphens, 2 to 30 characters");

const githubLogin = z
  .string()
  .regex(GITHUB_LOGIN, "not a valid GitHub login (letters, digits, single inner hyphens, at most 39)")
  .describe("A GitHub login");

const quantity = (what: string) =>
  z
    .string()
    .refine(isQuantity, { message: `${what} must be a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi` })
    .describe(`${what} as a Kubernetes quantity`);

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
  .refine(
    (v) => {
      const [addr, bits, extra] = v.split("/");
      const family = isIP(addr ?? "");
      if (extra !== undefined || family === 0 || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
      return Number(bits) <= (family === 4 ? 32 : 128);
    },
    { message: "not a CIDR block (examples: 10.40.0.0/16, 192.0.2.10/32)" },
  )
  .describe("An IPv4 or IPv6 CIDR block");

export const quotaSchema = z
  .strictObject({
    cpu: quantity("cpu").optional(),
    memory: quantity("memory").optional(),
    pods: z.number().int().min(0, "pods must be 0 or more").optional(),
    storage: quantity("storage").optional(),
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
export const RESERVED_ENV_PREFIXES: readonly string[] = [
  "JAVA_",
  "OTEL_",
  "MI_",
  "WSO2_",
  "IMAAS_",
  "KUBERNETES_",
];
/** Config values are small settings, not payloads. */
export const MAX_CONFIG_VALUE_LENGTH = 4096;
export const MAX_CONFIG_ENTRIES = 100;

const envVarName = (what: string) =>
  z
    .string()
    .regex(ENV_VAR_NAME, `${what} names are UPPER_SNAKE_CASE environment variable names`)
    .max(128)
    .refine((n) => !RESERVED_ENV_PREFIXES.some((p) => n.startsWith(p)), {
      message: `${what} names may not start with ${RESERVED_ENV_PREFIXES.join(", ")} (the platform's own variables)`,
    });

const configMap = z
  .record(
    envVarName("config"),
    z
      .union([z.string(), z.number(), z.boolean()])
      .transform(String)
      .pipe(
        z
          .string()
          .max(MAX_CONFIG_VALUE_LENGTH, `a config value has at most ${MAX_CONFIG_VALUE_LENGTH} characters`),
      ),
  )
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

const exposure = z.union([
  z.boolean(),
  z.strictObject({
    host: hostName.describe("Public host; default <service>.<tenant>.<env>.<platform domain>"),
  }),
]);

export const serviceSchema = z.strictObject({
  name: serviceName,
  description: z.string().max(200).optional(),
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
    .strictObject({ cpu: quantity("cpu").optional(), memory: quantity("memory").optional() })
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
    services: z.array(serviceSchema).optional(),
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
    const members = new Set(spec.members ?? []);
    spec.owners.forEach((o, i) => {
      if (members.has(o)) {
        ctx.addIssue({
          code: "custom",
          path: ["owners", i],
          message: `"${o}" is both an owner and a member`,
        });
      }
    });
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
    displayName: z.string().min(1).max(100).optional(),
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
