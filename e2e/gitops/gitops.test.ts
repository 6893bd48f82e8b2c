/**
 * The real Argo CD (application-controller + repo-server v3.2.11) syncing every tenant service of the example
 * tenants from the local Git world: seed state, promotion by merges, rollback by revert, platform values
 * winning over a branch's values file, and the AppProject refusing what a tenant must not deploy — each
 * outcome asserted by the message Argo CD, Helm or the API server itself gives.
 *
 * Without nodes no pod runs, so health stays Progressing: what is proven is what Argo CD applies to the API
 * server (and what the API server admits), not that MI starts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import "./hooks";
import { PLATFORM_CHART_PATH } from "../../components/mi-service/argocd";
import { loadTenantDir } from "../../model/load";
import {
  appProjectName,
  applicationName,
  branchName,
  namespaceName,
  repositoryUrl,
} from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import type { TenantSpec } from "../../model/spec";
import { ARGOCD_NAMESPACE, ARGOCD_VERSION } from "../sandbox/parts/argocd";
import { git, SANDBOX_STACK } from "../sandbox/parts/git-world";
import {
  type Application,
  application,
  applications,
  apply,
  commitFiles,
  commitImageTag,
  commitValues,
  describeApp,
  gitops,
  hardRefresh,
  kubectlJson,
  merge,
  revertLast,
  ROOT,
  TENANTS_DIR,
  waitUntil,
} from "./sandbox";

const LONG = 6 * 60_000;

interface ServiceApps {
  readonly tenant: TenantSpec;
  readonly service: string;
  readonly url: string;
  readonly envs: readonly ("dev" | "test" | "prod")[];
  readonly apps: readonly string[];
}

function world() {
  const cfg = platformConfigOf(readStackConfig(gitops().ctx.dir, SANDBOX_STACK));
  const { tenants } = loadTenantDir(TENANTS_DIR, cfg);
  const services: ServiceApps[] = tenants.flatMap((t) =>
    t.services.map((s) => ({
      tenant: t,
      service: s.name,
      url: repositoryUrl(cfg.github.owner, t.name, s.name, cfg.github.urlBase),
      envs: s.environments,
      apps: s.environments.map((e) => applicationName(t.name, s.name, e)),
    })),
  );
  return { cfg, tenants, services };
}

const synced = (a: Application) =>
  a.status?.sync?.status === "Synced" &&
  a.status?.operationState?.phase === "Succeeded" &&
  !(a.status?.conditions ?? []).some((c) => /Error$/.test(c.type));

/** Hard-refreshes `names` and waits until each is Synced at the branch's current commit. */
async function syncedAt(names: readonly string[], revisions: Record<string, string>): Promise<void> {
  for (const n of names) hardRefresh(n);
  for (const n of names) {
    await waitUntil(
      `${n} Synced at ${revisions[n]?.slice(0, 8)}`,
      () => application(n),
      (a) => synced(a) && (a.status?.sync?.revisions ?? []).includes(revisions[n]!),
      {
        describe: describeApp,
      },
    );
  }
}

/** The branch head of a repo (what Argo CD should be synced at for the `ref: values` source). */
const head = (url: string, branch: string): string =>
  git(gitops().work, ["ls-remote", url, `refs/heads/${branch}`], gitops().work).split("\t")[0]!;

interface Deployment {
  spec: {
    replicas?: number;
    template: {
      spec: {
        serviceAccountName: string;
        containers: { name: string; image: string }[];
        hostNetwork?: boolean;
      };
    };
  };
  metadata: { labels: Record<string, string> };
}
const deployment = (ns: string, name: string) =>
  kubectlJson<Deployment>(["get", "deployment", name, "-n", ns]);
const imageOf = (d: Deployment) => d.spec.template.spec.containers[0]!.image;

/** `helm template` of the platform chart with the Application's own values: branch file, then inline values. */
function render(app: Application, branchValues: string): { kind: string; name: string }[] {
  const { work, ctx } = gitops();
  const src = app.spec.sources[0];
  const values = join(work, `${app.metadata.name}-branch.yaml`);
  const inline = join(work, `${app.metadata.name}-inline.json`);
  writeFileSync(values, branchValues);
  writeFileSync(inline, JSON.stringify(src.helm.valuesObject));
  const out = execFileSync(
    join(ctx.toolsDir, "bin/helm"),
    [
      "template",
      src.helm.releaseName,
      join(ROOT, PLATFORM_CHART_PATH),
      "-n",
      app.spec.destination.namespace,
      "-f",
      values,
      "-f",
      inline,
    ],
    { encoding: "utf8" },
  );
  return YAML.parseAllDocuments(out)
    .map((d) => d.toJSON())
    .filter(Boolean)
    .map((o) => ({ kind: o.kind, name: o.metadata.name }));
}

describe(`GitOps with the real Argo CD ${ARGOCD_VERSION}`, function () {
  this.timeout(LONG);
  const tag1 = "1.0.0-ci.1";
  const tag2 = "1.1.0-ci.2";

  it("Argo CD holds one Application per service environment of the example tenants, each in its tenant's AppProject", () => {
    const { services } = world();
    const expected = services.flatMap((s) => s.apps).sort();
    const got = applications()
      .map((a) => a.metadata.name)
      .sort();
    assert.deepEqual(got, expected);
    for (const s of services) {
      for (const [i, n] of s.apps.entries()) {
        const a = application(n);
        assert.equal(a.spec.project, appProjectName(s.tenant.name));
        assert.equal(a.spec.destination.namespace, namespaceName(s.tenant.name, s.envs[i]!));
        assert.equal(a.spec.sources[1].repoURL, s.url, "the branch values come from the local Git world");
      }
    }
    process.stderr.write(
      `      pulumi up of the sandbox stack: ${gitops().upSeconds.toFixed(0)} s; ${got.length} Applications\n`,
    );
  });

  it("a freshly seeded repo has no image yet: every Application refuses to render with the chart's own message", async () => {
    const { services } = world();
    for (const n of services.flatMap((s) => s.apps)) {
      const a = await waitUntil(
        `${n} ComparisonError`,
        () => application(n),
        (x) => (x.status?.conditions ?? []).some((c) => c.type === "ComparisonError"),
        { describe: describeApp },
      );
      const c = a.status!.conditions!.find((x) => x.type === "ComparisonError")!;
      assert.match(
        c.message,
        /image\.tag \(or image\.digest\) is not set: CI writes it into the branch's deploy\/values\.yaml/,
      );
    }
  });

  it("CI records a tag on the build branch, merges promote it: every Application Synced with the chart's objects and the platform's values", async () => {
    const { services } = world();
    const t0 = Date.now();
    const revisions: Record<string, string> = {};
    for (const s of services) {
      const [build, ...later] = s.envs;
      commitImageTag(s.url, branchName(build!), tag1);
      let prev = build!;
      for (const e of later) {
        merge(s.url, branchName(prev), branchName(e));
        prev = e;
      }
      for (const [i, e] of s.envs.entries()) revisions[s.apps[i]!] = head(s.url, branchName(e));
    }
    const all = services.flatMap((s) => s.apps);
    await syncedAt(all, revisions);
    const seconds = (Date.now() - t0) / 1000;
    const health = new Map<string, number>();
    for (const s of services) {
      for (const [i, n] of s.apps.entries()) {
        const a = application(n);
        const ns = namespaceName(s.tenant.name, s.envs[i]!);
        const expected = render(a, `image:\n  tag: ${tag1}\n`);
        const managed = (a.status?.resources ?? []).map((r) => ({
          kind: r.kind,
          name: r.name,
          ns: r.namespace,
        }));
        assert.deepEqual(
          managed.map((r) => `${r.kind}/${r.name}`).sort(),
          expected.map((r) => `${r.kind}/${r.name}`).sort(),
          `${n}: Argo CD manages exactly what the chart renders`,
        );
        assert.ok(
          managed.every((r) => r.ns === ns),
          `${n}: everything in ${ns}`,
        );
        for (const r of expected) kubectlJson(["get", r.kind, r.name, "-n", ns]); // exists in the API server
        const values = a.spec.sources[0].helm.valuesObject;
        const d = deployment(ns, s.service);
        assert.equal(imageOf(d), `${values.image.repository}:${tag1}`);
        if (!values.autoscaling.enabled) assert.equal(d.spec.replicas, values.replicas);
        assert.equal(d.spec.template.spec.serviceAccountName, values.serviceAccountName);
        assert.equal(d.metadata.labels["imaas.io/tenant"], s.tenant.name);
        const h = a.status?.health?.status ?? "?";
        health.set(h, (health.get(h) ?? 0) + 1);
      }
    }
    process.stderr.write(
      `      ${all.length} Applications Synced ${seconds.toFixed(0)} s after the pushes; health: ${[...health].map(([k, v]) => `${v} ${k}`).join(", ")}` +
        " (no nodes here: pods never start, so Deployments stay Progressing)\n",
    );
  });

  describe("the developer flow on one service", () => {
    const pick = () => world().services.find((s) => s.envs.length === 3)!;

    it("a tag CI commits to dev's deploy/values.yaml changes dev only", async () => {
      const s = pick();
      const rev = commitImageTag(s.url, "dev", tag2);
      const revisions = Object.fromEntries(
        s.envs.map((e, i) => [s.apps[i]!, e === "dev" ? rev : head(s.url, e)]),
      );
      await syncedAt(s.apps, revisions);
      const img = (e: string) => imageOf(deployment(namespaceName(s.tenant.name, e as "dev"), s.service));
      assert.match(img("dev"), new RegExp(`:${tag2}$`));
      assert.match(img("test"), new RegExp(`:${tag1}$`));
      assert.match(img("prod"), new RegExp(`:${tag1}$`));
    });

    it("merging dev into test promotes the same image; prod keeps its own", async () => {
      const s = pick();
      merge(s.url, "dev", "test");
      const revisions = Object.fromEntries(s.envs.map((e, i) => [s.apps[i]!, head(s.url, e)]));
      await syncedAt(s.apps, revisions);
      const img = (e: string) => imageOf(deployment(namespaceName(s.tenant.name, e as "dev"), s.service));
      assert.equal(img("test"), img("dev"), "the very image dev runs");
      assert.match(img("test"), new RegExp(`:${tag2}$`));
      assert.match(img("prod"), new RegExp(`:${tag1}$`));
    });

    it("merged into prod, then reverted on prod: prod rolls back to the earlier image", async () => {
      const s = pick();
      merge(s.url, "test", "prod");
      const prodApp = s.apps[2]!;
      await syncedAt([prodApp], { [prodApp]: head(s.url, "prod") });
      const ns = namespaceName(s.tenant.name, "prod");
      assert.match(imageOf(deployment(ns, s.service)), new RegExp(`:${tag2}$`));
      const rev = revertLast(s.url, "prod");
      await syncedAt([prodApp], { [prodApp]: rev });
      assert.match(imageOf(deployment(ns, s.service)), new RegExp(`:${tag1}$`));
    });
  });

  describe("a hostile branch values.yaml", () => {
    const pick = () => world().services.find((s) => s.envs.includes("dev"))!;

    it("platform keys in it are overridden by the inline platform values", async () => {
      const s = pick();
      const n = s.apps[s.envs.indexOf("dev")]!;
      const values = application(n).spec.sources[0].helm.valuesObject;
      const rev = commitValues(
        s.url,
        "dev",
        YAML.stringify({
          image: { repository: "evil.example.com/miner", tag: "3.0.0" },
          replicas: 40,
          serviceAccountName: "default",
          resources: { requests: { cpu: "16", memory: "64Gi" }, limits: { cpu: "16", memory: "64Gi" } },
          secretName: "other-service-secrets",
        }),
        "Hostile values",
      );
      await syncedAt([n], { [n]: rev });
      const d = deployment(namespaceName(s.tenant.name, "dev"), s.service);
      assert.equal(
        imageOf(d),
        `${values.image.repository}:3.0.0`,
        "the tag is the branch's, the repository the platform's",
      );
      if (!values.autoscaling.enabled) assert.equal(d.spec.replicas, values.replicas);
      assert.equal(d.spec.template.spec.serviceAccountName, values.serviceAccountName);
      const c = (d.spec.template.spec.containers[0] as any).resources;
      assert.deepEqual(c.limits, values.resources.limits);
    });

    it("keys the chart does not have (host network, privileged, NodePort, extra objects) are refused by the chart's schema", async () => {
      const s = pick();
      const n = s.apps[s.envs.indexOf("dev")]!;
      const hostile = {
        image: { tag: "3.0.0" },
        hostNetwork: true,
        securityContext: { privileged: true },
        service: { type: "NodePort" },
        extraObjects: [
          { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "pwn" } },
        ],
        namespace: "logistics-dev",
      };
      commitValues(s.url, "dev", YAML.stringify(hostile), "More hostile values");
      hardRefresh(n);
      const a = await waitUntil(
        `${n} refused`,
        () => application(n),
        (x) =>
          (x.status?.conditions ?? []).some((c) => c.type === "ComparisonError" && /schema/.test(c.message)),
        { describe: describeApp },
      );
      const msg = a.status!.conditions!.find((c) => c.type === "ComparisonError")!.message;
      // Helm validates the merged values against the chart's values.schema.json (helm 3.22's wording).
      const listed = /at '': additional properties ((?:'[^']+'(?:, )?)+) not allowed/.exec(msg);
      assert.ok(listed, `schema refusal in: ${msg}`);
      for (const key of ["hostNetwork", "securityContext", "service", "extraObjects", "namespace"]) {
        assert.ok(listed[1]!.includes(`'${key}'`), `${key} named in: ${msg}`);
      }
      // The last synced state stays: nothing of the hostile file reached the cluster.
      const d = deployment(namespaceName(s.tenant.name, "dev"), s.service);
      assert.notEqual(d.spec.template.spec.hostNetwork, true);
      // Restore a valid file for the tests after this one.
      const clean = commitValues(s.url, "dev", `image:\n  tag: ${tag1}\n`, "Restore values");
      await syncedAt([n], { [n]: clean });
    });
  });

  describe("the AppProject, when an Application of tenant A reaches beyond A", () => {
    const pair = () => {
      const { services, cfg } = world();
      const a = services.find((s) => s.envs.includes("dev"))!;
      const b = services.find((s) => s.tenant.name !== a.tenant.name && s.envs.includes("dev"))!;
      return { a, b, cfg };
    };
    const probe = (name: string, project: string, source: object, namespace: string) =>
      apply({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: { name, namespace: ARGOCD_NAMESPACE },
        spec: {
          project,
          source,
          destination: { server: "https://kubernetes.default.svc", namespace },
          syncPolicy: { automated: { prune: false, selfHeal: false }, retry: { limit: 0 } },
        },
      });
    const condition = async (name: string, type: string) => {
      const a = await waitUntil(
        `${name} ${type}`,
        () => application(name),
        (x) => (x.status?.conditions ?? []).some((c) => c.type === type),
        { describe: describeApp },
      );
      return a.status!.conditions!.find((c) => c.type === type)!.message;
    };

    it("B's namespace as destination: refused by A's AppProject", async () => {
      const { a, b } = pair();
      const project = appProjectName(a.tenant.name);
      const nsB = namespaceName(b.tenant.name, "dev");
      probe(
        "probe-foreign-namespace",
        project,
        { repoURL: a.url, targetRevision: "dev", path: "deploy" },
        nsB,
      );
      const msg = await condition("probe-foreign-namespace", "InvalidSpecError");
      assert.equal(
        msg,
        `application destination server 'https://kubernetes.default.svc' and namespace '${nsB}' do not match any of the allowed destinations in project '${project}'`,
      );
    });

    it("B's repository as source: refused by A's AppProject", async () => {
      const { a, b } = pair();
      const project = appProjectName(a.tenant.name);
      probe(
        "probe-foreign-repo",
        project,
        { repoURL: b.url, targetRevision: "dev", path: "deploy" },
        namespaceName(a.tenant.name, "dev"),
      );
      const msg = await condition("probe-foreign-repo", "InvalidSpecError");
      assert.equal(msg, `application repo ${b.url} is not permitted in project '${project}'`);
    });

    it("manifests in A's own repo with a ClusterRole or an object in B's namespace: the sync fails on the project's limits", async () => {
      const { a, b } = pair();
      const project = appProjectName(a.tenant.name);
      const nsA = namespaceName(a.tenant.name, "dev");
      const nsB = namespaceName(b.tenant.name, "dev");
      commitFiles(
        a.url,
        "dev",
        {
          "probe/cluster-role.yaml": YAML.stringify({
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRole",
            metadata: { name: "probe-pwn" },
            rules: [],
          }),
          "probe/foreign.yaml": YAML.stringify({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "probe", namespace: nsB },
            data: { a: "b" },
          }),
        },
        "Probe manifests",
      );
      probe("probe-beyond-project", project, { repoURL: a.url, targetRevision: "dev", path: "probe" }, nsA);
      hardRefresh("probe-beyond-project");
      const app = await waitUntil(
        "probe-beyond-project sync failed",
        () => application("probe-beyond-project"),
        (x) => x.status?.operationState?.phase === "Failed" || x.status?.operationState?.phase === "Error",
        { describe: describeApp },
      );
      const text = JSON.stringify(app.status?.operationState);
      assert.match(
        text,
        new RegExp(`resource rbac.authorization.k8s.io:ClusterRole is not permitted in project ${project}`),
      );
      assert.match(text, new RegExp(`namespace ${nsB} is not permitted in project '${project}'`));
      assert.throws(() => kubectlJson(["get", "clusterrole", "probe-pwn"]), /NotFound|not found/);
      assert.throws(() => kubectlJson(["get", "configmap", "probe", "-n", nsB]), /NotFound|not found/);
    });

    it("a NodePort Service in A's own namespace: refused by the platform's admission policy", async () => {
      const { a } = pair();
      const project = appProjectName(a.tenant.name);
      const nsA = namespaceName(a.tenant.name, "dev");
      commitFiles(
        a.url,
        "dev",
        {
          "probe-nodeport/service.yaml": YAML.stringify({
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "probe-nodeport" },
            spec: { type: "NodePort", selector: { app: "x" }, ports: [{ port: 80 }] },
          }),
        },
        "Probe NodePort",
      );
      probe(
        "probe-nodeport",
        project,
        { repoURL: a.url, targetRevision: "dev", path: "probe-nodeport" },
        nsA,
      );
      hardRefresh("probe-nodeport");
      const app = await waitUntil(
        "probe-nodeport sync failed",
        () => application("probe-nodeport"),
        (x) => x.status?.operationState?.phase === "Failed" || x.status?.operationState?.phase === "Error",
        { describe: describeApp },
      );
      const text = app.status?.operationState?.message ?? "";
      assert.match(text, /ValidatingAdmissionPolicy '[^']+' with binding '[^']+' denied request/);
      assert.throws(() => kubectlJson(["get", "service", "probe-nodeport", "-n", nsA]), /NotFound|not found/);
      process.stderr.write(`      admission: ${text.slice(0, 300)}\n`);
    });
  });
});
