// HTTP client for Harbor's REST API v2.0, used by the Harbor dynamic providers.
//
// This module is captured *by value* by Pulumi's closure serialization (the providers reference its
// exports), so it must hold only functions, classes and plain constants: no module-level clients,
// agents, caches or imports of non-built-in packages. It uses Node's global `fetch`.

/** Where Harbor is and who calls it. Plain values: what a provider receives at run time. */
export interface HarborConnection {
  /** Base URL of Harbor, e.g. `https://harbor.example.com` (without `/api/v2.0`). */
  readonly url: string;
  /** Harbor user (or system robot) the providers act as. */
  readonly username: string;
  /** Its password. Never written into an error message. */
  readonly password: string;
}

/** Timeouts and retry bounds of one Harbor call. */
export interface HarborRequestOptions {
  /** Per-attempt timeout. @default 30000 */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (so at most `maxRetries + 1` attempts). @default 4 */
  readonly maxRetries?: number;
  /** First backoff delay; doubled on every retry, with jitter. @default 250 */
  readonly baseDelayMs?: number;
  /** Upper bound of one backoff delay, also for a server's `Retry-After`. @default 5000 */
  readonly maxDelayMs?: number;
}

/** Defaults of {@link HarborRequestOptions}. */
export const DEFAULT_REQUEST_OPTIONS: Required<HarborRequestOptions> = {
  timeoutMs: 30_000,
  maxRetries: 4,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
};

/** Harbor's API prefix. */
export const API_PREFIX = "/api/v2.0";

/** One Harbor call: `call` says in words what it is for, for error messages. */
export interface HarborRequest {
  /** What the call does, e.g. `create project "acme"`. */
  readonly call: string;
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";
  /** Path below `/api/v2.0`, e.g. `/projects/acme`; already URL-encoded. */
  readonly path: string;
  /** Query parameters. */
  readonly query?: Readonly<Record<string, string | number | boolean>>;
  /** JSON body. */
  readonly body?: unknown;
  /** Extra headers, e.g. `X-Is-Resource-Name`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly options?: HarborRequestOptions;
}

/** A successful response. */
export interface HarborResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/**
 * A failed Harbor call. The message names the call, the HTTP method and path, the status and
 * Harbor's own error code and message; it never contains the password.
 */
export class HarborApiError extends Error {
  /** What the call was for. */
  readonly call: string;
  readonly method: string;
  readonly path: string;
  /** HTTP status; 0 when Harbor could not be reached or did not answer in time. */
  readonly status: number;
  /** Harbor's error code (e.g. `NOT_FOUND`, `CONFLICT`), when it sent one. */
  readonly code: string | undefined;
  /** Harbor's error message (or the network error), password redacted. */
  readonly detail: string;
  /** Attempts made, retries included. */
  readonly attempts: number;
  /**
   * The last attempt's request id: Harbor's `X-Request-Id` answer header (it echoes the one the client
   * sent, src/server/middleware/requestid/requestid.go), or the id sent when no answer came. Harbor's
   * logs carry it, so an operator can find the failed call there.
   */
  readonly requestId: string | undefined;

  constructor(
    req: { call: string; method: string; path: string; url: string },
    status: number,
    code: string | undefined,
    detail: string,
    attempts: number,
    requestId?: string,
  ) {
    const what = status === 0 ? detail : `${status}${code ? ` ${code}` : ""}: ${detail}`;
    super(
      `Harbor call "${req.call}" failed: ${req.method} ${API_PREFIX}${req.path} at ${req.url} ` +
        `${status === 0 ? "" : "returned "}${what} (${attempts} attempt${attempts === 1 ? "" : "s"}` +
        `${requestId ? `, X-Request-Id ${requestId}` : ""})`,
    );
    this.name = "HarborApiError";
    this.call = req.call;
    this.method = req.method;
    this.path = req.path;
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.attempts = attempts;
    this.requestId = requestId;
  }
}

/** True when `err` is a Harbor error with the given HTTP status. */
export function isHarborStatus(err: unknown, ...statuses: number[]): err is HarborApiError {
  return err instanceof HarborApiError && statuses.includes(err.status);
}

/** Normalizes a Harbor base URL: http(s) only, no credentials, no trailing slash or `/api/v2.0`. */
export function normalizeHarborUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`Harbor url "${raw}" is not a valid URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`Harbor url "${raw}" must use http or https`);
  }
  if (url.username || url.password) {
    throw new Error("Harbor url must not carry credentials: pass username and password instead");
  }
  if (url.search || url.hash) {
    throw new Error(`Harbor url "${raw}" must not have a query or fragment`);
  }
  const path = url.pathname.replace(/\/+$/, "").replace(/\/api\/v2\.0$/, "");
  return `${url.protocol}//${url.host}${path}`;
}

/** Replaces every occurrence of the password in `text`. */
export function redact(text: string, password: string): string {
  return password ? text.split(password).join("***") : text;
}

/** Whether an attempt that ended with `status` (0: no response) may be retried. */
export function isRetryable(method: string, status: number, networkCode: string | undefined): boolean {
  if (method === "POST" || method === "PATCH") {
    // Not idempotent: retry only when Harbor cannot have acted on the request.
    return status === 429 || status === 503 || (status === 0 && networkCode === "ECONNREFUSED");
  }
  return status === 0 || status === 429 || status >= 500;
}

/** Backoff before retry number `retry` (1-based): exponential with jitter, bounded; honours `Retry-After`. */
export function backoffMs(
  retry: number,
  opts: Required<HarborRequestOptions>,
  retryAfter?: string | null,
): number {
  const seconds = retryAfter ? Number(retryAfter) : Number.NaN;
  if (Number.isFinite(seconds) && seconds >= 0) {
    return Math.min(seconds * 1000, opts.maxDelayMs);
  }
  const exp = Math.min(opts.baseDelayMs * 2 ** (retry - 1), opts.maxDelayMs);
  return Math.round(exp / 2 + (Math.random() * exp) / 2);
}

/** Extracts Harbor's `{"errors":[{"code","message"}]}`, or a short text of any other body. */
export function parseHarborError(text: string): { code?: string; message: string } {
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = parsed?.errors?.[0];
    if (first) {
      const messages = parsed.errors!.map((e) => e.message).filter(Boolean);
      return { code: first.code, message: messages.join("; ") || "(no message)" };
    }
  } catch {
    // not JSON: fall through
  }
  const trimmed = text.trim();
  return { message: trimmed ? trimmed.slice(0, 300) : "(empty response body)" };
}

/**
 * Calls Harbor and returns the parsed JSON body of a 2xx response; throws {@link HarborApiError}
 * otherwise. Retries 429, 5xx, timeouts and connection failures with bounded exponential backoff
 * (POST/PATCH only when Harbor cannot have acted: 429, 503, connection refused).
 */
export async function harborRequest<T = unknown>(
  conn: HarborConnection,
  req: HarborRequest,
): Promise<HarborResponse<T>> {
  const opts = { ...DEFAULT_REQUEST_OPTIONS, ...req.options };
  const base = normalizeHarborUrl(conn.url);
  const qs = req.query
    ? `?${new URLSearchParams(Object.entries(req.query).map(([k, v]): [string, string] => [k, String(v)])).toString()}`
    : "";
  const target = `${base}${API_PREFIX}${req.path}${qs}`;
  const headers: Record<string, string> = {
    Accept: "application/json",
    Authorization: `Basic ${Buffer.from(`${conn.username}:${conn.password}`).toString("base64")}`,
    ...req.headers,
  };
  if (req.body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  const describe = { call: req.call, method: req.method, path: req.path, url: base };

  for (let attempt = 1; ; attempt++) {
    // Our own id per attempt; Harbor keeps a caller's X-Request-Id and logs under it.
    const sentId = `imaas-${globalThis.crypto.randomUUID()}`;
    let requestId: string = sentId;
    let status = 0;
    let code: string | undefined;
    let detail: string;
    let networkCode: string | undefined;
    let retryAfter: string | null = null;
    try {
      const res = await fetch(target, {
        method: req.method,
        headers: { ...headers, "X-Request-Id": sentId },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(opts.timeoutMs),
        redirect: "error",
      });
      requestId = res.headers.get("x-request-id") ?? sentId;
      const text = await res.text();
      if (res.ok) {
        let body: unknown;
        if (text.trim()) {
          try {
            body = JSON.parse(text);
          } catch {
            body = text;
          }
        }
        return { status: res.status, body: body as T, headers: res.headers };
      }
      status = res.status;
      retryAfter = res.headers.get("retry-after");
      const parsed = parseHarborError(text);
      code = parsed.code;
      detail = parsed.message;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === "TimeoutError" || e.name === "AbortError") {
        detail = `no answer within ${opts.timeoutMs} ms`;
        networkCode = "TIMEOUT";
      } else {
        networkCode = e.cause?.code;
        detail = `could not reach Harbor: ${e.cause?.message ?? e.message}`;
      }
    }
    if (attempt > opts.maxRetries || !isRetryable(req.method, status, networkCode)) {
      throw new HarborApiError(describe, status, code, redact(detail, conn.password), attempt, requestId);
    }
    await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, opts, retryAfter)));
  }
}
