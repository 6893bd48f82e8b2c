import * as assert from "node:assert/strict";
import {
  backoffMs,
  DEFAULT_REQUEST_OPTIONS,
  HarborApiError,
  harborRequest,
  isRetryable,
  normalizeHarborUrl,
  parseHarborError,
} from "../../../providers/harbor/client";
import { FakeHarbor } from "./fake-harbor";

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe("providers/harbor client", () => {
  let fake: FakeHarbor;
  beforeEach(async () => {
    fake = await new FakeHarbor().start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  const get = (options = {}) =>
    harborRequest(fake.connection, {
      call: "list quotas",
      method: "GET",
      path: "/quotas",
      query: { reference: "project", reference_id: "1" },
      options: { ...fast, ...options },
    });

  it("sends basic auth and parses JSON", async () => {
    const res = await get();
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, []);
    assert.equal(fake.requests[0].path, "/api/v2.0/quotas?reference=project&reference_id=1");
  });

  it("retries a 500, then succeeds", async () => {
    fake.inject("GET", "/api/v2.0/quotas", 500);
    const res = await get();
    assert.equal(res.status, 200);
    assert.equal(fake.requests.length, 2);
  });

  it("retries 429 and 502/503/504", async () => {
    fake.inject("GET", "/api/v2.0/quotas", 429);
    fake.inject("GET", "/api/v2.0/quotas", 502);
    fake.inject("GET", "/api/v2.0/quotas", 503);
    fake.inject("GET", "/api/v2.0/quotas", 504);
    assert.equal((await get()).status, 200);
    assert.equal(fake.requests.length, 5);
  });

  it("gives up after maxRetries with the status, Harbor's message and the attempt count", async () => {
    fake.inject("GET", "/api/v2.0/quotas", 500, 10);
    await assert.rejects(get({ maxRetries: 2 }), (err: HarborApiError) => {
      assert.ok(err instanceof HarborApiError);
      assert.equal(err.status, 500);
      assert.equal(err.attempts, 3);
      // The fake, like Harbor's requestid middleware, answers every call (errors too) with the caller's X-Request-Id.
      assert.match(err.requestId ?? "", /^imaas-[0-9a-f-]{36}$/);
      assert.equal(
        err.message,
        `Harbor call "list quotas" failed: GET /api/v2.0/quotas at ${fake.url} returned 500 UNKNOWN: injected failure (3 attempts, X-Request-Id ${err.requestId})`,
      );
      return true;
    });
    assert.equal(fake.requests.length, 3);
  });

  it("does not retry a POST that Harbor may have applied (500), but does retry 503", async () => {
    const post = () =>
      harborRequest(fake.connection, {
        call: "create project",
        method: "POST",
        path: "/projects",
        body: { project_name: "acme" },
        options: fast,
      });
    fake.inject("POST", "/api/v2.0/projects", 500);
    await assert.rejects(post(), /returned 500 UNKNOWN: injected failure \(1 attempt, X-Request-Id imaas-/);
    assert.equal(fake.projects.size, 0);
    fake.inject("POST", "/api/v2.0/projects", 503);
    assert.equal((await post()).status, 201);
  });

  it("does not retry 4xx", async () => {
    await assert.rejects(
      harborRequest(fake.connection, {
        call: "get project",
        method: "GET",
        path: "/projects/nope",
        options: fast,
      }),
      (err: HarborApiError) =>
        err.status === 404 && err.attempts === 1 && /404 NOT_FOUND: project nope not found/.test(err.message),
    );
  });

  it("times out a call that hangs", async () => {
    fake.inject("GET", "/api/v2.0/quotas", 200, 1, 500);
    await assert.rejects(get({ timeoutMs: 50, maxRetries: 0 }), (err: HarborApiError) => {
      assert.equal(err.status, 0);
      assert.match(
        err.message,
        /GET \/api\/v2\.0\/quotas at .* no answer within 50 ms \(1 attempt, X-Request-Id imaas-/,
      );
      return true;
    });
  });

  it("says so when Harbor cannot be reached", async () => {
    const url = fake.url;
    await fake.stop();
    await assert.rejects(
      harborRequest(
        { ...fake.connection, url },
        { call: "ping", method: "GET", path: "/health", options: { ...fast, maxRetries: 1 } },
      ),
      /Harbor call "ping" failed: GET \/api\/v2\.0\/health at http:\/\/127\.0\.0\.1:\d+ could not reach Harbor: .*\(2 attempts, X-Request-Id imaas-/,
    );
    fake = await new FakeHarbor().start(); // for afterEach
  });

  it("never puts the password in an error, even when Harbor echoes it", async () => {
    const { password } = fake.connection;
    fake.inject("GET", "/api/v2.0/quotas", 400, 1, 0, `bad credentials admin:${password}`);
    await assert.rejects(get(), (err: HarborApiError) => {
      assert.ok(!err.message.includes(password));
      assert.match(err.message, /bad credentials admin:\*\*\*/);
      return true;
    });
    await assert.rejects(
      harborRequest(
        { ...fake.connection, password: "not-it" },
        { call: "list quotas", method: "GET", path: "/quotas" },
      ),
      (err: HarborApiError) =>
        err.status === 401 &&
        !err.message.includes("not-it") &&
        /401 UNAUTHORIZED: unauthorized/.test(err.message),
    );
  });

  it("names Harbor's X-Request-Id of the failed answer, so the call can be found in Harbor's logs", async () => {
    // Mirrors src/server/middleware/requestid/requestid.go: X-Request-ID on every response, the caller's if sent.
    await assert.rejects(
      harborRequest(fake.connection, {
        call: "get project",
        method: "GET",
        path: "/projects/nope",
        options: fast,
      }),
      (err: HarborApiError) => {
        const sent = fake.requests.at(-1)!;
        assert.equal(err.status, 404);
        assert.ok(err.requestId?.startsWith("imaas-"));
        assert.ok(err.message.endsWith(`(1 attempt, X-Request-Id ${err.requestId})`), err.message);
        assert.equal(sent.path, "/api/v2.0/projects/nope");
        return true;
      },
    );
  });

  it("wrong credentials are anonymous, as in Harbor: refused where anonymous may not act (401), not at the door", async () => {
    // Mirrors basicAuth.Generate (src/server/middleware/security/basic_auth.go): a failed login yields no
    // security context, so the request goes on as anonymous and each handler decides.
    const wrong = { ...fake.connection, password: "not-it" };
    await harborRequest(fake.connection, {
      call: "create public project",
      method: "POST",
      path: "/projects",
      body: { project_name: "open", metadata: { public: "true" } },
    });
    const read = await harborRequest<{ name: string }>(wrong, {
      call: "get public project",
      method: "GET",
      path: "/projects/open",
    });
    assert.equal(read.body.name, "open");
    assert.equal(fake.requests.at(-1)!.principal, "anonymous");
    await assert.rejects(
      harborRequest(wrong, { call: "list quotas", method: "GET", path: "/quotas", options: fast }),
      (err: HarborApiError) => err.status === 401,
    );
  });

  it("normalizes urls and refuses credentials in them", () => {
    assert.equal(normalizeHarborUrl("https://harbor.example.com/"), "https://harbor.example.com");
    assert.equal(normalizeHarborUrl("https://h.example.com:8443/api/v2.0"), "https://h.example.com:8443");
    assert.equal(normalizeHarborUrl("http://127.0.0.1:1234/harbor/"), "http://127.0.0.1:1234/harbor");
    assert.throws(() => normalizeHarborUrl("https://u:p@h.example.com"), /must not carry credentials/);
    assert.throws(() => normalizeHarborUrl("ftp://h.example.com"), /http or https/);
    assert.throws(() => normalizeHarborUrl("harbor"), /not a valid URL/);
  });

  it("bounds backoff and honours Retry-After", () => {
    for (let retry = 1; retry < 20; retry++) {
      const d = backoffMs(retry, DEFAULT_REQUEST_OPTIONS);
      assert.ok(d >= 0 && d <= DEFAULT_REQUEST_OPTIONS.maxDelayMs, String(d));
    }
    assert.equal(backoffMs(1, DEFAULT_REQUEST_OPTIONS, "2"), 2000);
    assert.equal(backoffMs(1, DEFAULT_REQUEST_OPTIONS, "3600"), DEFAULT_REQUEST_OPTIONS.maxDelayMs);
    assert.equal(isRetryable("PUT", 500, undefined), true);
    assert.equal(isRetryable("POST", 500, undefined), false);
    assert.equal(isRetryable("POST", 0, "ECONNREFUSED"), true);
    assert.equal(isRetryable("POST", 0, "TIMEOUT"), false);
  });

  it("reads Harbor's error array and falls back to the raw text", () => {
    assert.deepEqual(parseHarborError('{"errors":[{"code":"CONFLICT","message":"exists"}]}'), {
      code: "CONFLICT",
      message: "exists",
    });
    assert.deepEqual(parseHarborError("<html>bad gateway</html>"), { message: "<html>bad gateway</html>" });
    assert.deepEqual(parseHarborError(""), { message: "(empty response body)" });
  });
});
