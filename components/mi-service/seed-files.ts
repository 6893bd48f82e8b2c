/**
 * The files a new service repository starts with (pure): an MI 4.x integration project (the layout
 * the WSO2 MI VS Code extension creates: `pom.xml` with the `vscode-car-plugin`, artifacts under
 * `src/main/wso2mi/artifacts/`), the Dockerfile that layers the built CAR onto the platform's MI
 * base image, `deploy/values.yaml`, CODEOWNERS, a README for the service team, and exactly one CI
 * definition.
 */
import YAML from "yaml";
import { namespaceName } from "../../model/naming";
import type { PlatformConfig } from "../../model/platform-config";
import type { ServiceSpec, TenantSpec } from "../../model/spec";
import { GITHUB_CHECK_NAME, GITHUB_WORKFLOW_PATH, renderGitHubWorkflow } from "./github-workflow";
import { JENKINS_CHECK_NAME, JENKINSFILE_PATH, renderJenkinsfile } from "./jenkinsfile";
import {
  buildEnvironment,
  type PipelineInput,
  pipelineBranches,
  pipelineInput,
  promotionEnvironments,
  VALUES_FILE,
} from "./pipeline";

export type CiSystem = "github-actions" | "jenkins";

export interface SeedFilesInput extends PipelineInput {
  /** GitHub logins that own the repository (CODEOWNERS). At least one. */
  readonly owners: readonly string[];
  /** One-line description of the service, for the README and the pom. @default none */
  readonly description?: string;
  /**
   * The image tag `deploy/values.yaml` starts with, before CI has built anything.
   * @default "" (no image yet: the first push to the build branch records one)
   */
  readonly initialTag?: string;
}

export interface SeedFile {
  /** Path inside the repository, `/`-separated. */
  readonly path: string;
  readonly content: string;
}

/** Version of WSO2's `vscode-car-plugin` (Maven Central, `org.wso2.maven`). */
export const CAR_PLUGIN_VERSION = "5.2.99";
export const SAMPLE_API_PATH = "src/main/wso2mi/artifacts/apis/HealthApi.xml";

const xml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Maven coordinates of the service's integration project. */
export function mavenCoordinates(input: Pick<PipelineInput, "tenant" | "service">): {
  groupId: string;
  artifactId: string;
} {
  return { groupId: `io.imaas.${input.tenant}`, artifactId: input.service };
}

/** The integration project's pom.xml: builds the CAR into `target/` on `mvn verify`. */
export function pomXml(input: SeedFilesInput): string {
  const { groupId, artifactId } = mavenCoordinates(input);
  const description = input.description ?? `${input.service} integrations of ${input.tenant}`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>${xml(groupId)}</groupId>
  <artifactId>${xml(artifactId)}</artifactId>
  <version>1.0.0</version>
  <packaging>pom</packaging>
  <name>${xml(input.service)}</name>
  <description>${xml(description)}</description>
  <properties>
    <projectType>integration-project</projectType>
    <project.runtime.version>${xml(input.miVersion)}</project.runtime.version>
    <car.plugin.version>${CAR_PLUGIN_VERSION}</car.plugin.version>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <pluginRepositories>
    <pluginRepository>
      <id>wso2-nexus</id>
      <url>https://maven.wso2.org/nexus/content/groups/wso2-public/</url>
    </pluginRepository>
  </pluginRepositories>
  <build>
    <plugins>
      <!-- Packs src/main/wso2mi into target/${xml(artifactId)}_1.0.0.car -->
      <plugin>
        <groupId>org.wso2.maven</groupId>
        <artifactId>vscode-car-plugin</artifactId>
        <version>\${car.plugin.version}</version>
        <extensions>true</extensions>
        <executions>
          <execution>
            <phase>compile</phase>
            <goals>
              <goal>car</goal>
            </goals>
          </execution>
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

/** A sample REST API: `GET /health` answers `{"status":"UP"}`. */
export function healthApiXml(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<api xmlns="http://ws.apache.org/ns/synapse" name="HealthApi" context="/health">
  <resource methods="GET" uri-template="/">
    <inSequence>
      <payloadFactory media-type="json" template-type="default">
        <format>{"status":"UP"}</format>
        <args/>
      </payloadFactory>
      <respond/>
    </inSequence>
    <faultSequence/>
  </resource>
</api>
`;
}

/**
 * An example of an environment-specific Synapse parameter, seeded outside `src/main/wso2mi` so the CAR does
 * not pack it until the team opts in. Synapse resolves `$SYSTEM:<NAME>` to the environment variable
 * `<NAME>` when MI deploys the artifact (wso2/wso2-synapse `ResolverFactory` → `SystemResolver`, which
 * throws when the variable is unset); the platform sets the variable from the tenant file's
 * `config.<env>` (chart value `config` → container env).
 */
export const EXAMPLE_ENDPOINT_PATH = "examples/endpoints/BackendEndpoint.xml";
/** The environment variable the example reads (a valid tenant `config` name, and `[_a-zA-Z0-9]+` for Synapse). */
export const EXAMPLE_PARAMETER = "BACKEND_URL";

export function exampleEndpointXml(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!--
  An endpoint whose URL differs per environment. MI reads $SYSTEM:${EXAMPLE_PARAMETER} from the environment
  variable ${EXAMPLE_PARAMETER} when it deploys the CApp; the platform sets that variable from your tenant file:

    services:
      - name: <this service>
        config:
          dev:  { ${EXAMPLE_PARAMETER}: "https://backend-dev.example.com/api" }
          test: { ${EXAMPLE_PARAMETER}: "https://backend-test.example.com/api" }
          prod: { ${EXAMPLE_PARAMETER}: "https://backend.example.com/api" }

  To use it, copy this file to src/main/wso2mi/artifacts/endpoints/ once every environment of the service
  sets ${EXAMPLE_PARAMETER}: without the variable MI cannot deploy the CApp, and the pod never becomes ready
  (readiness means every CApp is deployed), so the previous version keeps serving.
-->
<endpoint xmlns="http://ws.apache.org/ns/synapse" name="BackendEndpoint">
  <http method="get" uri-template="$SYSTEM:${EXAMPLE_PARAMETER}"/>
</endpoint>
`;
}

/** MI home inside the platform's base image. */
export const miHome = (miVersion: string): string => `/home/wso2carbon/wso2mi-${miVersion}`;

/** The Dockerfile: the CI passes `--build-arg BASE_IMAGE=<platform MI base image>`. */
export function dockerfile(input: Pick<PipelineInput, "miVersion">): string {
  return [
    "# Built by CI with --build-arg BASE_IMAGE=<the platform's MI base image>; keep the ARG.",
    "ARG BASE_IMAGE",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, not a template
    "FROM ${BASE_IMAGE}",
    `COPY target/*.car ${miHome(input.miVersion)}/repository/deployment/server/carbonapps/`,
    "",
  ].join("\n");
}

/** Only the CAR goes into the build context. */
export const DOCKERIGNORE = "*\n!target/*.car\n";
export const GITIGNORE = "target/\n.m2/\n.idea/\n.vscode/\n";

/** `deploy/values.yaml`: the only keys a service team sets; the platform sets everything else. */
export function valuesYaml(initialTag: string): string {
  const doc = new YAML.Document({ image: { tag: initialTag } });
  doc.commentBefore =
    " Deploy values of this environment branch. CI writes image.tag on the build branch;\n" +
    " merging the branch into the next environment promotes the same image.";
  return doc.toString();
}

/** `.github/CODEOWNERS`: the owners review every change. */
export function codeowners(owners: readonly string[]): string {
  if (owners.length === 0) throw new Error("CODEOWNERS needs at least one owner");
  for (const o of owners) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/.test(o)) {
      throw new Error(`owners: "${o}" is not a GitHub login`);
    }
  }
  return `* ${owners.map((o) => `@${o}`).join(" ")}\n`;
}

/** README for the service team: how code becomes a running service. */
export function readme(input: SeedFilesInput, ci: CiSystem): string {
  const build = buildEnvironment(input);
  const promoted = promotionEnvironments(input);
  const branches = pipelineBranches(input);
  const check = ci === "github-actions" ? GITHUB_CHECK_NAME : JENKINS_CHECK_NAME;
  const ciFile = ci === "github-actions" ? GITHUB_WORKFLOW_PATH : JENKINSFILE_PATH;
  const promotion =
    promoted.length > 0
      ? [build, ...promoted].map((b) => `\`${b}\``).join(" → ")
      : `\`${build}\` (this service has no later environment)`;
  return `# ${input.service}

${input.description ?? `WSO2 Micro Integrator service of the ${input.tenant} tenant.`}

This repository was created by the IMaaS platform. You write integrations; the platform builds,
publishes and deploys them.

## Layout

| Path | What it is |
|---|---|
| \`pom.xml\`, \`src/main/wso2mi/\` | the MI ${input.miVersion} integration project (open it with the WSO2 MI VS Code extension) |
| \`${SAMPLE_API_PATH}\` | a sample API: \`GET /health\` |
| \`${EXAMPLE_ENDPOINT_PATH}\` | an endpoint whose URL differs per environment (not packed until you move it) |
| \`Dockerfile\` | adds the built CAR to the platform's MI base image (\`${input.baseImage}\`) |
| \`${VALUES_FILE}\` | the image tag this branch deploys; written by CI, carried along by merges |
| \`${ciFile}\` | the CI pipeline, owned by the platform |

## From commit to running service

1. Work on a feature branch and open a pull request into \`${build}\`. CI builds and tests it
   (\`mvn -B verify\`, image build); the check \`${check}\` must pass before you can merge.
2. Every push to \`${build}\` is built once: CI runs \`mvn -B verify\`, builds the image from the
   platform's MI base image and pushes \`${input.imageRepository}:<git sha>\`.
3. CI then commits that tag into \`${VALUES_FILE}\` on \`${build}\` (the commit says \`[skip ci]\`, so it
   does not start another build). Argo CD sees the change and rolls the new image out to the
   \`${namespaceName(input.tenant, build)}\` namespace.
4. To promote, open a pull request ${promotion}. Nothing is rebuilt: the merge carries
   \`${VALUES_FILE}\` — and with it the very image that ran in the previous environment — and CI only
   checks that this image exists in the registry. Argo CD deploys it after the merge, and CI tags the
   image \`<environment>-<git sha>\` (e.g. \`prod-<git sha>\`) so the registry keeps it.

Branches ${branches.map((b) => `\`${b}\``).join(", ")} are protected: changes arrive through pull
requests reviewed by the code owners. Replicas, resources, probes and everything else about the
deployment are set by the platform from your tenant file, not in this repository.

## Settings that differ per environment

Environment-specific values (backend URLs, batch sizes, feature switches) do not belong in the code
or in \`${VALUES_FILE}\` (merges carry that file from one environment to the next). Put them in your
tenant file under the service's \`config\`, per environment; the platform passes them to MI as
environment variables. In a Synapse artifact, \`$SYSTEM:<NAME>\` reads the variable \`<NAME>\` when MI
deploys the CApp (endpoint URIs, and other fields Synapse resolves the same way): see \`${EXAMPLE_ENDPOINT_PATH}\`. Secrets follow the same path through \`secrets:\` instead of
\`config:\`. A variable that is not set stops MI from deploying the CApp: the new pods never become
ready and the running version keeps serving until the tenant file sets it.

## Rolling back

Revert the commit that changed \`${VALUES_FILE}\` on the environment's branch (or open a pull
request setting \`image.tag\` to an earlier tag that CI built). Argo CD rolls back to it.
The registry keeps every image that ever ran in prod, the images last promoted to test and the most
recent builds; older builds are deleted, and CI's promoted-image check says so if a tag is gone.

## Building locally

\`\`\`sh
mvn -B verify
docker build --build-arg BASE_IMAGE=${input.baseImage} -t ${input.service}:local .
\`\`\`
`;
}

/** Every file a new service repository is seeded with, including exactly one CI definition. */
export function seedFiles(input: SeedFilesInput, ci: CiSystem): SeedFile[] {
  const ciFile: SeedFile =
    ci === "github-actions"
      ? { path: GITHUB_WORKFLOW_PATH, content: renderGitHubWorkflow(input) }
      : { path: JENKINSFILE_PATH, content: renderJenkinsfile(input) };
  return [
    { path: "README.md", content: readme(input, ci) },
    { path: ".github/CODEOWNERS", content: codeowners(input.owners) },
    { path: ".gitignore", content: GITIGNORE },
    { path: ".dockerignore", content: DOCKERIGNORE },
    { path: "pom.xml", content: pomXml(input) },
    { path: SAMPLE_API_PATH, content: healthApiXml() },
    { path: EXAMPLE_ENDPOINT_PATH, content: exampleEndpointXml() },
    { path: "Dockerfile", content: dockerfile(input) },
    { path: VALUES_FILE, content: valuesYaml(input.initialTag ?? "") },
    ciFile,
  ];
}

/**
 * The files MIService seeds a tenant service's repository with under a platform config (the sandbox's
 * local Git world commits the same ones).
 */
export function serviceSeedFiles(tenant: TenantSpec, service: ServiceSpec, cfg: PlatformConfig): SeedFile[] {
  const pipeline = pipelineInput({
    tenant: tenant.name,
    service: service.name,
    registryHost: cfg.registry.host,
    baseImageProject: cfg.registry.baseImageProject,
    miVersion: service.miVersion,
    environments: service.environments,
  });
  return seedFiles(
    {
      ...pipeline,
      owners: tenant.owners,
      ...(service.description ? { description: service.description } : {}),
    },
    cfg.ci,
  );
}
