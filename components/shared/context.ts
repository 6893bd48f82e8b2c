/**
 * What every component receives besides its own spec: the parsed platform config, the platform's
 * secrets, and the providers created once in index.ts. Components never read config or create providers.
 */
import type * as github from "@pulumi/github";
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type * as vault from "@pulumi/vault";
import type { Environment } from "../../model/environments";
import { SECRET_CONFIG_PLACEHOLDER } from "../../model/stack-file";
import {
  type ClusterConfig,
  clusterFor,
  type PlatformConfig,
  type PlatformSecrets,
} from "../../model/platform-config";

export interface PlatformProviders {
  /** One Kubernetes provider per configured cluster, by cluster name. */
  readonly kubernetes: Readonly<Record<string, k8s.Provider>>;
  /** The GitHub provider; undefined when `imaas:github.enabled` is false. */
  readonly github?: github.Provider;
  /** The Vault provider; undefined unless secrets are on and the platform manages Vault policies. */
  readonly vault?: vault.Provider;
}

export interface PlatformContext {
  /** The platform stack's name (`dev`, `prod`). */
  readonly stack: string;
  readonly config: PlatformConfig;
  readonly secrets: PlatformSecrets;
  readonly providers: PlatformProviders;
  /** True under `imaas plan`: skip work that needs the outside world at evaluation time (image builds). */
  readonly planOnly: boolean;
}

/** The cluster hosting `env` and its provider; throws when the stack config maps no cluster to it. */
export function clusterOf(
  ctx: PlatformContext,
  env: Environment,
): { cluster: ClusterConfig; provider: k8s.Provider } {
  const cluster = clusterFor(ctx.config, env);
  if (!cluster) {
    throw new Error(
      `no cluster hosts environment "${env}": add it to one cluster's environments in imaas:clusters`,
    );
  }
  const provider = ctx.providers.kubernetes[cluster.name];
  if (!provider) throw new Error(`no Kubernetes provider was created for cluster "${cluster.name}"`);
  return { cluster, provider };
}

/**
 * A platform secret that a feature needs. Under `imaas plan` a missing secret is a placeholder (a plan
 * never needs secret values); for a real run it is an error telling the admin which key to set.
 */
export function requireSecret(
  ctx: PlatformContext,
  key: keyof PlatformSecrets,
  neededFor: string,
): pulumi.Output<string> {
  const value = ctx.secrets[key];
  if (value) return value;
  if (ctx.planOnly) return pulumi.secret(SECRET_CONFIG_PLACEHOLDER);
  throw new pulumi.RunError(
    `${neededFor} needs the secret imaas:${key}: run \`pulumi config set --secret imaas:${key} …\` (or switch the feature off in the stack config)`,
  );
}
