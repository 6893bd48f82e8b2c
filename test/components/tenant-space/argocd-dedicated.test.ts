/**
 * A dedicated tenant's Argo CD objects under the recording mocks: its own namespace, a Role + RoleBinding per
 * environment namespace and none elsewhere (no ClusterRole), the AppProject and Applications in its own
 * namespace naming its cluster Secret, the retired AppProject in the shared instance; the shared tenants
 * unchanged. The chart values rely on argo-cd 7.9.1 (values.yaml and templates read at the source:
 * `createClusterRoles` gates every controller/server ClusterRole and ClusterRoleBinding).
 */
import { strict as assert } from "node:assert";
import {
  applicationCount,
  buildDedicatedArgoCdValues,
  DEDICATED_CONTROLLER_SA,
  environmentRules,
  openApplicationGate,
  passApplication,
} from "../../../components/tenant-space/argocd-dedicated";
import type { TenantSpec } from "../../../model/spec";
import { type Recorder, setupMocks, testConfig, testContext } from "../../support/mocks";
import { inlineTenants } from "../../support/tenants";

const T = {
  ns: "kubernetes:core/v1:Namespace",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  binding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  clusterBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  sa: "kubernetes:core/v1:ServiceAccount",
  secret: "kubernetes:core/v1:Secret",
  appProject: "kubernetes:argoproj.io/v1alpha1:AppProject",
  app: "kubernetes:argoproj.io/v1alpha1:Application",
  release: "kubernetes:helm.sh/v3:Release",
};

const cfgOf = (install: boolean) =>
  testConfig({
    argocd: {
      platformRepo: "https://github.com/acme/imaas.git",
      install,
      dedicated: { allowed: true },
    },
  });

const files = {
  "payroll.yaml":
    "apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: payroll\nspec:\n  owners: [ana]\n  isolation: dedicated\n  environments: [dev, prod]\n  services:\n    - name: sync\n    - name: api\n      replicas: { prod: 1 }\n",
  "hr.yaml":
    "apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: hr\nspec:\n  owners: [bo]\n  environments: [dev]\n  services:\n    - name: onboard\n",
};

describe("a dedicated tenant's Argo CD", () => {
  for (const install of [false, true]) {
    describe(`with imaas:argocd.install ${install}`, () => {
      let r: Recorder;
      let tenants: TenantSpec[];
      before(async () => {
        r = await setupMocks();
        const { TenantSpace } =
          require("../../../components/tenant-space") as typeof import("../../../components/tenant-space");
        const { MIService } =
          require("../../../components/mi-service") as typeof import("../../../components/mi-service");
        const platform = testContext(cfgOf(install));
        tenants = inlineTenants(files, platform.config);
        for (const tenant of tenants) {
          const space = new TenantSpace(tenant.name, { tenant, platform });
          for (const service of tenant.services)
            new MIService(`${tenant.name}-${service.name}`, {
              tenant,
              service,
              platform,
              environmentReady: space.environmentReady,
            });
        }
        await r.settle();
      });

      it("a namespace of its own, a platform namespace (no tenant label, so tenant admission does not apply)", () => {
        const ns = r.get(T.ns, "payroll-argocd-main-ns").inputs.metadata;
        assert.equal(ns.name, "payroll-argocd");
        assert.equal(ns.labels["imaas.io/tenant"], undefined);
        assert.equal(ns.labels["imaas.io/argocd-for"], "payroll");
        assert.equal(r.ofType(T.ns).filter((n) => n.inputs.metadata.name === "hr-argocd").length, 0);
      });

      it("RBAC: one Role + RoleBinding per environment namespace, bound to its controller only; no ClusterRole", () => {
        assert.equal(r.ofType(T.clusterRole).length, 0);
        assert.equal(r.ofType(T.clusterBinding).length, 0);
        const ded = r
          .ofType(T.binding)
          .filter((b) => b.inputs.subjects.some((s: any) => s.namespace === "payroll-argocd"));
        const where = ded.map((b) => b.inputs.metadata.namespace).sort();
        assert.deepEqual(
          where,
          install ? ["payroll-dev", "payroll-prod"] : ["payroll-argocd", "payroll-dev", "payroll-prod"],
        );
        for (const b of ded) {
          assert.deepEqual(b.inputs.subjects, [
            { kind: "ServiceAccount", name: DEDICATED_CONTROLLER_SA, namespace: "payroll-argocd" },
          ]);
          assert.equal(b.inputs.roleRef.kind, "Role");
        }
        const envRole = r
          .ofType(T.role)
          .find(
            (x) =>
              x.inputs.metadata.namespace === "payroll-dev" &&
              x.inputs.metadata.name === "imaas-argocd-dedicated",
          )!;
        assert.deepEqual(envRole.inputs.rules, environmentRules());
        // Writes only the MI chart's kinds: never the platform's quota, policies or RBAC.
        const writable = envRole.inputs.rules
          .filter((x: any) => x.verbs.includes("delete"))
          .flatMap((x: any) => x.resources);
        assert.deepEqual(writable.sort(), [
          "configmaps",
          "deployments",
          "horizontalpodautoscalers",
          "poddisruptionbudgets",
          "servicemonitors",
          "services",
        ]);
        // No Role for the dedicated controller in another tenant's namespace.
        assert.equal(
          r
            .ofType(T.role)
            .filter(
              (x) =>
                x.inputs.metadata.namespace === "hr-dev" &&
                x.inputs.metadata.name === "imaas-argocd-dedicated",
            ).length,
          0,
        );
      });

      it("the controller's identity: made here without an install, by the chart (no cluster roles) with one", () => {
        const sas = r.ofType(T.sa).filter((s) => s.inputs.metadata.namespace === "payroll-argocd");
        const releases = r.ofType(T.release).filter((x) => x.inputs.namespace === "payroll-argocd");
        if (install) {
          assert.equal(sas.length, 0);
          assert.equal(releases.length, 1);
          assert.equal(releases[0]!.inputs.name, "argocd-payroll");
          assert.deepEqual(
            releases[0]!.inputs.values,
            buildDedicatedArgoCdValues(tenants.find((t) => t.name === "payroll")!, cfgOf(true)),
          );
        } else {
          assert.deepEqual(
            sas.map((s) => s.inputs.metadata.name),
            [DEDICATED_CONTROLLER_SA],
          );
          assert.equal(releases.length, 0);
        }
      });

      it("the AppProject and Applications live in its namespace and name its cluster Secret, limited to its namespaces", () => {
        const proj = r.get(T.appProject, "payroll-argocd-main-appproject").inputs;
        assert.equal(proj.metadata.namespace, "payroll-argocd");
        assert.deepEqual(proj.spec.destinations, [
          { name: "main-payroll", namespace: "payroll-dev" },
          { name: "main-payroll", namespace: "payroll-prod" },
        ]);
        const apps = r.ofType(T.app).filter((a) => a.inputs.metadata.labels["imaas.io/tenant"] === "payroll");
        assert.deepEqual(apps.map((a) => a.name).sort(), [
          "payroll-api-app-dev-dedicated",
          "payroll-api-app-prod-dedicated",
          "payroll-sync-app-dev-dedicated",
          "payroll-sync-app-prod-dedicated",
        ]);
        for (const a of apps) {
          assert.equal(a.inputs.metadata.namespace, "payroll-argocd");
          assert.equal(a.inputs.spec.destination.name, "main-payroll");
          assert.equal(a.inputs.spec.destination.server, undefined);
        }
        const cluster = r.get(T.secret, "payroll-argocd-main-cluster").inputs;
        // The provider marks stringData secret; the mocks see it wrapped.
        cluster.stringData = cluster.stringData.value ?? cluster.stringData;
        assert.equal(cluster.metadata.namespace, "payroll-argocd");
        assert.equal(cluster.metadata.labels["argocd.argoproj.io/secret-type"], "cluster");
        assert.equal(cluster.stringData.name, "main-payroll");
        assert.equal(cluster.stringData.server, "https://kubernetes.default.svc");
        assert.equal(cluster.stringData.namespaces, "payroll-dev,payroll-prod");
        assert.equal(cluster.stringData.clusterResources, "false");
      });

      it("the shared instance keeps a retired AppProject of the tenant: no sources, no destinations", () => {
        const retired = r.get(T.appProject, "payroll-appproject-main").inputs;
        assert.equal(retired.metadata.namespace, "argocd");
        assert.deepEqual(retired.spec.destinations, []);
        assert.deepEqual(retired.spec.sourceRepos, []);
      });

      it("shared tenants are as before: AppProject and Applications in the shared namespace, in-cluster server", () => {
        const proj = r.get(T.appProject, "hr-appproject-main").inputs;
        assert.equal(proj.metadata.namespace, "argocd");
        assert.deepEqual(proj.spec.destinations, [
          { server: "https://kubernetes.default.svc", namespace: "hr-dev", name: "in-cluster" },
        ]);
        const app = r.get(T.app, "hr-onboard-app-dev").inputs;
        assert.equal(app.metadata.namespace, "argocd");
        assert.deepEqual(app.spec.destination, {
          server: "https://kubernetes.default.svc",
          namespace: "hr-dev",
        });
      });
    });
  }

  it("the dedicated chart values: no cluster roles, no CRDs, Applications only in its namespace, owners admin", () => {
    const cfg = cfgOf(true);
    const payroll = inlineTenants(files, cfg).find((t) => t.name === "payroll");
    const v = buildDedicatedArgoCdValues(payroll!, cfg);
    assert.equal(v.createClusterRoles, false);
    assert.deepEqual(v.crds, { install: false });
    assert.equal(v.configs.params["application.namespaces"], "");
    assert.match(v.configs.rbac["policy.csv"], /^g, imaas:payroll:owners, role:admin$/m);
    assert.equal(v.configs.rbac["policy.default"], "");
    assert.equal(v.dex.enabled, false);
  });

  it("the cluster Secret's gate opens once every Application of the tenant on the cluster passed it", async () => {
    const cfg = cfgOf(false);
    const payroll = inlineTenants(files, cfg).find((t) => t.name === "payroll");
    assert.equal(applicationCount(payroll!, cfg.clusters[0]!), 4);
    const gate = openApplicationGate("gate-test", "main", 2);
    let opened = false;
    void gate.then(() => {
      opened = true;
    });
    passApplication("gate-test", "main", {} as never);
    await new Promise((r) => setImmediate(r));
    assert.equal(opened, false, "opened after 1 of 2");
    passApplication("gate-test", "main", {} as never);
    assert.equal((await gate).length, 2);
    assert.deepEqual(await openApplicationGate("none", "main", 0), []);
  });
});
