/**
 * What ran when, and going back: `imaas history` reads an environment branch's first-parent history of
 * `deploy/values.yaml` (each commit where the image changed is one release: CI's tag commit on the build
 * branch, a promotion merge on the others); `imaas rollback` writes the GitOps change that returns the
 * branch to an earlier release — a commit on an unprotected branch, a branch to open a pull request from
 * on a protected one — after checking that the registry still holds the image.
 *
 * Git is the user's own `git` (their credentials, their credential helper); the registry is asked through
 * the OCI distribution API (`HEAD /v2/<name>/manifests/<tag>`, with the Bearer token flow Harbor uses).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import type { Environment } from "../model/environments";
import {
  applicationName,
  branchName,
  gitUrlBase,
  imageRepository,
  repositoryName,
  repositoryUrl,
} from "../model/naming";
import type { PlatformConfig } from "../model/platform-config";
import type { TenantSpec } from "../model/spec";

/** `deploy/values.yaml` on every environment branch (components/mi-service/pipeline.ts VALUES_FILE). */
export const RELEASE_VALUES_FILE = "deploy/values.yaml";
/** Keeps a rollback commit from starting a build (the marker CI's own tag commits carry). */
export const ROLLBACK_SKIP_CI = "[skip ci]";

/** Invalid input or a refused rollback: printed without a stack trace, exit 1. */
export class ReleaseError extends Error {}

/** One service environment a release command works on, named by the program's own functions. */
export interface ReleaseTarget {
  readonly tenant: string;
  readonly service: string;
  readonly env: Environment;
  readonly repoUrl: string;
  readonly branch: string;
  /** Protected branches (every environment after the first) change through pull requests only. */
  readonly protected: boolean;
  /** `<registry>/<tenant>/<service>`. */
  readonly image: string;
  readonly application: string;
  /** Where a pull request is opened, for repos on GitHub (or GitHub Enterprise); undefined for other hosts. */
  readonly webUrl?: string;
}

/** Resolves `<tenant>/<service>` and `env` against the tenant files, or a ReleaseError naming the choices. */
export function releaseTarget(
  tenants: readonly TenantSpec[],
  cfg: PlatformConfig,
  ref: string,
  env: string,
): ReleaseTarget {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(ref);
  if (!m)
    throw new ReleaseError(`"${ref}": name the service as <tenant>/<service>, e.g. payroll/salary-sync`);
  const [, tenantName, serviceName] = m as unknown as [string, string, string];
  const tenant = tenants.find((t) => t.name === tenantName);
  if (!tenant) {
    throw new ReleaseError(
      `"${ref}": no tenant "${tenantName}"; tenants: ${tenants.map((t) => t.name).join(", ") || "none"}`,
    );
  }
  const service = tenant.services.find((s) => s.name === serviceName);
  if (!service) {
    throw new ReleaseError(
      `"${ref}": tenant ${tenantName} has no service "${serviceName}"; its services: ${tenant.services.map((s) => s.name).join(", ")}`,
    );
  }
  const envs = service.environments as readonly Environment[];
  if (!(envs as readonly string[]).includes(env)) {
    throw new ReleaseError(`--env ${env}: ${ref} runs in ${envs.join(", ")} only`);
  }
  const e = env as Environment;
  const base = gitUrlBase(cfg.github.owner, cfg.github.urlBase);
  const web = /^https:\/\/[^/]+\/[^/]+$/.test(base) ? base : undefined;
  return {
    tenant: tenantName,
    service: serviceName,
    env: e,
    repoUrl: repositoryUrl(cfg.github.owner, tenantName, serviceName, cfg.github.urlBase),
    branch: branchName(e),
    // As components/mi-service/github.ts protects them: every environment after the service's first.
    protected: envs.indexOf(e) > 0,
    image: imageRepository(cfg.registry.host, tenantName, serviceName),
    application: applicationName(tenantName, serviceName, e),
    ...(web ? { webUrl: `${web}/${repositoryName(tenantName, serviceName)}` } : {}),
  };
}

// --- History ---------------------------------------------------------------------------------------------

/** One release of an environment: a commit of the branch's first-parent line where the image changed. */
export interface Release {
  readonly commit: string;
  /** Committer date, ISO 8601: when the branch (and so Argo CD) moved to this image. */
  readonly date: string;
  readonly author: string;
  readonly subject: string;
  /** `image.tag` of deploy/values.yaml ("" when unset). */
  readonly tag: string;
  /** `image.digest` ("" when unset); wins over the tag in the chart. */
  readonly digest: string;
}

export interface History {
  readonly target: ReleaseTarget;
  /** Newest first; the first entry is what the branch deploys now. */
  readonly releases: readonly Release[];
  /** True when `limit` cut older commits off. */
  readonly truncated: boolean;
}

/** Runs git; failures become ReleaseErrors with git's own message. */
export type Git = (args: readonly string[], cwd: string) => string;

export const runGit: Git = (args, cwd) => {
  try {
    return execFileSync("git", [...args], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, GIT_TERMINAL_PROMPT: "0" },
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new ReleaseError(`git ${args[0]}: ${(e.stderr || e.message).trim()}`);
  }
};

/** The image of one version of deploy/values.yaml (absent or unparsable: no image). */
export function imageOf(valuesText: string | undefined): { tag: string; digest: string } {
  if (valuesText === undefined) return { tag: "", digest: "" };
  let doc: unknown;
  try {
    doc = YAML.parse(valuesText);
  } catch {
    return { tag: "", digest: "" };
  }
  const image = (doc as { image?: { tag?: unknown; digest?: unknown } } | null)?.image;
  const str = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : "");
  return { tag: str(image?.tag), digest: str(image?.digest) };
}

/** A working clone of the target's branch in a temporary folder; `done()` removes it. */
export function cloneBranch(t: ReleaseTarget, git: Git = runGit): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "imaas-release-"));
  const done = () => rmSync(dir, { recursive: true, force: true });
  try {
    git(["clone", "--quiet", "--no-tags", "--single-branch", "--branch", t.branch, t.repoUrl, "repo"], dir);
  } catch (err) {
    done();
    throw new ReleaseError(
      `cannot read ${t.repoUrl} branch ${t.branch}: ${(err as Error).message.replace(/^git clone: /, "")}`,
    );
  }
  return { dir: join(dir, "repo"), done };
}

/** Releases of the checked-out branch in `repo`, newest first, from at most `limit` first-parent commits. */
export function readHistory(t: ReleaseTarget, repo: string, limit: number, git: Git = runGit): History {
  const log = git(
    ["log", "--first-parent", `--max-count=${limit + 1}`, "--format=%H%x1f%cI%x1f%an%x1f%s", "HEAD"],
    repo,
  )
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [commit, date, author, subject] = line.split("\x1f") as [string, string, string, string];
      return { commit, date, author, subject };
    });
  const truncated = log.length > limit;
  const valuesAt = (commit: string): string | undefined => {
    try {
      return git(["show", `${commit}:${RELEASE_VALUES_FILE}`], repo);
    } catch {
      return undefined; // no values file in that commit
    }
  };
  // One commit more than the limit is read, so the oldest commit shown is compared with its parent too.
  const images = log.map((c) => imageOf(valuesAt(c.commit)));
  const releases: Release[] = [];
  for (let i = 0; i < Math.min(limit, log.length); i++) {
    const img = images[i]!;
    const older = images[i + 1];
    const changed = older === undefined || older.tag !== img.tag || older.digest !== img.digest;
    if (!changed || (img.tag === "" && img.digest === "")) continue; // no image: a fresh repo, or the tag removed
    releases.push({ ...log[i]!, ...img });
  }
  return { target: t, releases, truncated };
}

// --- The registry ----------------------------------------------------------------------------------------

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
}

/** `image:tag` held or not; throws ReleaseError when the registry cannot be asked. */
export type RegistryCheck = (image: string, reference: string) => Promise<boolean>;

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** The `key="value"` parameters of a `WWW-Authenticate: Bearer …` challenge. */
export function bearerChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^Bearer\s/i.test(header)) return undefined;
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([A-Za-z]+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  return params;
}

/**
 * Asks the registry at `baseUrl` (e.g. https://registry.example.com) for a manifest with the OCI
 * distribution API. A 401 with a Bearer challenge gets a pull token from the challenge's realm (with
 * `credentials` as basic auth when given), as docker and Harbor do; a 401 with a Basic challenge is
 * answered with basic auth.
 */
export function registryCheck(baseUrl: string, credentials?: RegistryCredentials): RegistryCheck {
  const base = baseUrl.replace(/\/+$/, "");
  const basic = credentials
    ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`
    : undefined;
  const ask = async (url: string, init: RequestInit): Promise<Response> => {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ReleaseError(
        `cannot reach the registry at ${base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      );
    }
  };
  return async (image, reference) => {
    const name = image.slice(image.indexOf("/") + 1); // drop the registry host
    const url = `${base}/v2/${name}/manifests/${encodeURIComponent(reference)}`;
    const headers: Record<string, string> = { Accept: MANIFEST_TYPES };
    let res = await ask(url, { method: "HEAD", headers });
    if (res.status === 401) {
      const challenge = bearerChallenge(res.headers.get("www-authenticate"));
      if (challenge?.realm) {
        const q = new URLSearchParams();
        if (challenge.service) q.set("service", challenge.service);
        q.set("scope", challenge.scope ?? `repository:${name}:pull`);
        const tokenRes = await ask(`${challenge.realm}?${q}`, {
          headers: basic ? { Authorization: basic } : {},
        });
        if (!tokenRes.ok) {
          throw new ReleaseError(
            `the registry refused a pull token for ${name} (HTTP ${tokenRes.status}); set IMAAS_REGISTRY_USERNAME and IMAAS_REGISTRY_PASSWORD to a robot account that can pull it`,
          );
        }
        const body = (await tokenRes.json()) as { token?: string; access_token?: string };
        const token = body.token ?? body.access_token;
        if (!token) throw new ReleaseError(`the registry's token service answered without a token`);
        res = await ask(url, { method: "HEAD", headers: { ...headers, Authorization: `Bearer ${token}` } });
      } else if (basic) {
        res = await ask(url, { method: "HEAD", headers: { ...headers, Authorization: basic } });
      }
    }
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    if (res.status === 401 || res.status === 403) {
      throw new ReleaseError(
        `the registry refused to show ${image}:${reference} (HTTP ${res.status}); set IMAAS_REGISTRY_USERNAME and IMAAS_REGISTRY_PASSWORD to a robot account that can pull it`,
      );
    }
    throw new ReleaseError(`the registry answered HTTP ${res.status} for ${image}:${reference}`);
  };
}

// --- Rollback --------------------------------------------------------------------------------------------

export interface RollbackOptions {
  /** The tag to return to; default: the release before the current one. */
  readonly to?: string;
  readonly check: RegistryCheck;
  /** Print what would change, push nothing. */
  readonly dryRun?: boolean;
  readonly limit?: number;
  readonly git?: Git;
}

export interface RollbackResult {
  readonly target: ReleaseTarget;
  readonly from: Release;
  readonly to: Release;
  /** The commit written (also in a dry run: it exists only in the temporary clone then). */
  readonly commit: string;
  /** Unprotected branch: the branch itself; protected: the branch to open a pull request from. */
  readonly pushedTo?: string;
  /** Protected branches: the pull request to open (GitHub hosts) or the merge to make. */
  readonly pullRequest?: { readonly url?: string; readonly command: string };
}

const refOf = (r: Pick<Release, "tag" | "digest">) => r.digest || r.tag;
const show = (r: Pick<Release, "tag" | "digest">) =>
  r.digest ? `${r.tag || "(no tag)"}@${r.digest}` : r.tag;

/** Branch a protected environment's rollback is pushed to. */
export const rollbackBranch = (env: Environment, tag: string): string =>
  `imaas/rollback-${env}-${tag.replace(/[^A-Za-z0-9._-]/g, "-")}`;

/**
 * Returns `t`'s environment to an earlier release: refuses a tag the environment never ran, the release it
 * runs now, and an image the registry no longer holds; then writes the earlier image into
 * deploy/values.yaml (comments and other keys kept) in one commit and pushes it.
 */
export async function rollback(t: ReleaseTarget, opts: RollbackOptions): Promise<RollbackResult> {
  const git = opts.git ?? runGit;
  const clone = cloneBranch(t, git);
  try {
    const history = readHistory(t, clone.dir, opts.limit ?? 200, git);
    const [current, ...earlier] = history.releases;
    if (!current) {
      throw new ReleaseError(
        `${t.tenant}/${t.service} has never run an image in ${t.env}: nothing to roll back`,
      );
    }
    const head = imageOf(readFileSync(join(clone.dir, RELEASE_VALUES_FILE), "utf8"));
    if (head.tag !== current.tag || head.digest !== current.digest) {
      throw new ReleaseError(
        `${RELEASE_VALUES_FILE} on ${t.branch} does not match its own history; look at it by hand`,
      );
    }
    const choices = () =>
      [...new Set(earlier.map(show))].filter((s) => s !== show(current)).join(", ") || "none";
    let to: Release | undefined;
    if (opts.to === undefined) {
      to = earlier.find((r) => refOf(r) !== refOf(current));
      if (!to)
        throw new ReleaseError(
          `${t.env} has run only ${show(current)}: there is no earlier release to return to`,
        );
    } else {
      if (opts.to === current.tag || opts.to === current.digest) {
        throw new ReleaseError(`${t.env} already runs ${show(current)}`);
      }
      to = earlier.find((r) => r.tag === opts.to || r.digest === opts.to);
      if (!to) {
        throw new ReleaseError(
          `--to ${opts.to}: ${t.env} never ran it${history.truncated ? " in the commits read" : ""}; earlier releases there: ${choices()}`,
        );
      }
    }
    if (!(await opts.check(t.image, refOf(to)))) {
      throw new ReleaseError(
        `${t.image}:${show(to)} is no longer in the registry (its retention policy or someone removed it), so ${t.env} could not pull it; earlier releases of ${t.env}: ${choices()}`,
      );
    }

    // The change: the earlier image in deploy/values.yaml, everything else as it is.
    const file = join(clone.dir, RELEASE_VALUES_FILE);
    const doc = YAML.parseDocument(readFileSync(file, "utf8"));
    doc.setIn(["image", "tag"], to.tag);
    if (to.digest) doc.setIn(["image", "digest"], to.digest);
    else if (doc.hasIn(["image", "digest"])) doc.deleteIn(["image", "digest"]);
    writeFileSync(file, doc.toString());
    const message =
      `rollback: ${t.env} to ${t.image}:${show(to)} (was ${show(current)}) ${ROLLBACK_SKIP_CI}\n\n` +
      `Returns ${t.env} to the release of ${to.commit.slice(0, 12)} (${to.date}).\n`;
    const identity = (key: string, fallback: string) => {
      try {
        return git(["config", key], clone.dir).trim() || fallback;
      } catch {
        return fallback;
      }
    };
    git(
      [
        "-c",
        `user.name=${identity("user.name", "imaas rollback")}`,
        "-c",
        `user.email=${identity("user.email", "imaas-rollback@users.noreply.github.com")}`,
        "commit",
        "--quiet",
        "-m",
        message,
        "--",
        RELEASE_VALUES_FILE,
      ],
      clone.dir,
    );
    const commit = git(["rev-parse", "HEAD"], clone.dir).trim();
    const result = { target: t, from: current, to, commit };
    if (!t.protected) {
      if (!opts.dryRun) git(["push", "--quiet", "origin", `HEAD:refs/heads/${t.branch}`], clone.dir);
      return { ...result, pushedTo: t.branch };
    }
    const branch = rollbackBranch(t.env, to.tag || to.digest);
    if (!opts.dryRun) git(["push", "--quiet", "--force", "origin", `HEAD:refs/heads/${branch}`], clone.dir);
    const title = `rollback: ${t.env} to ${show(to)}`;
    return {
      ...result,
      pushedTo: branch,
      pullRequest: t.webUrl
        ? {
            url: `${t.webUrl}/compare/${t.branch}...${branch}?expand=1`,
            command: `gh pr create --repo ${t.webUrl.replace(/^https:\/\/[^/]+\//, "")} --base ${t.branch} --head ${branch} --title ${JSON.stringify(title)}`,
          }
        : { command: `git merge --ff-only origin/${branch}   # on ${t.branch}, after review` },
    };
  } finally {
    clone.done();
  }
}
