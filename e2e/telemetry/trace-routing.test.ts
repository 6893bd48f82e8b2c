/**
 * Traces, live: the collector built from the pinned components (e2e/tools/otelcol) runs the generated
 * configuration of the nonprod cluster against a real API server holding pods of each tenant, and spans
 * sent from each pod's address must reach the trace backend with that tenant's `X-Scope-OrgID` only.
 *
 * What stands in for what, and the only changes made to the generated configuration:
 * - pods: Pod objects on the sandbox's kube-apiserver whose `status.podIP` is a loopback address
 *   (127.77.0.x; there are no nodes, so the status is written the way the kubelet writes it). The
 *   collector's k8sattributes processor watches them and tells tenants apart by the connection's source
 *   address exactly as in the cluster; the test's client binds each pod's address before sending.
 * - the collector reaches the API server with the sandbox's kubeconfig (`auth_type: kubeConfig`) instead
 *   of its in-cluster service account;
 * - listen addresses are free loopback ports, and every tenant exporter's endpoint is one loopback OTLP/gRPC
 *   sink standing in for Tempo (h2c, no TLS, as the generated `tls.insecure` says). The sink records the
 *   tenant header and the decoded body of each export.
 * Everything else — the processors deleting what a span claims, the routing table, the exporters' headers,
 * the pipelines — is the plan's own output.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import YAML from "yaml";
import { PLATFORM_TELEMETRY_TENANT, telemetryTenantId } from "../../model/naming";
import { kubeconfigPath, kubectl } from "../sandbox/parts/control-plane";
import { startParts, stopParts } from "../sandbox/parts/orchestrator";
import type { Part, PartContext } from "../sandbox/parts/part";
import { artifacts, freeLoopbackPort } from "./hooks";
import { answers, logTail, type Proc, start, stop, waitFor } from "./processes";
import { bin, ROOT, TOOLS_DIR } from "./tools";

type Obj = Record<string, any>;

/** One export the stand-in trace backend received. */
interface Export {
  readonly tenant: string | undefined;
  /** The protobuf ExportTraceServiceRequest; strings (names, attribute values) appear in it verbatim. */
  readonly body: Buffer;
}

const CLUSTER = "nonprod";
const UNKNOWN_ADDRESS = "127.77.0.250"; // no pod has it

/**
 * A minimal OTLP/gRPC trace sink on node:http2 (gRPC is HTTP/2 with length-prefixed messages and a
 * `grpc-status` trailer): answers every Export with an empty response, which is a valid
 * ExportTraceServiceResponse.
 */
function traceSink(received: Export[]): { server: http2.Http2Server; close: () => Promise<void> } {
  const server = http2.createServer();
  // HTTP/2 sessions outlive their streams and a server's close waits for them: `close` ends them too.
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const session of sessions) session.destroy();
    });
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      let data = Buffer.concat(chunks);
      const bodies: Buffer[] = [];
      while (data.length >= 5) {
        const compressed = data[0] === 1;
        const len = data.readUInt32BE(1);
        const msg = data.subarray(5, 5 + len);
        bodies.push(compressed ? gunzipSync(msg) : msg);
        data = data.subarray(5 + len);
      }
      const tenant = headers["x-scope-orgid"];
      for (const body of bodies) received.push({ tenant: Array.isArray(tenant) ? tenant[0] : tenant, body });
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.alloc(5));
    });
  });
  return { server, close };
}

/** POSTs one span (OTLP/HTTP JSON) from `from`, a pod's loopback address; resolves with the status code. */
function sendSpan(
  port: number,
  from: string,
  spanName: string,
  resourceAttributes: Record<string, string>,
): Promise<number> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const body = JSON.stringify({
    resourceSpans: [
      {
        resource: {
          attributes: Object.entries(resourceAttributes).map(([key, v]) => ({
            key,
            value: { stringValue: v },
          })),
        },
        scopeSpans: [
          {
            spans: [
              {
                traceId: "5b8efff798038103d269b633813fc60c",
                spanId: "eee19b7ec3c1b174",
                name: spanName,
                kind: 2,
                startTimeUnixNano: String(now),
                endTimeUnixNano: String(now + 1_000_000n),
              },
            ],
          },
        ],
      },
    ],
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/traces",
        method: "POST",
        localAddress: from,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: 5000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

const exportsWith = (received: readonly Export[], marker: string) =>
  received.filter((e) => e.body.includes(marker));

describe("trace routing: the generated collector config on a real collector, pods on a real API server", function () {
  this.timeout(5 * 60_000);

  const base = mkdtempSync(join(tmpdir(), "imaas-traces-"));
  const ctx: PartContext = {
    repo: ROOT,
    dir: join(base, "sandbox"),
    toolsDir: TOOLS_DIR,
    log: (m) => process.stderr.write(`      ${m}\n`),
  };
  let parts: Part[] = [];
  let collector: Proc | undefined;
  let sink: ReturnType<typeof traceSink> | undefined;
  let httpPort = 0;
  const received: Export[] = [];
  /** tenant → the namespace and loopback address of its pod. */
  const pods = new Map<string, { namespace: string; ip: string }>();

  before(async function () {
    this.timeout(10 * 60_000);
    execFileSync("bash", [join(ROOT, "e2e/tools/build.sh"), "kube", "etcd", "crds"], {
      env: { ...process.env, IMAAS_TOOLS_DIR: TOOLS_DIR },
      stdio: ["ignore", "inherit", "inherit"],
    });
    parts = await startParts(ctx, ["control-plane"]);

    // A pod of each tenant in its first nonprod namespace, and its address.
    const tenants = Object.keys(artifacts().namespaces).sort();
    assert.ok(tenants.length >= 3, `tenants: ${tenants.join(", ")}`);
    tenants.forEach((tenant, i) => {
      const namespace = artifacts().namespaces[tenant]?.[CLUSTER]?.[0];
      assert.ok(namespace, `${tenant} has no namespace on ${CLUSTER}`);
      pods.set(tenant, { namespace, ip: `127.77.0.${i + 1}` });
    });
    for (const [tenant, { namespace, ip }] of pods) {
      kubectl(ctx, ["create", "namespace", namespace]);
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `${tenant}-app`, namespace, labels: { app: `${tenant}-app` } },
        spec: {
          automountServiceAccountToken: false,
          containers: [{ name: "app", image: "registry.invalid/app:1" }],
        },
      };
      // The ServiceAccount admission plugin waits for the namespace's default account (the
      // controller-manager creates it within seconds).
      await waitFor(
        `pod ${namespace}/${tenant}-app created`,
        async () => {
          kubectl(ctx, ["apply", "-f", "-"], JSON.stringify(pod));
          return true;
        },
        60_000,
      );
      const status = { status: { phase: "Running", podIP: ip, podIPs: [{ ip }] } };
      kubectl(ctx, [
        "patch",
        "pod",
        `${tenant}-app`,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify(status),
      ]);
    }

    // The stand-in trace backend, and the generated config pointed at loopback.
    sink = traceSink(received);
    const { server } = sink;
    const sinkPort = await new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const addr = server.address();
        resolve(typeof addr === "object" && addr ? addr.port : 0);
      });
    });
    const config = structuredClone(artifacts().collector[CLUSTER]?.config) as Obj;
    assert.ok(config, `no collector config for ${CLUSTER}`);
    assert.equal(config.processors.k8sattributes.auth_type, "serviceAccount");
    assert.deepEqual(config.processors.k8sattributes.pod_association, [
      { sources: [{ from: "connection" }] },
    ]);
    httpPort = await freeLoopbackPort();
    const grpcPort = await freeLoopbackPort();
    const healthPort = await freeLoopbackPort();
    config.receivers.otlp.protocols.http.endpoint = `127.0.0.1:${httpPort}`;
    config.receivers.otlp.protocols.grpc.endpoint = `127.0.0.1:${grpcPort}`;
    config.extensions.health_check.endpoint = `127.0.0.1:${healthPort}`;
    config.processors.k8sattributes.auth_type = "kubeConfig";
    const exporters = Object.entries(config.exporters as Obj);
    assert.ok(exporters.length >= tenants.length + 1, `exporters: ${exporters.map(([k]) => k).join(", ")}`);
    for (const [name, exporter] of exporters) {
      assert.ok(name.startsWith("otlp/"), `${name}: an OTLP/gRPC exporter`);
      exporter.endpoint = `127.0.0.1:${sinkPort}`;
    }
    const file = join(base, "otelcol.yaml");
    writeFileSync(file, YAML.stringify(config));

    collector = start(
      "otelcol-imaas",
      [bin("otelcol-imaas"), `--config=${file}`],
      join(base, "otelcol.log"),
      {
        MY_POD_IP: "127.0.0.1",
        KUBECONFIG: kubeconfigPath(ctx.dir),
      },
    );
    await waitFor(
      "the collector's health check",
      () => answers(`http://127.0.0.1:${healthPort}/`),
      60_000,
      collector,
    );

    // k8sattributes learns the pods from its watch; until then spans carry no namespace and go to the
    // platform. Probe with one tenant's address until its first span is routed to it.
    const [probeTenant, probePod] = [...pods][0]!;
    let n = 0;
    await waitFor(
      "the collector to know the pods (a probe span routed to its tenant)",
      async () => {
        const marker = `probe-${n++}`;
        assert.equal(await sendSpan(httpPort, probePod.ip, marker, { "service.name": "probe" }), 200);
        await new Promise((r) => setTimeout(r, 1000));
        return received.some((e) => e.body.includes(marker) && e.tenant === telemetryTenantId(probeTenant));
      },
      90_000,
      collector,
    );
  });

  after(async function () {
    this.timeout(120_000);
    if (collector) await stop(collector);
    // Closed here, with every session: an open server would keep mocha from exiting.
    await sink?.close();
    await stopParts(ctx, parts).catch(() => undefined);
    if (!process.env.IMAAS_E2E_KEEP_LOGS) rmSync(base, { recursive: true, force: true });
  });

  /** Waits until `marker` reached the sink, then a moment more (the batch processor's window) for duplicates. */
  async function delivered(marker: string): Promise<Export[]> {
    await waitFor(
      `span ${marker} delivered`,
      async () => exportsWith(received, marker).length > 0,
      30_000,
      collector,
    );
    await new Promise((r) => setTimeout(r, 500));
    return exportsWith(received, marker);
  }

  it("each tenant's spans reach the trace backend with that tenant's X-Scope-OrgID only", async () => {
    for (const [tenant, { ip, namespace }] of pods) {
      const marker = `own-${tenant}-${Date.now()}`;
      assert.equal(await sendSpan(httpPort, ip, marker, { "service.name": `${tenant}-svc` }), 200);
      const got = await delivered(marker);
      assert.deepEqual(
        got.map((e) => e.tenant),
        got.map(() => telemetryTenantId(tenant)),
        `${tenant}'s span went to ${got.map((e) => e.tenant).join(", ")}\n${collector ? logTail(collector) : ""}`,
      );
      for (const e of got) assert.ok(e.body.includes(namespace), `the delivered span names ${namespace}`);
    }
  });

  it("a span claiming another tenant's namespace lands with the sender's tenant, under its own namespace", async () => {
    const all = [...pods];
    const [sender, from] = all[0]!;
    const [victim, claimed] = all[1]!;
    const marker = `claim-${Date.now()}`;
    assert.equal(
      await sendSpan(httpPort, from.ip, marker, {
        "service.name": "impostor",
        "k8s.namespace.name": claimed.namespace,
        "k8s.pod.ip": claimed.ip,
      }),
      200,
    );
    const got = await delivered(marker);
    for (const e of got) {
      assert.equal(e.tenant, telemetryTenantId(sender), `claimed ${victim}'s namespace, went to ${e.tenant}`);
      assert.ok(e.body.includes(from.namespace), "the namespace is the sender's, set from its address");
      assert.ok(!e.body.includes(claimed.namespace), "the claimed namespace was deleted");
    }
    assert.ok(exportsWith(received, marker).every((e) => e.tenant !== telemetryTenantId(victim)));
  });

  it("a span from an address no pod owns goes to the platform tenant, never to a tenant", async () => {
    const [, claimed] = [...pods][0]!;
    const marker = `unknown-${Date.now()}`;
    assert.equal(
      await sendSpan(httpPort, UNKNOWN_ADDRESS, marker, {
        "service.name": "stranger",
        "k8s.namespace.name": claimed.namespace,
      }),
      200,
    );
    const got = await delivered(marker);
    assert.deepEqual(
      got.map((e) => e.tenant),
      got.map(() => PLATFORM_TELEMETRY_TENANT),
    );
  });

  it("the sink really tells tenants apart (every tenant's exporter sent under its own header)", () => {
    const seen = new Set(received.map((e) => e.tenant));
    for (const tenant of pods.keys()) assert.ok(seen.has(telemetryTenantId(tenant)), `${tenant} never seen`);
    assert.ok(seen.has(PLATFORM_TELEMETRY_TENANT));
  });
});
