/** Helm values of a tenant's Grafana release (one per tenant and cluster). */
import {
  grafanaHost,
  grafanaReleaseName,
  grafanaTlsSecretName,
  LABELS,
  membersGroup,
  OBSERVABILITY_OBJECTS,
  ownersGroup,
} from "../../../model/naming";
import type { GrafanaDashboard } from "../dashboards";
import type { TenantScope } from "../scope";
import { type BackendUrls, backendUrls, type Json, metricsProxyUrl, TENANT_HEADER } from "./backends";

export interface GrafanaDataSource {
  readonly name: string;
  readonly type: "prometheus" | "loki" | "tempo";
  readonly uid: string;
  readonly access: "proxy";
  readonly url: string;
  readonly isDefault: boolean;
  readonly editable: false;
  readonly jsonData: Readonly<Record<string, Json>>;
  readonly secureJsonData?: Readonly<Record<string, string>>;
}

export const DATASOURCE_UIDS = { prometheus: "prometheus", loki: "loki", tempo: "tempo" } as const;

/** The tenant's data sources: each one scoped to the tenant alone. */
export function buildTenantDataSources(
  scope: TenantScope,
  urls: BackendUrls,
  proxyUrl: string,
): GrafanaDataSource[] {
  const tenantHeader = {
    jsonData: { httpHeaderName1: TENANT_HEADER },
    secureJsonData: { httpHeaderValue1: scope.telemetryTenant },
  };
  return [
    {
      name: "Prometheus",
      type: "prometheus",
      uid: DATASOURCE_UIDS.prometheus,
      access: "proxy",
      url: proxyUrl,
      isDefault: true,
      editable: false,
      jsonData: { httpMethod: "POST", timeInterval: "30s" },
    },
    {
      name: "Loki",
      type: "loki",
      uid: DATASOURCE_UIDS.loki,
      access: "proxy",
      url: urls.loki,
      isDefault: false,
      editable: false,
      jsonData: { ...tenantHeader.jsonData, maxLines: 1000 },
      secureJsonData: tenantHeader.secureJsonData,
    },
    {
      name: "Tempo",
      type: "tempo",
      uid: DATASOURCE_UIDS.tempo,
      access: "proxy",
      url: urls.tempoQuery,
      isDefault: false,
      editable: false,
      jsonData: {
        ...tenantHeader.jsonData,
        tracesToLogsV2: { datasourceUid: DATASOURCE_UIDS.loki, filterByTraceID: true },
      },
      secureJsonData: tenantHeader.secureJsonData,
    },
  ];
}

export interface GrafanaOidc {
  readonly authUrl: string;
  readonly tokenUrl: string;
  readonly apiUrl: string;
  readonly clientId: string;
  readonly groupsClaim: string;
}

export interface GrafanaInput {
  readonly scope: TenantScope;
  readonly cluster: string;
  readonly domain: string;
  readonly namespace: string;
  readonly ingressClassName: string;
  /** cert-manager issuer of the Grafana host's certificate (`imaas:certManager.issuer`/`issuerKind`). */
  readonly certIssuer: { readonly name: string; readonly kind: "ClusterIssuer" | "Issuer" };
  readonly groupPrefix: string;
  readonly platformAdminsGroup: string;
  readonly oidc?: GrafanaOidc;
  /** Whether the admin credentials Secret exists (`imaas:grafanaAdminPassword` set). */
  readonly adminSecret: boolean;
  readonly dashboards: readonly GrafanaDashboard[];
}

export interface GrafanaValues {
  readonly fullnameOverride: string;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly admin?: {
    readonly existingSecret: string;
    readonly userKey: string;
    readonly passwordKey: string;
  };
  readonly envFromSecret?: string;
  readonly ingress: {
    readonly enabled: true;
    readonly ingressClassName: string;
    readonly annotations: Readonly<Record<string, string>>;
    readonly hosts: readonly string[];
    readonly tls: readonly { readonly secretName: string; readonly hosts: readonly string[] }[];
  };
  readonly "grafana.ini": Readonly<Record<string, Readonly<Record<string, string | boolean>>>>;
  readonly datasources: {
    readonly "datasources.yaml": {
      readonly apiVersion: 1;
      readonly datasources: readonly GrafanaDataSource[];
    };
  };
  readonly dashboardProviders: {
    readonly "dashboardproviders.yaml": {
      readonly apiVersion: 1;
      readonly providers: readonly {
        readonly name: string;
        readonly orgId: 1;
        readonly folder: string;
        readonly type: "file";
        readonly disableDeletion: true;
        readonly editable: false;
        readonly allowUiUpdates: false;
        readonly options: { readonly path: string };
      }[];
    };
  };
  readonly dashboards: Readonly<Record<string, Readonly<Record<string, { readonly json: string }>>>>;
}

/**
 * JMESPath mapping the tenant's groups to Grafana roles: platform admins Admin, owners Editor, members
 * Viewer. Owners are deliberately not Admin: a Grafana Admin can add a data source, and with it send any
 * `X-Scope-OrgID`. With `role_attribute_strict` a user in none of the groups cannot log in at all.
 */
export function grafanaRoleMapping(
  claim: string,
  tenant: string,
  groupPrefix: string,
  platformAdminsGroup: string,
): string {
  const has = (g: string) => `contains(${claim}[*], '${g}')`;
  return [
    `${has(platformAdminsGroup)} && 'Admin'`,
    `${has(ownersGroup(groupPrefix, tenant))} && 'Editor'`,
    `${has(membersGroup(groupPrefix, tenant))} && 'Viewer'`,
  ].join(" || ");
}

export const DASHBOARD_PROVIDER = "imaas";

export function buildGrafanaValues(input: GrafanaInput): GrafanaValues {
  const { scope } = input;
  const host = grafanaHost(scope.tenant, input.cluster, input.domain);
  const urls = backendUrls(input.namespace);
  const oidc = input.oidc;
  const ini: Record<string, Record<string, string | boolean>> = {
    server: { domain: host, root_url: `https://${host}` },
    "auth.anonymous": { enabled: false },
    users: { allow_sign_up: false, allow_org_create: false },
    auth: { disable_login_form: oidc !== undefined },
  };
  if (oidc) {
    ini["auth.generic_oauth"] = {
      enabled: true,
      name: "IMaaS SSO",
      client_id: oidc.clientId,
      // client_secret arrives as GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET from the grafana-oidc Secret.
      auth_url: oidc.authUrl,
      token_url: oidc.tokenUrl,
      api_url: oidc.apiUrl,
      scopes: "openid profile email",
      use_pkce: true,
      allow_sign_up: true,
      groups_attribute_path: oidc.groupsClaim,
      allowed_groups: [
        input.platformAdminsGroup,
        ownersGroup(input.groupPrefix, scope.tenant),
        membersGroup(input.groupPrefix, scope.tenant),
      ].join(" "),
      role_attribute_path: grafanaRoleMapping(
        oidc.groupsClaim,
        scope.tenant,
        input.groupPrefix,
        input.platformAdminsGroup,
      ),
      role_attribute_strict: true,
      allow_assign_grafana_admin: false,
    };
  }
  const dataSources = buildTenantDataSources(scope, urls, metricsProxyUrl(input.namespace, scope.tenant));
  return {
    fullnameOverride: grafanaReleaseName(scope.tenant),
    podLabels: { [LABELS.tenant]: scope.tenant },
    ...(input.adminSecret
      ? {
          admin: {
            existingSecret: OBSERVABILITY_OBJECTS.grafanaAdminSecret,
            userKey: "admin-user",
            passwordKey: "admin-password",
          },
        }
      : {}),
    ...(oidc ? { envFromSecret: OBSERVABILITY_OBJECTS.grafanaOidcSecret } : {}),
    ingress: {
      enabled: true,
      ingressClassName: input.ingressClassName,
      // A TLS entry without a secretName is served with the ingress controller's fake certificate;
      // cert-manager's ingress-shim issues the named Secret from the annotation.
      annotations: {
        [input.certIssuer.kind === "ClusterIssuer"
          ? "cert-manager.io/cluster-issuer"
          : "cert-manager.io/issuer"]: input.certIssuer.name,
      },
      hosts: [host],
      tls: [{ secretName: grafanaTlsSecretName(scope.tenant), hosts: [host] }],
    },
    "grafana.ini": ini,
    datasources: {
      "datasources.yaml": {
        apiVersion: 1,
        datasources: dataSources,
      },
    },
    dashboardProviders: {
      "dashboardproviders.yaml": {
        apiVersion: 1,
        providers: [
          {
            name: DASHBOARD_PROVIDER,
            orgId: 1,
            folder: "IMaaS",
            type: "file",
            disableDeletion: true,
            editable: false,
            allowUiUpdates: false,
            options: { path: `/var/lib/grafana/dashboards/${DASHBOARD_PROVIDER}` },
          },
        ],
      },
    },
    dashboards: {
      [DASHBOARD_PROVIDER]: Object.fromEntries(
        input.dashboards.map((d) => [d.uid, { json: JSON.stringify(d) }]),
      ),
    },
  };
}
