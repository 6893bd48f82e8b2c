/**
 * A stand-in registry on loopback for tests of `imaas rollback`: the part of the OCI distribution API the
 * command uses — `HEAD /v2/<name>/manifests/<reference>` — behind the Bearer token flow Harbor and Docker
 * Hub use (401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, a token from the realm for
 * basic-auth credentials, then the request again with the token). It is not a registry: it holds names
 * and tags only, and records the requests it answered.
 */
import { createServer, type Server } from "node:http";

export interface StandInRegistry {
  readonly url: string;
  /** `<name>:<tag>` → held. Tests add and remove tags as a push or a retention run would. */
  readonly held: Set<string>;
  /** Method, path and whether it carried a valid token, of every request. */
  readonly requests: { method: string; path: string; authorized: boolean }[];
  close(): Promise<void>;
}

export async function startStandInRegistry(credentials: {
  username: string;
  password: string;
}): Promise<StandInRegistry> {
  const held = new Set<string>();
  const requests: StandInRegistry["requests"] = [];
  const token = "stand-in-token";
  const basic = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
  let url = "";
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0]!;
    const authorized = req.headers.authorization === `Bearer ${token}`;
    requests.push({ method: req.method ?? "", path, authorized });
    if (path === "/token") {
      if (req.headers.authorization !== basic) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token }));
      return;
    }
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    if (!authorized) {
      res
        .writeHead(401, {
          "www-authenticate": `Bearer realm="${url}/token",service="stand-in",scope="repository:${m[1]}:pull"`,
        })
        .end();
      return;
    }
    const found = held.has(`${m[1]}:${decodeURIComponent(m[2]!)}`);
    res
      .writeHead(
        found ? 200 : 404,
        found ? { "content-type": "application/vnd.oci.image.manifest.v1+json" } : {},
      )
      .end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  return {
    url,
    held,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
