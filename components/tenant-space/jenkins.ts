/**
 * Jenkins wiring a tenant needs when the platform's CI is Jenkins: the tenant's registry CI robot as a
 * Kubernetes Secret in the Jenkins namespace, labelled so the Jenkins Kubernetes Credentials Provider
 * plugin serves it as a username/password credential whose id is the Secret's name
 * (`<tenant>-registry-ci`, the id the generated Jenkinsfiles reference).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { jenkinsRegistryCredentialsId } from "../../model/naming";
import { tenantLabels } from "../shared/labels";

export function jenkinsCredentialMetadata(tenant: string, namespace: string) {
  return {
    name: jenkinsRegistryCredentialsId(tenant),
    namespace,
    labels: { ...tenantLabels(tenant), "jenkins.io/credentials-type": "usernamePassword" },
    annotations: {
      "jenkins.io/credentials-description": `Registry CI robot of tenant ${tenant} (managed by IMaaS)`,
    },
  };
}

export function createJenkinsRegistryCredential(
  name: string,
  tenant: string,
  namespace: string,
  robot: { readonly username: pulumi.Input<string>; readonly password: pulumi.Input<string> },
  parent: pulumi.Resource,
  provider: k8s.Provider,
): k8s.core.v1.Secret {
  return new k8s.core.v1.Secret(
    `${name}-jenkins-registry-credential`,
    {
      metadata: jenkinsCredentialMetadata(tenant, namespace),
      type: "Opaque",
      stringData: { username: robot.username, password: pulumi.secret(robot.password) },
    },
    { parent, provider, additionalSecretOutputs: ["stringData", "data"] },
  );
}
