import { strict as assert } from "node:assert";
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import { parse } from "yaml";
import { GITHUB_CHECK_NAME, GITHUB_WORKFLOW_PATH } from "../../../components/mi-service/github-workflow";
import { JENKINS_CHECK_NAME, JENKINSFILE_PATH } from "../../../components/mi-service/jenkinsfile";
import type { PlatformConfig } from "../../../model/platform-config";
import { type Recorder, setupMocks, testConfig, testContext } from "../../support/mocks";
import { exampleTenant } from "../../support/tenants";

const T = {
  repo: "github:index/repository:Repository",
  branch: "github:index/branch:Branch",
  branchDefault: "github:index/branchDefault:BranchDefault",
  protection: "github:index/branchProtection:BranchProtection",
  file: "github:index/repositoryFile:RepositoryFile",
  webhook: "github:index/repositoryWebhook:RepositoryWebhook",
  secret: "github:index/actionsSecret:ActionsSecret",
  team: "github:index/teamRepository:TeamRepository",
  app: "kubernetes:argoproj.io/v1alpha1:Application",
  externalSecret: "kubernetes:external-secrets.io/v1:ExternalSecret",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
  certificate: "kubernetes:cert-manager.io/v1:Certificate",
};

/** Builds every MIService of the payroll example under fresh mocks. */
async function payrollServices(cfg: PlatformConfig = testConfig()): Promise<Recorder> {
  const recorder = await setupMocks();
  const { MIService } =
    require("../../../components/mi-service") as typeof import("../../../components/mi-service");
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const platform = testContext(cfg);
  const tenant = exampleTenant("payroll", cfg);
  for (const service of tenant.services) {
    new MIService(`payroll-${service.name}`, {
      tenant,
      service,
      platform,
      teamId: "team-42",
      registryCi: { username: "robot$payroll+ci", password: pulumi.secret("robot-secret") },
    });
  }
  return recorder.settle();
}

describe("MIService (GitHub Actions)", () => {
  let r: Recorder;
  before(async () => {
    r = await payrollServices();
  });

  it("the mocks saw the services' resources", () => {
    assert.ok(r.resources.length > 30, `${r.resources.length}`);
  });

  it("creates a private repository <tenant>-<service> that archives on destroy", () => {
    const repo = r.get(T.repo, "payroll-salary-sync-repo");
    assert.equal(repo.inputs.name, "payroll-salary-sync");
    assert.equal(repo.inputs.visibility, "private");
    assert.equal(repo.inputs.archiveOnDestroy, true);
  });

  it("makes dev the default branch and creates one branch per further environment", () => {
    assert.deepEqual(r.get(T.branchDefault, "payroll-salary-sync-branch-dev").inputs, {
      repository: "payroll-salary-sync",
      branch: "dev",
      rename: true,
    });
    const branches = r.ofType(T.branch).filter((b) => b.inputs.repository === "payroll-salary-sync");
    assert.deepEqual(branches.map((b) => b.inputs.branch).sort(), ["prod", "test"]);
    assert.ok(branches.every((b) => b.inputs.sourceBranch === "dev"));
  });

  it("a service limited to [dev, prod] gets no test branch, protection or Application", () => {
    const names = r.resources.filter((x) => x.name.startsWith("payroll-payslip-api")).map((x) => x.name);
    assert.ok(!names.some((n) => n.endsWith("-test")), names.join(", "));
    assert.ok(names.includes("payroll-payslip-api-app-prod"));
  });

  it("protects the promotion branches: reviews, the CI check, no force pushes, no deletions", () => {
    const protections = r.ofType(T.protection).filter((p) => p.name.startsWith("payroll-salary-sync"));
    assert.deepEqual(protections.map((p) => p.inputs.pattern).sort(), ["prod", "test"]);
    for (const p of protections) {
      assert.equal(p.inputs.allowsForcePushes, false);
      assert.equal(p.inputs.allowsDeletions, false);
      assert.equal(p.inputs.enforceAdmins, true);
      assert.equal(p.inputs.requiredPullRequestReviews[0].requiredApprovingReviewCount, 1);
      assert.equal(p.inputs.requiredPullRequestReviews[0].requireCodeOwnerReviews, true);
      assert.deepEqual(p.inputs.requiredStatusChecks[0].contexts, [GITHUB_CHECK_NAME]);
    }
  });

  it("seeds the GitHub Actions workflow (not a Jenkinsfile), CODEOWNERS and deploy values, never overwriting", () => {
    const files = r.ofType(T.file).filter((f) => f.inputs.repository === "payroll-salary-sync");
    const paths = files.map((f) => f.inputs.file);
    assert.ok(paths.includes(GITHUB_WORKFLOW_PATH));
    assert.ok(!paths.includes(JENKINSFILE_PATH));
    assert.ok(
      paths.includes(".github/CODEOWNERS") &&
        paths.includes("deploy/values.yaml") &&
        paths.includes("pom.xml"),
    );
    assert.ok(files.every((f) => f.inputs.overwriteOnCreate === false && f.inputs.branch === "dev"));
    const codeowners = files.find((f) => f.inputs.file === ".github/CODEOWNERS");
    assert.match(codeowners?.inputs.content, /@ana-lopez/);
    const workflow = parse(files.find((f) => f.inputs.file === GITHUB_WORKFLOW_PATH)?.inputs.content);
    assert.ok(workflow.jobs, "the workflow parses as YAML with jobs");
  });

  it("gives the tenant team maintain and stores the registry robot as Actions secrets", () => {
    const team = r.ofType(T.team).find((t) => t.inputs.repository === "payroll-salary-sync");
    assert.deepEqual(
      { team: team?.inputs.teamId, permission: team?.inputs.permission },
      { team: "team-42", permission: "maintain" },
    );
    const secrets = r.ofType(T.secret).filter((s) => s.inputs.repository === "payroll-salary-sync");
    assert.deepEqual(secrets.map((s) => s.inputs.secretName).sort(), [
      "REGISTRY_PASSWORD",
      "REGISTRY_USERNAME",
    ]);
    assert.equal(r.ofType(T.webhook).length, 0);
  });

  it("creates a valid multi-source Argo CD Application per environment, in the tenant's project", () => {
    const apps = r
      .ofType(T.app)
      .filter((a) => a.inputs.metadata.labels["imaas.io/service"] === "salary-sync");
    assert.deepEqual(
      apps.map((a) => a.inputs.metadata.name),
      ["payroll-salary-sync-dev", "payroll-salary-sync-test", "payroll-salary-sync-prod"],
    );
    for (const a of apps) {
      new Application(a.inputs as any).validate();
      const env = a.inputs.metadata.labels["imaas.io/environment"];
      assert.equal(a.inputs.metadata.namespace, "argocd");
      assert.equal(a.inputs.spec.project, "payroll");
      assert.deepEqual(a.inputs.spec.destination, {
        server: "https://kubernetes.default.svc",
        namespace: `payroll-${env}`,
      });
      const [chart, values] = a.inputs.spec.sources;
      assert.equal(chart.path, "charts/wso2-mi");
      assert.equal(chart.repoURL, "https://github.com/acme/imaas.git");
      assert.deepEqual(chart.helm.valueFiles, ["$values/deploy/values.yaml"]);
      assert.deepEqual(values, {
        repoURL: "https://github.com/acme/payroll-salary-sync.git",
        targetRevision: env,
        ref: "values",
      });
      assert.equal(a.inputs.spec.syncPolicy.automated.prune, true);
      assert.equal(a.inputs.spec.syncPolicy.automated.selfHeal, true);
      assert.ok(a.inputs.spec.syncPolicy.retry.limit > 0);
    }
  });

  it("puts replicas, autoscaling, resources and config into the platform-controlled values", () => {
    const values = (env: string) =>
      r.get(T.app, `payroll-salary-sync-app-${env}`).inputs.spec.sources[0].helm.valuesObject;
    assert.equal(values("dev").replicas, 1);
    assert.equal(values("dev").autoscaling.enabled, false);
    assert.deepEqual(
      {
        enabled: values("prod").autoscaling.enabled,
        min: values("prod").autoscaling.minReplicas,
        max: values("prod").autoscaling.maxReplicas,
      },
      { enabled: true, min: 3, max: 8 },
    );
    assert.equal(values("prod").image.repository, "registry.imaas.test/payroll/salary-sync");
    assert.equal(values("prod").config.BANK_GATEWAY_URL, "https://bank.example.net/api");
    assert.equal(values("dev").config.BANK_GATEWAY_URL, "https://bank-sandbox.example.net/api");
    assert.equal(values("prod").secretName, "salary-sync-secrets");
    assert.equal(values("prod").serviceAccountName, "mi-workloads");
  });

  it("materialises the named secrets per environment and exposes only the environments asked for", () => {
    const es = r
      .ofType(T.externalSecret)
      .filter((x) => x.inputs.metadata.labels["imaas.io/service"] === "salary-sync");
    assert.deepEqual(
      es.map((x) => x.inputs.metadata.namespace),
      ["payroll-dev", "payroll-test", "payroll-prod"],
    );
    assert.deepEqual(
      es[0].inputs.spec.data.map((d: any) => d.secretKey),
      ["BANK_API_KEY", "DB_PASSWORD"],
    );
    const hosts = r.ofType(T.ingress).map((i) => i.inputs.spec.rules[0].host);
    assert.deepEqual(hosts, ["salary-sync.payroll.dev.imaas.test", "salary-sync.payroll.imaas.example.com"]);
    // The public endpoints' certificates (each service also has a keystore Certificate per environment).
    assert.equal(r.ofType(T.certificate).filter((c) => c.inputs.spec.secretName.endsWith("-tls")).length, 2);
    assert.equal(
      r.ofType(T.certificate).filter((c) => c.inputs.metadata.name.endsWith("-mi-keystore")).length,
      5,
      "salary-sync in dev, test, prod and payslip-api in dev, prod",
    );
    assert.equal(
      r.ofType(T.externalSecret).filter((x) => x.inputs.metadata.labels["imaas.io/service"] === "payslip-api")
        .length,
      0,
      "a service without secrets gets no ExternalSecret",
    );
  });
});

describe("MIService (Jenkins)", () => {
  let r: Recorder;
  before(async () => {
    r = await payrollServices(testConfig({ ci: "jenkins", jenkins: { url: "https://jenkins.acme.test/" } }));
  });

  it("seeds a Jenkinsfile instead of a workflow, never both", () => {
    const paths = r
      .ofType(T.file)
      .filter((f) => f.inputs.repository === "payroll-salary-sync")
      .map((f) => f.inputs.file);
    assert.ok(paths.includes(JENKINSFILE_PATH));
    assert.ok(!paths.includes(GITHUB_WORKFLOW_PATH));
  });

  it("adds a webhook to Jenkins and requires Jenkins' check", () => {
    const hook = r.ofType(T.webhook).find((w) => w.inputs.repository === "payroll-salary-sync");
    // The configuration carries the webhook secret, so the whole block travels as a Pulumi secret.
    const configuration = hook?.inputs.configuration;
    assert.equal(
      configuration["4dabf18193072939515e22adb298388d"],
      "1b47061264138c4ac30d75fd1eb44270",
      "configuration is secret",
    );
    assert.equal(configuration.value.url, "https://jenkins.acme.test/github-webhook/");
    assert.deepEqual(hook?.inputs.events, ["push", "pull_request"]);
    for (const p of r.ofType(T.protection))
      assert.deepEqual(p.inputs.requiredStatusChecks[0].contexts, [JENKINS_CHECK_NAME]);
    assert.equal(r.ofType(T.secret).length, 0, "no GitHub Actions secrets with Jenkins");
  });
});

describe("MIService without GitHub", () => {
  it("still delivers the Applications when the organisation manages GitHub elsewhere", async () => {
    const r = await payrollServices(testConfig({ github: { enabled: false, owner: "acme" } }));
    assert.equal(r.ofType(T.repo).length, 0);
    assert.equal(r.ofType(T.app).length, 5);
  });
});
