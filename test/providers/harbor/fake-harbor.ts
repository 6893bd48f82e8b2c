// A small in-memory Harbor for the provider tests. It follows Harbor v2.15.2 (goharbor/harbor, tag v2.15.2):
// the API definition `api/v2.0/swagger.yaml` and the server source cited beside each behaviour below, so
// that a provider relying on leniency Harbor does not have fails here too. Written from those sources, not
// copied from them.
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeProject {
  project_id: number;
  name: string;
  metadata: Record<string, string>;
  creation_time: string;
  /** User names with the project-admin role (the creator is one). Not part of Harbor's project view. */
  admins: Set<string>;
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
  update_time: string;
}
export interface FakeRetention {
  id: number;
  algorithm: string;
  rules: Record<string, unknown>[];
  trigger: { kind: string; settings: Record<string, unknown>; references?: Record<string, unknown> };
  scope: { level: string; ref: number };
}
/** An artifact of a repository: its digest, when it was pushed and its tags (each with its own push time). */
export interface FakeArtifact {
  digest: string;
  pushTime: number;
  tags: { name: string; pushTime: number }[];
}
export interface FakeUser {
  password: string;
  /** Harbor's system administrator flag. */
  sysadmin: boolean;
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
  /** Who Harbor saw: a user name, a robot's full name, or "anonymous". */
  principal: string;
}

type Body = any;
type Principal =
  | { kind: "user"; name: string; sysadmin: boolean }
  | { kind: "robot"; robot: FakeRobot }
  | { kind: "anonymous" };

const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** `types.MaxLimitedValue` in src/pkg/quota/types/resources.go: 1024 TB. */
const MAX_STORAGE = 1125899906842624;

/**
 * Project-scope permissions a robot may be granted: `rbac.PoliciesMap[ScopeProject]` in
 * src/common/rbac/const.go, checked by `robotAPI.validate` (src/server/v2.0/handler/robot.go).
 */
const PROJECT_SCOPE_PERMISSIONS = new Set([
  "log:list",
  "project:read",
  "project:delete",
  "project:update",
  ...["read", "create", "delete", "list", "update"].map((a) => `metadata:${a}`),
  ...["read", "update", "delete", "list", "pull", "push"].map((a) => `repository:${a}`),
  ...["read", "create", "list", "delete"].map((a) => `artifact:${a}`),
  "scan:create",
  "scan:read",
  "scan:stop",
  "sbom:create",
  "sbom:stop",
  "sbom:read",
  "tag:create",
  "tag:list",
  "tag:delete",
  "accessory:list",
  "artifact-addition:read",
  "artifact-label:create",
  "artifact-label:delete",
  "scanner:create",
  "scanner:read",
  ...["read", "create", "delete", "list", "update"].map((a) => `preheat-policy:${a}`),
  ...["create", "delete", "list", "update"].map((a) => `immutable-tag:${a}`),
  ...["read", "create", "delete", "list", "update"].map((a) => `notification-policy:${a}`),
  ...["read", "create", "delete", "list", "update"].map((a) => `tag-retention:${a}`),
  ...["read", "create", "delete", "list", "update"].map((a) => `label:${a}`),
  "quota:read",
]);

/** Keys of Harbor's `ProjectMetadata` model (api/v2.0/swagger.yaml); every one is a string. */
const PROJECT_METADATA_KEYS = new Set([
  "public",
  "enable_content_trust",
  "enable_content_trust_cosign",
  "prevent_vul",
  "severity",
  "auto_scan",
  "auto_sbom_generation",
  "reuse_sys_cve_allowlist",
  "retention_id",
  "proxy_speed_kb",
  "max_upstream_conn",
  "proxy_cache_local_on_not_found",
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** `errors.UnauthorizedError(nil)` / `errors.ForbiddenError(nil)` as `RequireProjectAccess` returns them (src/server/v2.0/handler/base.go). */
const unauthorized = () => new HttpError(401, "UNAUTHORIZED", "unauthorized");
const forbidden = (message = "forbidden") => new HttpError(403, "FORBIDDEN", message);

/** robfig/cron's field bounds, as `utils.CronParser()` (src/common/utils/utils.go) parses six fields. */
const CRON_FIELDS: { min: number; max: number; names?: string[] }[] = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  {
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  { min: 0, max: 6, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

/** `utils.ValidateCronString` (src/common/utils/utils.go): robfig's 6-field parse, then seconds must be "0". */
export function harborCronError(cron: string): string | undefined {
  if (cron.length === 0) return "empty cron string is invalid";
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 6) return `expected exactly 6 fields, found ${fields.length}: ${cron}`;
  for (const [i, field] of fields.entries()) {
    const { min, max, names } = CRON_FIELDS[i];
    for (const part of field.split(",")) {
      const [range, step, extra] = part.split("/");
      if (extra !== undefined || (step !== undefined && !/^\d+$/.test(step))) return `bad step in ${part}`;
      if (range === "*" || range === "?") continue;
      const value = (s: string) => {
        const n = names?.indexOf(s.toUpperCase()) ?? -1;
        return n >= 0 ? n + min : /^\d+$/.test(s) ? Number(s) : Number.NaN;
      };
      const [lo, hi, more] = range.split("-").map(value);
      if (more !== undefined || Number.isNaN(lo) || (hi !== undefined && Number.isNaN(hi))) {
        return `failed to parse ${part}`;
      }
      if (lo < min || (hi ?? lo) > max || (hi ?? lo) < lo) return `${part} is beyond the range ${min}-${max}`;
    }
  }
  const parts = cron.split(" ");
  if (parts.length === 6 && parts[0] !== "0") {
    return "the 1st field (indicating Seconds of time) of the cron setting must be 0";
  }
  return undefined;
}

/** doublestar matching as Harbor's retention selectors use it (`**` crosses "/", `*` does not, `{a,b}`, `?`). */
export function doublestarMatch(pattern: string, value: string): boolean {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") {
      re += ".*";
      i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "{") re += "(?:";
    else if (c === "}") re += ")";
    else if (c === ",") re += "|";
    else re += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`).test(value);
}

/** A stable JSON text with sorted keys: how two retention rules are compared. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export class FakeHarbor {
  readonly username = "admin";
  readonly password = "Harbor12345-s3cret!";
  /** Harbor users: `admin` is a system administrator; add others with {@link addUser}. */
  readonly users = new Map<string, FakeUser>();
  readonly projects = new Map<number, FakeProject>();
  readonly quotas = new Map<number, FakeQuota>();
  /** Artifacts per project id, per full repository name ("proj/repo"). */
  readonly repositories = new Map<number, Map<string, FakeArtifact[]>>();
  readonly robots = new Map<number, FakeRobot>();
  readonly retentions = new Map<number, FakeRetention>();
  readonly requests: LoggedRequest[] = [];
  /** Answers to inject before normal handling: `{ method, pathPrefix, status, times }`. */
  readonly faults: Fault[] = [];
  /** Harbor's `quota_per_project_enable`; when off, projects get no quota. @default true */
  quotaPerProject = true;
  /** Harbor's `storage_per_project`: the limit given to non-admins' projects and to 0 or missing limits. @default -1 */
  defaultStorageLimit = -1;
  /** Harbor's clock in Unix seconds; every push and tag advances it by one. */
  clock = 1_800_000_000;
  private nextId = 1;
  private server?: http.Server;
  url = "";

  constructor() {
    this.users.set(this.username, { password: this.password, sysadmin: true });
  }

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

  /** Connection inputs for the providers, as the system administrator. */
  get connection(): { url: string; username: string; password: string } {
    return { url: this.url, username: this.username, password: this.password };
  }

  /** Adds a Harbor user (not an administrator unless said) and returns connection inputs acting as it. */
  addUser(name: string, sysadmin = false): { url: string; username: string; password: string } {
    const password = `Pw-${name}-${randomBytes(4).toString("hex")}9`;
    this.users.set(name, { password, sysadmin });
    return { url: this.url, username: name, password };
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

  /**
   * Simulates `docker push <project>/<repository>:<tag>` of a new build: a new artifact, pushed now; a tag
   * already on another artifact moves to this one (`tag.controller.Ensure`, src/controller/tag/controller.go).
   * Returns the digest.
   */
  push(projectName: string, repository: string, tag?: string): string {
    const project = this.projectByName(projectName);
    if (!project) throw new Error(`no project ${projectName}`);
    const repos = this.repositories.get(project.project_id) ?? new Map<string, FakeArtifact[]>();
    const full = `${projectName}/${repository}`;
    const artifacts = repos.get(full) ?? [];
    const now = ++this.clock;
    if (tag) {
      for (const a of artifacts) a.tags = a.tags.filter((t) => t.name !== tag);
    }
    const digest = `sha256:${randomBytes(32).toString("hex")}`;
    artifacts.push({ digest, pushTime: now, tags: tag ? [{ name: tag, pushTime: now }] : [] });
    repos.set(full, artifacts);
    this.repositories.set(project.project_id, repos);
    return digest;
  }

  /** The artifacts of `<project>/<repository>`. */
  artifacts(projectName: string, repository: string): FakeArtifact[] {
    const project = this.projectByName(projectName);
    return project
      ? (this.repositories.get(project.project_id)?.get(`${projectName}/${repository}`) ?? [])
      : [];
  }

  /** The tags of `<project>/<repository>` that still exist. */
  tagsOf(projectName: string, repository: string): string[] {
    return this.artifacts(projectName, repository).flatMap((a) => a.tags.map((t) => t.name));
  }

  /**
   * Simulates the registry side of a pull (`docker pull`, the kubelet) with basic credentials: 200 when
   * the principal may pull from the project, else 401 (unknown, disabled or expired) or 403, or 404.
   * Robots authenticate with their current secret only (src/server/middleware/security/robot.go).
   */
  pull(username: string, password: string, image: string): number {
    const principal = this.authenticate(username, password);
    const [projectName, ...rest] = image.split("/");
    const [repo, tag] = rest.join("/").split(":");
    const project = this.projectByName(projectName);
    if (principal.kind === "anonymous") return project?.metadata.public === "true" ? 200 : 401;
    if (!project || !this.can(principal, project, "repository", "pull")) return 403;
    return this.artifacts(projectName, repo).some((a) => a.tags.some((t) => t.name === tag)) ? 200 : 404;
  }

  /**
   * Runs a project's retention policy now, as Harbor's job does per repository: candidates are artifacts
   * with all their tags, pushed at the latest of the artifact's and its tags' push times
   * (`basicClient.GetCandidates`, src/pkg/retention/dep/client.go); each rule selects repositories and
   * tags (`doublestar` selector, src/lib/selector/selectors/doublestar/selector.go: any tag matching, or
   * the `untagged` extra for untagged artifacts) and keeps what its template keeps (`latestPushedK`: the
   * K most recently pushed, src/pkg/retention/policy/rule/latestps/evaluator.go; `always`: all,
   * src/pkg/retention/policy/rule/always/evaluator.go); with the `or` algorithm what any rule keeps stays
   * (src/pkg/retention/policy/alg/or/processor.go), everything else is deleted with all its tags.
   * Returns the deleted artifacts as `repo@digest (tags)`.
   */
  runRetention(projectName: string): string[] {
    const project = this.projectByName(projectName);
    if (!project) throw new Error(`no project ${projectName}`);
    const policy = this.retentions.get(Number(project.metadata.retention_id));
    if (!policy) throw new Error(`project ${projectName} has no retention policy`);
    const deleted: string[] = [];
    for (const [full, artifacts] of this.repositories.get(project.project_id) ??
      new Map<string, FakeArtifact[]>()) {
      const repo = full.slice(projectName.length + 1);
      const candidates = artifacts.map((a) => ({
        artifact: a,
        pushed: Math.max(a.pushTime, ...a.tags.map((t) => t.pushTime)),
      }));
      const kept = new Set<FakeArtifact>();
      for (const rule of policy.rules as Body[]) {
        if (rule.disabled) continue;
        const repoSelectors: Body[] = rule.scope_selectors?.repository ?? [];
        const repoOk = repoSelectors.every((s) =>
          s.decoration === "repoExcludes"
            ? !doublestarMatch(s.pattern, repo)
            : doublestarMatch(s.pattern, repo),
        );
        if (!repoOk) continue;
        let selected = candidates;
        for (const s of rule.tag_selectors ?? []) {
          const untagged = s.extras ? Boolean(JSON.parse(s.extras).untagged) : s.decoration !== "excludes";
          selected = selected.filter(({ artifact }) => {
            if (artifact.tags.length === 0) return s.decoration === "excludes" ? !untagged : untagged;
            const hits = artifact.tags.map((t) => doublestarMatch(s.pattern, t.name));
            return s.decoration === "excludes" ? hits.some((h) => !h) : hits.some((h) => h);
          });
        }
        if (rule.template === "latestPushedK") {
          const k = Number(rule.params?.latestPushedK ?? 10);
          selected = [...selected].sort((a, b) => b.pushed - a.pushed).slice(0, k);
        } else if (rule.template !== "always") {
          throw new Error(`the fake does not evaluate retention template ${rule.template}`);
        }
        for (const c of selected) kept.add(c.artifact);
      }
      const remaining = artifacts.filter((a) => kept.has(a));
      for (const a of artifacts) {
        if (!kept.has(a))
          deleted.push(`${repo}@${a.digest.slice(7, 19)} (${a.tags.map((t) => t.name).join(",")})`);
      }
      artifacts.splice(0, artifacts.length, ...remaining);
    }
    return deleted;
  }

  projectByName(name: string): FakeProject | undefined {
    return [...this.projects.values()].find((p) => p.name === name);
  }

  quotaOf(projectId: number): FakeQuota | undefined {
    return [...this.quotas.values()].find((q) => q.ref.id === projectId);
  }

  robotByName(fullName: string): FakeRobot | undefined {
    return [...this.robots.values()].find((r) => r.name === fullName);
  }

  private id(): number {
    return this.nextId++;
  }

  /**
   * Who the credentials are. Wrong credentials do not fail the request: Harbor's `basicAuth` generator
   * returns no security context (src/server/middleware/security/basic_auth.go), so the request goes on
   * as anonymous, and each handler's access check answers 401 where anonymous may not act.
   */
  private authenticate(username: string | undefined, password: string | undefined): Principal {
    if (username === undefined) return { kind: "anonymous" };
    const user = this.users.get(username);
    if (user && user.password === password) return { kind: "user", name: username, sysadmin: user.sysadmin };
    const robot = this.robotByName(username);
    const now = Math.floor(Date.now() / 1000);
    if (
      robot &&
      robot.secret === password &&
      !robot.disable &&
      (robot.expires_at === -1 || robot.expires_at > now)
    ) {
      return { kind: "robot", robot };
    }
    return { kind: "anonymous" };
  }

  private principalName(p: Principal): string {
    return p.kind === "user" ? p.name : p.kind === "robot" ? p.robot.name : "anonymous";
  }

  /** Whether `p` may do `resource:action` in `project` (a missing project is the namespace of id 0). */
  private can(p: Principal, project: FakeProject | undefined, resource: string, action: string): boolean {
    if (p.kind === "user") return p.sysadmin || project?.admins.has(p.name) === true;
    if (p.kind === "robot") {
      return p.robot.permissions.some(
        (perm) =>
          perm.kind === "project" &&
          perm.namespace === project?.name &&
          perm.access.some((a) => a.resource === resource && a.action === action),
      );
    }
    return project?.metadata.public === "true" && action === "read" && resource === "project";
  }

  /**
   * `BaseAPI.RequireProjectAccess` (src/server/v2.0/handler/base.go): the permission check runs first,
   * on the project's namespace or, for a name that does not exist, on project id 0 — so a
   * non-administrator gets 403 (401 when anonymous) for a project that does not exist, and only a
   * system administrator gets past it to the 404.
   */
  private requireProjectAccess(
    p: Principal,
    nameOrId: string,
    byName: boolean,
    resource: string,
    action: string,
  ): FakeProject {
    const project = byName ? this.projectByName(nameOrId) : this.projects.get(Number(nameOrId));
    if (!this.can(p, project, resource, action)) throw p.kind === "anonymous" ? unauthorized() : forbidden();
    if (!project) throw new HttpError(404, "NOT_FOUND", `project ${nameOrId} not found`);
    return project;
  }

  /** `BaseAPI.RequireSystemAccess`: 401 anonymous, 403 with the user name as message for everyone else but admins. */
  private requireSystemAccess(p: Principal): void {
    if (p.kind === "anonymous") throw unauthorized();
    if (!(p.kind === "user" && p.sysadmin)) throw forbidden(this.principalName(p));
  }

  private requireAuthenticated(p: Principal): void {
    if (p.kind === "anonymous") throw unauthorized();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // src/server/middleware/requestid/requestid.go: every response carries X-Request-ID, the caller's if it sent one.
    const requestId =
      (req.headers["x-request-id"] as string | undefined) || `req-${this.requests.length + 1}`;
    res.setHeader("X-Request-Id", requestId);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    const auth = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const [user, ...pw] = auth ? Buffer.from(auth, "base64").toString("utf8").split(":") : [];
    const principal = this.authenticate(user, pw.join(":"));
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return this.send(res, 400, { errors: [{ code: "BAD_REQUEST", message: "invalid JSON body" }] });
    }
    this.requests.push({
      method,
      path: url.pathname + url.search,
      body,
      principal: this.principalName(principal),
    });

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

    try {
      const out = this.route(method, url, body, req.headers, principal);
      if (out.location) res.setHeader("Location", out.location);
      for (const [k, v] of Object.entries(out.headers ?? {})) res.setHeader(k, v);
      this.send(res, out.status, out.body);
    } catch (err) {
      if (err instanceof HttpError) {
        // src/lib/http/error.go SendError: 5xx details are logged, the client sees "internal server error".
        const message = err.status >= 500 ? "internal server error" : err.message;
        const code = err.status >= 500 ? "UNKNOWN" : err.code;
        return this.send(res, err.status, { errors: [{ code, message }] });
      }
      this.send(res, 500, { errors: [{ code: "UNKNOWN", message: "internal server error" }] });
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

  /**
   * A page of `items`: `page_size` defaults to 10 and may be at most 100 (the swagger `pageSize`
   * parameter's `maximum`, enforced by go-swagger with 422); X-Total-Count and a `Link` header as
   * `BaseAPI.Links` builds them.
   */
  private page<T>(url: URL, items: T[]): { status: number; body: T[]; headers: Record<string, string> } {
    const page = Number(url.searchParams.get("page") ?? 1);
    const size = Number(url.searchParams.get("page_size") ?? 10);
    if (size > 100) {
      throw new HttpError(
        422,
        "UNPROCESSABLE_ENTITY",
        "page_size in query should be less than or equal to 100",
      );
    }
    const headers: Record<string, string> = { "X-Total-Count": String(items.length) };
    const links: string[] = [];
    const at = (n: number) => {
      const u = new URL(url.toString());
      u.searchParams.set("page", String(n));
      u.searchParams.set("page_size", String(size));
      return `<${u.pathname}${u.search}>`;
    };
    if (page > 1 && (page - 1) * size < items.length) links.push(`${at(page - 1)}; rel="prev"`);
    if (page * size < items.length) links.push(`${at(page + 1)}; rel="next"`);
    if (links.length) headers.Link = links.join(" , ");
    return { status: 200, body: items.slice((page - 1) * size, page * size), headers };
  }

  private route(
    method: string,
    url: URL,
    body: Body,
    headers: http.IncomingHttpHeaders,
    who: Principal,
  ): { status: number; body?: unknown; location?: string; headers?: Record<string, string> } {
    const p = url.pathname;
    const prefix = "/api/v2.0";
    if (!p.startsWith(prefix)) throw new HttpError(404, "NOT_FOUND", "not found");
    const path = p.slice(prefix.length);
    const seg = path.split("/").filter(Boolean).map(decodeURIComponent);

    if (seg[0] === "projects") {
      if (seg.length === 1 && method === "POST") return this.createProject(body, headers, p, who);
      const byName = headers["x-is-resource-name"] === "true" || !/^\d+$/.test(seg[1]);
      if (seg.length === 2) {
        const action = { GET: "read", PUT: "update", DELETE: "delete" }[method];
        if (!action) throw new HttpError(405, "METHOD_NOT_ALLOWED", "method not allowed");
        const project = this.requireProjectAccess(who, seg[1], byName, "project", action);
        if (method === "GET") return { status: 200, body: this.projectView(project) };
        if (method === "PUT") return this.updateProject(project, body);
        return this.deleteProject(project);
      }
      if (seg[2] === "repositories") {
        // Repository routes name the project; src/server/v2.0/handler/repository.go checks access the same way.
        if (seg.length === 3 && method === "GET") {
          const project = this.requireProjectAccess(who, seg[1], true, "repository", "list");
          const repos = this.repositories.get(project.project_id) ?? new Map<string, FakeArtifact[]>();
          const all = [...repos.entries()].map(([name, arts], i) => ({
            id: i + 1,
            project_id: project.project_id,
            name,
            artifact_count: arts.length,
          }));
          return this.page(url, all);
        }
        if (seg.length === 4 && method === "DELETE") {
          const project = this.requireProjectAccess(who, seg[1], true, "repository", "delete");
          const repos = this.repositories.get(project.project_id) ?? new Map<string, FakeArtifact[]>();
          // Harbor wants "a/b" encoded twice: one decode above leaves "a%2Fb".
          const full = `${project.name}/${decodeURIComponent(seg[3])}`;
          if (!repos.delete(full)) throw new HttpError(404, "NOT_FOUND", `repository ${full} not found`);
          return { status: 200 };
        }
        if (seg.length === 7 && seg[4] === "artifacts" && seg[6] === "tags" && method === "POST") {
          return this.createTag(who, seg[1], decodeURIComponent(seg[3]), seg[5], body);
        }
      }
    }

    if (seg[0] === "quotas") {
      // src/server/v2.0/handler/quota.go: every quota endpoint starts with RequireSystemAccess.
      this.requireSystemAccess(who);
      if (seg.length === 1 && method === "GET") {
        const ref = url.searchParams.get("reference");
        const refId = url.searchParams.get("reference_id");
        const list = [...this.quotas.values()].filter((q) => ref === "project" && String(q.ref.id) === refId);
        return this.page(url, list);
      }
      const quota = this.quotas.get(Number(seg[1]));
      if (method === "PUT" && (!body?.hard || Object.keys(body.hard).length === 0)) {
        throw new HttpError(400, "BAD_REQUEST", "hard required in body");
      }
      if (!quota) throw new HttpError(404, "NOT_FOUND", `quota ${seg[1]} not found`);
      if (method === "GET") return { status: 200, body: quota };
      if (method === "PUT") {
        const error = this.storageLimitError(body.hard.storage);
        if (error) throw new HttpError(400, "BAD_REQUEST", error);
        quota.hard.storage = body.hard.storage;
        return { status: 200 };
      }
    }

    if (seg[0] === "robots") {
      if (seg.length === 1 && method === "POST") return this.createRobot(body, p, who);
      this.requireAuthenticated(who);
      const robot = this.robots.get(Number(seg[1]));
      if (!robot) throw new HttpError(404, "NOT_FOUND", `robot ${seg[1]} not found`);
      const project = this.projects.get(robot.project_id);
      const action = { GET: "read", PUT: "update", PATCH: "update", DELETE: "delete" }[method] ?? "";
      if (!this.can(who, project, "robot", action)) throw forbidden();
      if (method === "GET") {
        const { secret: _secret, project_id: _pid, ...view } = robot;
        return { status: 200, body: view };
      }
      if (method === "PUT") return this.updateRobot(robot, body, who);
      if (method === "PATCH") return this.refreshSecret(robot, body);
      if (method === "DELETE") {
        this.robots.delete(robot.id);
        return { status: 200 };
      }
    }

    if (seg[0] === "retentions") {
      if (seg.length === 1 && method === "POST") return this.createRetention(body, p, who);
      const id = Number(seg[1]);
      if (method === "PUT") return this.updateRetention(id, body, who);
      const retention = this.retentions.get(id);
      if (!retention) {
        // `retentionCtl.GetRetention` fails with a plain error for a missing policy: GetRetention sends
        // it as is (500), DeleteRetention wraps it in BadRequestError (400) — src/server/v2.0/handler/retention.go.
        const message = `no such Retention policy with id ${seg[1]}`;
        if (method === "DELETE") throw new HttpError(400, "BAD_REQUEST", message);
        throw new HttpError(500, "UNKNOWN", message);
      }
      const project = this.projects.get(retention.scope.ref);
      const action = { GET: "read", DELETE: "delete" }[method] ?? "";
      if (!this.can(who, project, "tag-retention", action))
        throw who.kind === "anonymous" ? unauthorized() : forbidden();
      if (method === "GET") return { status: 200, body: retention };
      if (method === "DELETE") {
        this.retentions.delete(retention.id);
        if (project) delete project.metadata.retention_id;
        return { status: 200 };
      }
    }
    throw new HttpError(404, "NOT_FOUND", `no route for ${method} ${p}`);
  }

  private projectView(project: FakeProject) {
    const { admins: _admins, ...rest } = project;
    return {
      ...rest,
      metadata: { ...project.metadata },
      repo_count: this.repositories.get(project.project_id)?.size ?? 0,
      owner_name: [...project.admins][0] ?? "admin",
    };
  }

  /**
   * The request's metadata as Harbor's `ProjectMetadata` model decodes it: every value must be a string
   * (go-swagger refuses the body otherwise, 400), unknown keys are dropped, empty ones omitted.
   */
  private metadataOf(md: Body): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(md ?? {})) {
      if (v === null || v === undefined) continue;
      if (typeof v !== "string") {
        throw new HttpError(
          400,
          "BAD_REQUEST",
          `parsing body body from "" failed, because json: cannot unmarshal ${typeof v === "boolean" ? "bool" : typeof v} into Go struct field ProjectMetadata.metadata.${k} of type string`,
        );
      }
      if (PROJECT_METADATA_KEYS.has(k) && v !== "") out[k] = v;
    }
    return out;
  }

  /** `lib.ValidateQuotaLimit` (src/lib/quota_storage_limit.go). */
  private storageLimitError(limit: unknown): string | undefined {
    if (typeof limit !== "number" || !Number.isInteger(limit)) return "resource storage not found";
    if (limit <= 0 && limit !== -1) return `invalid non-positive value for quota limit, value=${limit}`;
    if (limit > MAX_STORAGE) return `exceeded 1024TB, which is 1125899906842624 Bytes, value=${limit}`;
    return undefined;
  }

  /** `projectAPI.CreateProject` (src/server/v2.0/handler/project.go). */
  private createProject(body: Body, headers: http.IncomingHttpHeaders, path: string, who: Principal) {
    this.requireAuthenticated(who);
    if (who.kind === "robot") throw forbidden("Only system level robot can create project");
    const name = body?.project_name;
    const sysadmin = who.kind === "user" && who.sysadmin;
    let limit: number | undefined;
    if (this.quotaPerProject) {
      // Not an administrator, or no limit given: the system default, whatever the request says.
      limit = body?.storage_limit && sysadmin ? body.storage_limit : this.defaultStorageLimit;
    }
    const metadata = this.metadataOf(body?.metadata);
    if (!metadata.public) metadata.public = "false";
    if (metadata.public !== "true" && metadata.public !== "false") {
      throw new HttpError(
        400,
        "BAD_REQUEST",
        `metadata.public should only be 'true' or 'false', but got: '${metadata.public}'`,
      );
    }
    if (metadata.retention_id) {
      throw new HttpError(
        400,
        "BAD_REQUEST",
        "the retention_id in the request's payload when creating a project should be omitted, alternatively passing an empty string",
      );
    }
    if (limit !== undefined) {
      const error = this.storageLimitError(limit);
      if (error) throw new HttpError(400, "BAD_REQUEST", error);
    }
    // The project manager's name rule (src/pkg/project/manager.go) runs inside projectCtl.Create.
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
    const project: FakeProject = {
      project_id: this.id(),
      name,
      metadata,
      creation_time: new Date().toISOString(),
      admins: new Set(who.kind === "user" && !who.sysadmin ? [who.name] : []),
    };
    this.projects.set(project.project_id, project);
    if (limit !== undefined) {
      const quota: FakeQuota = {
        id: this.id(),
        ref: { id: project.project_id, name },
        hard: { storage: limit },
        used: { storage: 0 },
      };
      this.quotas.set(quota.id, quota);
    }
    const byName = headers["x-resource-name-in-location"] === "true";
    return { status: 201, location: `${path}/${byName ? name : project.project_id}` };
  }

  /** `projectAPI.UpdateProject`: metadata merges; a retention_id must be the one already linked. */
  private updateProject(project: FakeProject, body: Body) {
    const md = this.metadataOf(body?.metadata);
    if (md.retention_id !== undefined && md.retention_id !== project.metadata.retention_id) {
      throw new HttpError(
        400,
        "BAD_REQUEST",
        "the retention_id in the request's payload when updating a project should be omitted, alternatively passing the one that has already been associated to this project",
      );
    }
    Object.assign(project.metadata, md);
    return { status: 200 };
  }

  /**
   * `projectAPI.DeleteProject`: 412 while repositories remain; then robots and quota go, and the
   * project-deletion event handler deletes its retention policy (`retention.Ctl.DeleteRetentionByProject`,
   * src/controller/event/handler/internal/project.go).
   */
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
    for (const r of [...this.retentions.values()])
      if (r.scope.ref === project.project_id) this.retentions.delete(r.id);
    return { status: 200 };
  }

  /** `artifactAPI.CreateTag` (src/server/v2.0/handler/artifact.go): needs `tag:create`; 409 when the tag exists. */
  private createTag(who: Principal, projectName: string, repo: string, reference: string, body: Body) {
    this.requireProjectAccess(who, projectName, true, "tag", "create");
    const artifacts = this.artifacts(projectName, repo);
    const artifact = artifacts.find(
      (a) => a.digest === reference || a.tags.some((t) => t.name === reference),
    );
    if (!artifact)
      throw new HttpError(404, "NOT_FOUND", `artifact ${projectName}/${repo}:${reference} not found`);
    const name = body?.name;
    if (typeof name !== "string" || name === "")
      throw new HttpError(400, "BAD_REQUEST", "tag name is required");
    if (artifacts.some((a) => a.tags.some((t) => t.name === name))) {
      throw new HttpError(
        409,
        "CONFLICT",
        `tag ${name} already exists under the repository ${projectName}/${repo}`,
      );
    }
    artifact.tags.push({ name, pushTime: ++this.clock });
    return { status: 201 };
  }

  /** `robotAPI.validate` (src/server/v2.0/handler/robot.go), in its order. */
  private validateRobot(body: Body): void {
    const d = body?.duration;
    if (!(d === -1 || (Number.isInteger(d) && d > 0 && d < 2 ** 31 - 1))) {
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
    for (const perm of perms) {
      if (!perm) throw new HttpError(400, "BAD_REQUEST", "bad request empty permission");
      if (!Array.isArray(perm.access) || perm.access.length === 0 || perm.access.some((a: unknown) => !a)) {
        throw new HttpError(400, "BAD_REQUEST", "bad request empty access");
      }
    }
    if (body.level === "project" && perms.length > 1)
      throw new HttpError(400, "BAD_REQUEST", "bad request permission");
    for (const perm of perms) {
      if (perm.kind === "project") {
        for (const a of perm.access) {
          if (!PROJECT_SCOPE_PERMISSIONS.has(`${a.resource}:${a.action}`)) {
            throw new HttpError(400, "BAD_REQUEST", `bad request permission: ${a.resource}:${a.action}`);
          }
        }
      } else if (perm.kind !== "system") {
        throw new HttpError(400, "BAD_REQUEST", `bad request permission level: ${perm.kind}`);
      }
    }
  }

  /** `robotAPI.CreateRobot`: name, validate, project access, create. `disable` is never copied: a new robot is enabled. */
  private createRobot(body: Body, path: string, who: Principal) {
    if (typeof body?.name !== "string" || !NAME.test(body.name)) {
      throw new HttpError(
        400,
        "BAD_REQUEST",
        "robot name is not in lower case or contains illegal characters",
      );
    }
    this.validateRobot(body);
    const namespace = body.permissions[0].namespace;
    const project = this.requireProjectAccess(
      who,
      String(namespace),
      !/^\d+$/.test(String(namespace)),
      "robot",
      "create",
    );
    const name = `robot$${project.name}+${body.name}`;
    if (this.robotByName(name)) {
      throw new HttpError(409, "CONFLICT", `robot account ${name} already exists`);
    }
    const now = Math.floor(Date.now() / 1000);
    const robot: FakeRobot = {
      id: this.id(),
      name,
      description: body.description ?? "",
      level: body.level,
      duration: body.duration,
      disable: false,
      editable: true,
      expires_at: body.duration === -1 ? -1 : now + body.duration * 86400,
      project_id: project.project_id,
      permissions: body.permissions,
      secret: this.newSecret(),
      creation_time: new Date(now * 1000).toISOString(),
      update_time: new Date(now * 1000).toISOString(),
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

  /** `robot.CreateSec`: a random secret that passes `IsValidSec` (8-128 chars, upper, lower, digit). */
  private newSecret(): string {
    return `Rb${randomBytes(12).toString("hex")}9`;
  }

  /** `robotAPI.updateV2Robot`. */
  private updateRobot(robot: FakeRobot, body: Body, who: Principal) {
    if (body.duration === undefined || body.duration === null) body.duration = robot.duration;
    this.validateRobot(body);
    const project = this.requireProjectAccess(
      who,
      String(body.permissions[0].namespace),
      !/^\d+$/.test(String(body.permissions[0].namespace)),
      "robot",
      "update",
    );
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
    robot.update_time = new Date().toISOString();
    return { status: 200 };
  }

  /**
   * `robotAPI.RefreshSec` (PATCH /robots/{id}): an empty secret gets a fresh random one, returned once;
   * a given one must pass `IsValidSec` and is not echoed. The old secret stops working at once; the
   * expiry does not move.
   */
  private refreshSecret(robot: FakeRobot, body: Body) {
    const given = body?.secret ?? "";
    if (given !== "") {
      if (
        !(
          given.length >= 8 &&
          given.length <= 128 &&
          /[a-z]/.test(given) &&
          /[A-Z]/.test(given) &&
          /\d/.test(given)
        )
      ) {
        throw new HttpError(
          400,
          "BAD_REQUEST",
          "the secret must be 8-128, inclusively, characters long with at least 1 uppercase letter, 1 lowercase letter and 1 number",
        );
      }
      robot.secret = given;
      robot.update_time = new Date().toISOString();
      return { status: 200, body: { secret: "" } };
    }
    robot.secret = this.newSecret();
    robot.update_time = new Date().toISOString();
    return { status: 200, body: { secret: robot.secret } };
  }

  /** The checks `CreateRetention` and `UpdateRetention` share before access: at most 15 rules, no duplicates (409). */
  private checkRules(body: Body): void {
    const rules: Body[] = body?.rules ?? [];
    if (rules.length > 15) throw new HttpError(400, "BAD_REQUEST", "only 15 rules are allowed at most");
    const seen = new Map<string, number>();
    for (const [n, rule] of rules.entries()) {
      const key = canonical({ ...rule, id: undefined });
      const old = seen.get(key);
      if (old !== undefined) throw new HttpError(409, "CONFLICT", `rule ${n} is conflict with rule ${old}`);
      seen.set(key, n);
    }
  }

  /** `ValidateRetentionPolicy` (src/pkg/retention/policy/models.go), run by the controller on create and update. */
  private checkCron(body: Body): void {
    const cron = body?.trigger?.settings?.cron;
    if (body?.trigger?.kind === "Schedule" && typeof cron === "string" && cron.length > 0) {
      const error = harborCronError(cron);
      if (error) {
        throw new HttpError(
          400,
          "BAD_REQUEST",
          `invalid cron string for scheduled tag retention: ${cron}, error: ${error}`,
        );
      }
    }
  }

  /** `retentionAPI.CreateRetention`. */
  private createRetention(body: Body, path: string, who: Principal) {
    this.checkRules(body);
    const ref = Number(body?.scope?.ref);
    const existing = this.projects.get(ref);
    if (!this.can(who, existing, "tag-retention", "create"))
      throw who.kind === "anonymous" ? unauthorized() : forbidden();
    if (body?.scope?.level !== "project") {
      throw new HttpError(400, "BAD_REQUEST", `scope ${body?.scope?.level} is not support`);
    }
    if (!(ref > 0) || !existing)
      throw new HttpError(400, "BAD_REQUEST", `invalid Project id ${body.scope.ref}`);
    if (existing.metadata.retention_id) {
      throw new HttpError(
        400,
        "BAD_REQUEST",
        `project ${existing.project_id} already has retention policy ${existing.metadata.retention_id}`,
      );
    }
    if (body.trigger?.kind === "Schedule" && typeof body.trigger.settings?.cron !== "string") {
      throw new HttpError(400, "BAD_REQUEST", "Trigger.Settings.cron Can not be empty");
    }
    this.checkCron(body);
    const retention: FakeRetention = {
      id: this.id(),
      algorithm: body.algorithm,
      rules: body.rules ?? [],
      trigger: body.trigger,
      scope: body.scope,
    };
    this.retentions.set(retention.id, retention);
    existing.metadata.retention_id = String(retention.id);
    return { status: 201, location: `${path}/${retention.id}` };
  }

  /**
   * `retentionAPI.UpdateRetention`: rule checks, access on the body's project, then the project's
   * retention_id must be this policy (`requirePolicyAccess`: 404 otherwise), then the controller
   * validates the cron and loads the stored policy.
   */
  private updateRetention(id: number, body: Body, who: Principal) {
    this.checkRules(body);
    const project = this.projects.get(Number(body?.scope?.ref));
    if (!this.can(who, project, "tag-retention", "update"))
      throw who.kind === "anonymous" ? unauthorized() : forbidden();
    if (!project || project.metadata.retention_id !== String(id)) {
      throw new HttpError(404, "NOT_FOUND", `the retention policy id ${id} does not match`);
    }
    this.checkCron(body);
    const retention = this.retentions.get(id);
    if (!retention) throw new HttpError(500, "UNKNOWN", `no such Retention policy with id ${id}`);
    Object.assign(retention, { algorithm: body.algorithm, rules: body.rules, trigger: body.trigger });
    return { status: 200 };
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
