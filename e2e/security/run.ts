/**
 * npm run test:security — the multi-tenancy benchmark checks against the sandbox (started here in a
 * temporary folder, with `pulumi up` of the example tenants, and stopped afterwards), or against any
 * cluster where the tenants are deployed: `npm run test:security -- --kubeconfig PATH [--stack NAME]`.
 * Prints one row per check, tenant, environment and actor; exits 1 if any check fails.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatError, loadTenantDir } from "../../model/load";
import { namespaceName } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { connectionAllowed, type NamespaceInfo, type Policy } from "../../test/support/network-evaluator";
import { CHECKS, type CheckContext } from "./checks";
import { admin, type Identity, kubectl, person } from "./engine";

const ROOT = join(__dirname, "..", "..");

interface Row {
  id: string;
  title: string;
  tenant: string;
  env: string;
  actor: string;
  pass: boolean;
  detail: string;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function sh(cmd: string, env: NodeJS.ProcessEnv): void {
  const r = spawnSync("bash", ["-c", cmd], { cwd: ROOT, env, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`failed: ${cmd}`);
}

/** Starts a sandbox in a temp folder and runs `pulumi up` of the example tenants there. */
function startSandbox(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), "imaas-security-"));
  const env = { ...process.env, IMAAS_SANDBOX_DIR: dir, PULUMI_K8S_ENABLE_PATCH_FORCE: "true" };
  sh("bash e2e/sandbox/run.sh", env);
  const vars = spawnSync("bash", ["-c", `source ${dir}/env.sh && env`], { encoding: "utf8" }).stdout;
  for (const line of vars.split("\n")) {
    const m = /^(KUBECONFIG|PATH)=(.*)$/.exec(line);
    if (m) process.env[m[1]] = m[2];
  }
  return { dir, env };
}

function networkRows(
  namespaces: readonly NamespaceInfo[],
  expected: (from: NamespaceInfo, to: NamespaceInfo) => boolean,
): Row[] {
  const r = kubectl(admin, ["get", "networkpolicies", "-A", "-o", "json"]);
  const policies: Policy[] = (JSON.parse(r.out).items as any[]).map((p) => ({
    namespace: p.metadata.namespace,
    spec: p.spec,
  }));
  const rows: Row[] = [];
  for (const from of namespaces) {
    const wrong: string[] = [];
    for (const to of namespaces) {
      if (from.name === to.name) continue;
      for (const port of [8290, 8253]) {
        const allowed = connectionAllowed(
          policies,
          namespaces,
          { namespace: from.name },
          { namespace: to.name },
          port,
        );
        if (allowed !== expected(from, to)) wrong.push(`${to.name}:${port} ${allowed ? "open" : "closed"}`);
      }
    }
    rows.push({
      id: "IMAAS-NET-DEFAULT-DENY",
      title:
        "Default deny across tenants and environments (applied NetworkPolicies evaluated; no CNI in the sandbox)",
      tenant: from.labels["imaas.io/tenant"],
      env: from.labels["imaas.io/environment"],
      actor: "-",
      pass: wrong.length === 0,
      detail:
        wrong.length === 0
          ? `only allowFrom tenants of the same environment reach MI ports`
          : `unexpected: ${wrong.join(", ")}`,
    });
  }
  return rows;
}

function main(): number {
  const started = Date.now();
  const stack = arg("--stack") ?? "sandbox";
  const kubeconfig = arg("--kubeconfig");
  let sandbox: { dir: string; env: NodeJS.ProcessEnv } | undefined;
  try {
    if (kubeconfig) process.env.KUBECONFIG = kubeconfig;
    else sandbox = startSandbox();

    const cfg = platformConfigOf(readStackConfig(ROOT, stack));
    const { tenants, errors } = loadTenantDir(arg("--tenants") ?? join(ROOT, "tenants"), cfg);
    if (errors.length > 0) throw new Error(errors.map(formatError).join("\n"));
    const clusterResources = kubectl(admin, ["api-resources", "--namespaced=false", "-o", "name"])
      .out.split("\n")
      .filter(Boolean);
    if (clusterResources.length === 0)
      throw new Error("cannot list the cluster's API resources: is the cluster reachable?");

    const rows: Row[] = [];
    for (const t of tenants) {
      const others = tenants.filter((o) => o.name !== t.name);
      const otherNs = others.flatMap((o) => o.environments.map((e) => namespaceName(o.name, e)));
      for (const env of t.environments) {
        const ctx: CheckContext = {
          tenant: t.name,
          env,
          namespace: namespaceName(t.name, env),
          otherTenantNamespaces: otherNs,
          clusterResources,
          registry: cfg.registry.host,
          baseImageProject: cfg.registry.baseImageProject,
          otherTenant: others[0]?.name ?? "nobody",
        };
        for (const check of CHECKS) {
          if (check.envs && !check.envs.includes(env)) continue;
          const actors: Array<[string, Identity]> =
            check.as === "deployer"
              ? [["deployer", admin]]
              : check.as === "owner"
                ? [["owner", person(t.name, "owner", cfg.identity.groupPrefix)]]
                : (["owner", "member"] as const).map((a) => [a, person(t.name, a, cfg.identity.groupPrefix)]);
          for (const [actor, id] of actors) {
            let outcome: { pass: boolean; detail: string };
            try {
              outcome = check.run(
                { ...ctx, ...(actor !== "deployer" ? { actor: actor as "owner" | "member" } : {}) },
                id,
              );
            } catch (err) {
              outcome = { pass: false, detail: `error: ${(err as Error).message}` };
            }
            rows.push({ id: check.id, title: check.title, tenant: t.name, env, actor, ...outcome });
          }
        }
      }
    }
    const namespaces: NamespaceInfo[] = tenants.flatMap((t) =>
      t.environments.map((e) => ({
        name: namespaceName(t.name, e),
        labels: {
          "kubernetes.io/metadata.name": namespaceName(t.name, e),
          "imaas.io/tenant": t.name,
          "imaas.io/environment": e,
        },
      })),
    );
    const byName = new Map(tenants.map((t) => [t.name, t]));
    rows.push(
      ...networkRows(namespaces, (from, to) => {
        const target = byName.get(to.labels["imaas.io/tenant"]);
        return (
          from.labels["imaas.io/environment"] === to.labels["imaas.io/environment"] &&
          (target?.network.allowFrom.includes(from.labels["imaas.io/tenant"]) ?? false)
        );
      }),
    );

    const widths = [22, 10, 13, 4, 8];
    const line = (cols: string[]) =>
      cols.map((c, i) => (i < widths.length ? c.padEnd(widths[i]) : c)).join(" ");
    console.log(line(["check", "result", "tenant", "env", "actor", "title — detail"]));
    for (const r of rows)
      console.log(
        line([r.id, r.pass ? "PASS" : "FAIL", r.tenant, r.env, r.actor, `${r.title} — ${r.detail}`]),
      );
    const failed = rows.filter((r) => !r.pass).length;
    const checks = new Set(rows.map((r) => r.id)).size;
    console.log(`\n${checks} checks, ${rows.length} rows in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    console.log(`${rows.length - failed} passed, ${failed} failed`);
    return failed === 0 ? 0 : 1;
  } finally {
    if (sandbox) {
      spawnSync("bash", ["e2e/sandbox/down.sh"], { cwd: ROOT, env: sandbox.env, stdio: "ignore" });
      rmSync(sandbox.dir, { recursive: true, force: true });
    }
  }
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`test:security: ${(err as Error).message}`);
  process.exitCode = 1;
}
