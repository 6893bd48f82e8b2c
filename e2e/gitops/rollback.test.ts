/**
 * `imaas history` and `imaas rollback`, run as processes against the local Git world, with the real Argo CD
 * (same sandbox as gitops.test.ts) rolling the environment back. The registry is a loopback stand-in that
 * speaks the OCI distribution API behind a Bearer token flow (test/support/oci-registry.ts): no registry
 * runs in the sandbox, and the rollback only asks whether the registry still holds a manifest.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import "./hooks";
import { rollbackBranch } from "../../cli/release";
import { loadTenantDir } from "../../model/load";
import { applicationName, imageRepository, namespaceName, repositoryUrl } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { type StandInRegistry, startStandInRegistry } from "../../test/support/oci-registry";
import { ARGOCD_VERSION } from "../sandbox/parts/argocd";
import { git, SANDBOX_STACK, sandboxStackFilePath } from "../sandbox/parts/git-world";
import {
  type Application,
  application,
  commitImageTag,
  describeApp,
  gitops,
  hardRefresh,
  imaasIn,
  kubectlJson,
  merge,
  ROOT,
  TENANTS_DIR,
  waitUntil,
} from "./sandbox";

const CREDS = { username: "robot$rollback", password: "pull-only" };

/** The branch head of a repo. */
const head = (url: string, branch: string): string =>
  git(gitops().work, ["ls-remote", url, `refs/heads/${branch}`], gitops().work).split("\t")[0] ?? "";

const imageOfDeployment = (ns: string, name: string): string =>
  kubectlJson<{ spec: { template: { spec: { containers: { image: string }[] } } } }>([
    "get",
    "deployment",
    name,
    "-n",
    ns,
  ]).spec.template.spec.containers[0]!.image;

async function syncedAt(app: string, revision: string): Promise<void> {
  hardRefresh(app);
  await waitUntil(
    `${app} Synced at ${revision.slice(0, 8)}`,
    () => application(app),
    (a: Application) =>
      a.status?.sync?.status === "Synced" &&
      a.status?.operationState?.phase === "Succeeded" &&
      (a.status?.sync?.revisions ?? []).includes(revision),
    { describe: describeApp },
  );
}

describe(`imaas rollback with the real Argo CD ${ARGOCD_VERSION}`, function () {
  this.timeout(8 * 60_000);
  let registry: StandInRegistry;
  let project: string;
  const cfg = () => platformConfigOf(readStackConfig(gitops().ctx.dir, SANDBOX_STACK));
  /** A service with a build branch and a protected one, other than the one the status test watches. */
  const pick = () => {
    const { tenants } = loadTenantDir(TENANTS_DIR, cfg());
    const all = tenants.flatMap((t) =>
      t.services.map((s) => ({ tenant: t.name, service: s.name, envs: s.environments })),
    );
    const s = all
      .filter((x) => x.envs.length >= 2 && !(x.tenant === "payroll" && x.service === "salary-sync"))
      .at(-1);
    assert.ok(s, "an example service with two environments");
    return { ...s, url: repositoryUrl(cfg().github.owner, s.tenant, s.service, cfg().github.urlBase) };
  };
  const held = (tag: string) => {
    const s = pick();
    const image = imageRepository(cfg().registry.host, s.tenant, s.service);
    registry.held.add(`${image.slice(image.indexOf("/") + 1)}:${tag}`);
  };

  /** The imaas command as a platform admin runs it from a checkout holding the sandbox's stack file. */
  const imaas = (...args: string[]) =>
    imaasIn(project, args, {
      IMAAS_REGISTRY_USERNAME: CREDS.username,
      IMAAS_REGISTRY_PASSWORD: CREDS.password,
    });

  before(async () => {
    registry = await startStandInRegistry(CREDS);
    project = mkdtempSync(join(gitops().work, "checkout-"));
    copyFileSync(join(ROOT, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    copyFileSync(sandboxStackFilePath(gitops().ctx.dir), join(project, `Pulumi.${SANDBOX_STACK}.yaml`));
  });

  after(async () => {
    await registry?.close();
  });

  it("history lists what dev ran; rollback commits the earlier tag and Argo CD rolls dev back", async () => {
    const s = pick();
    const [build] = s.envs;
    const app = applicationName(s.tenant, s.service, build!);
    const ns = namespaceName(s.tenant, build!);
    held("3.0.0-rb");
    held("3.1.0-rb");
    commitImageTag(s.url, build!, "3.0.0-rb");
    const rev = commitImageTag(s.url, build!, "3.1.0-rb");
    await syncedAt(app, rev);
    assert.match(imageOfDeployment(ns, s.service), /:3\.1\.0-rb$/);

    const h = await imaas("history", `${s.tenant}/${s.service}`, "--env", build!, "--format", "json");
    assert.equal(h.code, 0, h.err);
    const releases = (JSON.parse(h.out) as { releases: { tag: string; commit: string }[] }).releases;
    assert.deepEqual(
      releases.slice(0, 2).map((r) => r.tag),
      ["3.1.0-rb", "3.0.0-rb"],
    );
    assert.equal(releases[0]!.commit, rev);

    const r = await imaas(
      "rollback",
      `${s.tenant}/${s.service}`,
      "--env",
      build!,
      "--registry",
      registry.url,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      new RegExp(`rolled back ${s.tenant}/${s.service} ${build}: 3\\.1\\.0-rb -> 3\\.0\\.0-rb`),
    );
    const back = head(s.url, build!);
    assert.notEqual(back, rev);
    await syncedAt(app, back);
    assert.match(
      imageOfDeployment(ns, s.service),
      /:3\.0\.0-rb$/,
      "the Deployment runs the earlier image again",
    );
  });

  it("an image the registry no longer holds is refused, and the branch stays where it is", async () => {
    const s = pick();
    const [build] = s.envs;
    const before = head(s.url, build!);
    registry.held.clear(); // retention removed every image
    const r = await imaas(
      "rollback",
      `${s.tenant}/${s.service}`,
      "--env",
      build!,
      "--to",
      "3.1.0-rb",
      "--registry",
      registry.url,
    );
    assert.equal(r.code, 1);
    assert.match(r.err, /:3\.1\.0-rb is no longer in the registry/);
    assert.equal(head(s.url, build!), before);
  });

  it("a protected environment changes only when the rollback branch is merged, then Argo CD rolls it back", async () => {
    const s = pick();
    const env = s.envs[1]!;
    const app = applicationName(s.tenant, s.service, env);
    const ns = namespaceName(s.tenant, env);
    held("4.0.0-rb");
    held("4.1.0-rb");
    commitImageTag(s.url, env, "4.0.0-rb");
    const rev = commitImageTag(s.url, env, "4.1.0-rb");
    await syncedAt(app, rev);

    const r = await imaas("rollback", `${s.tenant}/${s.service}`, "--env", env, "--registry", registry.url);
    assert.equal(r.code, 0, r.err);
    const branch = rollbackBranch(env, "4.0.0-rb");
    assert.match(r.out, new RegExp(`${env} is protected: pushed [0-9a-f]{12} to branch ${branch}`));
    assert.equal(head(s.url, env), rev, `${env} itself is unchanged`);
    assert.ok(head(s.url, branch), `${branch} exists`);
    assert.match(imageOfDeployment(ns, s.service), /:4\.1\.0-rb$/);

    // The reviewed pull request is merged: Argo CD rolls the environment back.
    const merged = merge(s.url, branch, env);
    await syncedAt(app, merged);
    assert.match(imageOfDeployment(ns, s.service), /:4\.0\.0-rb$/);
  });
});
