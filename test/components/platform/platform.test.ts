import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "node:assert";
import YAML from "yaml";
import { AppProject } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import { buildArgoCdValues, lockedDefaultProject } from "../../../components/platform/argocd";
import { plannedAddons } from "../../../components/platform/addons";
import { baseImageName } from "../../../components/platform/base-image";
import { type Recorder, setupMocks, testConfig, testContext } from "../../support/mocks";

describe("platform: Argo CD values", () => {
  const cfg = testConfig();
  const values = buildArgoCdValues(cfg, cfg.clusters[0]);

  it("serves the UI and the SSO callback on argocd.<cluster>.<domain> under TLS issued by cert-manager", () => {
    const ingress = (values.server as any).ingress;
    assert.deepEqual(ingress, {
      enabled: true,
      controller: "generic",
      ingressClassName: "nginx",
      hostname: "argocd.main.imaas.test",
      tls: true,
      annotations: {
        "cert-manager.io/cluster-issuer": "letsencrypt",
        "nginx.ingress.kubernetes.io/backend-protocol": "HTTPS",
      },
    });
    assert.equal(values.configs.cm.url, `https://${ingress.hostname}`);
  });

  it("keeps Applications in the Argo CD namespace only and gives nobody a default role", () => {
    assert.equal(values.configs.params["application.namespaces"], "");
    assert.equal(values.configs.rbac["policy.default"], "");
    assert.match(values.configs.rbac["policy.csv"], /^g, imaas:platform-admins, role:admin$/m);
    assert.equal(values.configs.cm["users.anonymous.enabled"], false);
    assert.equal(values.configs.cm["exec.enabled"], false);
  });

  it("maps SSO groups when OIDC is configured and then disables the local admin", () => {
    const oidc = testConfig({
      argocd: {
        platformRepo: "https://github.com/acme/imaas.git",
        oidc: { issuer: "https://sso.acme.test", clientId: "argocd" },
      },
    });
    const v = buildArgoCdValues(oidc, oidc.clusters[0]);
    assert.equal(v.configs.cm["admin.enabled"], false);
    // The argo-cd chart writes every configs.cm value through `toString` (e2e/chart/argocd-cm.test.ts): a YAML string.
    const oidcConfig = (v.configs.cm as Record<string, unknown>)["oidc.config"];
    assert.equal(typeof oidcConfig, "string");
    assert.deepEqual(YAML.parse(oidcConfig as string), {
      name: "SSO",
      issuer: "https://sso.acme.test",
      clientID: "argocd",
      clientSecret: "$oidc.clientSecret",
      requestedScopes: ["openid", "profile", "email", "groups"],
    });
    assert.equal(v.configs.rbac.scopes, "[groups]");
  });

  it("locks the default project: no sources, no destinations, nothing cluster-scoped", () => {
    const p = lockedDefaultProject("argocd");
    new AppProject(p as any).validate();
    assert.deepEqual(p.spec.sourceRepos, []);
    assert.deepEqual(p.spec.destinations, []);
    assert.deepEqual(p.spec.clusterResourceWhitelist, []);
  });

  it("runs highly available on production clusters", () => {
    const prod = { ...cfg.clusters[0], production: true };
    assert.equal(buildArgoCdValues(cfg, prod)["redis-ha"].enabled, true);
    assert.equal(buildArgoCdValues(cfg, prod).server.replicas, 2);
  });
});

describe("platform: add-ons follow their switches", () => {
  it("installs External Secrets, cert-manager and ingress-nginx by default", () => {
    const cfg = testConfig();
    assert.deepEqual(
      plannedAddons(cfg, cfg.clusters[0]).map((a) => a.key),
      ["externalSecrets", "certManager", "ingressNginx"],
    );
  });

  it("skips each when the cluster already has it", () => {
    const cfg = testConfig({
      secrets: { installOperator: false },
      certManager: { install: false },
      ingress: { install: false, allowedDomains: ["imaas.test"] },
    });
    assert.deepEqual(plannedAddons(cfg, cfg.clusters[0]), []);
  });

  it("turns on the add-ons' ServiceMonitors only with the observability stack (it brings their CRD)", () => {
    const monitors = (cfg: ReturnType<typeof testConfig>) => {
      const v = Object.fromEntries(plannedAddons(cfg, cfg.clusters[0]!).map((a) => [a.key, a.values as any]));
      return [
        v.externalSecrets.serviceMonitor.enabled,
        v.certManager.prometheus.servicemonitor.enabled,
        v.ingressNginx.controller.metrics.serviceMonitor.enabled,
      ];
    };
    assert.deepEqual(monitors(testConfig()), [true, true, true]);
    assert.deepEqual(monitors(testConfig({ observability: { enabled: false } })), [false, false, false]);
  });

  it("ingress-nginx refuses snippet annotations from tenants", () => {
    const cfg = testConfig();
    const nginx = plannedAddons(cfg, cfg.clusters[0]).find((a) => a.key === "ingressNginx");
    assert.ok(nginx);
    assert.equal((nginx.values as any).controller.allowSnippetAnnotations, false);
  });
});

describe("platform: ClusterPlatform and base image under mocks", () => {
  let recorder: Recorder;
  before(async () => {
    recorder = await setupMocks();
    const { ClusterPlatform } =
      require("../../../components/platform") as typeof import("../../../components/platform");
    const { createBaseImage } =
      require("../../../components/platform/base-image") as typeof import("../../../components/platform/base-image");
    const ctx = testContext();
    new ClusterPlatform("platform-main", { cluster: ctx.config.clusters[0], platform: ctx });
    createBaseImage(ctx);
    // A real run (not a plan) of a platform that supports two MI versions, under a parent of its own.
    const versions = testContext(
      testConfig({ mi: { defaultVersion: "4.4.0", versions: ["4.3.0", "4.4.0"] } }),
    );
    const parent = new pulumi.ComponentResource("test:index:Versions", "versions");
    createBaseImage({ ...versions, planOnly: false }, parent);
    await recorder.settle();
  });

  it("the mocks saw the platform's resources", () => {
    assert.ok(recorder.resources.length >= 8, `${recorder.resources.length} resources`);
  });

  it("installs Argo CD and each add-on as a pinned Helm release", () => {
    const releases = recorder.ofType("kubernetes:helm.sh/v3:Release");
    const cfg = testConfig();
    for (const key of ["argoCd", "externalSecrets", "certManager", "ingressNginx"] as const) {
      const chart = cfg.charts[key];
      const r = releases.find((x) => x.inputs.chart === chart.chart);
      assert.ok(r, `${chart.chart} release`);
      assert.equal(r.inputs.version, chart.version);
      assert.equal(r.inputs.repositoryOpts.repo, chart.repo);
    }
  });

  it("patches Argo CD's default project into the locked form", () => {
    const patch = recorder.ofType("kubernetes:argoproj.io/v1alpha1:AppProjectPatch")[0];
    assert.equal(patch.inputs.metadata.name, "default");
    assert.deepEqual(patch.inputs.spec.sourceRepos, []);
  });

  it("keeps the base-image project but never builds the image in a plan", () => {
    const project = recorder
      .ofType("pulumi-nodejs:dynamic:Resource")
      .find((r) => r.name === "registry-base-image-project");
    assert.equal(project?.inputs.name, "platform");
    // The only images are the two of the real run below: the plan built none.
    assert.equal(recorder.ofType("docker:index/image:Image").length, 2);
    assert.equal(baseImageName(testConfig()), "registry.imaas.test/platform/mi-base:4.4.0");
  });

  it("builds one base image per supported MI version; the default keeps its logical name", () => {
    const images = recorder.ofType("docker:index/image:Image");
    assert.deepEqual(images.map((i) => [i.name, i.inputs.imageName, i.inputs.build.args.MI_VERSION]).sort(), [
      ["mi-base-image", "registry.imaas.test/platform/mi-base:4.4.0", "4.4.0"],
      ["mi-base-image-4.3.0", "registry.imaas.test/platform/mi-base:4.3.0", "4.3.0"],
    ]);
  });
});
