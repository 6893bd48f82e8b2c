/**
 * `imaas history` and `imaas rollback` on a real Git repository (a bare repo on disk standing in for the
 * service repo, with the branches and deploy/values.yaml MIService seeds) and a stand-in registry on
 * loopback that speaks the OCI distribution API behind a Bearer token flow.
 */
import { strict as assert } from "node:assert";
import { execFile, execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import {
  bearerChallenge,
  imageOf,
  ReleaseError,
  type ReleaseTarget,
  readHistory,
  registryCheck,
  releaseTarget,
  rollback,
  rollbackBranch,
} from "../../cli/release";
import { valuesYaml } from "../../components/mi-service/seed-files";
import { loadTenantDir } from "../../model/load";
import { applicationName, imageRepository, repositoryUrl } from "../../model/naming";
import type { PlatformConfig } from "../../model/platform-config";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { type StandInRegistry, startStandInRegistry } from "../support/oci-registry";

const ROOT = join(__dirname, "..", "..");
const TENANT = "payroll";
const SERVICE = "salary-sync";
const CREDS = { username: "robot$payroll+pull", password: "s3cret" };

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=ci", "-c", "user.email=ci@example.com", ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();

describe("imaas history and rollback", function () {
  this.timeout(60_000);
  let base: string;
  let cfg: PlatformConfig;
  let registry: StandInRegistry;
  let work: string;
  let url: string;
  const target = (env: string): ReleaseTarget =>
    releaseTarget(loadTenantDir(join(ROOT, "tenants"), cfg).tenants, cfg, `${TENANT}/${SERVICE}`, env);
  const image = () => imageRepository(cfg.registry.host, TENANT, SERVICE);
  const name = () => image().slice(image().indexOf("/") + 1);
  /** CI's tag commit on a branch (what the record-tag job does), returning the commit. */
  const ciTag = (branch: string, tag: string) => {
    git(work, "checkout", "-q", branch);
    git(work, "pull", "-q", "--ff-only", "origin", branch);
    const doc = YAML.parseDocument(readFileSync(join(work, "deploy/values.yaml"), "utf8"));
    doc.setIn(["image", "tag"], tag);
    writeFileSync(join(work, "deploy/values.yaml"), doc.toString());
    git(work, "commit", "-q", "-m", `ci: deploy ${image()}:${tag} [skip ci]`, "--", "deploy/values.yaml");
    git(work, "push", "-q", "origin", `HEAD:${branch}`);
    registry.held.add(`${name()}:${tag}`);
    return git(work, "rev-parse", "HEAD");
  };
  const promote = (from: string, into: string) => {
    git(work, "fetch", "-q", "origin");
    git(work, "checkout", "-q", into);
    git(work, "reset", "-q", "--hard", `origin/${into}`);
    git(work, "merge", "-q", "--no-ff", "-m", `Merge ${from} into ${into}`, `origin/${from}`);
    git(work, "push", "-q", "origin", `HEAD:${into}`);
  };
  const remoteValues = (branch: string) =>
    execFileSync(
      "git",
      ["--git-dir", join(base, "remote", `${TENANT}-${SERVICE}.git`), "show", `${branch}:deploy/values.yaml`],
      {
        encoding: "utf8",
      },
    );

  before(async () => {
    base = mkdtempSync(join(tmpdir(), "imaas-release-test-"));
    const dev = platformConfigOf(readStackConfig(ROOT, "dev"));
    cfg = { ...dev, github: { ...dev.github, urlBase: `file://${join(base, "remote")}` } };
    registry = await startStandInRegistry(CREDS);
    // The service repo as MIService seeds it: deploy/values.yaml on dev, test and prod.
    url = repositoryUrl(cfg.github.owner, TENANT, SERVICE, cfg.github.urlBase);
    mkdirSync(join(base, "remote"));
    execFileSync("git", ["init", "-q", "--bare", "-b", "dev", url.replace("file://", "")]);
    work = join(base, "work");
    mkdirSync(join(work, "deploy"), { recursive: true });
    git(work, "init", "-q", "-b", "dev");
    writeFileSync(join(work, "deploy/values.yaml"), valuesYaml(""));
    git(work, "add", ".");
    git(work, "commit", "-q", "-m", "Seed");
    git(work, "remote", "add", "origin", url);
    for (const b of ["dev", "test", "prod"]) git(work, "push", "-q", "origin", `HEAD:${b}`);
  });

  after(async () => {
    await registry?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it("names everything with the program's functions; branches after the first are protected", () => {
    const d = target("dev");
    assert.equal(d.repoUrl, url);
    assert.equal(d.application, applicationName(TENANT, SERVICE, "dev"));
    assert.equal(d.image, image());
    assert.equal(d.protected, false);
    assert.equal(target("test").protected, true);
    assert.equal(target("prod").protected, true);
    assert.throws(() => target("qa"), /--env qa: payroll\/salary-sync runs in dev, test, prod only/);
    const tenants = loadTenantDir(join(ROOT, "tenants"), cfg).tenants;
    assert.throws(() => releaseTarget(tenants, cfg, "payroll", "dev"), /<tenant>\/<service>/);
    assert.throws(() => releaseTarget(tenants, cfg, "nobody/x", "dev"), /no tenant "nobody"/);
    assert.throws(
      () => releaseTarget(tenants, cfg, "payroll/x", "dev"),
      /has no service "x"; its services: /,
    );
  });

  it("history: the images a branch ran, newest first, promotions dated when they reached the branch", () => {
    const c1 = ciTag("dev", "1.0.0");
    const c2 = ciTag("dev", "1.1.0");
    promote("dev", "test");
    const dev = (() => {
      const dir = mkdtempSync(join(base, "clone-"));
      git(dir, "clone", "-q", "--branch", "dev", url, "r");
      return readHistory(target("dev"), join(dir, "r"), 50);
    })();
    assert.deepEqual(
      dev.releases.map((r) => [r.tag, r.commit]),
      [
        ["1.1.0", c2],
        ["1.0.0", c1],
      ],
    );
    assert.equal(dev.truncated, false);
    assert.match(dev.releases[0]!.subject, /ci: deploy .*:1\.1\.0/);
    const dir = mkdtempSync(join(base, "clone-"));
    git(dir, "clone", "-q", "--branch", "test", url, "r");
    const test = readHistory(target("test"), join(dir, "r"), 50);
    // test's first-parent line: the seed, then the merge that brought 1.1.0; 1.0.0 never ran in test.
    assert.deepEqual(
      test.releases.map((r) => r.tag),
      ["1.1.0"],
    );
    assert.match(test.releases[0]!.subject, /^Merge dev into test/);
    // A limit that cuts the line off says so; the newest release is still told apart from the one before.
    const devDir = mkdtempSync(join(base, "clone-"));
    git(devDir, "clone", "-q", "--branch", "dev", url, "r");
    const cut = readHistory(target("dev"), join(devDir, "r"), 1);
    assert.equal(cut.truncated, true);
    assert.deepEqual(
      cut.releases.map((r) => r.tag),
      ["1.1.0"],
    );
  });

  it("rollback on the unprotected build branch: one commit with the earlier tag, comments kept, [skip ci]", async () => {
    const before = remoteValues("dev");
    const r = await rollback(target("dev"), { check: registryCheck(registry.url, CREDS) });
    assert.equal(r.from.tag, "1.1.0");
    assert.equal(r.to.tag, "1.0.0");
    assert.equal(r.pushedTo, "dev");
    assert.equal(r.pullRequest, undefined);
    const after = remoteValues("dev");
    assert.equal(imageOf(after).tag, "1.0.0");
    assert.equal(after, before.replace("1.1.0", "1.0.0"), "only the tag changed; the seed's comments stay");
    const msg = execFileSync(
      "git",
      ["--git-dir", join(base, "remote", `${TENANT}-${SERVICE}.git`), "log", "-1", "--format=%B", "dev"],
      { encoding: "utf8" },
    );
    assert.match(msg, /^rollback: dev to .*:1\.0\.0 \(was 1\.1\.0\) \[skip ci\]/);
    // The token flow ran: a 401 challenge, a token from the realm, the manifest asked with the token.
    assert.ok(registry.requests.some((q) => q.path === "/token"));
    assert.ok(
      registry.requests.some(
        (q) => q.method === "HEAD" && q.authorized && q.path.endsWith("/manifests/1.0.0"),
      ),
    );
  });

  it("refuses what would not work: the running tag, a tag never run there, an image the registry lost", async () => {
    const check = registryCheck(registry.url, CREDS);
    const head = () => remoteValues("dev");
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const a = srv.address();
        srv.close(() => resolve(typeof a === "object" && a ? a.port : 0));
      });
    });
    const was = head();
    await assert.rejects(rollback(target("dev"), { check, to: "1.0.0" }), /dev already runs 1\.0\.0/);
    await assert.rejects(
      rollback(target("dev"), { check, to: "9.9.9" }),
      (e: Error) =>
        e instanceof ReleaseError &&
        /--to 9\.9\.9: dev never ran it; earlier releases there: 1\.1\.0/.test(e.message),
    );
    registry.held.delete(`${name()}:1.1.0`); // retention removed it
    await assert.rejects(
      rollback(target("dev"), { check, to: "1.1.0" }),
      /:1\.1\.0 is no longer in the registry/,
    );
    registry.held.add(`${name()}:1.1.0`);
    await assert.rejects(
      rollback(target("dev"), {
        check: registryCheck(registry.url, { ...CREDS, password: "wrong" }),
        to: "1.1.0",
      }),
      /refused a pull token .* IMAAS_REGISTRY_USERNAME/,
    );
    await assert.rejects(
      rollback(target("dev"), { check: registryCheck(`http://127.0.0.1:${closed}`, CREDS), to: "1.1.0" }),
      /cannot reach the registry at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/,
    );
    assert.equal(head(), was, "a refused rollback leaves the branch alone");
  });

  it("a protected branch is never pushed to: the change goes to a branch for a pull request", async () => {
    promote("test", "prod"); // prod runs 1.1.0
    ciTag("dev", "1.2.0");
    promote("dev", "test");
    promote("test", "prod"); // prod runs 1.2.0
    const prodBefore = remoteValues("prod");
    const r = await rollback(target("prod"), { check: registryCheck(registry.url, CREDS) });
    assert.equal(r.to.tag, "1.1.0");
    assert.equal(r.pushedTo, rollbackBranch("prod", "1.1.0"));
    assert.equal(remoteValues("prod"), prodBefore, "prod is unchanged until the pull request is merged");
    assert.equal(imageOf(remoteValues(r.pushedTo!)).tag, "1.1.0");
    // file:// is no GitHub: the command says how to merge instead of a pull request URL.
    assert.equal(r.pullRequest?.url, undefined);
    assert.match(r.pullRequest!.command, /git merge --ff-only origin\/imaas\/rollback-prod-1\.1\.0/);
    // On GitHub, the pull request's URL and the gh command.
    const gh = { ...target("prod"), webUrl: "https://github.com/acme/payroll-salary-sync" };
    const dry = await rollback(gh, { check: registryCheck(registry.url, CREDS), dryRun: true });
    assert.equal(
      dry.pullRequest?.url,
      "https://github.com/acme/payroll-salary-sync/compare/prod...imaas/rollback-prod-1.1.0?expand=1",
    );
    assert.match(
      dry.pullRequest!.command,
      /^gh pr create --repo acme\/payroll-salary-sync --base prod --head imaas\/rollback-prod-1\.1\.0/,
    );
  });

  it("a dry run pushes nothing", async () => {
    const was = remoteValues("dev");
    const r = await rollback(target("dev"), { check: registryCheck(registry.url, CREDS), dryRun: true });
    assert.equal(r.to.tag, "1.0.0");
    assert.equal(remoteValues("dev"), was);
  });

  it("the commands, as a user runs them", async () => {
    // A platform checkout whose stack file points github.urlBase at the bare repos.
    const project = mkdtempSync(join(base, "project-"));
    cpSync(join(ROOT, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    const stack = YAML.parseDocument(readFileSync(join(ROOT, "Pulumi.dev.yaml"), "utf8"));
    stack.setIn(["config", "imaas:github", "urlBase"], cfg.github.urlBase);
    writeFileSync(join(project, "Pulumi.dev.yaml"), stack.toString());
    // Spawned without blocking: the stand-in registry answers from this process.
    const run = (...args: string[]) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(
          process.execPath,
          [join(ROOT, "bin/imaas.js"), ...args, "--dir", join(ROOT, "tenants")],
          {
            cwd: project,
            encoding: "utf8",
            timeout: 60_000,
            env: {
              ...process.env,
              IMAAS_REGISTRY_USERNAME: CREDS.username,
              IMAAS_REGISTRY_PASSWORD: CREDS.password,
            },
          },
          (err, out, errOut) => resolve({ code: err ? Number(err.code ?? 1) : 0, out, err: errOut }),
        );
      });
    const h = await run("history", `${TENANT}/${SERVICE}`, "--env", "dev", "--format", "json");
    assert.equal(h.code, 0, h.err);
    const tags = (JSON.parse(h.out) as { releases: { tag: string }[] }).releases.map((r) => r.tag);
    assert.deepEqual(tags, ["1.2.0", "1.0.0", "1.1.0", "1.0.0"]);
    const table = await run("history", `${TENANT}/${SERVICE}`, "--env", "dev");
    assert.match(table.out, /^\*\s+\S+\s+1\.2\.0\s/m);
    const r = await run("rollback", `${TENANT}/${SERVICE}`, "--env", "dev", "--registry", registry.url);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /rolled back payroll\/salary-sync dev: 1\.2\.0 -> 1\.0\.0/);
    const bad = await run(
      "rollback",
      `${TENANT}/${SERVICE}`,
      "--env",
      "dev",
      "--to",
      "7.7.7",
      "--registry",
      registry.url,
    );
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--to 7\.7\.7: dev never ran it/);
    assert.doesNotMatch(bad.err, /\n\s+at /, "no stack trace");
  });

  it("reads the registry's challenge and the values file defensively", () => {
    assert.deepEqual(
      bearerChallenge(
        'Bearer realm="https://r/service/token",service="harbor-registry",scope="repository:a/b:pull"',
      ),
      {
        realm: "https://r/service/token",
        service: "harbor-registry",
        scope: "repository:a/b:pull",
      },
    );
    assert.equal(bearerChallenge('Basic realm="x"'), undefined);
    assert.deepEqual(imageOf(undefined), { tag: "", digest: "" });
    assert.deepEqual(imageOf(": not yaml: ["), { tag: "", digest: "" });
    assert.deepEqual(imageOf("image:\n  tag: 1.2\n  digest: sha256:ab\n"), {
      tag: "1.2",
      digest: "sha256:ab",
    });
  });
});
