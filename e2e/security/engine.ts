/**
 * The engine of the multi-tenancy checks: speaks to the API server as the admin, as a tenant's owner or
 * member (impersonating the RBAC groups the platform grants: `Impersonate-User` + `Impersonate-Group`
 * headers on the admin's credentials, or kubectl's `--as`/`--as-group`), or as the GitOps deployer.
 *
 * Two channels: `kubectl` for real requests (create/replace/patch/delete, server-side dry runs or real
 * objects), and `Api` — a small HTTPS client on the kubeconfig's credentials — for the thousands of
 * SelfSubjectAccessReviews and SelfSubjectRulesReviews the access matrices need, which a process per
 * request would make slow.
 */
import { spawnSync } from "node:child_process";
import * as https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

export type Actor = "owner" | "member";

export interface KubectlResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export interface Identity {
  /** kubectl flags that impersonate the identity; empty for the admin. */
  readonly flags: readonly string[];
  /** The impersonated user and groups; undefined for the admin (its own credentials). */
  readonly user?: string;
  readonly groups?: readonly string[];
  readonly label: string;
}

export const admin: Identity = { flags: [], label: "admin" };

/** A tenant person: `login` in the tenant's owners or members group (and `system:authenticated`). */
export function person(tenant: string, actor: Actor, login: string, groupPrefix = "imaas:"): Identity {
  const groups = [
    `${groupPrefix}${tenant}:${actor === "owner" ? "owners" : "members"}`,
    "system:authenticated",
  ];
  return {
    flags: [`--as=${login}`, ...groups.map((g) => `--as-group=${g}`)],
    user: login,
    groups,
    label: `${tenant} ${actor} ${login}`,
  };
}

export function kubectl(id: Identity, args: readonly string[], stdin?: string): KubectlResult {
  const r = spawnSync("kubectl", [...id.flags, ...args], { encoding: "utf8", input: stdin, timeout: 30_000 });
  return {
    code: r.status ?? -1,
    out: r.stdout ?? "",
    err: (r.stderr ?? "") + (r.error ? String(r.error) : ""),
  };
}

/**
 * A refusal by the API server (RBAC, admission, quota, Pod Security), as opposed to a usage or
 * validation error — an invalid probe must never count as a refusal.
 */
export function refused(r: KubectlResult): boolean {
  return (
    r.code !== 0 &&
    /forbidden|denied|exceeded quota|violates PodSecurity|cannot \w+ resource/i.test(r.err) &&
    !/is invalid/i.test(r.err)
  );
}

/** Which layer refused: RBAC, a named admission policy, Pod Security or the quota. */
export function refusedBy(r: KubectlResult | ApiResult): string {
  const text = "err" in r ? r.err : r.message;
  if (/cannot \w+ resource/.test(text)) return "RBAC";
  const vap = /ValidatingAdmissionPolicy '([^']+)'/.exec(text);
  if (vap) return `admission ${vap[1]}`;
  if (/violates PodSecurity/.test(text)) return "PodSecurity";
  if (/exceeded quota/.test(text)) return "ResourceQuota";
  return "API server";
}

/** The first line of kubectl's error, trimmed, for the results table. */
export function reason(r: KubectlResult): string {
  const line = (r.err || r.out).split("\n").find((l) => l.trim()) ?? "";
  return line
    .replace(/^Error from server( \(\w+\))?: /, "")
    .replace(/^error when \w+ "STDIN": /, "")
    .slice(0, 160);
}

// ---- the HTTPS client ----------------------------------------------------------------------------

export interface ApiResult {
  readonly status: number;
  readonly body: any;
  /** The Status message of a refusal, or the HTTP status. */
  readonly message: string;
}

export interface AccessAttributes {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly namespace?: string;
}

/** The API server, on the kubeconfig's current context, with keep-alive and impersonation. */
export class Api {
  private constructor(
    private readonly server: URL,
    private readonly base: https.RequestOptions,
  ) {}

  static async fromKubeconfig(path?: string): Promise<Api> {
    const kc = new KubeConfig();
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the kubeconfig has no current cluster");
    const opts: https.RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    opts.agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
    return new Api(new URL(cluster.server), opts);
  }

  request(method: string, path: string, body?: unknown, id: Identity = admin): Promise<ApiResult> {
    const headers: Record<string, string | string[]> = {
      ...(this.base.headers as Record<string, string>),
      Accept: "application/json",
    };
    if (id.user) {
      headers["Impersonate-User"] = id.user;
      if (id.groups?.length) headers["Impersonate-Group"] = [...id.groups];
    }
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload) headers["Content-Type"] = "application/json";
    const url = new URL(path, this.server);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          ...this.base,
          method,
          hostname: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          headers,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c) => {
            text += c;
          });
          res.on("end", () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // not JSON
            }
            const status = res.statusCode ?? 0;
            const message = (parsed as any)?.message ?? `HTTP ${status}`;
            resolve({ status, body: parsed, message });
          });
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** A SelfSubjectAccessReview as the identity: true when allowed. */
  async allowed(id: Identity, a: AccessAttributes): Promise<boolean> {
    const r = await this.request(
      "POST",
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: a },
      },
      id,
    );
    if (r.status !== 201) throw new Error(`SelfSubjectAccessReview: ${r.message}`);
    return r.body.status?.allowed === true;
  }

  /** Every attribute set of `attrs` the identity is allowed (SelfSubjectAccessReviews, 16 at a time). */
  async allowedOf(id: Identity, attrs: readonly AccessAttributes[]): Promise<AccessAttributes[]> {
    const hits: AccessAttributes[] = [];
    let next = 0;
    const worker = async () => {
      while (next < attrs.length) {
        const a = attrs[next++];
        if (await this.allowed(id, a)) hits.push(a);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    return hits;
  }

  /** The identity's resource rules in a namespace (a SelfSubjectRulesReview). */
  async rules(
    id: Identity,
    namespace: string,
  ): Promise<{
    rules: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[];
    incomplete: boolean;
  }> {
    const r = await this.request(
      "POST",
      "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
      { apiVersion: "authorization.k8s.io/v1", kind: "SelfSubjectRulesReview", spec: { namespace } },
      id,
    );
    if (r.status !== 201) throw new Error(`SelfSubjectRulesReview: ${r.message}`);
    return { rules: r.body.status?.resourceRules ?? [], incomplete: r.body.status?.incomplete === true };
  }
}

/** An API resource from discovery. */
export interface ApiResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
}

/** Every top-level resource the API server serves (preferred versions), from discovery. */
export async function discover(api: Api): Promise<ApiResource[]> {
  const out: ApiResource[] = [];
  const add = (group: string, gv: string, list: ApiResult) => {
    for (const r of list.body.resources ?? []) {
      if (r.name.includes("/")) continue; // subresources
      out.push({
        group,
        version: gv.split("/").pop() as string,
        resource: r.name,
        namespaced: r.namespaced,
        verbs: r.verbs ?? [],
      });
    }
  };
  add("", "v1", await api.request("GET", "/api/v1"));
  const groups = await api.request("GET", "/apis");
  for (const g of groups.body.groups ?? []) {
    const gv = g.preferredVersion.groupVersion as string;
    add(g.name, gv, await api.request("GET", `/apis/${gv}`));
  }
  if (out.length === 0) throw new Error("discovery returned no resources: is the cluster reachable?");
  return out;
}
