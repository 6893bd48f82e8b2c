/**
 * npm run test:security — the multi-tenancy benchmark checks (checks.ts) against a real API server.
 *
 *   tsx e2e/security/run.ts                                   own sandbox: start, pulumi up, check, stop
 *   tsx e2e/security/run.ts --kubeconfig PATH [--stack prod]  a cluster where the tenants are deployed
 *   options: --tenants DIR (default tenants/), --only ID[,ID] (checks whose id starts with one of them),
 *            --vault-address IP (Vault as the pods reach it, when this machine cannot resolve the server)
 *
 * Without --kubeconfig it starts a sandbox of its own (e2e/lifecycle/sandbox.ts: tools, e2e/sandbox/up.sh
 * in a temporary IMAAS_SANDBOX_DIR, the argocd namespace; CRDs come with up.sh), runs `pulumi up` of stack
 * `sandbox` on the tenant files through the Automation API (LocalWorkspace on the repo root, file
 * backend), runs the checks, and stops and removes the sandbox — also on failure and on SIGINT/SIGTERM.
 * Prints one row per check, tenant, environment and actor; exits 1 if any check fails.
 */
import { lookup } from "node:dns/promises";
import { writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import { startSandbox, sandboxStack, stopSandbox } from "../lifecycle/sandbox";
import type { Environment } from "../../model/environments";
import { formatError, loadTenantDir } from "../../model/load";
import { LABELS, namespaceName } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import type { NamespaceInfo } from "../../test/support/network-evaluator";
import { CHECKS } from "./checks";
import { Api, admin, discover, type Identity, person } from "./engine";
import { type CheckContext, type ClusterSnapshot, type Destination, livePolicies } from "./probe";

const ROOT = join(__dirname, "..", "..");

interface Row {
  id: string;
  title: string;
  tenant: string;
  env: string;
  actor: string;
  pass: boolean;
  detail: string;
  /** Wall time of the row, in milliseconds. */
  ms: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const log = (msg: string) => console.error(`${new Date().toISOString().slice(11, 19)} [security] ${msg}`);
const secs = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

/** Starts the sandbox and runs `pulumi up` of the example tenants; returns the kubeconfig path. */
async function sandboxUp(tenantsDir: string): Promise<string> {
  let t = Date.now();
  const sb = await startSandbox();
  log(`sandbox up in ${secs(t)} (${sb.dir}); argocd namespace created`);
  t = Date.now();
  const stack = await sandboxStack(join(sb.work, "pulumi-state"), tenantsDir);
  let output = "";
  try {
    const res = await stack.up({
      onOutput: (s) => {
        output += s;
      },
    });
    const changes = Object.entries(res.summary.resourceChanges ?? {})
      .map(([op, n]) => `${n} ${op}`)
      .join(", ");
    log(`pulumi up of stack sandbox: ${res.summary.result}, ${changes} in ${secs(t)}`);
  } finally {
    writeFileSync(join(sb.work, "pulumi-up.log"), output);
  }
  return sb.env.KUBECONFIG;
}

/** The API server as pods reach it: the `kubernetes` Service's cluster IP and the endpoints behind it. */
async function apiServerAddresses(api: Api): Promise<Destination[]> {
  const svc = await api.request("GET", "/api/v1/namespaces/default/services/kubernetes");
  if (svc.status !== 200) throw new Error(`reading Service default/kubernetes: ${svc.message}`);
  const out: Destination[] = (svc.body.spec?.clusterIPs ?? [svc.body.spec?.clusterIP])
    .filter(Boolean)
    .map((ip: string) => ({ what: "API server Service", ip, port: svc.body.spec.ports?.[0]?.port ?? 443 }));
  const eps = await api.request("GET", "/api/v1/namespaces/default/endpoints/kubernetes");
  for (const subset of eps.body.subsets ?? [])
    for (const a of subset.addresses ?? [])
      for (const p of subset.ports ?? []) out.push({ what: "API server", ip: a.ip, port: p.port });
  if (out.length === 0) throw new Error("the kubernetes Service has no cluster IP and no endpoints");
  return out;
}

/**
 * Vault's addresses: `--vault-address` when given (where this machine's DNS differs from the pods'),
 * else the configured server resolved here; or the reason there are none.
 */
async function vaultAddresses(server: string, given?: string): Promise<Destination[] | string> {
  const url = new URL(server);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = given ?? url.hostname.replace(/^\[|\]$/g, "");
  if (given !== undefined && !isIP(given)) throw new Error(`--vault-address: not an IP address: ${given}`);
  if (isIP(host)) return [{ what: "Vault", ip: host, port }];
  try {
    const found = await Promise.race([
      lookup(host, { all: true }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timed out")), 3000)),
    ]);
    return found.map((a) => ({ what: "Vault", ip: a.address, port }));
  } catch (err) {
    return `${host} does not resolve here (${(err as Error).message})`;
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const stackName = arg("--stack") ?? "sandbox";
  const tenantsDir = arg("--tenants") ?? join(ROOT, "tenants");
  const only = arg("--only")?.split(",");
  const cfg = platformConfigOf(readStackConfig(ROOT, stackName));
  const { tenants, errors } = loadTenantDir(tenantsDir, cfg);
  if (errors.length > 0) throw new Error(errors.map(formatError).join("\n"));

  const kubeconfig = arg("--kubeconfig") ?? (await sandboxUp(tenantsDir));
  process.env.KUBECONFIG = kubeconfig;
  const api = await Api.fromKubeconfig(kubeconfig);
  const checksStarted = Date.now();

  // What the checks read once: discovery, the namespaces with their labels, the tenant namespaces'
  // NetworkPolicies as applied, where the API server and Vault are.
  const resources = await discover(api);
  const nsList = await api.request("GET", "/api/v1/namespaces");
  if (nsList.status !== 200) throw new Error(`listing namespaces: ${nsList.message}`);
  const namespaces: NamespaceInfo[] = (nsList.body.items ?? []).map(
    (n: { metadata: { name: string; labels?: Record<string, string> } }) => ({
      name: n.metadata.name,
      labels: n.metadata.labels ?? {},
    }),
  );
  const names = new Set(namespaces.filter((n) => n.labels[LABELS.tenant]).map((n) => n.name));
  const missing = tenants
    .flatMap((t) => t.environments.map((e) => namespaceName(t.name, e)))
    .filter((n) => !names.has(n));
  if (missing.length > 0)
    throw new Error(`tenant namespaces missing from the cluster: ${missing.join(", ")}`);
  const cluster: ClusterSnapshot = {
    resources,
    namespaces,
    policies: await livePolicies(api, names),
    apiServer: await apiServerAddresses(api),
    vault: await vaultAddresses(cfg.secrets.vault.server, arg("--vault-address")),
  };
  const tenantInfo = tenants.map((t) => ({
    name: t.name,
    environments: t.environments,
    allowFrom: t.network.allowFrom,
    callable: t.network.callable,
    egress: t.network.egress,
  }));

  const rows: Row[] = [];
  for (const t of tenants) {
    const others = tenants.filter((o) => o.name !== t.name);
    const otherNs = others.flatMap((o) => o.environments.map((e) => namespaceName(o.name, e)));
    const logins = { owner: t.owners[0], member: t.members[0] ?? `${t.name}-member` };
    for (const env of t.environments) {
      const ctx: CheckContext = {
        api,
        cluster,
        tenant: t.name,
        env: env as Environment,
        namespace: namespaceName(t.name, env),
        tenants: tenantInfo,
        otherTenantNamespaces: otherNs,
        registry: cfg.registry.host,
        baseImageProject: cfg.registry.baseImageProject,
        argocdNamespace: cfg.argocd.namespace,
        otherTenant: others[0]?.name ?? "nobody",
        dns: cfg.dns,
      };
      for (const check of CHECKS) {
        if (check.envs && !check.envs.includes(env)) continue;
        if (only && !only.some((o) => check.id.startsWith(o))) continue;
        const actors: Array<[string, Identity]> =
          check.as === "cluster"
            ? [["-", admin]]
            : check.as === "deployer"
              ? [["deployer", admin]]
              : (check.as === "owner" ? (["owner"] as const) : (["owner", "member"] as const)).map((a) => [
                  a,
                  person(t.name, a, logins[a], cfg.identity.groupPrefix),
                ]);
        for (const [actor, id] of actors) {
          let outcome: { pass: boolean; detail: string };
          const rowStarted = Date.now();
          try {
            outcome = await check.run(
              { ...ctx, ...(actor === "owner" || actor === "member" ? { actor } : {}) },
              id,
            );
          } catch (err) {
            outcome = { pass: false, detail: `error: ${(err as Error).message}` };
          }
          rows.push({
            id: check.id,
            title: check.title,
            tenant: t.name,
            env,
            actor,
            ...outcome,
            ms: Date.now() - rowStarted,
          });
        }
      }
    }
  }

  const widths = [23, 13, 5, 9, 5];
  const line = (cols: string[]) =>
    cols.map((c, i) => (i < widths.length ? c.padEnd(widths[i]) : c)).join(" ");
  console.log(line(["check", "tenant", "env", "actor", "result", "title — reason"]));
  for (const r of rows)
    console.log(line([r.id, r.tenant, r.env, r.actor, r.pass ? "PASS" : "FAIL", `${r.title} — ${r.detail}`]));
  const failed = rows.filter((r) => !r.pass);
  console.log(
    "\nNote: no CNI runs in the sandbox, so the IMAAS-NET-* rows evaluate the NetworkPolicies and namespaces read back from the API server (test/support/network-evaluator.ts); they send no packets. IMAAS-NET-OWNER-POLICY's refusals are real requests.",
  );
  console.log(
    `${new Set(rows.map((r) => r.id)).size} checks, ${rows.length} rows: ${rows.length - failed.length} passed, ${failed.length} failed; checks ${secs(checksStarted)}, total ${secs(started)}`,
  );
  const perCheck = new Map<string, number>();
  for (const r of rows) perCheck.set(r.id, (perCheck.get(r.id) ?? 0) + r.ms);
  console.log(
    `time per check: ${[...perCheck]
      .sort((a, b) => b[1] - a[1])
      .map(([id, ms]) => `${id} ${(ms / 1000).toFixed(1)} s`)
      .join(", ")}`,
  );
  for (const r of failed) console.log(`FAIL ${r.id} ${r.tenant} ${r.env} ${r.actor}: ${r.detail}`);
  return failed.length === 0 ? 0 : 1;
}

let stopping = false;
function cleanup(): void {
  if (stopping) return;
  stopping = true;
  stopSandbox(); // no-op when no sandbox was started (--kubeconfig)
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping the sandbox`);
    cleanup();
    process.exit(130);
  });
}

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    console.error(`test:security: ${(err as Error).message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    cleanup();
    // keep-alive sockets and the Automation API's servers must not hold the process open
    setImmediate(() => process.exit());
  });
