/**
 * Alertmanager's configuration: who receives which alert. Pure, typed data (the `alertmanager.config` of
 * kube-prometheus-stack), checked by `amtool check-config` / `amtool config routes test` and run by a real
 * Alertmanager in `npm run test:telemetry`.
 *
 * Routing is by the `namespace` label, not by a label a rule chooses: the Prometheus operator's
 * `enforcedNamespaceLabel` stamps every alert from a tenant namespace's PrometheusRule with that namespace,
 * so a tenant cannot send alerts to another tenant's receivers (nor hide its own) by labelling them.
 * Webhook URLs are secrets: the config names files (`url_file`) in Secrets that External Secrets fills from
 * the secret store and the operator mounts into Alertmanager (`alertmanagerSpec.secrets`).
 */
import {
  alertWebhooksSecretName,
  OBSERVABILITY_OBJECTS,
  PLATFORM_ALERT_RECEIVER,
  PLATFORM_ALERTS_OWNER,
  tenantAlertReceiver,
} from "../../model/naming";
import type { PlatformConfig } from "../../model/platform-config";
import type { AlertDestinations, TenantSpec } from "../../model/spec";
import { type TenantScope, tenantScope } from "./scope";

/** Where the Prometheus operator mounts each Secret listed in `alertmanagerSpec.secrets`: `<dir>/<secret>/<key>`. */
export const ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets";

/** Alert label that carries the tenant; set by every tenant alert rule (alerts.ts), shown in notifications. */
export const TENANT_ALERT_LABEL = "tenant";

/** Mail relay settings (`imaas:observability.alerting.smtp`). */
export interface SmtpSettings {
  /** `host:port` of the relay. */
  readonly smarthost: string;
  readonly from: string;
  /** @default true */
  readonly requireTls: boolean;
  /** SMTP user; its password comes from `imaas:alertmanagerSmtpPassword` as a mounted file. */
  readonly authUsername?: string;
}

export interface AlertingInput {
  /** Every tenant on the cluster, with where its alerts go (undefined: to the platform receiver). */
  readonly tenants: readonly { readonly scope: TenantScope; readonly alerts?: AlertDestinations }[];
  /** The platform team's destinations. */
  readonly platform: AlertDestinations;
  readonly smtp?: SmtpSettings;
  /** Directory the webhook and SMTP secrets are mounted under. @default ALERTMANAGER_SECRETS_DIR */
  readonly secretsDir?: string;
}

export interface AlertmanagerRoute {
  readonly receiver: string;
  readonly matchers?: readonly string[];
  readonly group_by?: readonly string[];
  readonly group_wait?: string;
  readonly group_interval?: string;
  readonly repeat_interval?: string;
  readonly continue?: boolean;
  readonly routes?: readonly AlertmanagerRoute[];
}

export interface AlertmanagerReceiver {
  readonly name: string;
  readonly email_configs?: readonly { readonly to: string; readonly send_resolved: boolean }[];
  readonly webhook_configs?: readonly {
    readonly url_file: string;
    readonly send_resolved: boolean;
    readonly max_alerts: number;
  }[];
}

/**
 * The whole Alertmanager configuration. Every top-level key of the chart's default `alertmanager.config`
 * (global, inhibit_rules, route with its timings, receivers, templates) is set here, so Helm's merge of
 * the chart defaults into these values changes nothing: what amtool checks is what Alertmanager runs.
 */
export interface AlertmanagerConfig {
  readonly global: Readonly<Record<string, string | boolean>>;
  readonly route: AlertmanagerRoute;
  readonly inhibit_rules: readonly {
    readonly source_matchers: readonly string[];
    readonly target_matchers: readonly string[];
    readonly equal: readonly string[];
  }[];
  readonly receivers: readonly AlertmanagerReceiver[];
  readonly templates: readonly string[];
}

/** Thrown when a destination cannot be delivered with the platform's settings; names the owner. */
export class AlertingConfigError extends Error {}

/** A matcher for exactly these namespaces (DNS labels: no regex metacharacters; Alertmanager anchors it). */
export function namespaceMatcher(namespaces: readonly string[]): string {
  if (namespaces.length === 0) throw new AlertingConfigError("a tenant route needs at least one namespace");
  for (const ns of namespaces) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns))
      throw new AlertingConfigError(`"${ns}" is not a namespace`);
  }
  return `namespace=~"${namespaces.join("|")}"`;
}

function hasDestinations(d: AlertDestinations | undefined): d is AlertDestinations {
  return d !== undefined && d.email.length + d.webhooks.length > 0;
}

function receiver(
  name: string,
  owner: string,
  d: AlertDestinations,
  dir: string,
  smtp: SmtpSettings | undefined,
): AlertmanagerReceiver {
  if (d.email.length > 0 && !smtp) {
    throw new AlertingConfigError(
      `${owner === PLATFORM_ALERTS_OWNER ? "the platform" : `tenant ${owner}`} has alert e-mail addresses but no mail relay is configured: set imaas:observability.alerting.smtp`,
    );
  }
  return {
    name,
    ...(d.email.length > 0 ? { email_configs: d.email.map((to) => ({ to, send_resolved: true })) } : {}),
    ...(d.webhooks.length > 0
      ? {
          webhook_configs: d.webhooks.map((w) => ({
            url_file: `${dir}/${alertWebhooksSecretName(owner)}/${w}`,
            send_resolved: true,
            max_alerts: 50,
          })),
        }
      : {}),
  };
}

/**
 * One route per tenant on the cluster, matching its namespaces; everything else (platform namespaces,
 * alerts without a namespace) goes to the platform receiver. A tenant without destinations is routed to the
 * platform receiver, so no alert is ever dropped on a receiver without integrations.
 */
export function buildAlertmanagerConfig(input: AlertingInput): AlertmanagerConfig {
  const dir = input.secretsDir ?? ALERTMANAGER_SECRETS_DIR;
  const smtp = input.smtp;
  const global: Record<string, string | boolean> = { resolve_timeout: "5m" };
  if (smtp) {
    global.smtp_smarthost = smtp.smarthost;
    global.smtp_from = smtp.from;
    global.smtp_require_tls = smtp.requireTls;
    if (smtp.authUsername) {
      global.smtp_auth_username = smtp.authUsername;
      global.smtp_auth_password_file = `${dir}/${OBSERVABILITY_OBJECTS.alertmanagerSmtpSecret}/password`;
    }
  }
  const receivers: AlertmanagerReceiver[] = [
    receiver(PLATFORM_ALERT_RECEIVER, PLATFORM_ALERTS_OWNER, input.platform, dir, smtp),
  ];
  const routes: AlertmanagerRoute[] = [];
  for (const { scope, alerts } of input.tenants) {
    const own = hasDestinations(alerts);
    if (own) receivers.push(receiver(tenantAlertReceiver(scope.tenant), scope.tenant, alerts, dir, smtp));
    routes.push({
      receiver: own ? tenantAlertReceiver(scope.tenant) : PLATFORM_ALERT_RECEIVER,
      matchers: [namespaceMatcher(scope.namespaces)],
      group_by: ["alertname", "namespace", "service_name"],
      continue: false,
    });
  }
  return {
    global,
    route: {
      receiver: PLATFORM_ALERT_RECEIVER,
      group_by: ["alertname", "namespace"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes,
    },
    // A critical alert silences the warning of the same name in the same namespace.
    inhibit_rules: [
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ["namespace", "alertname"],
      },
    ],
    receivers,
    templates: [],
  };
}

/** Owners (tenants and `platform`) whose webhook URLs Alertmanager needs, with their webhook names. */
export function webhookOwners(input: AlertingInput): { owner: string; webhooks: readonly string[] }[] {
  const owners = [
    { owner: PLATFORM_ALERTS_OWNER, webhooks: input.platform.webhooks },
    ...input.tenants.map((t) => ({ owner: t.scope.tenant, webhooks: t.alerts?.webhooks ?? [] })),
  ];
  return owners.filter((o) => o.webhooks.length > 0);
}

/** The Secrets Alertmanager mounts (`alertmanagerSpec.secrets`): one per webhook owner, plus the SMTP password. */
export function alertmanagerSecrets(input: AlertingInput): string[] {
  return [
    ...webhookOwners(input).map((o) => alertWebhooksSecretName(o.owner)),
    ...(input.smtp?.authUsername ? [OBSERVABILITY_OBJECTS.alertmanagerSmtpSecret] : []),
  ];
}

/** The alerting input of one cluster: its tenants' scopes and destinations, the platform's receiver and relay. */
export function alertingInput(
  tenants: readonly Pick<TenantSpec, "name" | "environments" | "alerts">[],
  config: PlatformConfig,
  cluster: string,
): AlertingInput {
  const alerting = config.observability.alerting;
  return {
    tenants: tenants.flatMap((t) => {
      const scope = tenantScope(t, config, cluster);
      return scope ? [{ scope, ...(t.alerts ? { alerts: t.alerts } : {}) }] : [];
    }),
    platform: alerting.platform,
    ...(alerting.smtp ? { smtp: alerting.smtp } : {}),
  };
}
