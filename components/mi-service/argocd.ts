/**
 * Argo CD Applications of a service, one per environment: the platform's MI chart from the platform repo,
 * the branch's `deploy/values.yaml` from the service repo, and the platform-controlled values inline
 * (Argo CD gives inline values precedence over value files, so tenants cannot override them).
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import { applicationName, appProjectName, branchName, namespaceName } from "../../model/naming";
import { tenantLabels } from "../shared/labels";
import { passApplication } from "../tenant-space/argocd-dedicated";

/** Path of the platform chart in the platform repository. */
export const PLATFORM_CHART_PATH = "charts/wso2-mi";
/** The values file in each service branch that the service team (and its CI) owns. */
export const BRANCH_VALUES_FILE = "deploy/values.yaml";

export interface ApplicationSpecInput {
  readonly tenant: string;
  readonly service: string;
  readonly env: Environment;
  readonly argocdNamespace: string;
  readonly platformRepo: string;
  readonly platformRevision: string;
  readonly serviceRepoUrl: string;
  /** Values the platform controls (replicas, resources, image repository, service account…). */
  readonly platformValues: Record<string, unknown>;
  /**
   * The destination cluster: the in-cluster server for the shared Argo CD, or the dedicated instance's
   * cluster Secret by name (components/tenant-space/argocd-dedicated.ts). @default the in-cluster server
   */
  readonly destination?: { readonly server: string } | { readonly name: string };
  /** Set when the Application lives in the tenant's dedicated Argo CD on this cluster (spec.isolation). */
  readonly dedicatedCluster?: string;
  /** Annotations the platform sets (the promotion gate's subscription, components/platform/promotion-gate.ts). */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The Application object (pure: tested against the Argo CD CRD schema). */
export function applicationManifest(input: ApplicationSpecInput) {
  const name = applicationName(input.tenant, input.service, input.env);
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: {
      name,
      namespace: input.argocdNamespace,
      labels: tenantLabels(input.tenant, input.env, input.service),
      ...(input.annotations && Object.keys(input.annotations).length > 0
        ? { annotations: { ...input.annotations } }
        : {}),
      // Deleting the Application must delete what it deployed (the cascade Argo CD calls "resources finalizer").
      finalizers: ["resources-finalizer.argocd.argoproj.io"],
    },
    spec: {
      project: appProjectName(input.tenant),
      destination: {
        ...(input.destination ?? { server: "https://kubernetes.default.svc" }),
        namespace: namespaceName(input.tenant, input.env),
      },
      sources: [
        {
          repoURL: input.platformRepo,
          targetRevision: input.platformRevision,
          path: PLATFORM_CHART_PATH,
          helm: {
            releaseName: input.service,
            valueFiles: [`$values/${BRANCH_VALUES_FILE}`],
            ignoreMissingValueFiles: true,
            valuesObject: input.platformValues,
          },
        },
        { repoURL: input.serviceRepoUrl, targetRevision: branchName(input.env), ref: "values" },
      ],
      syncPolicy: {
        // The merge is the release: every environment syncs automatically; prod only inside the
        // AppProject's sync window when one is configured.
        automated: { prune: true, selfHeal: true, allowEmpty: false },
        syncOptions: ["CreateNamespace=false", "PrunePropagationPolicy=foreground", "PruneLast=true"],
        retry: { limit: 5, backoff: { duration: "10s", factor: 2, maxDuration: "5m" } },
      },
      revisionHistoryLimit: 10,
    },
  };
}

export function createApplication(
  name: string,
  input: ApplicationSpecInput,
  parent: pulumi.Resource,
  provider: k8s.Provider,
  dependsOn: pulumi.Input<pulumi.Resource>[] = [],
): k8s.apiextensions.CustomResource {
  const manifest = applicationManifest(input);
  // A tier switch is a new resource (created first) and the old one's delete (last): never a replace.
  const suffix = input.dedicatedCluster ? "-dedicated" : "";
  const app = new k8s.apiextensions.CustomResource(`${name}-app-${input.env}${suffix}`, manifest, {
    parent,
    provider,
    dependsOn,
  });
  if (input.dedicatedCluster) passApplication(input.tenant, input.dedicatedCluster, app);
  return app;
}
