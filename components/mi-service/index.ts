/**
 * MIService: one WSO2 Micro Integrator service of a tenant, from repository to running pods — the
 * GitHub repository with a branch per environment and seeded CI, and per environment an Argo CD
 * Application (plus the service's ExternalSecret and public endpoint when it asks for them).
 */
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import {
  applicationName,
  imageRepository,
  repositoryName,
  repositoryUrl,
  serviceSecretName,
  TENANT_OBJECTS,
} from "../../model/naming";
import type { ServiceSpec, TenantSpec } from "../../model/spec";
import { backendUrls } from "../observability/values/backends";
import { clusterOf, type PlatformContext, requireSecret } from "../shared/context";
import { gateAnnotations, statusRepositoryUrl } from "../platform/promotion-gate";
import { applicationPlacement } from "../tenant-space/argocd-dedicated";
import { createApplication } from "./argocd";
import { buildMIChartValues } from "./chart-values";
import { createEndpoint } from "./endpoints";
import { createExternalSecret } from "./external-secret";
import { createServiceRepository } from "./github";
import { GITHUB_CHECK_NAME } from "./github-workflow";
import { JENKINS_CHECK_NAME } from "./jenkinsfile";
import { createMIIcpSecret, icpChartInput } from "./icp";
import { createMIKeystore } from "./keystore";
import { GITHUB_REGISTRY_SECRETS } from "./pipeline";
import { promotionCheckFor } from "./promotion-check";
import { serviceSeedFiles } from "./seed-files";

export const MI_SERVICE_TYPE = "imaas:index:MIService";

export interface MIServiceArgs {
  /** The resolved tenant the service belongs to. */
  readonly tenant: TenantSpec;
  /** The service, with every default resolved. */
  readonly service: ServiceSpec;
  /** Platform config, secrets and providers. */
  readonly platform: PlatformContext;
  /** The tenant's GitHub team id (gets `maintain` on the repo); undefined when teams are not managed. */
  readonly teamId?: pulumi.Input<string>;
  /** The tenant's CI robot account in the registry; undefined when the registry is not managed. */
  readonly registryCi?: { readonly username: pulumi.Input<string>; readonly password: pulumi.Input<string> };
  /**
   * Per environment, what the service's objects must wait for (the namespace, its quota and policies,
   * the AppProject). @default none
   */
  readonly environmentReady?: Readonly<Partial<Record<Environment, pulumi.Input<pulumi.Resource>[]>>>;
}

export class MIService extends pulumi.ComponentResource {
  /** `<tenant>-<service>` */
  public readonly repositoryName: string;
  /** HTTPS clone URL of the service repository. */
  public readonly repositoryUrl: string;
  /** `<registry>/<tenant>/<service>` */
  public readonly imageRepository: string;
  /** Argo CD Application name per environment. */
  public readonly applications: Readonly<Partial<Record<Environment, string>>>;
  /** Public HTTPS URL per exposed environment. */
  public readonly endpoints: Readonly<Partial<Record<Environment, string>>>;

  constructor(name: string, args: MIServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super(MI_SERVICE_TYPE, name, {}, opts);
    const { tenant, service, platform } = args;
    const cfg = platform.config;
    this.repositoryName = repositoryName(tenant.name, service.name);
    this.repositoryUrl = repositoryUrl(cfg.github.owner, tenant.name, service.name, cfg.github.urlBase);
    this.imageRepository = imageRepository(cfg.registry.host, tenant.name, service.name);

    if (platform.providers.github) {
      const jenkins = cfg.ci === "jenkins";
      const promotionCheck = promotionCheckFor(tenant, service, cfg);
      createServiceRepository(
        name,
        {
          repositoryName: this.repositoryName,
          description: service.description ?? `WSO2 MI service ${service.name} of ${tenant.displayName}`,
          environments: service.environments,
          seedFiles: serviceSeedFiles(tenant, service, cfg),
          requiredCheck: jenkins ? JENKINS_CHECK_NAME : GITHUB_CHECK_NAME,
          healthGate: cfg.argocd.promotionGate !== undefined,
          ...(promotionCheck ? { promotionCheck } : {}),
          ...(args.teamId !== undefined ? { teamId: args.teamId } : {}),
          ...(!jenkins && args.registryCi
            ? {
                actionsSecrets: {
                  [GITHUB_REGISTRY_SECRETS.usernameSecret]: args.registryCi.username,
                  [GITHUB_REGISTRY_SECRETS.passwordSecret]: args.registryCi.password,
                },
              }
            : {}),
          ...(jenkins && cfg.jenkins
            ? {
                webhook: {
                  url: `${cfg.jenkins.url.replace(/\/$/, "")}/github-webhook/`,
                  secret: requireSecret(
                    platform,
                    "jenkinsWebhookSecret",
                    "the Jenkins webhook (imaas:ci: jenkins)",
                  ),
                },
              }
            : {}),
        },
        this,
        platform.providers.github,
      );
    }

    const applications: Partial<Record<Environment, string>> = {};
    const endpoints: Partial<Record<Environment, string>> = {};
    const secretsOn = cfg.secrets.enabled && service.secrets.length > 0;
    for (const env of service.environments) {
      const { provider } = clusterOf(platform, env);
      const ready = args.environmentReady?.[env] ?? [];
      const dependsOn: pulumi.Input<pulumi.Resource>[] = [...ready];
      // The keystore and credentials the chart requires (no default keystore, no default management user).
      const keystore = createMIKeystore(
        name,
        { tenant: tenant.name, service: service.name, env },
        this,
        provider,
        ready,
      );
      dependsOn.push(keystore.credentials, keystore.certificate);
      // The platform's ICP runtime user (imaas:mi.icp): nothing when ICP is off.
      const icpSecret = createMIIcpSecret(
        name,
        platform,
        { tenant: tenant.name, service: service.name, env },
        this,
        provider,
        ready,
      );
      if (icpSecret) dependsOn.push(icpSecret);
      const icp = icpChartInput(cfg, tenant.name, service.name, env);
      if (secretsOn) {
        dependsOn.push(
          createExternalSecret(
            name,
            { tenant: tenant.name, service: service.name, env, secrets: service.secrets },
            this,
            provider,
          ),
        );
      }
      const exposure = service.expose[env];
      if (exposure) {
        createEndpoint(
          name,
          cfg,
          {
            tenant: tenant.name,
            service: service.name,
            env,
            host: exposure.host,
            backendService: service.name,
          },
          this,
          provider,
        );
        endpoints[env] = `https://${exposure.host}`;
      }
      const autoscaling = service.autoscaling[env];
      createApplication(
        name,
        {
          tenant: tenant.name,
          service: service.name,
          env,
          ...applicationPlacement(tenant, cfg, clusterOf(platform, env).cluster),
          platformRepo: cfg.argocd.platformRepo,
          platformRevision: tenant.platformRevision,
          serviceRepoUrl: this.repositoryUrl,
          ...(cfg.argocd.promotionGate
            ? {
                annotations: gateAnnotations(
                  env,
                  service.environments,
                  statusRepositoryUrl(cfg.argocd.promotionGate, cfg.github.owner, this.repositoryName),
                ),
              }
            : {}),
          platformValues: buildMIChartValues({
            tenant: tenant.name,
            service: service.name,
            environment: env,
            imageRepository: this.imageRepository,
            miVersion: service.miVersion,
            replicas: service.replicas[env] ?? 1,
            ...(autoscaling ? { autoscaling } : {}),
            resources: service.resources,
            serviceAccountName: TENANT_OBJECTS.workloadServiceAccount,
            imagePullSecret: TENANT_OBJECTS.pullSecret,
            ...(cfg.observability.enabled
              ? { otlpEndpoint: `http://${backendUrls(cfg.observability.namespace).otlpGrpc}` }
              : {}),
            serviceMonitor: cfg.observability.enabled,
            config: service.config[env] ?? {},
            ...(secretsOn ? { secretName: serviceSecretName(service.name) } : {}),
            // TenantSpace creates this Secret in each environment where a stateful service runs.
            ...(service.stateful && cfg.mi.coordination
              ? { coordinationSecretName: TENANT_OBJECTS.coordinationSecret }
              : {}),
            ...(icp ? { icp } : {}),
          }) as unknown as Record<string, unknown>,
        },
        this,
        provider,
        dependsOn,
      );
      applications[env] = applicationName(tenant.name, service.name, env);
    }
    this.applications = applications;
    this.endpoints = endpoints;
    this.registerOutputs({
      repositoryName: this.repositoryName,
      repositoryUrl: this.repositoryUrl,
      imageRepository: this.imageRepository,
      applications,
      endpoints,
    });
  }
}
