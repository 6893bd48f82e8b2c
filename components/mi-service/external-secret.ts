/**
 * The ExternalSecret that materialises exactly the secrets a service names, from its tenant's
 * SecretStore (which can read only `<tenant>/<env>/…` in the store), into one Kubernetes Secret the MI
 * chart mounts as environment variables.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../model/environments";
import {
  LABELS,
  namespaceName,
  secretStorePath,
  serviceSecretName,
  TENANT_OBJECTS,
} from "../../model/naming";
import { tenantLabels } from "../shared/labels";

export interface ExternalSecretInput {
  readonly tenant: string;
  readonly service: string;
  readonly env: Environment;
  /** Secret names; each is a property of the service's entry in the store and a key of the Secret. */
  readonly secrets: readonly string[];
}

export function externalSecretManifest(input: ExternalSecretInput) {
  return {
    apiVersion: "external-secrets.io/v1",
    kind: "ExternalSecret",
    metadata: {
      name: serviceSecretName(input.service),
      namespace: namespaceName(input.tenant, input.env),
      labels: tenantLabels(input.tenant, input.env, input.service),
    },
    spec: {
      refreshInterval: "1h",
      secretStoreRef: { kind: "SecretStore", name: TENANT_OBJECTS.secretStore },
      target: {
        name: serviceSecretName(input.service),
        creationPolicy: "Owner",
        deletionPolicy: "Retain",
        // The operator writes this Secret, so it carries the tenant's labels but not the platform's
        // managed-by label (objects with that label are reserved to the platform by admission policy).
        template: {
          metadata: {
            labels: {
              [LABELS.tenant]: input.tenant,
              [LABELS.environment]: input.env,
              [LABELS.service]: input.service,
            },
          },
        },
      },
      data: input.secrets.map((key) => ({
        secretKey: key,
        remoteRef: { key: secretStorePath(input.tenant, input.env, input.service), property: key },
      })),
    },
  };
}

export function createExternalSecret(
  name: string,
  input: ExternalSecretInput,
  parent: pulumi.Resource,
  provider: k8s.Provider,
): k8s.apiextensions.CustomResource {
  return new k8s.apiextensions.CustomResource(`${name}-secrets-${input.env}`, externalSecretManifest(input), {
    parent,
    provider,
  });
}
