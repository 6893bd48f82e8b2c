/**
 * A stand-in for the GitHub REST API on loopback, for Argo CD's notifications controller: the GitHub App
 * flow (the App's JWT, signed RS256 with the App's private key, exchanged for an installation token) and
 * commit statuses. It checks what GitHub would check — the JWT's signature and issuer, the installation,
 * the token on every status — and records every status it accepts. Anything else is answered 404 and
 * recorded, so a test sees calls it did not expect.
 *
 * Paths are GitHub Enterprise's (`/api/v3/...`): the controller is pointed at it with `enterpriseBaseURL`.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface PostedStatus {
  readonly owner: string;
  readonly repo: string;
  readonly sha: string;
  readonly state: string;
  readonly context: string;
  readonly description?: string;
  readonly targetUrl?: string;
  readonly at: Date;
}

export interface FakeGitHub {
  /** `http://127.0.0.1:<port>/api/v3`: the value of `enterpriseBaseUrl`. */
  readonly baseUrl: string;
  /** The App's private key (PEM), for `argocd-notifications-secret`. */
  readonly privateKeyPem: string;
  readonly appId: number;
  readonly installationId: number;
  readonly statuses: PostedStatus[];
  /** Requests answered with an error (method, path, why). */
  readonly refused: string[];
  close(): Promise<void>;
}

const b64url = (s: string) => Buffer.from(s, "base64url");

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (c) => {
      data += c;
    });
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

export async function startFakeGitHub(appId = 424242, installationId = 777): Promise<FakeGitHub> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const pub = createPublicKey(publicKey.export({ type: "spki", format: "pem" }));
  const tokens = new Set<string>();
  const statuses: PostedStatus[] = [];
  const refused: string[] = [];

  /** The App JWT of `Authorization: Bearer …`, verified; undefined (and why) when GitHub would refuse it. */
  const appJwtProblem = (auth: string | undefined): string | undefined => {
    const m = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(auth ?? "");
    if (!m) return "no App JWT";
    const [, h, p, s] = m as unknown as [string, string, string, string];
    const header = JSON.parse(b64url(h).toString());
    if (header.alg !== "RS256") return `JWT alg ${header.alg}`;
    if (!verify("RSA-SHA256", Buffer.from(`${h}.${p}`), pub, b64url(s)))
      return "JWT signature does not verify";
    const claims = JSON.parse(b64url(p).toString());
    if (String(claims.iss) !== String(appId)) return `JWT iss ${claims.iss}, expected ${appId}`;
    const now = Date.now() / 1000;
    if (!(claims.exp > now && claims.iat <= now + 60)) return "JWT expired or not yet valid";
    return undefined;
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const text = await body(req);
    const reply = (code: number, payload: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    const refuse = (code: number, why: string) => {
      refused.push(`${req.method} ${url.pathname}: ${why}`);
      reply(code, { message: why });
    };
    const exchange = /^\/api\/v3\/app\/installations\/(\d+)\/access_tokens$/.exec(url.pathname);
    if (req.method === "POST" && exchange) {
      const problem = appJwtProblem(req.headers.authorization);
      if (problem) return refuse(401, problem);
      if (Number(exchange[1]) !== installationId) return refuse(404, `no installation ${exchange[1]}`);
      const token = `ghs_${randomBytes(18).toString("hex")}`;
      tokens.add(token);
      return reply(201, { token, expires_at: new Date(Date.now() + 3600_000).toISOString() });
    }
    const status = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(url.pathname);
    if (req.method === "POST" && status) {
      const token = /^(?:token|Bearer) (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!token || !tokens.has(token)) return refuse(401, "no installation token");
      const b = JSON.parse(text || "{}");
      if (!["error", "failure", "pending", "success"].includes(b.state))
        return refuse(422, `state ${b.state}`);
      const posted: PostedStatus = {
        owner: status[1]!,
        repo: status[2]!,
        sha: status[3]!,
        state: b.state,
        context: b.context ?? "default",
        ...(b.description ? { description: b.description } : {}),
        ...(b.target_url ? { targetUrl: b.target_url } : {}),
        at: new Date(),
      };
      statuses.push(posted);
      return reply(201, { id: statuses.length, state: posted.state, context: posted.context });
    }
    return refuse(404, "not served by the fake");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/api/v3`,
    privateKeyPem,
    appId,
    installationId,
    statuses,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
