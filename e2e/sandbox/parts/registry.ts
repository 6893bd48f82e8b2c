/**
 * The sandbox's image registry: Debian's `docker-registry` (CNCF distribution 2.8) on a loopback port with
 * its own config and storage under `<dir>/parts/registry/`, holding the STAND-IN MI image
 * (e2e/images/mi-standin — not MI) under the names the platform gives service images,
 * `<registry.host>/<tenant>/<service>:<tag>`, for every service of the tenant files. No public registry is
 * involved: the image is built locally with umoci and pushed with skopeo.
 *
 * Containerd reaches it through its registry-host configuration: the part writes
 * `<dir>/parts/registry/certs.d/<registry.host>/hosts.toml` (server http://127.0.0.1:<port>, pull and
 * resolve), which the node part points containerd's `config_path` at — so the platform's own image names,
 * its admission rule (images only from `<registry.host>/<tenant>/`) and pull policy `Always` hold unchanged.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatError, loadTenantDir } from "../../../model/load";
import { imageRepository } from "../../../model/naming";
import { platformConfigOf, readStackConfig } from "../../../model/stack-file";
import type { Part, PartContext } from "./part";
import {
  allRunning,
  freePort,
  isRunning,
  logTail,
  recordedProcesses,
  spawnRecorded,
  stopRecorded,
  waitFor,
} from "./process";

/** The tag CI's first build writes in the sandbox (git-world's firstBuildTag, cli.ts's default). */
export const FIRST_BUILD_TAG = "0.1.0-sandbox";
/** The second tag pushed for every service: what a rollout moves to. */
export const ROLLOUT_TAG = "0.2.0-sandbox";

export const registryPartDir = (dir: string): string => join(dir, "parts", "registry");
/** Folder containerd's `config_path` points at (`<host>/hosts.toml` below it). */
export const registryHostsDir = (dir: string): string => join(registryPartDir(dir), "certs.d");
/** OCI layout of the stand-in image (tag `base`, plus one tag per pushed image). */
const layoutDir = (dir: string) => join(registryPartDir(dir), "standin-oci");
/** The stand-in program built for this machine: tests use it on the host (its `keytool`, its `probe`). */
export const standinBinary = (dir: string): string => join(registryPartDir(dir), "mi-standin");

/** `127.0.0.1:<port>` of the running registry. */
export function registryAddress(dir: string): string {
  const file = join(registryPartDir(dir), "port");
  if (!existsSync(file)) throw new Error(`the registry part is not running in ${dir} (no ${file})`);
  return `127.0.0.1:${readFileSync(file, "utf8").trim()}`;
}

/** The platform's registry host (`imaas:registry.host` of the committed sandbox stack). */
export function platformRegistryHost(repo: string): string {
  return platformConfigOf(readStackConfig(repo, "sandbox")).registry.host;
}

/** containerd's hosts.toml: every pull of `host` goes to the loopback registry over plain HTTP. */
export function hostsToml(address: string): string {
  return [
    "# Written by the sandbox's registry part (e2e/sandbox/parts/registry.ts): the platform's registry host",
    "# is served by the loopback registry, plain HTTP.",
    `server = "http://${address}"`,
    "",
    `[host."http://${address}"]`,
    '  capabilities = ["pull", "resolve"]',
    "",
  ].join("\n");
}

function run(file: string, args: readonly string[], what: string): string {
  try {
    return execFileSync(file, args as string[], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${what}: ${file} ${args.join(" ")} failed: ${(e.stderr || e.message).trim()}`);
  }
}

/** Debian packages the part runs (docker-registry; umoci, skopeo and busybox-static for the image). */
const PACKAGES = ["docker-registry", "umoci", "skopeo", "busybox-static"];

function ensurePackages(ctx: PartContext): void {
  const missing = PACKAGES.filter((p) => {
    try {
      return (
        // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
        execFileSync("dpkg-query", ["-W", "-f", "${Status}", p], { encoding: "utf8" }) !==
        "install ok installed"
      );
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get"))
    throw new Error(
      `registry: Debian packages ${missing.join(", ")} are missing (apt-get install ${missing.join(" ")})`,
    );
  ctx.log(`registry: apt-get install ${missing.join(" ")}`);
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"] });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/** Builds the stand-in image into the part's OCI layout (and the program beside it). */
export function buildStandin(ctx: PartContext): void {
  const t = Date.now();
  execFileSync(
    "bash",
    [join(ctx.repo, "e2e/images/mi-standin/build-image.sh"), layoutDir(ctx.dir), standinBinary(ctx.dir)],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  ctx.log(`registry: stand-in MI image built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

export interface PushedImage {
  /** `<registry.host>/<tenant>/<service>:<tag>`: the name pods use. */
  readonly image: string;
  /** Digest of the pushed manifest. */
  readonly digest: string;
}

/**
 * Pushes the stand-in under `<registry.host>/<tenant>/<service>:<tag>` to the running registry. Each image
 * gets its own config (IMAAS_STANDIN_TAG and IMAAS_STANDIN_IMAGE), so the stand-in names its tag in every
 * answer and two tags have different digests. `host` defaults to the platform's registry host.
 */
export function pushStandin(
  dir: string,
  ref: { readonly tenant: string; readonly service: string; readonly tag: string },
  host?: string,
): PushedImage {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(ref.tag))
    throw new Error(`"${ref.tag}" is not an image tag`);
  const registryHost = host ?? platformRegistryHost(join(__dirname, "../../.."));
  const repository = imageRepository(registryHost, ref.tenant, ref.service);
  const layout = layoutDir(dir);
  if (!existsSync(join(layout, "index.json")))
    throw new Error(`no stand-in image in ${layout}: the registry part builds it`);
  const local = `${ref.tenant}_${ref.service}_${ref.tag}`;
  run(
    "umoci",
    [
      "config",
      "--image",
      `${layout}:base`,
      "--tag",
      local,
      "--config.env",
      `IMAAS_STANDIN_TAG=${ref.tag}`,
      "--config.env",
      `IMAAS_STANDIN_IMAGE=${repository}`,
      "--history.comment",
      `mi-standin as ${repository}:${ref.tag}`,
    ],
    "stand-in image config",
  );
  const digestFile = join(registryPartDir(dir), `${local}.digest`);
  run(
    "skopeo",
    [
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--digestfile",
      digestFile,
      `oci:${layout}:${local}`,
      `docker://${registryAddress(dir)}/${ref.tenant}/${ref.service}:${ref.tag}`,
    ],
    `push of ${repository}:${ref.tag}`,
  );
  const digest = readFileSync(digestFile, "utf8").trim();
  rmSync(digestFile, { force: true });
  return { image: `${repository}:${ref.tag}`, digest };
}

export interface RegistryOptions {
  /** Tenant files whose services get images. @default `$IMAAS_TENANTS_DIR` or `<repo>/tenants` */
  readonly tenantsDir?: string;
  /** CI's first-build tag of the sandbox (git-world's `firstBuildTag`). @default FIRST_BUILD_TAG */
  readonly firstBuildTag?: string;
  /** Tags pushed for every service. @default [firstBuildTag, ROLLOUT_TAG] */
  readonly tags?: readonly string[];
}

/** GET /v2/ answers 200 with the distribution API header. */
async function apiServes(address: string): Promise<boolean> {
  const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2000) });
  return res.status === 200 && res.headers.get("docker-distribution-api-version") === "registry/2.0";
}

export function registryPart(opts: RegistryOptions = {}): Part {
  return {
    name: "registry",
    needs: [],
    tools: [],
    async start(ctx) {
      const dir = registryPartDir(ctx.dir);
      if (allRunning(dir)) {
        ctx.log("registry: already running");
        return;
      }
      await this.stop(ctx);
      ensurePackages(ctx);
      const host = platformRegistryHost(ctx.repo);
      const tenantsDir = opts.tenantsDir ?? process.env.IMAAS_TENANTS_DIR ?? join(ctx.repo, "tenants");
      const cfg = platformConfigOf(readStackConfig(ctx.repo, "sandbox"));
      const loaded = loadTenantDir(tenantsDir, cfg);
      if (loaded.errors.length > 0) throw new Error(loaded.errors.map(formatError).join("\n"));
      mkdirSync(join(dir, "storage"), { recursive: true });
      const port = await freePort();
      const config = [
        "# The sandbox's registry (e2e/sandbox/parts/registry.ts): loopback only, plain HTTP, no auth.",
        "version: 0.1",
        "log:",
        "  level: info",
        "  formatter: text",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${join(dir, "storage")}`,
        "  delete:",
        "    enabled: true",
        "  maintenance:",
        "    uploadpurging:",
        "      enabled: false",
        "http:",
        `  addr: 127.0.0.1:${port}`,
        `  secret: sandbox-${port}-${Date.now()}`,
        "",
      ].join("\n");
      writeFileSync(join(dir, "config.yml"), config);
      writeFileSync(join(dir, "port"), `${port}\n`);
      spawnRecorded("docker-registry", ["/usr/bin/docker-registry", "serve", join(dir, "config.yml")], {
        env: { PATH: "/usr/bin:/bin" },
        cwd: dir,
        dir,
      });
      await this.ready(ctx);
      const hostsDir = join(registryHostsDir(ctx.dir), host);
      mkdirSync(hostsDir, { recursive: true });
      writeFileSync(join(hostsDir, "hosts.toml"), hostsToml(`127.0.0.1:${port}`));
      buildStandin(ctx);
      const tags = opts.tags ?? [opts.firstBuildTag || FIRST_BUILD_TAG, ROLLOUT_TAG];
      const t = Date.now();
      let n = 0;
      for (const tenant of loaded.tenants)
        for (const service of tenant.services)
          for (const tag of tags) {
            pushStandin(ctx.dir, { tenant: tenant.name, service: service.name, tag }, host);
            n++;
          }
      ctx.log(
        `registry: http://127.0.0.1:${port} serves ${host}; ${n} stand-in images pushed (tags ${tags.join(", ")}) in ${((Date.now() - t) / 1000).toFixed(1)} s; containerd hosts ${hostsDir}/hosts.toml`,
      );
    },
    async ready(ctx) {
      const dir = registryPartDir(ctx.dir);
      const [rec] = recordedProcesses(dir);
      await waitFor("the registry's /v2/", () => apiServes(registryAddress(ctx.dir)), {
        timeoutMs: 20_000,
        alive: () =>
          rec && isRunning(rec)
            ? undefined
            : `docker-registry exited:\n${logTail(join(dir, "docker-registry.log"))}`,
      });
    },
    async stop(ctx) {
      const dir = registryPartDir(ctx.dir);
      for (const rec of recordedProcesses(dir)) await stopRecorded(dir, rec);
      if (!existsSync(dir)) return;
      for (const f of ["storage", "standin-oci", "certs.d", "port", "mi-standin"])
        rmSync(join(dir, f), { recursive: true, force: true });
    },
  };
}
