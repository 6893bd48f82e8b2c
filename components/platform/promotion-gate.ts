/**
 * The promotion gate (pure): a merge into an environment branch requires the commit status
 * `imaas/<previous environment>-healthy` on the commit being promoted, and only Argo CD posts it — its
 * notifications controller, when the previous environment's Application is Synced and Healthy at that
 * commit (and has been Healthy for `minHealthyMinutes`). The platform owns every piece: the trigger and
 * template in `argocd-notifications-cm`, the GitHub App key in `argocd-notifications-secret`, the
 * subscription annotations on the (platform-owned) Applications, and the required status on the
 * protected branches. Tenants edit none of them.
 *
 * What this relies on, read at the source (github.com/argoproj/notifications-engine at the version Argo CD
 * v3.2.11 pins, v0.5.1-0.20260316232552-d27ba0152c1c, `pkg/services/github.go`; checked by the real
 * notifications controller in e2e/gitops/promotion-gate.test.ts):
 * - the `github` service posts a commit status (`Repositories.CreateStatus`) with `status.label` as the
 *   context, on the revision `revisionPath` renders, in the repository whose owner/name are the first two
 *   path segments of what `repoURLPath` renders (`fullNameByRepoURL`) — so the platform names the
 *   repository in an annotation rather than relying on the Git URL, which is a local path in the sandbox;
 * - `enterpriseBaseURL` replaces https://api.github.com, for the App's token exchange as well;
 * - `oncePer` sends once per distinct value: once per promoted commit.
 */
import { ENVIRONMENTS, type Environment } from "../../model/environments";
import type { PlatformConfig } from "../../model/platform-config";

export type PromotionGateConfig = NonNullable<PlatformConfig["argocd"]["promotionGate"]>;

/** The commit status a merge into the environment after `env` requires. */
export const healthyStatusContext = (env: Environment): string => `imaas/${env}-healthy`;

/** Trigger and template names of the gate, per environment promoted from. */
export const gateTrigger = (env: Environment): string => `on-imaas-${env}-healthy`;
export const gateTemplate = (env: Environment): string => `imaas-${env}-healthy`;

/** Annotation on a gated Application: the web address of the service repository the status goes to. */
export const STATUS_REPOSITORY_ANNOTATION = "imaas.io/status-repository";

/** The service repository's place in an Application's sources (`ref: values`, components/mi-service/argocd.ts). */
export const VALUES_SOURCE_INDEX = 1;

/** Key of the App's private key in `argocd-notifications-secret` (referenced as `$github-privateKey`). */
export const GITHUB_KEY_ITEM = "github-privateKey";

/** Environments whose healthy runs gate a promotion: every one but the last in promotion order. */
export const GATED_SOURCE_ENVIRONMENTS: readonly Environment[] = ENVIRONMENTS.slice(0, -1);

/** The environment promoted from into `env` (undefined for the first). */
export function previousEnvironment(env: Environment, envs: readonly Environment[]): Environment | undefined {
  const ordered = ENVIRONMENTS.filter((e) => envs.includes(e));
  const i = ordered.indexOf(env);
  return i > 0 ? ordered[i - 1] : undefined;
}

/** The status contexts a merge into `env`'s branch requires, for a service in `envs`. */
export function requiredGateContexts(env: Environment, envs: readonly Environment[]): string[] {
  const prev = previousEnvironment(env, envs);
  return prev ? [healthyStatusContext(prev)] : [];
}

/** The web address of a GitHub repository, the way the gate's annotation carries it. */
export function statusRepositoryUrl(gate: PromotionGateConfig, owner: string, repository: string): string {
  const host = gate.github.enterpriseBaseUrl ? new URL(gate.github.enterpriseBaseUrl).host : "github.com";
  return `https://${host}/${owner}/${repository}`;
}

/**
 * The subscription and repository annotations of the Application of `env`, when a later environment of
 * the service is promoted from it; empty otherwise (nothing waits on that environment's health).
 */
export function gateAnnotations(
  env: Environment,
  envs: readonly Environment[],
  repositoryUrl: string,
): Record<string, string> {
  const ordered = ENVIRONMENTS.filter((e) => envs.includes(e));
  if (ordered.indexOf(env) < 0 || ordered.indexOf(env) === ordered.length - 1) return {};
  return {
    [`notifications.argoproj.io/subscribe.${gateTrigger(env)}.github`]: "",
    [STATUS_REPOSITORY_ANNOTATION]: repositoryUrl,
  };
}

/** The trigger condition (expr-lang, evaluated by the notifications controller on every resync, 60 s). */
export function gateCondition(minHealthyMinutes: number): string {
  const parts = [
    "app.status.sync.status == 'Synced'",
    "app.status.health.status == 'Healthy'",
    "app.status.operationState != nil",
    "app.status.operationState.phase == 'Succeeded'",
  ];
  if (minHealthyMinutes > 0) {
    parts.push(
      "app.status.health.lastTransitionTime != nil",
      `time.Now().Sub(time.Parse(app.status.health.lastTransitionTime)).Minutes() >= ${minHealthyMinutes}`,
    );
  }
  return parts.join(" and ");
}

/** Plain YAML text of a flat structure (the notifications config is YAML inside ConfigMap values). */
function yamlText(lines: readonly string[]): string {
  return `${lines.join("\n")}\n`;
}

/**
 * `argocd-notifications-cm` entries of the gate: the GitHub service, and per gated environment a trigger
 * and a template. Every value is a string (the argo-cd chart writes `notifications.notifiers`, `.triggers`
 * and `.templates` with toYaml, entry by entry).
 */
export function gateNotificationsConfig(gate: PromotionGateConfig): {
  notifiers: Record<string, string>;
  triggers: Record<string, string>;
  templates: Record<string, string>;
} {
  const service = [
    `appID: ${gate.github.appId}`,
    `installationID: ${gate.github.installationId}`,
    `privateKey: $${GITHUB_KEY_ITEM}`,
    ...(gate.github.enterpriseBaseUrl
      ? [`enterpriseBaseURL: ${JSON.stringify(gate.github.enterpriseBaseUrl)}`]
      : []),
  ];
  const triggers: Record<string, string> = {};
  const templates: Record<string, string> = {};
  for (const env of GATED_SOURCE_ENVIRONMENTS) {
    triggers[`trigger.${gateTrigger(env)}`] = yamlText([
      `- description: the ${env} Application is Synced and Healthy at its commit; posts ${healthyStatusContext(env)} on it`,
      `  when: ${JSON.stringify(gateCondition(gate.minHealthyMinutes))}`,
      `  oncePer: ${JSON.stringify(`app.status.sync.revisions[${VALUES_SOURCE_INDEX}]`)}`,
      `  send: [${gateTemplate(env)}]`,
    ]);
    templates[`template.${gateTemplate(env)}`] = yamlText([
      `message: ${JSON.stringify(`{{.app.metadata.name}} ran this commit Synced and Healthy in ${env}`)}`,
      "github:",
      `  repoURLPath: ${JSON.stringify(`{{index .app.metadata.annotations "${STATUS_REPOSITORY_ANNOTATION}"}}`)}`,
      `  revisionPath: ${JSON.stringify(`{{index .app.status.sync.revisions ${VALUES_SOURCE_INDEX}}}`)}`,
      "  status:",
      "    state: success",
      `    label: ${healthyStatusContext(env)}`,
      `    targetURL: ${JSON.stringify("{{.context.argocdUrl}}/applications/{{.app.metadata.namespace}}/{{.app.metadata.name}}")}`,
    ]);
  }
  return { notifiers: { "service.github": yamlText(service) }, triggers, templates };
}
