// A small in-memory Harbor for the provider tests, following Harbor's REST API v2.0 (api/v2.0/swagger.yaml)
// and its handlers closely enough: basic auth, `{"errors":[{code,message}]}` bodies, 409 on duplicates,
// 404 on missing, 412 when deleting a project with repositories, robot secrets, quotas, retention policies.
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeProject {
  project_id: number;
  name: string;
  metadata: Record<string, string>;
  creation_time: string;
}
export interface FakeQuota {
  id: number;
  ref: { id: number; name: string };
  hard: { storage: number };
  used: { storage: number };
}
export interface FakeRobot {
  id: number;
  name: string;
  description: string;
  level: string;
  duration: number;
  disable: boolean;
  editable: boolean;
  expires_at: number;
  project_id: number;
  permissions: { kind: string; namespace: string; access: { resource: string; action: string }[] }[];
  secret: string;
  creation_time: string;
}
export interface FakeRetention {
  id: number;
  algorithm: string;
  rules: Record<string, unknown>[];
  trigger: { kind: string; settings: Record<string, unknown>; references?: Record<string, unknown> };
  scope: { level: string; ref: number };
}
/** An answer injected before normal handling. */
export interface Fault {
  method: string;
  pathPrefix: string;
  status: number;
  times: number;
  delayMs?: number;
  /** Harbor error message to send. @default "injected failure" */
  message?: string;
}
export interface LoggedRequest {
  method: string;
  path: string;
  body: unknown;
}

type Body = any;

const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class FakeHarbor {
  readonly username = "admin";
  readonly password = "Harbor12345-s3cret!";
  readonly projects = new Map<number, FakeProject>();
  readonly quotas = new Map<number, FakeQuota>();
  /** Repositories per project id: full name ("proj/repo") → artifact count. */
  readonly repositories = new Map<number, Map<string, number>>();
  readonly robots = new Map<number, FakeRobot>();
  readonly retentions = new Map<number, FakeRetention>();
  readonly requests: LoggedRequest[] = [];
  /** Answers to inject before normal handling: `{ method, pathPrefix, status, times }`. */
  readonly faults: Fault[] = [];
  /** Use the default quota whatever `storage_limit` says, as Harbor does for non-admins. */
  ignoreStorageLimit = false;
  private nextId = 1;
  private server?: http.Server;
  url = "";

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Connection inputs for the providers. */
  get connection(): { url: string; username: string; password: string } {
    return { url: this.url, username: this.username, password: this.password };
  }

  /** Makes the next `times` calls matching method and path prefix answer `status`. */
  inject(
    method: string,
    pathPrefix: string,
    status: number,
    times = 1,
    delayMs?: number,
    message?: string,
  ): void {
    this.faults.push({ method, pathPrefix, status, times, delayMs, message });
  }

  /** Simulates `docker push`: adds an artifact to a repository of the project. */
  push(projectName: string, repository: string): void {
    const project = this.projectByName(projectName);
    if (!project) throw new Error(`no project ${projectName}`);
    const repos = this.repositories.get(project.project_id) ?? new Map<string, number>();
    const full = `${projectName}/${repository}`;
    repos.set(full, (repos.get(full) ?? 0) + 1);
    this.repositories.set(project.project_id, repos);
  }

  projectByName(name: string): FakeProject | undefined {
    return [...this.projects.values()].find((p) => p.name === name);
  }

  quotaOf(projectId: number): FakeQuota | undefined {
    return [...this.quotas.values()].find((q) => q.ref.id === projectId);
  }

  private id(): number {
    return this.nextId++;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return this.send(res, 400, { errors: [{ code: "BAD_REQUEST", message: "invalid JSON body" }] });
    }
    this.requests.push({ method, path: url.pathname + url.search, body });

    const fault = this.faults.find(
      (f) => f.method === method && url.pathname.startsWith(f.pathPrefix) && f.times > 0,
    );
    if (fault) {
      fault.times--;
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      return this.send(res, fault.status, {
        errors: [
          {
            code: fault.status === 429 ? "TOO_MANY_REQUEST" : "UNKNOWN",
            message: fault.message ?? "injected failure",
          },
        ],
      });
    }

    const expected = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString("base64")}`;
    if (req.headers.authorization !== expected) {
      return this.send(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "unauthorized" }] });
    }
    try {
      const out = this.route(method, url, body, req.headers);
      res.setHeader("X-Request-Id", `req-${this.requests.length}`);
      if (out.location) res.setHeader("Location", out.location);
      this.send(res, out.status, out.body);
    } catch (err) {
      if (err instanceof HttpError) {
        return this.send(res, err.status, { errors: [{ code: err.code, message: err.message }] });
      }
      this.send(res, 500, { errors: [{ code: "UNKNOWN", message: String(err) }] });
    }
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    res.statusCode = status;
    if (body === undefined) {
      res.end();
      return;
    }
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify(body));
  }

  private route(
    method: string,
    url: URL,
    body: Body,
    headers: http.IncomingHttpHeaders,
  ): { status: number; body?: unknown; location?: string } {
    const p = url.pathname;
    const prefix = "/api/v2.0";
    if (!p.startsWith(prefix)) throw new HttpError(404, "NOT_FOUND", "not found");
    const path = p.slice(prefix.length);
    const seg = path.split("/").filter(Boolean).map(decodeURIComponent);

    if (seg[0] === "projects") {
      if (seg.length === 1 && method === "POST") return this.createProject(body, headers, p);
      const project = this.findProject(seg[1], headers);
      if (seg.length === 2) {
        if (method === "GET") return { status: 200, body: this.projectView(project) };
        if (method === "PUT") {
          const md = body?.metadata ?? {};
          for (const [k, v] of Object.entries(md))
            if (v !== undefined && v !== null) project.metadata[k] = String(v);
          return { status: 200 };
        }
        if (method === "DELETE") return this.deleteProject(project);
      }
      if (seg[2] === "repositories") {
        const repos = this.repositories.get(project.project_id) ?? new Map<string, number>();
        if (seg.length === 3 && method === "GET") {
          const page = Number(url.searchParams.get("page") ?? 1);
          const size = Number(url.searchParams.get("page_size") ?? 10);
          const all = [...repos.entries()].map(([name, count], i) => ({
            id: i + 1,
            project_id: project.project_id,
            name,
            artifact_count: count,
          }));
          return { status: 200, body: all.slice((page - 1) * size, page * size) };
        }
        if (seg.length === 4 && method === "DELETE") {
          // Harbor wants "a/b" encoded twice: one decode above leaves "a%2Fb".
          const full = `${project.name}/${decodeURIComponent(seg[3])}`;
          if (!repos.delete(full)) throw new HttpError(404, "NOT_FOUND", `repository ${full} not found`);
          return { status: 200 };
        }
      }
    }

    if (seg[0] === "quotas") {
      if (seg.length === 1 && method === "GET") {
        const ref = url.searchParams.get("reference");
        const refId = url.searchParams.get("reference_id");
        const list = [...this.quotas.values()].filter((q) => ref === "project" && String(q.ref.id) === refId);
        return { status: 200, body: list };
      }
      const quota = this.quotas.get(Number(seg[1]));
      if (!quota) throw new HttpError(404, "NOT_FOUND", `quota ${seg[1]} not found`);
      if (method === "GET") return { status: 200, body: quota };
      if (method === "PUT") {
        const storage = body?.hard?.storage;
        if (typeof storage !== "number" || (storage < 1 && storage !== -1)) {
          throw new HttpError(400, "BAD_REQUEST", "hard required in body");
        }
        quota.hard.storage = storage;
        return { status: 200 };
      }
    }

    if (seg[0] === "robots") {
      if (seg.length === 1 && method === "POST") return this.createRobot(body, p);
      const robot = this.robots.get(Number(seg[1]));
      if (!robot) throw new HttpError(404, "NOT_FOUND", `robot ${seg[1]} not found`);
      if (method === "GET") {
        const { secret: _secret, project_id: _pid, ...view } = robot;
        return { status: 200, body: view };
      }
      if (method === "PUT") return this.updateRobot(robot, body);
      if (method === "DELETE") {
        this.robots.delete(robot.id);
        return { status: 200 };
      }
    }

    if (seg[0] === "retentions") {
      if (seg.length === 1 && method === "POST") return this.createRetention(body, p);
      const retention = this.retentions.get(Number(seg[1]));
      if (!retention) throw new HttpError(404, "NOT_FOUND", `retention policy ${seg[1]} not found`);
      if (method === "GET") return { status: 200, body: retention };
      if (method === "PUT") {
        Object.assign(retention, { algorithm: body.algorithm, rules: body.rules, trigger: body.trigger });
        return { status: 200 };
      }
      if (method === "DELETE") {
        this.retentions.delete(retention.id);
        const project = this.projects.get(retention.scope.ref);
        if (project) delete project.metadata.retention_id;
        return { status: 200 };
      }
    }
    throw new HttpError(404, "NOT_FOUND", `no route for ${method} ${p}`);
  }

  private findProject(nameOrId: string, headers: http.IncomingHttpHeaders): FakeProject {
    const byName = headers["x-is-resource-name"] === "true" || !/^\d+$/.test(nameOrId);
    const project = byName ? this.projectByName(nameOrId) : this.projects.get(Number(nameOrId));
    if (!project) throw new HttpError(404, "NOT_FOUND", `project ${nameOrId} not found`);
    return project;
  }

  private projectView(project: FakeProject) {
    return {
      ...project,
      metadata: { ...project.metadata },
      repo_count: this.repositories.get(project.project_id)?.size ?? 0,
      owner_name: "admin",
    };
  }

  private createProject(body: Body, headers: http.IncomingHttpHeaders, path: string) {
    const name = body?.project_name;
    if (typeof name !== "string" || !NAME.test(name) || name.length > 255) {
      throw new HttpError(
        400,
        "BAD_REQUEST",
        "project name is not in lower case or contains illegal characters",
      );
    }
    if (this.projectByName(name)) {
      throw new HttpError(409, "CONFLICT", `The project named ${name} already exists`);
    }
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(body.metadata ?? {}))
      if (v !== undefined && v !== null) metadata[k] = String(v);
    if (!metadata.public) metadata.public = "false";
    if (metadata.public !== "true" && metadata.public !== "false") {
      throw new HttpError(400, "BAD_REQUEST", `metadata.public should only be 'true' or 'false'`);
    }
    const project: FakeProject = {
      project_id: this.id(),
      name,
      metadata,
      creation_time: new Date().toISOString(),
    };
    this.projects.set(project.project_id, project);
    // Harbor: a missing or 0 storage_limit means the system default (-1 here).
    const limit = body.storage_limit && !this.ignoreStorageLimit ? body.storage_limit : -1;
    const quota: FakeQuota = {
      id: this.id(),
      ref: { id: project.project_id, name },
      hard: { storage: limit },
      used: { storage: 0 },
    };
    this.quotas.set(quota.id, quota);
    const byName = headers["x-resource-name-in-location"] === "true";
    return { status: 201, location: `${path}/${byName ? name : project.project_id}` };
  }

  private deleteProject(project: FakeProject) {
    if ((this.repositories.get(project.project_id)?.size ?? 0) > 0) {
      throw new HttpError(412, "PRECONDITION", "the project contains repositories, can not be deleted");
    }
    this.projects.delete(project.project_id);
    this.repositories.delete(project.project_id);
    for (const r of [...this.robots.values()])
      if (r.project_id === project.project_id) this.robots.delete(r.id);
    const quota = this.quotaOf(project.project_id);
    if (quota) this.quotas.delete(quota.id);
    return { status: 200 };
  }

  private validateRobot(body: Body): FakeProject {
    const d = body?.duration;
    if (!(d === -1 || (Number.isInteger(d) && d > 0))) {
      throw new HttpError(
        400,
        "BAD_REQUEST",
        `bad request error duration input: ${d}, duration must be either -1(Never) or a positive integer`,
      );
    }
    if (body.level !== "project" && body.level !== "system") {
      throw new HttpError(400, "BAD_REQUEST", `bad request error level input: ${body.level}`);
    }
    const perms = body.permissions;
    if (!Array.isArray(perms) || perms.length === 0)
      throw new HttpError(400, "BAD_REQUEST", "bad request empty permission");
    if (body.level === "project" && perms.length > 1)
      throw new HttpError(400, "BAD_REQUEST", "bad request permission");
    for (const perm of perms) {
      if (!Array.isArray(perm.access) || perm.access.length === 0) {
        throw new HttpError(400, "BAD_REQUEST", "bad request empty access");
      }
      for (const a of perm.access) {
        if (a.resource !== "repository" || !["pull", "push"].includes(a.action)) {
          throw new HttpError(400, "BAD_REQUEST", `bad request permission: ${a.resource}:${a.action}`);
        }
      }
    }
    const project = this.projectByName(perms[0].namespace);
    if (!project) throw new HttpError(404, "NOT_FOUND", `project ${perms[0].namespace} not found`);
    return project;
  }

  private createRobot(body: Body, path: string) {
    if (typeof body?.name !== "string" || !NAME.test(body.name)) {
      throw new HttpError(
        400,
        "BAD_REQUEST",
        "robot name is not in lower case or contains illegal characters",
      );
    }
    const project = this.validateRobot(body);
    const name = `robot$${project.name}+${body.name}`;
    if ([...this.robots.values()].some((r) => r.name === name)) {
      throw new HttpError(409, "CONFLICT", `robot account ${name} already exists`);
    }
    const now = Math.floor(Date.now() / 1000);
    const robot: FakeRobot = {
      id: this.id(),
      name,
      description: body.description ?? "",
      level: body.level,
      duration: body.duration,
      disable: Boolean(body.disable),
      editable: true,
      expires_at: body.duration === -1 ? -1 : now + body.duration * 86400,
      project_id: project.project_id,
      permissions: body.permissions,
      secret: `Rb${randomBytes(12).toString("hex")}9`,
      creation_time: new Date(now * 1000).toISOString(),
    };
    this.robots.set(robot.id, robot);
    return {
      status: 201,
      location: `${path}/${robot.id}`,
      body: {
        id: robot.id,
        name,
        secret: robot.secret,
        creation_time: robot.creation_time,
        expires_at: robot.expires_at,
      },
    };
  }

  private updateRobot(robot: FakeRobot, body: Body) {
    if (body.duration === undefined || body.duration === null) body.duration = robot.duration;
    const project = this.validateRobot(body);
    if (project.project_id !== robot.project_id) {
      throw new HttpError(400, "BAD_REQUEST", "cannot update the project id of robot");
    }
    if (body.level !== robot.level || body.name !== robot.name) {
      throw new HttpError(400, "BAD_REQUEST", "cannot update the level or name of robot");
    }
    if (body.duration !== robot.duration) {
      robot.duration = body.duration;
      robot.expires_at =
        body.duration === -1
          ? -1
          : Math.floor(Date.parse(robot.creation_time) / 1000) + body.duration * 86400;
    }
    robot.description = body.description ?? "";
    robot.disable = Boolean(body.disable);
    robot.permissions = body.permissions;
    return { status: 200 };
  }

  private createRetention(body: Body, path: string) {
    if (body?.scope?.level !== "project") {
      throw new HttpError(400, "BAD_REQUEST", `scope ${body?.scope?.level} is not support`);
    }
    if (body.trigger?.kind === "Schedule" && typeof body.trigger.settings?.cron !== "string") {
      throw new HttpError(400, "BAD_REQUEST", "Trigger.Settings.cron Can not be empty");
    }
    const project = this.projects.get(body.scope.ref);
    if (!project) throw new HttpError(400, "BAD_REQUEST", `invalid Project id ${body.scope.ref}`);
    if (project.metadata.retention_id) {
      throw new HttpError(
        400,
        "BAD_REQUEST",
        `project ${project.project_id} already has retention policy ${project.metadata.retention_id}`,
      );
    }
    const retention: FakeRetention = {
      id: this.id(),
      algorithm: body.algorithm,
      rules: body.rules ?? [],
      trigger: body.trigger,
      scope: body.scope,
    };
    this.retentions.set(retention.id, retention);
    project.metadata.retention_id = String(retention.id);
    return { status: 201, location: `${path}/${retention.id}` };
  }
}

/** Calls the fake as an admin would from outside Pulumi (to simulate drift). */
export async function adminCall(
  fake: FakeHarbor,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${fake.url}/api/v2.0${path}`, {
    method,
    headers: {
      Authorization: `Basic ${Buffer.from(`${fake.username}:${fake.password}`).toString("base64")}`,
      "Content-Type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
