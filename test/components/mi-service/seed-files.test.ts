import { strict as assert } from "node:assert";
import YAML from "yaml";
import { GITHUB_WORKFLOW_PATH, renderGitHubWorkflow } from "../../../components/mi-service/github-workflow";
import { JENKINSFILE_PATH, renderJenkinsfile } from "../../../components/mi-service/jenkinsfile";
import { pipelineInput } from "../../../components/mi-service/pipeline";
import { RESERVED_ENV_NAMES } from "../../../components/mi-service/chart-values";
import {
  codeowners,
  EXAMPLE_ENDPOINT_PATH,
  EXAMPLE_PARAMETER,
  SAMPLE_API_PATH,
  type SeedFilesInput,
  seedFiles,
} from "../../../components/mi-service/seed-files";
import { inlineTenants } from "../../support/tenants";

const input: SeedFilesInput = {
  ...pipelineInput({
    tenant: "acme-hr",
    service: "new-hire-flow",
    registryHost: "registry.example.com",
    baseImageProject: "platform",
    miVersion: "4.4.0",
    environments: ["dev", "test", "prod"],
  }),
  owners: ["grace-h", "ben42"],
  description: "Accounts & equipment <for> new hires",
};

const file = (files: { path: string; content: string }[], path: string): string => {
  const f = files.find((x) => x.path === path);
  assert.ok(f, `no ${path}`);
  return f.content;
};

describe("mi-service seed files", () => {
  it("includes exactly one CI definition", () => {
    const jenkins = seedFiles(input, "jenkins").map((f) => f.path);
    assert.ok(jenkins.includes(JENKINSFILE_PATH));
    assert.ok(!jenkins.some((p) => p.startsWith(".github/workflows/")));

    const gha = seedFiles(input, "github-actions").map((f) => f.path);
    assert.ok(gha.includes(GITHUB_WORKFLOW_PATH));
    assert.ok(GITHUB_WORKFLOW_PATH.startsWith(".github/workflows/"));
    assert.ok(!gha.includes(JENKINSFILE_PATH));

    assert.equal(file(seedFiles(input, "jenkins"), JENKINSFILE_PATH), renderJenkinsfile(input));
    assert.equal(file(seedFiles(input, "github-actions"), GITHUB_WORKFLOW_PATH), renderGitHubWorkflow(input));
  });

  it("seeds the same repository files for either CI, with unique paths", () => {
    const common = (ci: "jenkins" | "github-actions") =>
      seedFiles(input, ci)
        .map((f) => f.path)
        .filter((p) => p !== JENKINSFILE_PATH && p !== GITHUB_WORKFLOW_PATH);
    assert.deepEqual(common("jenkins"), common("github-actions"));
    const paths = seedFiles(input, "jenkins").map((f) => f.path);
    assert.equal(new Set(paths).size, paths.length);
    for (const p of [
      "pom.xml",
      SAMPLE_API_PATH,
      "Dockerfile",
      "deploy/values.yaml",
      ".github/CODEOWNERS",
      "README.md",
    ]) {
      assert.ok(paths.includes(p), p);
    }
  });

  it("builds the image FROM the base image passed as a build argument, with the CAR in carbonapps", () => {
    const df = file(seedFiles(input, "jenkins"), "Dockerfile").split("\n");
    const arg = df.indexOf("ARG BASE_IMAGE");
    assert.ok(arg >= 0);
    assert.equal(df[arg + 1], "FROM $" + "{BASE_IMAGE}");
    assert.ok(
      df.includes("COPY target/*.car /home/wso2carbon/wso2mi-4.4.0/repository/deployment/server/carbonapps/"),
    );
  });

  it("deploy/values.yaml holds only image.tag", () => {
    const values = YAML.parse(file(seedFiles(input, "jenkins"), "deploy/values.yaml"));
    assert.deepEqual(values, { image: { tag: "" } });
    const tagged = YAML.parse(
      file(seedFiles({ ...input, initialTag: "abc123" }, "jenkins"), "deploy/values.yaml"),
    );
    assert.deepEqual(tagged, { image: { tag: "abc123" } });
  });

  it("makes the owners code owners of everything", () => {
    assert.equal(file(seedFiles(input, "jenkins"), ".github/CODEOWNERS"), "* @grace-h @ben42\n");
    assert.throws(() => codeowners([]), /at least one owner/);
    assert.throws(() => codeowners(["bad login"]), /owners: "bad login" is not a GitHub login/);
  });

  it("has an MI integration project that packs a sample API, with names escaped for XML", () => {
    const files = seedFiles(input, "github-actions");
    const pom = file(files, "pom.xml");
    assert.match(pom, /<artifactId>vscode-car-plugin<\/artifactId>/);
    assert.match(pom, /<project\.runtime\.version>4\.4\.0<\/project\.runtime\.version>/);
    assert.match(pom, /<groupId>io\.imaas\.acme-hr<\/groupId>/);
    assert.match(pom, /<artifactId>new-hire-flow<\/artifactId>/);
    assert.match(pom, /<description>Accounts &amp; equipment &lt;for&gt; new hires<\/description>/);
    const api = file(files, SAMPLE_API_PATH);
    assert.match(
      api,
      /<api xmlns="http:\/\/ws\.apache\.org\/ns\/synapse" name="HealthApi" context="\/health">/,
    );
  });

  it("seeds a $SYSTEM: endpoint example outside the packed project, fed by the tenant file's config", () => {
    const files = seedFiles(input, "github-actions");
    const example = file(files, EXAMPLE_ENDPOINT_PATH);
    assert.ok(!EXAMPLE_ENDPOINT_PATH.startsWith("src/"), "the CAR does not pack it until the team moves it");
    // Synapse's ResolverFactory reads `$SYSTEM:<name>` with <name> matching [_a-zA-Z0-9]+ (wso2/wso2-synapse).
    const ref = /uri-template="\$SYSTEM:([_a-zA-Z0-9]+)"/.exec(example);
    assert.equal(ref?.[1], EXAMPLE_PARAMETER);
    assert.match(
      example,
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<!--[\s\S]*-->\n<endpoint xmlns="http:\/\/ws\.apache\.org\/ns\/synapse" name="BackendEndpoint">\n {2}<http [^>]*\/>\n<\/endpoint>\n$/,
    );
    assert.ok(
      !/--/.test(example.slice(example.indexOf("<!--") + 4, example.indexOf("-->"))),
      "a well-formed comment",
    );
    assert.match(example, new RegExp(`config:\\n\\s+dev:  \\{ ${EXAMPLE_PARAMETER}: `));
    // The name is one a tenant may set in `config` (the loader's rule) and not one the chart reserves.
    const [tenant] = inlineTenants({
      "acme-hr.yaml": [
        "apiVersion: imaas.io/v1alpha1",
        "kind: Tenant",
        "metadata: { name: acme-hr, displayName: Acme HR }",
        "spec:",
        "  owners: [grace-h]",
        "  environments: [dev, prod]",
        "  services:",
        "    - name: new-hire-flow",
        "      config:",
        `        dev: { ${EXAMPLE_PARAMETER}: "https://backend-dev.example.com/api" }`,
        `        prod: { ${EXAMPLE_PARAMETER}: "https://backend.example.com/api" }`,
      ].join("\n"),
    });
    assert.equal(tenant.services[0].config.prod?.[EXAMPLE_PARAMETER], "https://backend.example.com/api");
    assert.ok(!RESERVED_ENV_NAMES.has(EXAMPLE_PARAMETER));
    assert.match(file(files, "README.md"), /## Settings that differ per environment[\s\S]*\$SYSTEM:<NAME>/);
  });

  it("explains the developer flow in the README", () => {
    const text = file(seedFiles(input, "github-actions"), "README.md");
    assert.match(text, /`dev` → `test` → `prod`/);
    assert.match(text, /registry\.example\.com\/acme-hr\/new-hire-flow:<git sha>/);
    assert.match(text, /Argo CD/);
    assert.match(text, /ci \/ build/);
    // What the registry keeps, so the team knows how far back it can roll.
    assert.match(text, /tags the\s+image `<environment>-<git sha>`/);
    assert.match(text, /keeps every image that ever ran in prod, the images last promoted to test/);
    assert.match(file(seedFiles(input, "jenkins"), "README.md"), /continuous-integration\/jenkins\/pr-merge/);
  });
});
