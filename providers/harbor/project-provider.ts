// Dynamic provider for Harbor projects: the CRUD logic behind `HarborProject`.
// Serialized by value by Pulumi: reference only this folder's plain modules and Node built-ins.
import type * as pulumi from "@pulumi/pulumi";
import { type HarborConnection, harborRequest, isHarborStatus } from "./client";
import { type CheckFailure, checkConnection, connectionOf, isUnknown } from "./connection";
import { compact, diffProperties } from "./diff";
import { HARBOR_NAME_PATTERN } from "./names";

/** Vulnerability severities Harbor accepts for `prevent_vul`/`severity`. */
export const SEVERITIES = ["none", "low", "medium", "high", "critical"] as const;
export type HarborSeverity = (typeof SEVERITIES)[number];

/** Harbor's largest storage quota: 1024 TiB. */
export const MAX_STORAGE_LIMIT_BYTES = 1024 * 2 ** 40;

/** Inputs of a project after `check` (defaults filled in). */
export interface ProjectInputs extends HarborConnection {
  readonly name: string;
  readonly private: boolean;
  /** Storage quota in bytes (-1 unlimited); absent: the quota is not managed and `/quotas` is never called. */
  readonly storageLimitBytes?: number;
  readonly autoScan: boolean;
  readonly preventVulnerable?: HarborSeverity;
  readonly forceDestroy: boolean;
}

/** State of a project: its inputs as last applied or read, plus Harbor's id. */
export interface ProjectOutputs extends ProjectInputs {
  readonly projectId: number;
}

/** The part of Harbor's `Project` model the provider reads. */
interface HarborProjectModel {
  project_id: number;
  name: string;
  repo_count?: number;
  metadata?: Record<string, string | undefined>;
}

interface HarborQuotaModel {
  id: number;
  hard?: Record<string, number>;
}

interface HarborRepositoryModel {
  name: string;
  artifact_count?: number;
}

const REPLACE_KEYS = ["url", "name"] as const;
const UPDATE_KEYS = [
  "private",
  "storageLimitBytes",
  "autoScan",
  "preventVulnerable",
  "forceDestroy",
  "username",
  "password",
] as const;

/** Validates inputs and fills defaults: private true, quota not managed, scan on push, no pull blocking. */
export function checkProject(news: Record<string, unknown>): {
  inputs: ProjectInputs;
  failures: CheckFailure[];
} {
  const failures: CheckFailure[] = [];
  const conn = checkConnection(news, failures);
  const name = news.name;
  if (
    typeof name !== "string" ||
    (!isUnknown(name) && (name.length > 255 || !HARBOR_NAME_PATTERN.test(name)))
  ) {
    failures.push({
      property: "name",
      reason: `project name ${JSON.stringify(name)} must be 1-255 lower-case letters and digits, separated by single ".", "_" or "-"`,
    });
  }
  const storage = news.storageLimitBytes;
  if (
    storage !== undefined &&
    !isUnknown(storage) &&
    (!Number.isInteger(storage) ||
      ((storage as number) < 1 && storage !== -1) ||
      (storage as number) > MAX_STORAGE_LIMIT_BYTES)
  ) {
    failures.push({
      property: "storageLimitBytes",
      reason: `storageLimitBytes must be -1 (unlimited) or a whole number of bytes from 1 to 1024 TiB, got ${JSON.stringify(storage)}`,
    });
  }
  const severity = news.preventVulnerable;
  if (severity !== undefined && !isUnknown(severity) && !SEVERITIES.includes(severity as HarborSeverity)) {
    failures.push({
      property: "preventVulnerable",
      reason: `preventVulnerable must be one of ${SEVERITIES.join(", ")}, got ${JSON.stringify(severity)}`,
    });
  }
  for (const key of ["private", "autoScan", "forceDestroy"] as const) {
    const v = news[key];
    if (v !== undefined && typeof v !== "boolean" && !isUnknown(v)) {
      failures.push({ property: key, reason: `${key} must be true or false, got ${JSON.stringify(v)}` });
    }
  }
  const inputs: ProjectInputs = compact({
    ...conn,
    name: name as string,
    private: (news.private ?? true) as boolean,
    storageLimitBytes: storage as number | undefined,
    autoScan: (news.autoScan ?? true) as boolean,
    preventVulnerable: severity as HarborSeverity | undefined,
    forceDestroy: (news.forceDestroy ?? false) as boolean,
  });
  return { inputs, failures };
}

/** Harbor project metadata for the inputs (Harbor stores every value as a string). */
export function projectMetadata(inputs: ProjectInputs): Record<string, string> {
  return {
    public: String(!inputs.private),
    auto_scan: String(inputs.autoScan),
    prevent_vul: String(inputs.preventVulnerable !== undefined),
    ...(inputs.preventVulnerable !== undefined ? { severity: inputs.preventVulnerable } : {}),
  };
}

async function getProject(
  conn: HarborConnection,
  id: number | string,
): Promise<HarborProjectModel | undefined> {
  try {
    const res = await harborRequest<HarborProjectModel>(conn, {
      call: `get project ${JSON.stringify(String(id))}`,
      method: "GET",
      path: `/projects/${encodeURIComponent(String(id))}`,
      headers: { "X-Is-Resource-Name": String(typeof id === "string") },
    });
    return res.body;
  } catch (err) {
    if (isHarborStatus(err, 404)) return undefined;
    if (isHarborStatus(err, 403)) {
      // Harbor checks access before existence (BaseAPI.RequireProjectAccess): only a system
      // administrator is told that a project does not exist.
      throw new Error(
        `${(err as Error).message}. Harbor user "${conn.username}" may not see project ${JSON.stringify(String(id))}: ` +
          "either it lacks the project-admin role there or the project no longer exists (Harbor answers 403 for both " +
          "to anyone but a system administrator). Check the project in Harbor, or act as a system administrator.",
      );
    }
    throw err;
  }
}

/** Why `/quotas` needs a system administrator, and what to do: the message for a 401/403 there. */
function quotaAccessError(conn: HarborConnection, project: string, err: Error): Error {
  return new Error(
    `${err.message}. Harbor user "${conn.username}" may not manage the storage quota of project "${project}": ` +
      "Harbor serves /quotas only to system administrators (a robot account cannot be granted quota updates). " +
      "Act as a Harbor system administrator (the platform's imaas:registry.adminUser), or leave storageLimitBytes " +
      "unset so the quota is not managed.",
  );
}

async function getQuota(
  conn: HarborConnection,
  project: HarborProjectModel,
): Promise<HarborQuotaModel | undefined> {
  try {
    const res = await harborRequest<HarborQuotaModel[]>(conn, {
      call: `get storage quota of project "${project.name}"`,
      method: "GET",
      path: "/quotas",
      query: { reference: "project", reference_id: String(project.project_id) },
    });
    return (res.body ?? [])[0];
  } catch (err) {
    if (isHarborStatus(err, 401, 403)) throw quotaAccessError(conn, project.name, err);
    throw err;
  }
}

/** Sets the project's storage quota when it differs; returns the limit now in force (undefined: not managed). */
async function reconcileQuota(
  conn: HarborConnection,
  project: HarborProjectModel,
  limit: number | undefined,
): Promise<number | undefined> {
  if (limit === undefined) return undefined;
  const quota = await getQuota(conn, project);
  if (!quota) {
    if (limit === -1) return -1;
    throw new Error(
      `Harbor has no storage quota for project "${project.name}" (is per-project quota disabled?): cannot set storageLimitBytes=${limit}`,
    );
  }
  if (quota.hard?.storage === limit) return limit;
  await harborRequest(conn, {
    call: `set storage quota of project "${project.name}" to ${limit}`,
    method: "PUT",
    path: `/quotas/${quota.id}`,
    body: { hard: { storage: limit } },
  }).catch((err) => {
    throw isHarborStatus(err, 401, 403) ? quotaAccessError(conn, project.name, err) : err;
  });
  return limit;
}

async function listRepositories(conn: HarborConnection, project: string): Promise<HarborRepositoryModel[]> {
  const all: HarborRepositoryModel[] = [];
  const pageSize = 100;
  for (let page = 1; ; page++) {
    const res = await harborRequest<HarborRepositoryModel[]>(conn, {
      call: `list repositories of project "${project}"`,
      method: "GET",
      path: `/projects/${encodeURIComponent(project)}/repositories`,
      query: { page, page_size: pageSize },
    });
    const items = res.body ?? [];
    all.push(...items);
    if (items.length < pageSize) return all;
  }
}

/** Project state as Harbor has it, keeping what only lives in Pulumi (connection, forceDestroy). */
function outputsFrom(
  project: HarborProjectModel,
  storageLimitBytes: number | undefined,
  kept: HarborConnection & { forceDestroy?: boolean },
): ProjectOutputs {
  const md = project.metadata ?? {};
  return compact({
    ...connectionOf(kept),
    projectId: project.project_id,
    name: project.name,
    private: md.public !== "true",
    storageLimitBytes,
    autoScan: md.auto_scan === "true",
    preventVulnerable: md.prevent_vul === "true" ? ((md.severity ?? "low") as HarborSeverity) : undefined,
    forceDestroy: kept.forceDestroy ?? false,
  });
}

/** Reads the project by Harbor id; undefined when it no longer exists. */
async function readProject(id: string, props: ProjectOutputs): Promise<ProjectOutputs | undefined> {
  const conn = connectionOf(props);
  const project = await getProject(conn, Number(id));
  if (!project) return undefined;
  // Read the quota only when it is managed: /quotas needs a system administrator.
  const storage =
    props.storageLimitBytes === undefined
      ? undefined
      : ((await getQuota(conn, project))?.hard?.storage ?? -1);
  return outputsFrom(project, storage, props);
}

/** The provider object serialized into each `HarborProject`'s state. */
export const harborProjectProvider: pulumi.dynamic.ResourceProvider<ProjectInputs, ProjectOutputs> = {
  async check(_olds, news) {
    return checkProject(news as unknown as Record<string, unknown>);
  },

  async diff(_id, olds, news) {
    return diffProperties(
      olds as unknown as Record<string, unknown>,
      news as unknown as Record<string, unknown>,
      REPLACE_KEYS,
      UPDATE_KEYS,
    );
  },

  async create(inputs) {
    const conn = connectionOf(inputs);
    try {
      await harborRequest(conn, {
        call: `create project "${inputs.name}"`,
        method: "POST",
        path: "/projects",
        headers: { "X-Resource-Name-In-Location": "true" },
        body: {
          project_name: inputs.name,
          metadata: projectMetadata(inputs),
          // Harbor uses it only from a system administrator; the quota is reconciled below either way.
          ...(inputs.storageLimitBytes !== undefined ? { storage_limit: inputs.storageLimitBytes } : {}),
        },
      });
    } catch (err) {
      if (isHarborStatus(err, 409)) {
        const existing = await getProject(conn, inputs.name).catch(() => undefined);
        const hint = existing ? `, e.g. with the resource option import: "${existing.project_id}"` : "";
        throw new Error(`${(err as Error).message}. To manage the existing project, import it${hint}.`);
      }
      throw err;
    }
    const project = await getProject(conn, inputs.name);
    if (!project) {
      throw new Error(`Harbor accepted project "${inputs.name}" but does not return it`);
    }
    let storage: number | undefined;
    try {
      storage = await reconcileQuota(conn, project, inputs.storageLimitBytes);
    } catch (err) {
      // The project is new and empty: remove it so a failed create leaves nothing behind.
      await harborRequest(conn, {
        call: `roll back project "${inputs.name}"`,
        method: "DELETE",
        path: `/projects/${project.project_id}`,
      }).catch(() => undefined);
      throw err;
    }
    return { id: String(project.project_id), outs: outputsFrom(project, storage, inputs) };
  },

  async read(id, props) {
    const outs = await readProject(id, props as ProjectOutputs);
    return outs ? { id, props: outs } : {};
  },

  async update(id, _olds, news) {
    const conn = connectionOf(news);
    await harborRequest(conn, {
      call: `update project "${news.name}"`,
      method: "PUT",
      path: `/projects/${encodeURIComponent(id)}`,
      body: { metadata: projectMetadata(news) },
    });
    const project = await getProject(conn, Number(id));
    if (!project) {
      throw new Error(`Harbor project "${news.name}" (id ${id}) disappeared during update`);
    }
    const storage = await reconcileQuota(conn, project, news.storageLimitBytes);
    return { outs: outputsFrom(project, storage, news) };
  },

  async delete(id, props) {
    const conn = connectionOf(props);
    const project = await getProject(conn, Number(id));
    if (!project) return;
    const repos = await listRepositories(conn, project.name);
    if (repos.length > 0 && !props.forceDestroy) {
      const artifacts = repos.reduce((n, r) => n + (r.artifact_count ?? 0), 0);
      const names = repos.slice(0, 5).map((r) => r.name);
      throw new Error(
        `Refusing to delete Harbor project "${project.name}": it still holds ${repos.length} ` +
          `repositor${repos.length === 1 ? "y" : "ies"} (${names.join(", ")}${repos.length > 5 ? ", …" : ""}) ` +
          `with ${artifacts} artifact${artifacts === 1 ? "" : "s"}. Tenant images are never deleted silently: ` +
          `move or delete them first, or set forceDestroy: true on this HarborProject to delete them with it.`,
      );
    }
    for (const repo of repos) {
      const short = repo.name.startsWith(`${project.name}/`)
        ? repo.name.slice(project.name.length + 1)
        : repo.name;
      try {
        await harborRequest(conn, {
          call: `delete repository "${repo.name}" (forceDestroy)`,
          method: "DELETE",
          // Harbor wants a slash inside a repository name encoded twice.
          path: `/projects/${encodeURIComponent(project.name)}/repositories/${encodeURIComponent(encodeURIComponent(short))}`,
        });
      } catch (err) {
        if (!isHarborStatus(err, 404)) throw err;
      }
    }
    try {
      await harborRequest(conn, {
        call: `delete project "${project.name}"`,
        method: "DELETE",
        path: `/projects/${project.project_id}`,
      });
    } catch (err) {
      if (isHarborStatus(err, 404)) return;
      if (isHarborStatus(err, 412)) {
        throw new Error(
          `Harbor refused to delete project "${project.name}": it still contains repositories or has pending tasks. ${(err as Error).message}`,
        );
      }
      throw err;
    }
  },
};
