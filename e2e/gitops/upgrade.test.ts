/**
 * `imaas upgrade` with the real engine and the real Argo CD (same sandbox as gitops.test.ts): the first ring
 * moves to a new platform chart revision, `pulumi up` points its tenants' Applications at it, and — the
 * revision being deliberately broken — the next `imaas upgrade` halts before the next ring, naming each
 * Application with the error Argo CD reports. A ring after a healthy one cannot be shown moving here: no
 * Application becomes Healthy without nodes (the unit tests cover that decision).
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import "./hooks";
import { loadTenantDir } from "../../model/load";
import { applicationName } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { ARGOCD_VERSION } from "../sandbox/parts/argocd";
import { git, SANDBOX_STACK, sandboxStackFilePath } from "../sandbox/parts/git-world";
import {
  type Application,
  application,
  describeApp,
  gitops,
  hardRefresh,
  imaasIn,
  pulumiUp,
  ROOT,
  TENANTS_DIR,
  waitUntil,
} from "./sandbox";

const CANARY = "logistics";
const BROKEN = "v9.9.9-broken";
const BROKEN_MESSAGE = "deliberately broken platform chart revision";

describe(`imaas upgrade with the real Argo CD ${ARGOCD_VERSION}`, function () {
  this.timeout(10 * 60_000);
  let project: string;
  let stackFile: string;

  const imaas = (...args: string[]) =>
    imaasIn(project, args, { KUBECONFIG: join(gitops().ctx.dir, "kubeconfig") });

  before(() => {
    const { ctx, work } = gitops();
    // A platform checkout: the sandbox's stack file with two rings, the canary holding one tenant.
    project = mkdtempSync(join(work, "platform-"));
    copyFileSync(join(ROOT, "Pulumi.yaml"), join(project, "Pulumi.yaml"));
    stackFile = join(project, `Pulumi.${SANDBOX_STACK}.yaml`);
    const doc = YAML.parseDocument(readFileSync(sandboxStackFilePath(ctx.dir), "utf8"));
    doc.setIn(
      ["config", "imaas:rings"],
      doc.createNode([
        { name: "canary", tenants: [CANARY] },
        { name: "broad", tenants: "*" },
      ]),
    );
    writeFileSync(stackFile, doc.toString());
    // The broken revision: the chart fails to render, as a bad platform release would.
    const cfg = platformConfigOf(readStackConfig(project, SANDBOX_STACK));
    const clone = mkdtempSync(join(work, "chart-"));
    git(
      work,
      ["clone", "--quiet", "--branch", cfg.argocd.platformRevision, cfg.argocd.platformRepo, clone],
      work,
    );
    const template = join(clone, "charts/wso2-mi/templates/deployment.yaml");
    writeFileSync(template, `{{- fail "${BROKEN_MESSAGE}" }}\n${readFileSync(template, "utf8")}`);
    git(
      clone,
      ["-c", "user.name=platform", "-c", "user.email=p@example.com", "commit", "-qam", "A broken release"],
      work,
    );
    git(clone, ["tag", BROKEN], work);
    git(clone, ["push", "--quiet", "origin", `refs/tags/${BROKEN}`], work);
  });

  it("the first ring moves (nothing runs the revision yet): its platformRevision is set in the stack file", async () => {
    const r = await imaas("upgrade", "--to", BROKEN);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`moved ring "canary" to ${BROKEN} in Pulumi\\.${SANDBOX_STACK}\\.yaml`));
    const rings = YAML.parse(readFileSync(stackFile, "utf8")).config["imaas:rings"];
    assert.deepEqual(rings, [
      { name: "canary", tenants: [CANARY], platformRevision: BROKEN },
      { name: "broad", tenants: "*" },
    ]);
  });

  it("after pulumi up, the canary's Applications use the revision and Argo CD reports the broken chart", async () => {
    await pulumiUp(stackFile);
    const cfg = platformConfigOf(readStackConfig(project, SANDBOX_STACK));
    const canary = loadTenantDir(TENANTS_DIR, cfg).tenants.find((t) => t.name === CANARY)!;
    const apps = canary.services.flatMap((s) =>
      s.environments.map((e) => applicationName(CANARY, s.name, e)),
    );
    for (const name of apps) {
      hardRefresh(name);
      await waitUntil(
        `${name} refusing the broken chart`,
        () => application(name),
        (a: Application) =>
          a.spec.sources.some((s: { targetRevision?: string }) => s.targetRevision === BROKEN) &&
          (a.status?.conditions ?? []).some(
            (c) => c.type === "ComparisonError" && c.message.includes(BROKEN_MESSAGE),
          ),
        { describe: describeApp },
      );
    }
  });

  it("the next imaas upgrade halts before ring broad, naming each canary Application and Argo CD's error", async () => {
    const before = readFileSync(stackFile, "utf8");
    const r = await imaas("upgrade", "--to", BROKEN);
    assert.equal(r.code, 3, `${r.out}\n${r.err}`);
    process.stderr.write(r.out.replace(/^/gm, "      | "));
    assert.match(
      r.out,
      /halted before ring "broad": \d+ Application\(s\) of the earlier rings are not Synced and Healthy/,
    );
    const cfg = platformConfigOf(readStackConfig(project, SANDBOX_STACK));
    const canary = loadTenantDir(TENANTS_DIR, cfg).tenants.find((t) => t.name === CANARY)!;
    for (const s of canary.services) {
      for (const e of s.environments) {
        assert.match(r.out, new RegExp(`- ${applicationName(CANARY, s.name, e)}: .*${BROKEN_MESSAGE}`));
      }
    }
    assert.equal(
      readFileSync(stackFile, "utf8"),
      before,
      "the stack file is unchanged: ring broad did not move",
    );
  });
});
