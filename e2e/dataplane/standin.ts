/**
 * Helpers for data-plane tests around the STAND-IN MI image (e2e/images/mi-standin — not MI: it answers on
 * MI's ports what the chart and the platform ask of MI, and proves the platform's mechanics only).
 *
 * - `pushStandin(dir, {tenant, service, tag})`: the stand-in under `<registry.host>/<tenant>/<service>:<tag>`
 *   in the sandbox's registry (the registry part must be running; it pushed every tenant service's
 *   FIRST_BUILD_TAG and ROLLOUT_TAG already).
 * - `standinPod(...)`: a bare pod running the stand-in (`serve --standalone`) with the chart's security
 *   context, for tests that need a peer without the chart's Secrets.
 * - `probeCommand(...)`: the command to `kubectl exec` in a stand-in pod to try a connection (exit 0/1).
 * - `standinKeystoreSecret(...)`: what cert-manager would write for a service (certManager.install is false
 *   in the sandbox): a stand-in keystore Secret made with openssl and the stand-in's keytool;
 *   `writeStandinKeystores(ctx)` writes the missing ones of a whole sandbox (CLI: `tsx
 *   e2e/dataplane/standin.ts keystores`, for `npm run sandbox` after `pulumi up`).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { miKeystoreName } from "../../model/naming";
import { kubectl } from "../sandbox/parts/control-plane";
import { waitForNodeLock } from "../sandbox/parts/node";
import { startParts, stopParts } from "../sandbox/parts/orchestrator";
import type { Part, PartContext } from "../sandbox/parts/part";
import { standinBinary } from "../sandbox/parts/registry";

export {
  FIRST_BUILD_TAG,
  type PushedImage,
  platformRegistryHost,
  pushStandin,
  ROLLOUT_TAG,
  registryAddress,
  registryHostsDir,
  standinBinary,
} from "../sandbox/parts/registry";

/** The program's path inside the image. */
export const STANDIN_IN_IMAGE = "/usr/local/bin/mi-standin";
/** MI's ports, as the chart declares them and the stand-in listens. */
export const MI_PORTS = { http: 8290, https: 8253, management: 9164, internal: 9201 } as const;
/** The chart's user (charts/wso2-mi/templates/_helpers.tpl) — also the image's. */
export const MI_UID = 10802;

/** The chart's container security context (restricted Pod Security Standard, read-only root). */
export const CHART_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: MI_UID,
  runAsGroup: MI_UID,
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
} as const;

/**
 * A bare pod running the stand-in without the chart's mounts (`serve --standalone`), answering on MI's
 * ports, ready once /healthz answers (after STANDIN_STARTUP_DELAY, here 0s).
 */
export function standinPod(opts: {
  readonly name: string;
  readonly namespace: string;
  /** `<registry.host>/<tenant>/<service>:<tag>` (as pushed). */
  readonly image: string;
  readonly labels?: Record<string, string>;
}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: opts.name, namespace: opts.namespace, labels: opts.labels ?? {} },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 5,
      securityContext: { runAsNonRoot: true, runAsUser: MI_UID, runAsGroup: MI_UID, fsGroup: MI_UID },
      containers: [
        {
          name: "standin",
          image: opts.image,
          imagePullPolicy: "Always",
          command: [STANDIN_IN_IMAGE, "serve", "--standalone"],
          env: [
            { name: "STANDIN_STARTUP_DELAY", value: "0s" },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          ],
          ports: Object.entries(MI_PORTS).map(([name, containerPort]) => ({ name, containerPort })),
          readinessProbe: { httpGet: { path: "/healthz", port: MI_PORTS.internal }, periodSeconds: 1 },
          resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
          securityContext: CHART_SECURITY_CONTEXT,
        },
      ],
    },
  };
}

/**
 * `kubectl exec POD -- …` arguments that try one connection from inside a stand-in pod: exit 0 when it
 * connects (tcp) or answers 2xx (http), 1 when not, within `timeout` (default 2s).
 */
export function probeCommand(kind: "tcp" | "http", target: string, timeout = "2s"): string[] {
  return [STANDIN_IN_IMAGE, "probe", "-timeout", timeout, kind, target];
}

/**
 * The data of the Secret `<service>-mi-keystore` that cert-manager would write from the platform's
 * Certificate (keystore.jks under the service's keystore password, ca.crt, tls.crt, tls.key) — a STAND-IN:
 * a throwaway CA and a service certificate from openssl, and a JKS keystore written by the stand-in's
 * keytool (it holds the service certificate as a trusted entry; the stand-in reads no key from it, only
 * checks the store's integrity under the password, as MI would fail to open it otherwise).
 */
export function standinKeystoreSecret(opts: {
  /** The stand-in program on the host (`standinBinary(dir)`). */
  readonly binary: string;
  readonly namespace: string;
  readonly service: string;
  readonly keystorePassword: string;
}): Record<string, unknown> {
  const work = mkdtempSync(join(tmpdir(), "imaas-standin-keystore-"));
  try {
    const ossl = (args: string[]) =>
      execFileSync("openssl", args, { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
    const dns = `${opts.service}.${opts.namespace}.svc`;
    ossl(
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
      ].concat(["-subj", "/CN=imaas sandbox stand-in internal CA"]),
    );
    ossl([
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "tls.key",
      "-out",
      "tls.csr",
      "-subj",
      `/CN=${dns}`,
    ]);
    ossl(
      ["x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"].concat([
        "-out",
        "tls.crt",
        "-days",
        "2",
      ]),
    );
    execFileSync(
      opts.binary,
      [
        "keytool",
        "-importcert",
        "-noprompt",
        "-alias",
        "mi",
        "-file",
        "tls.crt",
        "-keystore",
        "keystore.jks",
      ].concat(["-storetype", "JKS", "-storepass:env", "IMAAS_KEYSTORE_PASSWORD"]),
      {
        cwd: work,
        env: { IMAAS_KEYSTORE_PASSWORD: opts.keystorePassword },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const b64 = (f: string) => readFileSync(join(work, f)).toString("base64");
    return {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: miKeystoreName(opts.service),
        namespace: opts.namespace,
        annotations: { "imaas.io/stand-in": "written by the data-plane test in place of cert-manager" },
      },
      type: "kubernetes.io/tls",
      data: {
        "keystore.jks": b64("keystore.jks"),
        "ca.crt": b64("ca.crt"),
        "tls.crt": b64("tls.crt"),
        "tls.key": b64("tls.key"),
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * For every service of every tenant namespace whose credentials Secret exists but whose keystore Secret
 * does not (no cert-manager in the sandbox), writes the stand-in keystore Secret. Returns
 * `<namespace>/<secret>` of each one written. Used by the tests and by `npm run sandbox` (the CLI below).
 */
export function writeStandinKeystores(ctx: PartContext): string[] {
  const secrets = JSON.parse(
    kubectl(ctx, ["get", "secrets", "--all-namespaces", "-l", "imaas.io/tenant", "-o", "json"]),
  ) as { items: { metadata: { name: string; namespace: string }; data?: Record<string, string> }[] };
  const have = new Set(secrets.items.map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
  // The keystore Secret cert-manager writes carries the tenant labels too; look for it without them as well.
  const written: string[] = [];
  for (const s of secrets.items) {
    const service = s.metadata.name.match(/^(.+)-mi-credentials$/)?.[1];
    const password = s.data?.["keystore-password"];
    if (!service || !password) continue;
    const ns = s.metadata.namespace;
    const name = miKeystoreName(service);
    if (have.has(`${ns}/${name}`)) continue;
    const exists = kubectl(ctx, ["-n", ns, "get", "secret", name, "--ignore-not-found", "-o", "name"]).trim();
    if (exists) continue;
    const secret = standinKeystoreSecret({
      binary: standinBinary(ctx.dir),
      namespace: ns,
      service,
      keystorePassword: Buffer.from(password, "base64").toString("utf8"),
    });
    kubectl(ctx, ["apply", "-f", "-"], JSON.stringify(secret));
    written.push(`${ns}/${name}`);
  }
  return written;
}

// `tsx e2e/dataplane/standin.ts keystores`: the stand-in keystore Secrets of the sandbox in
// $IMAAS_SANDBOX_DIR (default <repo>/.sandbox), for `npm run sandbox` after `pulumi up`.
if (require.main === module) {
  const [command] = process.argv.slice(2);
  if (command !== "keystores") {
    process.stderr.write("usage: tsx e2e/dataplane/standin.ts keystores\n");
    process.exit(2);
  }
  const repo = join(__dirname, "../..");
  const ctx: PartContext = {
    repo,
    dir: process.env.IMAAS_SANDBOX_DIR || join(repo, ".sandbox"),
    toolsDir: process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"),
    log: (m) => process.stderr.write(`${m}\n`),
  };
  try {
    if (!existsSync(join(ctx.dir, "kubeconfig")))
      throw new Error(`no sandbox in ${ctx.dir} (no kubeconfig there): start it first (npm run sandbox)`);
    const written = writeStandinKeystores(ctx);
    process.stderr.write(
      `stand-in keystore Secrets (in place of cert-manager): ${written.length ? written.join(", ") : "none missing"}\n`,
    );
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    process.stderr.write(`ERROR: ${(e.stderr || e.message).trim()}\n`);
    process.exit(1);
  }
}

/**
 * Starts `names` (one of them "node") like the orchestrator's `startParts`, but takes the machine's one
 * node last and waits for it: the other parts first, then — waiting (bounded) while another sandbox holds
 * the node, and again if another suite takes it between the wait and the start — the node. On a failure
 * everything started is stopped again. Returns the parts in start order, for `stopParts`.
 */
export async function startPartsWithNode(
  ctx: PartContext,
  names: readonly string[],
  all: readonly Part[],
  waitMs = 20 * 60_000,
): Promise<Part[]> {
  const node = all.find((p) => p.name === "node");
  if (!node) throw new Error("no node part among the sandbox's parts");
  const others = names.filter((n) => n !== "node");
  // The node's needs first: parts stop in reverse start order, and the control plane's stop removes the
  // sandbox's folder (with the other parts' records), so it must come last.
  const started = await startParts(ctx, [...node.needs, ...others], all);
  // The node's needs are up: start it on its own (a copy that needs nothing, so nothing starts twice).
  const alone: Part = { ...node, needs: [] };
  const deadline = Date.now() + waitMs;
  try {
    for (;;) {
      await waitForNodeLock(ctx.dir, Math.max(0, deadline - Date.now()), ctx.log);
      try {
        started.push(...(await startParts(ctx, ["node"], [alone])));
        return started;
      } catch (err) {
        const taken = /another sandbox runs this machine's node/.test((err as Error).message);
        if (!taken || Date.now() > deadline) throw err;
        ctx.log("the node was taken by another sandbox between the wait and the start: waiting again");
      }
    }
  } catch (err) {
    await stopParts(ctx, started).catch(() => undefined);
    throw err;
  }
}
