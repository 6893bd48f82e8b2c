/**
 * `imaas upgrade` moving a ring after a HEALTHY one, on real pods: two test tenants in two rings (canary,
 * broad), one STAND-IN MI service each (e2e/images/mi-standin — not MI) synced by the real Argo CD onto the
 * sandbox's node. A new platform chart revision (the chart plus a ConfigMap naming the revision, so a
 * namespace shows which revision it runs) is shipped ring by ring: the first `imaas upgrade` moves the canary,
 * `pulumi up` rolls it, and once the canary's Application is Synced and Healthy on the revision the next
 * `imaas upgrade` moves the broad ring; a last one finds nothing to move. The broad tenant is shown
 * untouched until its ring moves. (The halt on a broken revision: e2e/gitops/upgrade.test.ts.)
 *
 * Stand-ins, said plainly: the image is the stand-in; the keystore Secrets cert-manager would write are
 * made by standin.ts `writeStandinKeystores`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { PLATFORM_CHART_PATH } from "../../components/mi-service/argocd";
import { applicationName, namespaceName } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { ARGOCD_NAMESPACE } from "../sandbox/parts/argocd";
import { kubectl } from "../sandbox/parts/control-plane";
import { git, SANDBOX_STACK } from "../sandbox/parts/git-world";
import { type PlatformSandbox, ROOT, startPlatformSandbox } from "./platform-sandbox";
import { writeStandinKeystores } from "./standin";

const ENV = "dev";
const RINGS = [
  { ring: "canary", tenant: "alpha" },
  { ring: "broad", tenant: "beta" },
] as const;
const SERVICE = "orders";
const NEXT = "v2.0.0-sandbox";
/** The marker the new revision adds to the chart. */
const MARKER = "imaas-platform-revision";

const tenantFile = (tenant: string) => `apiVersion: imaas.io/v1alpha1
kind: Tenant
metadata:
  name: ${tenant}
  displayName: Upgrade ring ${tenant}
spec:
  owners: [ring-tester]
  environments: [${ENV}]
  services:
    - name: ${SERVICE}
      description: Stand-in MI service moved ring by ring by e2e/dataplane/upgrade-rings.test.ts
      resources: { cpu: 100m, memory: 512Mi }
`;

const log = (m: string) => process.stderr.write(`      ${new Date().toISOString().slice(11, 19)} ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("imaas upgrade moves the next ring once the earlier one runs the revision Healthy (real pods)", function () {
  this.timeout(15 * 60_000);
  let sb: PlatformSandbox;
  const kj = <T = any>(args: readonly string[]): T => sb.json<T>(args);

  /** `imaas upgrade --to NEXT` as an admin runs it from the platform checkout, against the sandbox. */
  const upgrade = () =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          join(ROOT, "bin/imaas.js"),
          "upgrade",
          "--to",
          NEXT,
          "--stack",
          SANDBOX_STACK,
          "--dir",
          sb.tenantsDir,
        ],
        {
          cwd: sb.project,
          encoding: "utf8",
          timeout: 120_000,
          env: { ...process.env, KUBECONFIG: join(sb.ctx.dir, "kubeconfig") },
        },
        (err, out, errOut) => resolve({ code: err ? Number(err.code ?? 1) : 0, out, err: errOut }),
      );
    });

  /** The Application of `tenant` once it is Synced and Healthy with its platform chart at `revision`. */
  async function healthyOn(tenant: string, revision: string, timeoutMs = 6 * 60_000): Promise<number> {
    const name = applicationName(tenant, SERVICE, ENV);
    const t = Date.now();
    kubectl(sb.ctx, [
      "-n",
      ARGOCD_NAMESPACE,
      "annotate",
      "application",
      name,
      "argocd.argoproj.io/refresh=hard",
      "--overwrite",
    ]);
    for (;;) {
      const app = kj(["-n", ARGOCD_NAMESPACE, "get", "application", name]);
      const chart = app.spec.sources.find((s: { path?: string }) => s.path === PLATFORM_CHART_PATH);
      // Sync and health describe the spec Argo CD last compared (status.sync.comparedTo), not the current one.
      const compared = app.status?.sync?.comparedTo?.sources?.find(
        (s: { path?: string }) => s.path === PLATFORM_CHART_PATH,
      );
      if (
        chart?.targetRevision === revision &&
        compared?.targetRevision === revision &&
        app.status?.sync?.status === "Synced" &&
        app.status?.health?.status === "Healthy"
      )
        return (Date.now() - t) / 1000;
      if (Date.now() - t > timeoutMs) {
        const pods = kubectl(sb.ctx, ["-n", namespaceName(tenant, ENV), "get", "pods", "-o", "wide"]);
        throw new Error(
          `${name} not Synced and Healthy on ${revision} within ${timeoutMs / 1000} s: chart ${chart?.targetRevision} (compared: ${compared?.targetRevision}), ` +
            `${JSON.stringify({ sync: app.status?.sync?.status, health: app.status?.health, conditions: app.status?.conditions })}\n${pods}`,
        );
      }
      await sleep(2000);
    }
  }

  /** The revision marker in a tenant's namespace (undefined before the new revision runs there). */
  const marker = (tenant: string): string | undefined =>
    kj<{ items: { metadata: { name: string }; data?: Record<string, string> }[] }>([
      "-n",
      namespaceName(tenant, ENV),
      "get",
      "configmaps",
    ]).items.find((c) => c.metadata.name === `${SERVICE}-${MARKER}`)?.data?.revision;

  const ringsInStackFile = () => YAML.parse(readFileSync(sb.stackFile, "utf8")).config["imaas:rings"];

  before(async function () {
    this.timeout(55 * 60_000); // a cold tool build, and waiting for the node
    sb = await startPlatformSandbox({
      name: "rings",
      tenants: Object.fromEntries(RINGS.map(({ tenant }) => [`${tenant}.yaml`, tenantFile(tenant)])),
      // The sandbox's stack file with the two rings.
      editStack: (doc) =>
        doc.setIn(
          ["config", "imaas:rings"],
          doc.createNode(
            RINGS.map(({ ring, tenant }) => ({ name: ring, tenants: ring === "broad" ? "*" : [tenant] })),
          ),
        ),
    });
    assert.deepEqual(
      writeStandinKeystores(sb.ctx).sort(),
      RINGS.map(({ tenant }) => `${namespaceName(tenant, ENV)}/${SERVICE}-mi-keystore`).sort(),
    );
    const cfg = platformConfigOf(readStackConfig(sb.project, SANDBOX_STACK));
    for (const { tenant } of RINGS) {
      log(
        `${tenant}: Healthy on ${cfg.argocd.platformRevision} after ${(await healthyOn(tenant, cfg.argocd.platformRevision)).toFixed(1)} s`,
      );
      assert.equal(marker(tenant), undefined);
    }
    // The next platform release: the chart plus a ConfigMap naming the revision it was rendered from.
    const work = sb.work;
    const clone = mkdtempSync(join(work, "chart-"));
    git(
      work,
      ["clone", "--quiet", "--branch", cfg.argocd.platformRevision, cfg.argocd.platformRepo, clone],
      work,
    );
    writeFileSync(
      join(clone, PLATFORM_CHART_PATH, "templates", `${MARKER}.yaml`),
      [
        "apiVersion: v1",
        "kind: ConfigMap",
        "metadata:",
        `  name: {{ .Release.Name }}-${MARKER}`,
        "data:",
        `  revision: ${NEXT}`,
        "",
      ].join("\n"),
    );
    git(clone, ["add", "--all"], work);
    git(clone, ["commit", "--quiet", "--message", `Platform release ${NEXT}`], work);
    git(clone, ["tag", NEXT], work);
    git(clone, ["push", "--quiet", "origin", `refs/tags/${NEXT}`], work);
  });

  after(async function () {
    this.timeout(3 * 60_000);
    await sb?.stop();
  });

  it("moves the canary first; pulumi up rolls its Application onto the revision, Healthy, and the broad tenant is untouched", async () => {
    const r = await upgrade();
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.match(r.out, new RegExp(`moved ring "canary" to ${NEXT}`));
    assert.deepEqual(ringsInStackFile(), [
      { name: "canary", tenants: ["alpha"], platformRevision: NEXT },
      { name: "broad", tenants: "*" },
    ]);
    await sb.pulumiUp();
    log(`alpha: Healthy on ${NEXT} after ${(await healthyOn("alpha", NEXT)).toFixed(1)} s`);
    assert.equal(marker("alpha"), NEXT, "the canary's namespace runs the new chart");
    assert.equal(marker("beta"), undefined, "the broad ring has not moved");
  });

  it("moves the broad ring once the canary runs the revision Synced and Healthy; a last run finds nothing to move", async () => {
    const r = await upgrade();
    process.stderr.write(r.out.replace(/^/gm, "      | "));
    assert.equal(r.code, 0, `${r.out}\n${r.err}`);
    assert.match(r.out, new RegExp(`moved ring "broad" to ${NEXT}`));
    assert.deepEqual(ringsInStackFile(), [
      { name: "canary", tenants: ["alpha"], platformRevision: NEXT },
      { name: "broad", tenants: "*", platformRevision: NEXT },
    ]);
    await sb.pulumiUp();
    log(`beta: Healthy on ${NEXT} after ${(await healthyOn("beta", NEXT)).toFixed(1)} s`);
    assert.equal(marker("beta"), NEXT);
    const last = await upgrade();
    assert.equal(last.code, 0, `${last.out}\n${last.err}`);
    assert.match(last.out, new RegExp(`every ring runs ${NEXT}: nothing to move`));
  });
});
