/**
 * Metrics isolation, live: a real Prometheus scrapes series of every tenant namespace of the nonprod cluster
 * (and of platform namespaces, and of look-alike names), and each tenant's real prom-label-proxy runs with
 * exactly the arguments the program gives it (the chart's command line from its planned values; only the
 * listen address and the upstream are loopback). Every query a tenant's Grafana data source can send —
 * plain and regex selectors, another tenant's namespace, `or`/`unless`, aggregations, label_replace,
 * subqueries, label values, series and labels APIs, federation, POST bodies — returns only that tenant's
 * series; what the proxy does not scope is refused. Each series carries `origin` (a copy of its namespace that
 * no query can rewrite at the source), so results are checked by where the data came from.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { promLabelProxyArgs } from "../../components/observability/values/prom-label-proxy";
import { artifacts, freeLoopbackPort } from "./hooks";
import { answers, listenLoopback, type Proc, start, stopAll, waitFor } from "./processes";
import { bin } from "./tools";

const METRIC = "wso2_integration_api_request_count_total";
/** Namespaces that belong to no tenant: the platform's, and look-alikes of tenant namespaces. */
const OTHER_NAMESPACES = [
  "observability",
  "kube-system",
  "argocd",
  "payroll-dev2",
  "xpayroll-dev",
  "payroll",
];

/**
 * One HTTP request on its own connection (no keep-alive reuse races), 10 s at most. A connection the server
 * drops without answering is status 0: prom-label-proxy v0.11.1 does that when a handler panics.
 */
function request(
  method: "GET" | "POST",
  url: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent: false,
        timeout: 10_000,
        headers: body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on("error", (e) => {
      if ((e as NodeJS.ErrnoException).code === "ECONNRESET")
        resolve({ status: 0, text: `dropped: ${e.message}` });
      else reject(new Error(`${method} ${url}: ${e.message}`));
    });
    req.end(body);
  });
}

interface PromResponse {
  status: string;
  data: unknown;
  errorType?: string;
}
type Sample = { metric: Record<string, string> };

describe("metrics isolation: real Prometheus behind each tenant's prom-label-proxy", function () {
  this.timeout(180_000);
  let dir: string;
  let promUrl: string;
  let prom: Proc;
  /** Tenant → its proxy URL and its namespaces on the cluster. */
  const proxies = new Map<string, { url: string; namespaces: string[] }>();
  let allNamespaces: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "imaas-telemetry-metrics-"));
    const { namespaces, proxies: planned } = artifacts();
    const tenantNamespaces = Object.values(namespaces).flatMap((byCluster) => byCluster.nonprod ?? []);
    allNamespaces = [...tenantNamespaces, ...OTHER_NAMESPACES];
    // The exporter: one series per namespace, each with a label only that namespace has.
    const exposition = `${allNamespaces
      .map(
        (ns) =>
          `${METRIC}{namespace="${ns}",origin="${ns}",service_name="svc",only_in_${ns.replaceAll("-", "_")}="1"} 42`,
      )
      .join("\n")}\nnode_load1{origin="cluster"} 1\n`;
    const exporterPort = await listenLoopback(
      createServer((_req, res) =>
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(exposition),
      ),
    );
    const promPort = await freeLoopbackPort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      scrape_configs: [
        {
          job_name: "tenants",
          honor_labels: true,
          static_configs: [{ targets: [`127.0.0.1:${exporterPort}`] }],
        },
      ],
    };
    writeFileSync(join(dir, "prometheus.yml"), YAML.stringify(config));
    prom = start(
      "prometheus",
      [
        bin("prometheus"),
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "tsdb")}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      join(dir, "prometheus.log"),
    );
    await waitFor("Prometheus /-/ready", () => answers(`${promUrl}/-/ready`), 60_000, prom);
    await waitFor(
      "every namespace's series in Prometheus",
      async () => {
        const r = await request("GET", `${promUrl}/api/v1/query?query=${encodeURIComponent(METRIC)}`);
        return (
          r.status === 200 &&
          ((JSON.parse(r.text) as { data: { result: Sample[] } }).data.result ?? []).length ===
            allNamespaces.length
        );
      },
      60_000,
      prom,
    );
    for (const p of planned.filter((x) => x.cluster === "nonprod")) {
      const port = await freeLoopbackPort();
      const values = { ...p.values, config: { ...p.values.config, upstream: promUrl } };
      const proc = start(
        `prom-label-proxy-${p.tenant}`,
        [bin("prom-label-proxy"), ...promLabelProxyArgs(values, `127.0.0.1:${port}`)],
        join(dir, `prom-label-proxy-${p.tenant}.log`),
      );
      const url = `http://127.0.0.1:${port}`;
      await waitFor(`prom-label-proxy of ${p.tenant}`, () => answers(`${url}/healthz`), 30_000, proc);
      proxies.set(p.tenant, { url, namespaces: [...(namespaces[p.tenant]?.nonprod ?? [])] });
    }
  });

  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (base: string, path: string, params: Record<string, string | string[]> = {}) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) q.append(k, x);
    return request("GET", `${base}${path}${q.size ? `?${q}` : ""}`);
  };
  const post = (base: string, path: string, body: Record<string, string | string[]>, query = "") => {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(body)) for (const x of [v].flat()) form.append(k, x);
    return request("POST", `${base}${path}${query}`, form.toString());
  };
  /** Origins of the series in a query/series answer; undefined when the proxy refused the request. */
  const origins = (r: { status: number; text: string }): string[] | undefined => {
    if (r.status !== 200) return undefined;
    const body = JSON.parse(r.text) as PromResponse;
    const data = body.data as { result?: Sample[] } | Sample["metric"][];
    const series = Array.isArray(data) ? data : (data.result ?? []).map((s) => s.metric);
    return series.map((m) => m.origin ?? "(none)");
  };

  it("Prometheus itself holds every namespace's series (the data to leak is there)", async () => {
    const all = origins(await get(promUrl, "/api/v1/query", { query: METRIC }));
    assert.deepEqual([...(all ?? [])].sort(), [...allNamespaces].sort());
    assert.ok(proxies.size >= 3, `proxies: ${[...proxies.keys()].join(", ")}`);
  });

  it("plain, regex and negative selectors, aggregations and subqueries see only the tenant's series", async () => {
    for (const [tenant, { url, namespaces }] of proxies) {
      // Matchers on `namespace` itself may be refused (`--error-on-replace`); they never widen the scope.
      for (const query of [
        `${METRIC}{namespace=~".+"}`,
        `${METRIC}{namespace=~"${tenant}.*"}`,
        `${METRIC}{namespace!="${namespaces[0]}"}`,
        `${METRIC}{namespace!~"${namespaces[0]}"}`,
        `${METRIC}{namespace=""}`,
      ]) {
        for (const r of [
          await get(url, "/api/v1/query", { query }),
          await post(url, "/api/v1/query", { query }),
        ]) {
          for (const o of origins(r) ?? [])
            assert.ok(namespaces.includes(o), `${tenant}: ${query} returned ${o}`);
        }
      }
      const queries = [
        METRIC,
        `{__name__=~".+"}`,
        `{__name__=~"wso2.*|node.*"}`,
        `sum by (origin) (${METRIC})`,
        `count by (origin) ({origin=~".+"})`,
        `label_replace(${METRIC}, "namespace", "${namespaces[0]}", "namespace", ".*")`,
        `max_over_time(${METRIC}[1m:1s])`,
        `${METRIC} * on(origin) group_left() count by (origin) ({__name__=~".+"})`,
      ];
      for (const query of queries) {
        for (const r of [
          await get(url, "/api/v1/query", { query }),
          await post(url, "/api/v1/query", { query }),
        ]) {
          const got = origins(r);
          assert.ok(
            got,
            `${tenant}: ${query} was refused (${r.status} ${r.text}), expected the tenant's own series`,
          );
          assert.ok(got.length > 0, `${tenant}: ${query} returned nothing`);
          for (const o of got) assert.ok(namespaces.includes(o), `${tenant}: ${query} returned ${o}`);
        }
      }
      const range = origins(
        await get(url, "/api/v1/query_range", {
          query: `{__name__=~".+"}`,
          start: String(Math.floor(Date.now() / 1000) - 60),
          end: String(Math.floor(Date.now() / 1000)),
          step: "5",
        }),
      );
      assert.deepEqual([...new Set(range)].sort(), [...namespaces].sort(), `${tenant}: query_range`);
    }
  });

  it("naming another namespace, or combining it with `or`/`unless`, never returns it", async () => {
    for (const [tenant, { url, namespaces }] of proxies) {
      const foreign = allNamespaces.filter((ns) => !namespaces.includes(ns));
      for (const other of foreign) {
        const queries = [
          `${METRIC}{namespace="${other}"}`,
          `${METRIC}{namespace=~"${other}|${namespaces[0]}"}`,
          `${METRIC}{origin="${other}"}`,
          `${METRIC} or ${METRIC}{namespace="${other}"}`,
          `${METRIC}{namespace="${other}"} or on() vector(0)`,
          `${METRIC} unless ${METRIC}{namespace="${other}"}`,
          `absent(${METRIC}{namespace="${other}"})`,
        ];
        for (const query of queries) {
          for (const r of [
            await get(url, "/api/v1/query", { query }),
            await post(url, "/api/v1/query", { query }),
          ]) {
            const got = origins(r) ?? [];
            assert.ok(!got.includes(other), `${tenant}: ${query} returned ${other}'s series`);
            for (const o of got)
              assert.ok(namespaces.includes(o) || o === "(none)", `${tenant}: ${query} → ${o}`);
          }
        }
        // A query in the URL and another in the body: whichever the proxy and Prometheus read, only own data.
        const smuggled = await post(
          url,
          "/api/v1/query",
          { query: `${METRIC}{namespace="${other}"}` },
          `?query=${METRIC}`,
        );
        assert.ok(
          !(origins(smuggled) ?? []).includes(other),
          `${tenant}: URL+body query pair leaked ${other}`,
        );
      }
    }
  });

  it("label values, series and labels APIs and federation list only the tenant's own", async () => {
    for (const [tenant, { url, namespaces }] of proxies) {
      const ns = await get(url, "/api/v1/label/namespace/values");
      assert.equal(ns.status, 200, ns.text);
      assert.deepEqual(
        [...(JSON.parse(ns.text).data as string[])].sort(),
        [...namespaces].sort(),
        `${tenant}: label_values`,
      );
      const origin = await get(url, "/api/v1/label/origin/values", { "match[]": `{__name__=~".+"}` });
      assert.deepEqual([...(JSON.parse(origin.text).data as string[])].sort(), [...namespaces].sort());

      const series = await get(url, "/api/v1/series", { "match[]": [`{__name__=~".+"}`, `{origin=~".+"}`] });
      assert.deepEqual([...new Set(origins(series))].sort(), [...namespaces].sort(), `${tenant}: series API`);
      const seriesPost = await post(url, "/api/v1/series", { "match[]": `{__name__=~".+"}` });
      assert.deepEqual(
        [...new Set(origins(seriesPost))].sort(),
        [...namespaces].sort(),
        `${tenant}: series POST`,
      );

      const labels = await get(url, "/api/v1/labels");
      assert.equal(labels.status, 200, labels.text);
      const names = JSON.parse(labels.text).data as string[];
      for (const other of allNamespaces) {
        const label = `only_in_${other.replaceAll("-", "_")}`;
        assert.equal(names.includes(label), namespaces.includes(other), `${tenant}: labels API and ${label}`);
      }

      const fed = await get(url, "/federate", { "match[]": `{__name__=~".+"}` });
      assert.equal(fed.status, 200, fed.text);
      const fedOrigins = [...fed.text.matchAll(/origin="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual([...new Set(fedOrigins)].sort(), [...namespaces].sort(), `${tenant}: /federate`);
    }
  });

  it("known upstream bug: a tenant with several namespaces gets a dropped connection for `namespace=` matchers", async () => {
    // prom-label-proxy v0.11.1 builds the injected `namespace=~"a|b"` matcher without compiling it; with
    // --error-on-replace, an equality matcher on the label then panics in the handler (upstream issue #299,
    // fix in PR #300, unreleased). It fails closed: no data. The dashboards use `namespace=~"$namespace"`,
    // which works. When this test fails, the proxy was fixed: update the README's known gaps.
    const multi = [...proxies].find(([, p]) => p.namespaces.length > 1);
    const single = [...proxies].find(([, p]) => p.namespaces.length === 1);
    assert.ok(multi && single, "a tenant with several namespaces and one with one");
    const [, { url, namespaces }] = multi;
    const own = await get(url, "/api/v1/query", { query: `${METRIC}{namespace="${namespaces[0]}"}` });
    assert.equal(own.status, 0, `expected the v0.11.1 panic, got ${own.status} ${own.text}`);
    const regex = origins(
      await get(url, "/api/v1/query", { query: `${METRIC}{namespace=~"${namespaces[0]}"}` }),
    );
    assert.deepEqual(regex, [namespaces[0]], "the dashboards' regex form works");
    const [, one] = single;
    const r = origins(
      await get(one.url, "/api/v1/query", { query: `${METRIC}{namespace="${one.namespaces[0]}"}` }),
    );
    assert.deepEqual(r, [one.namespaces[0]], "with one namespace the equality matcher works");
  });

  it("refuses what it cannot scope: targets, config, admin and unknown paths", async () => {
    for (const [tenant, { url }] of proxies) {
      for (const path of [
        "/api/v1/targets",
        "/api/v1/status/config",
        "/api/v1/status/flags",
        "/api/v1/metadata",
        "/graph",
      ]) {
        const r = await get(url, path);
        assert.notEqual(r.status, 200, `${tenant}: ${path} answered 200: ${r.text.slice(0, 200)}`);
      }
      const del = await post(url, "/api/v1/admin/tsdb/delete_series", { "match[]": `{__name__=~".+"}` });
      assert.notEqual(del.status, 200, `${tenant}: admin API reachable`);
    }
    const direct = await get(promUrl, "/api/v1/targets");
    assert.equal(direct.status, 200, "the same paths answer on Prometheus itself");
  });
});
