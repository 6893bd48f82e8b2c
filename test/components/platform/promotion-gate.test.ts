/**
 * The promotion gate: the notifications config Argo CD runs (pure), the platform config that switches it
 * on, and — under mocks — the subscription on the Applications, the required status on the protected
 * branches and the notifications values of the Argo CD release. The real notifications controller reads
 * the same config in e2e/gitops/promotion-gate.test.ts.
 */
import { strict as assert } from "node:assert";
import { parse } from "yaml";
import { buildArgoCdValues } from "../../../components/platform/argocd";
import {
  GATED_SOURCE_ENVIRONMENTS,
  gateAnnotations,
  gateCondition,
  gateNotificationsConfig,
  gateTrigger,
  healthyStatusContext,
  requiredGateContexts,
  STATUS_REPOSITORY_ANNOTATION,
  statusRepositoryUrl,
} from "../../../components/platform/promotion-gate";
import { PLATFORM_SECRETS, type PlatformConfig } from "../../../model/platform-config";
import { buildMIService } from "../../support/mi-service";
import { testConfig } from "../../support/mocks";

const GATE = { github: { appId: 1234, installationId: 5678 } };
const withGate = (
  gate: Record<string, unknown> = GATE,
  extra: Record<string, unknown> = {},
  argocd: Record<string, unknown> = {},
) =>
  testConfig({
    argocd: { platformRepo: "https://github.com/acme/imaas.git", promotionGate: gate, ...argocd },
    ...extra,
  });

describe("promotion gate (pure)", () => {
  it("a merge into an environment requires the previous environment of the service to have run healthy", () => {
    assert.deepEqual(requiredGateContexts("prod", ["dev", "test", "prod"]), ["imaas/test-healthy"]);
    assert.deepEqual(requiredGateContexts("test", ["dev", "test", "prod"]), ["imaas/dev-healthy"]);
    assert.deepEqual(requiredGateContexts("prod", ["dev", "prod"]), ["imaas/dev-healthy"]);
    assert.deepEqual(
      requiredGateContexts("test", ["test", "prod"]),
      [],
      "the first environment is never gated",
    );
    assert.deepEqual(requiredGateContexts("dev", ["dev", "test", "prod"]), []);
    assert.deepEqual(GATED_SOURCE_ENVIRONMENTS, ["dev", "test"]);
  });

  it("only Applications something is promoted from subscribe, naming their repository", () => {
    const url = "https://github.com/acme/payroll-salary-sync";
    assert.deepEqual(gateAnnotations("test", ["dev", "test", "prod"], url), {
      "notifications.argoproj.io/subscribe.on-imaas-test-healthy.github": "",
      [STATUS_REPOSITORY_ANNOTATION]: url,
    });
    assert.deepEqual(gateAnnotations("prod", ["dev", "test", "prod"], url), {});
    assert.deepEqual(gateAnnotations("test", ["dev", "test"], url), {}, "nothing after test in this service");
    assert.equal(Object.keys(gateAnnotations("dev", ["dev", "prod"], url)).length, 2);
  });

  it("names the repository on github.com or on the Enterprise host", () => {
    const cfg = withGate();
    assert.equal(
      statusRepositoryUrl(cfg.argocd.promotionGate!, "acme", "payroll-salary-sync"),
      "https://github.com/acme/payroll-salary-sync",
    );
    const ghe = withGate({
      ...GATE,
      github: { ...GATE.github, enterpriseBaseUrl: "https://git.acme.test/api/v3" },
    });
    assert.equal(statusRepositoryUrl(ghe.argocd.promotionGate!, "acme", "r"), "https://git.acme.test/acme/r");
  });

  it("the trigger fires on Synced, Healthy and a succeeded sync, once per service-repo commit; the template posts success with the environment's context", () => {
    const cfg = gateNotificationsConfig(withGate().argocd.promotionGate!);
    for (const env of ["dev", "test"] as const) {
      const [trigger] = parse(cfg.triggers[`trigger.${gateTrigger(env)}`]);
      assert.equal(trigger.when, gateCondition(0));
      assert.match(trigger.when, /app\.status\.sync\.status == 'Synced'/);
      assert.match(trigger.when, /app\.status\.health\.status == 'Healthy'/);
      assert.match(trigger.when, /app\.status\.operationState\.phase == 'Succeeded'/);
      assert.doesNotMatch(trigger.when, /time\./);
      assert.equal(trigger.oncePer, "app.status.sync.revisions[1]");
      assert.deepEqual(trigger.send, [`imaas-${env}-healthy`]);
      const template = parse(cfg.templates[`template.imaas-${env}-healthy`]);
      assert.deepEqual(template.github.status.state, "success");
      assert.equal(template.github.status.label, healthyStatusContext(env));
      assert.equal(template.github.revisionPath, "{{index .app.status.sync.revisions 1}}");
      assert.equal(
        template.github.repoURLPath,
        `{{index .app.metadata.annotations "${STATUS_REPOSITORY_ANNOTATION}"}}`,
      );
    }
    assert.deepEqual(parse(cfg.notifiers["service.github"]), {
      appID: 1234,
      installationID: 5678,
      privateKey: "$github-privateKey",
    });
  });

  it("minHealthyMinutes waits for the health to have lasted that long", () => {
    const cfg = gateNotificationsConfig(withGate({ ...GATE, minHealthyMinutes: 15 }).argocd.promotionGate!);
    const [trigger] = parse(cfg.triggers["trigger.on-imaas-test-healthy"]);
    assert.match(
      trigger.when,
      / and app\.status\.health\.lastTransitionTime != nil and time\.Now\(\)\.Sub\(time\.Parse\(app\.status\.health\.lastTransitionTime\)\)\.Minutes\(\) >= 15$/,
    );
  });

  it("platform config: off by default, refuses a half-configured App, documents its secret", () => {
    assert.equal(testConfig().argocd.promotionGate, undefined);
    assert.equal(withGate().argocd.promotionGate!.minHealthyMinutes, 0);
    assert.throws(() => withGate({ github: { appId: 1 } }), /argocd\.promotionGate\.github\.installationId/);
    assert.throws(() => withGate({ ...GATE, minHealthyMinutes: -1 }), /minHealthyMinutes/);
    assert.throws(
      () => withGate({ ...GATE, github: { ...GATE.github, enterpriseBaseUrl: "git.acme" } }),
      /enterpriseBaseUrl/,
    );
    assert.match(PLATFORM_SECRETS.argocdNotificationsGithubAppKey, /imaas:argocd\.promotionGate/);
  });

  it("the Argo CD release's notifications values: every entry a string (the chart writes them with toYaml); unchanged without the gate", () => {
    const cluster = withGate().clusters[0];
    const on = buildArgoCdValues(withGate(), cluster).notifications as Record<string, any>;
    assert.equal(on.enabled, true);
    assert.equal(on.argocdUrl, "https://argocd.main.imaas.test");
    for (const group of ["notifiers", "triggers", "templates"]) {
      assert.ok(Object.keys(on[group]).length > 0, group);
      for (const [k, v] of Object.entries(on[group])) assert.equal(typeof v, "string", `${group}.${k}`);
    }
    assert.equal(on.extraArgs, undefined, "no dedicated tenants allowed: only the argocd namespace");
    assert.deepEqual(buildArgoCdValues(testConfig(), cluster).notifications, { enabled: true });
    const dedicated = withGate(GATE, {}, { dedicated: { allowed: true } });
    assert.deepEqual((buildArgoCdValues(dedicated, cluster).notifications as any).extraArgs, [
      "--application-namespaces",
      "*-argocd",
    ]);
  });
});

const T = {
  app: "kubernetes:argoproj.io/v1alpha1:Application",
  protection: "github:index/branchProtection:BranchProtection",
};

const build = (cfg: PlatformConfig, environments?: string) =>
  buildMIService(cfg, environments ? { environments } : {});

describe("promotion gate (MIService under mocks)", () => {
  it("dev and test Applications subscribe; protected branches require the previous environment's status beside CI's check", async () => {
    const r = await build(withGate());
    assert.ok(r.resources.length > 10, "the mocks saw the service");
    const apps = Object.fromEntries(
      r.ofType(T.app).map((a) => [a.inputs.metadata.name, a.inputs.metadata.annotations ?? {}]),
    );
    assert.deepEqual(Object.keys(apps).sort(), [
      "payroll-salary-sync-dev",
      "payroll-salary-sync-prod",
      "payroll-salary-sync-test",
    ]);
    assert.equal(
      apps["payroll-salary-sync-test"][STATUS_REPOSITORY_ANNOTATION],
      "https://github.com/acme/payroll-salary-sync",
    );
    assert.equal(
      apps["payroll-salary-sync-test"]["notifications.argoproj.io/subscribe.on-imaas-test-healthy.github"],
      "",
    );
    assert.equal(
      apps["payroll-salary-sync-dev"]["notifications.argoproj.io/subscribe.on-imaas-dev-healthy.github"],
      "",
    );
    assert.deepEqual(apps["payroll-salary-sync-prod"], {});
    const contexts = Object.fromEntries(
      r.ofType(T.protection).map((p) => [p.inputs.pattern, p.inputs.requiredStatusChecks[0].contexts]),
    );
    assert.equal(contexts.test.length, 2, "CI's own check stays required");
    assert.equal(contexts.test.at(-1), "imaas/dev-healthy");
    assert.equal(contexts.prod.at(-1), "imaas/test-healthy");
    assert.equal(contexts.prod.length, 2, "CI's own check stays required");
  });

  it("Jenkins platforms get the same gate (Argo CD posts the status, whatever the CI)", async () => {
    const r = await build(withGate(GATE, { ci: "jenkins", jenkins: { url: "https://jenkins.imaas.test" } }));
    const prod = r.ofType(T.protection).find((p) => p.inputs.pattern === "prod")!;
    assert.deepEqual(prod.inputs.requiredStatusChecks[0].contexts.slice(1), ["imaas/test-healthy"]);
  });

  it("without the gate nothing changes: no annotations, only CI's check", async () => {
    const r = await build(testConfig());
    assert.ok(r.ofType(T.app).length === 3);
    for (const a of r.ofType(T.app)) assert.equal(a.inputs.metadata.annotations, undefined);
    for (const p of r.ofType(T.protection)) assert.equal(p.inputs.requiredStatusChecks[0].contexts.length, 1);
  });
});
