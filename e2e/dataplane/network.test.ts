/**
 * Packets prove the network isolation (issue 22 item 3): with the platform's generated NetworkPolicies
 * applied for real (`pulumi up` of the example tenants on the sandbox), real TCP connections between pods
 * of every tenant namespace — every tenant pair and environment pair, on MI's four ports — and from them to
 * addresses outside the cluster, enforced by kube-network-policies (the `netpol` sandbox part). Every
 * connection is set beside the NetworkPolicy evaluator's verdict on the policies read back from the API
 * server and the platform's promise written from its rules: any disagreement fails.
 *
 * A canary runs first: a connection every policy denies. If it connects the suite fails with "enforcement
 * is off". Proven once by running without the controller:
 *
 *   IMAAS_DATAPLANE_NETPOL=off npm run test:dataplane -- --grep 'enforcement'
 *
 * Runs as root (the node, the controller, a network namespace for "outside"); one per machine.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { loadTenantDir } from "../../model/load";
import { LABELS, namespaceName, TENANT_OBJECTS } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import type { NamespaceInfo, Policy } from "../../test/support/network-evaluator";
import { person, reason, refused, refusedBy } from "../security/engine";
import { kubeconfigPath, kubectl, sandboxEnv } from "../sandbox/parts/control-plane";
import { netpolQueuedIPs, netpolTable, netpolVerdicts } from "../sandbox/parts/netpol";
import { waitForNodeLock } from "../sandbox/parts/node";
import { startParts, stopParts } from "../sandbox/parts/orchestrator";
import type { Part, PartContext } from "../sandbox/parts/part";
import {
  evaluated,
  type ExternalEndpoint,
  label,
  MI_PORTS,
  type Measured,
  measure,
  type PodEndpoint,
  promised,
  type Row,
  refusedByPeer,
  rowText,
  type TenantNetwork,
} from "./network-matrix";
import { Outside, type OutsideAddress } from "./network-outside";
import { FIRST_BUILD_TAG, platformRegistryHost, standinPod } from "./standin";

const ROOT = join(__dirname, "../..");
const TENANTS_DIR = join(ROOT, "tenants");
const ENFORCEMENT = process.env.IMAAS_DATAPLANE_NETPOL !== "off";
const log = (m: string) => process.stderr.write(`      ${new Date().toISOString().slice(11, 19)} ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** The world pods' namespaces: no policies in the first; the platform's policies name the other two. */
const CONTROL_NS = "netpol-control";

/** The cloud metadata endpoint and an address no tenant declares, each on a port or two. */
const METADATA: OutsideAddress = { what: "cloud metadata", ip: "169.254.169.254", ports: [80] };
const UNDECLARED: OutsideAddress = { what: "undeclared address", ip: "198.51.100.10", ports: [443] };
/**
 * Where the `kubernetes` Service points in this suite: the sandbox's API server listens on loopback, which
 * no pod reaches, so an EndpointSlice sends the Service's address to this stand-in outside — the API server
 * as pods reach it on a cluster whose control plane is not on their node.
 */
const API_ENDPOINT: OutsideAddress = {
  what: "the API server's endpoint (stand-in)",
  ip: "198.51.100.30",
  ports: [443],
};
/** A port no tenant declares, tried on every declared address. */
const UNDECLARED_PORT = 22;

/** The host's own routes other than the default one that cover `ip` (such an address is not "outside"). */
function hostRouteCovers(ip: string): string | undefined {
  const out = execFileSync("ip", ["route", "show", "match", ip], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith("default"));
}

/** The address 10 past a block's base (IPv4). */
function addressIn(cidr: string): string {
  const [base] = cidr.split("/");
  const n = base!.split(".").reduce((acc, p) => acc * 256 + Number(p), 0) + 10;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

describe("packets prove the network isolation (kube-network-policies on the sandbox's node)", function () {
  this.timeout(120_000);
  const base = mkdtempSync(join(tmpdir(), "imaas-netpol-"));
  const ctx: PartContext = {
    repo: ROOT,
    dir: join(base, "sandbox"),
    toolsDir: process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"),
    log,
  };
  const kc = () => ({ bin: join(ctx.toolsDir, "bin/kubectl"), kubeconfig: kubeconfigPath(ctx.dir) });
  const k = (args: string[], input?: string) => kubectl(ctx, args, input);
  const cfg = platformConfigOf(readStackConfig(ROOT, "sandbox"));
  const loaded = loadTenantDir(TENANTS_DIR, cfg);
  const tenants: TenantNetwork[] = loaded.tenants.map((t) => ({
    name: t.name,
    allowFrom: t.network.allowFrom,
    egress: t.network.egress.map((e) => ({ cidr: e.cidr, ports: e.ports })),
  }));
  const registryHost = platformRegistryHost(ROOT);
  let parts: Part[] = [];
  let outside: Outside | undefined;
  const outsideAddresses: OutsideAddress[] = [METADATA, UNDECLARED, API_ENDPOINT];
  /** Declared egress blocks that cannot be put outside here (the host's own network covers them). */
  const skippedEgress: string[] = [];
  let pods: PodEndpoint[] = [];
  let namespaces: NamespaceInfo[] = [];
  let policies: Policy[] = [];
  let worldNamespaces: string[] = [];

  /** Every NetworkPolicy and namespace as the API server holds them now. */
  function readBack(): void {
    namespaces = JSON.parse(k(["get", "namespaces", "-o", "json"])).items.map(
      (n: { metadata: { name: string; labels?: Record<string, string> } }) => ({
        name: n.metadata.name,
        labels: n.metadata.labels ?? {},
      }),
    );
    policies = JSON.parse(k(["get", "networkpolicies", "-A", "-o", "json"])).items.map(
      (p: { metadata: { name: string; namespace: string }; spec: Policy["spec"] }) => ({
        namespace: p.metadata.namespace,
        name: p.metadata.name,
        spec: p.spec,
      }),
    );
  }

  const tenantPods = () => pods.filter((p) => p.role === "tenant");
  const firstPods = () => tenantPods().filter((p) => p.name === "probe-a");
  const world = (role: PodEndpoint["role"]) => pods.find((p) => p.role === role)!;
  const verdicts = (m: Measured) => ({
    evaluator: evaluated(policies, namespaces, m.from, m.to, m.port),
    promise: promised(m.from, m.to, m.port, tenants),
  });

  /** Measures `rows` and returns the disagreements (packets against evaluator and promise), with counts. */
  async function judge(rows: readonly Row[], opts: { promise?: (r: Row) => boolean } = {}) {
    const t = Date.now();
    const measured = await measure(kc(), rows, (r) => evaluated(policies, namespaces, r.from, r.to, r.port));
    const wrong: string[] = [];
    for (const m of measured) {
      const v = verdicts(m);
      if (refusedByPeer(m)) wrong.push(`${rowText(m)}: reached, but nothing listens (${m.line})`);
      else if (m.connected !== v.evaluator)
        wrong.push(
          `${rowText(m)}: packets ${m.connected ? "CONNECTED" : "dropped"}, evaluator ${v.evaluator ? "allows" : "denies"} (${m.line})`,
        );
      else if ((opts.promise ?? (() => true))(m) && m.connected !== v.promise)
        wrong.push(
          `${rowText(m)}: packets and evaluator ${m.connected ? "allow" : "deny"}, the platform promises ${v.promise ? "allowed" : "denied"}`,
        );
    }
    const connected = measured.filter((m) => m.connected).length;
    log(
      `${measured.length} connections in ${secs(t)}: ${connected} connected, ${measured.length - connected} dropped`,
    );
    return { measured, wrong, connected, dropped: measured.length - connected };
  }

  before(async function () {
    this.timeout(30 * 60_000); // a cold tool build included
    execFileSync(
      "bash",
      [
        join(ROOT, "e2e/tools/build.sh"),
        "kube",
        "etcd",
        "crds",
        "node",
        "pulumi",
        "kubernetes-provider",
        "kube-network-policies",
      ],
      { env: { ...process.env, IMAAS_TOOLS_DIR: ctx.toolsDir }, stdio: ["ignore", "inherit", "inherit"] },
    );
    assert.deepEqual(loaded.errors, [], "the example tenants load");
    // One node per machine: wait (bounded) for another sandbox's node to stop — again when another suite
    // took it while this one started its control plane.
    let t = Date.now();
    for (let attempt = 1; ; attempt++) {
      await waitForNodeLock(ctx.dir, 20 * 60_000, log);
      try {
        parts = await startParts(ctx, ENFORCEMENT ? ["netpol", "registry"] : ["node", "registry"]);
        break;
      } catch (err) {
        const busy = /another sandbox runs this machine's node|exists already \(left by an earlier node/;
        if (attempt >= 3 || !busy.test((err as Error).message)) throw err;
        log(`node busy (${(err as Error).message.split(":")[0]}): waiting and starting again`);
        await sleep(10_000);
      }
    }
    log(
      `parts ${parts.map((p) => p.name).join(", ")} up in ${secs(t)}${ENFORCEMENT ? "" : " — WITHOUT kube-network-policies (IMAAS_DATAPLANE_NETPOL=off)"}`,
    );

    // The platform's objects for real: pulumi up of stack sandbox on the example tenants.
    t = Date.now();
    k(["create", "namespace", "argocd"]);
    const pulumiCommand = await PulumiCommand.get({ root: ctx.toolsDir, skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: "sandbox", workDir: ROOT },
      {
        pulumiCommand,
        envVars: {
          ...sandboxEnv(ctx.dir),
          IMAAS_TENANTS_DIR: TENANTS_DIR,
          IMAAS_PLAN: "0",
          PULUMI_K8S_ENABLE_PATCH_FORCE: "true",
        },
      },
    );
    const up = await stack.up({ color: "never" });
    log(
      `pulumi up of ${tenants.length} tenants in ${secs(t)}: ${JSON.stringify(up.summary.resourceChanges)}`,
    );

    // Outside the cluster: the metadata endpoint, an undeclared address, every declared egress block.
    for (const tenant of tenants) {
      for (const e of tenant.egress) {
        const ip = addressIn(e.cidr);
        const covered = hostRouteCovers(ip);
        if (covered) {
          skippedEgress.push(`${tenant.name} ${e.cidr} (the host's route "${covered}")`);
          continue;
        }
        outsideAddresses.push({
          what: `${tenant.name}'s declared ${e.cidr}`,
          ip,
          ports: [...e.ports, UNDECLARED_PORT],
        });
      }
    }
    if (skippedEgress.length > 0) log(`declared egress not put outside: ${skippedEgress.join("; ")}`);
    outside = await Outside.start(outsideAddresses);
    const apiService = JSON.parse(k(["get", "service", "kubernetes", "-n", "default", "-o", "json"]));
    k(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name: "kubernetes-netpol-standin",
          namespace: "default",
          labels: { "kubernetes.io/service-name": "kubernetes" },
        },
        addressType: "IPv4",
        endpoints: [{ addresses: [API_ENDPOINT.ip], conditions: { ready: true } }],
        ports: [{ name: apiService.spec.ports[0].name, port: API_ENDPOINT.ports[0], protocol: "TCP" }],
      }),
    );

    // Two stand-in pods in every tenant namespace; one each where the world's callers live.
    t = Date.now();
    const image = (tenant: string, service: string) =>
      `${registryHost}/${tenant}/${service}:${FIRST_BUILD_TAG}`;
    const manifests: object[] = [];
    const podSpecs: Omit<PodEndpoint, "ip">[] = [];
    for (const tenant of loaded.tenants) {
      for (const env of tenant.environments) {
        const service = tenant.services.find((s) => s.environments.includes(env));
        if (!service) continue;
        const ns = namespaceName(tenant.name, env);
        for (const name of ["probe-a", "probe-b"]) {
          const labels = { "app.kubernetes.io/name": "netpol-probe", [LABELS.service]: service.name };
          const pod = standinPod({
            name,
            namespace: ns,
            image: image(tenant.name, service.name),
            labels,
          }) as {
            spec: Record<string, unknown> & { containers: { resources: unknown }[] };
          };
          pod.spec.serviceAccountName = TENANT_OBJECTS.workloadServiceAccount;
          // Up to 12 probe processes at once (each a Go program of a few MiB); within the platform's
          // LimitRange (CPU limit at most twice the request).
          pod.spec.containers[0]!.resources = {
            requests: { cpu: "100m", memory: "160Mi" },
            limits: { cpu: "200m", memory: "160Mi" },
          };
          manifests.push(pod);
          podSpecs.push({
            kind: "pod",
            name,
            namespace: ns,
            labels,
            role: "tenant",
            tenant: tenant.name,
            env,
          });
        }
      }
    }
    const anyImage = image(loaded.tenants[0]!.name, loaded.tenants[0]!.services[0]!.name);
    const worldPods: [PodEndpoint["role"], string, Record<string, string>][] = [
      ["control", CONTROL_NS, { "app.kubernetes.io/name": "netpol-control" }],
      ["ingress", cfg.ingress.namespace, { ...cfg.ingress.controllerLabels }],
      ["observability", cfg.observability.namespace, { "app.kubernetes.io/name": "netpol-tooling" }],
    ];
    const existing = new Set(
      JSON.parse(k(["get", "namespaces", "-o", "json"])).items.map(
        (n: { metadata: { name: string } }) => n.metadata.name,
      ),
    );
    worldNamespaces = worldPods.map(([, ns]) => ns).filter((ns) => !existing.has(ns));
    for (const ns of worldNamespaces) k(["create", "namespace", ns]);
    for (const [role, ns, labels] of worldPods) {
      manifests.push(standinPod({ name: `probe-${role}`, namespace: ns, image: anyImage, labels }));
      podSpecs.push({ kind: "pod", name: `probe-${role}`, namespace: ns, labels, role });
    }
    // A stand-in for the cluster DNS (the sandbox runs none): a TCP listener on 53 in the DNS namespace, with
    // the labels the platform's allow-dns policy names (busybox httpd from the stand-in image, as root).
    const dnsLabels = { ...cfg.dns.podLabels };
    const dns = standinPod({
      name: "probe-dns",
      namespace: cfg.dns.namespace,
      image: anyImage,
      labels: dnsLabels,
    }) as {
      spec: Record<string, unknown> & { containers: Record<string, unknown>[] };
    };
    dns.spec.securityContext = {};
    Object.assign(dns.spec.containers[0]!, {
      command: ["/bin/busybox", "httpd", "-f", "-p", "53", "-h", "/"],
      // The image's user is MI's (10802): port 53 needs root's NET_BIND_SERVICE.
      securityContext: { runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false },
      readinessProbe: { tcpSocket: { port: 53 }, periodSeconds: 1 },
      ports: [{ name: "dns-tcp", containerPort: 53 }],
    });
    manifests.push(dns);
    podSpecs.push({
      kind: "pod",
      name: "probe-dns",
      namespace: cfg.dns.namespace,
      labels: dnsLabels,
      role: "dns",
    });
    k(["apply", "-f", "-"], manifests.map((m) => JSON.stringify(m)).join("\n"));
    for (const ns of new Set(podSpecs.map((p) => p.namespace))) {
      try {
        k(["wait", "-n", ns, "--for", "condition=Ready", "pod", "--all", "--timeout", "300s"]);
      } catch (err) {
        const why = podSpecs
          .filter((p) => p.namespace === ns)
          .map((p) => {
            const status = k(["get", "pod", "-n", ns, p.name, "-o", "jsonpath={.status.containerStatuses}"]);
            let logs = "";
            try {
              logs = k(["logs", "-n", ns, p.name, "--tail", "5"]);
            } catch {
              // not started
            }
            return `${ns}/${p.name}: ${status.slice(0, 400)} ${logs.trim()}`;
          });
        throw new Error(
          `pods in ${ns} not Ready: ${(err as Error).message.split("\n")[1] ?? ""}\n${why.join("\n")}`,
        );
      }
    }
    pods = podSpecs.map((p) => ({
      ...p,
      ip: k(["get", "pod", "-n", p.namespace, p.name, "-o", "jsonpath={.status.podIP}"]).trim(),
    }));
    log(
      `${pods.length} pods Ready in ${secs(t)} (${tenantPods().length} in ${firstPods().length} tenant namespaces)`,
    );
    readBack();
    if (ENFORCEMENT) {
      // The controller judges only the pods in its set: wait until every tenant pod is there.
      t = Date.now();
      for (;;) {
        const queued = netpolQueuedIPs();
        const missing = tenantPods().filter((p) => !queued.has(p.ip));
        if (missing.length === 0) break;
        if (Date.now() - t > 60_000)
          throw new Error(`kube-network-policies does not queue ${missing.map(label).join(", ")} after 60 s`);
        await sleep(500);
      }
      log(`every tenant pod in the controller's set after ${secs(t)}`);
    }
  });

  after(async function () {
    this.timeout(5 * 60_000);
    try {
      await outside?.stop();
      await stopParts(ctx, parts);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it("canary: a connection every policy denies is dropped — or enforcement is off", async () => {
    // Across tenants and environments, on MI's HTTP port: denied by both sides' policies.
    const from = firstPods().find((p) => p.env === "dev")!;
    const to = firstPods().find((p) => p.tenant !== from.tenant && p.env !== from.env)!;
    const row: Row = { from, to, port: 8290 };
    assert.equal(
      evaluated(policies, namespaces, from, to, 8290),
      false,
      `the evaluator allows the canary ${rowText(row)}`,
    );
    assert.equal(
      promised(from, to, 8290, tenants),
      false,
      `the platform promises the canary ${rowText(row)}`,
    );
    // Positive control: the canary's destination answers the ingress controller (its policies allow that).
    const control: Row = { from: world("ingress"), to, port: 8290 };
    const before = ENFORCEMENT ? await netpolVerdicts(ctx.dir) : undefined;
    const [canary, reached] = await measure(kc(), [row, control], () => false, { sources: 2 });
    assert.ok(
      reached!.connected,
      `control ${rowText(control)} did not connect: the network carries no packets to the canary's destination (${reached!.line})`,
    );
    if (canary!.connected)
      assert.fail(
        `enforcement is off: ${rowText(row)} connected although every policy denies it — kube-network-policies is not judging packets (${canary!.line})`,
      );
    if (before) {
      const afterwards = await netpolVerdicts(ctx.dir);
      assert.ok(
        afterwards.drop > before.drop,
        `the canary was not dropped by kube-network-policies (its drop count stayed ${before.drop})`,
      );
      log(`canary dropped by the controller (drops ${before.drop} -> ${afterwards.drop}); control connected`);
    }
  });

  it("between pods: every tenant pair and environment pair on MI's four ports, packets = evaluator = promise", async function () {
    this.timeout(15 * 60_000);
    const rows: Row[] = [];
    for (const from of pods)
      for (const to of firstPods())
        if (!(from.namespace === to.namespace && from.name === to.name))
          for (const port of MI_PORTS) rows.push({ from, to, port });
    const r = await judge(rows);
    assert.deepEqual(r.wrong, [], `${r.wrong.length} of ${rows.length} connections disagree`);
    // The matrix shows both verdicts, on every kind of pair.
    const sameEnvAllowFrom = r.measured.filter(
      (m) =>
        m.connected && m.from.role === "tenant" && m.to.kind === "pod" && m.from.namespace !== m.to.namespace,
    );
    assert.ok(
      sameEnvAllowFrom.length > 0,
      "no cross-tenant connection was allowed: the allowFrom case is untested",
    );
    assert.ok(
      sameEnvAllowFrom.every(
        (m) => m.to.kind === "pod" && m.from.env === m.to.env && [8290, 8253].includes(m.port),
      ),
      "a cross-namespace connection other than same-environment allowFrom on a traffic port connected",
    );
    assert.ok(r.dropped > 0 && r.connected > 0);
    log(
      `tenant namespaces ${firstPods().length}, pods ${pods.length}: ${r.connected} connected (${sameEnvAllowFrom.length} by allowFrom), ${r.dropped} dropped`,
    );
  });

  it("out of the cluster: metadata and undeclared addresses/ports dropped, declared egress connects; a pod without policies reaches them all", async function () {
    this.timeout(10 * 60_000);
    const destinations: ExternalEndpoint[] = outsideAddresses.map((a) => ({
      kind: "external",
      what: a.what,
      ip: a.ip,
    }));
    const rows: Row[] = [];
    for (const from of [...firstPods(), world("control")])
      for (const a of outsideAddresses)
        for (const port of a.ports) rows.push({ from, to: destinations.find((d) => d.ip === a.ip)!, port });
    const r = await judge(rows);
    assert.deepEqual(r.wrong, [], `${r.wrong.length} of ${rows.length} connections disagree`);
    const controlRows = r.measured.filter((m) => m.from.role === "control");
    assert.ok(
      controlRows.every((m) => m.connected),
      "the control pod does not reach every outside address: a drop would not be the policy's",
    );
    const declared = r.measured.filter((m) => m.from.role === "tenant" && m.connected);
    assert.ok(declared.length > 0, "no declared egress connected: the allowed case is untested");
    const metadata = r.measured.filter((m) => m.from.role === "tenant" && m.to.ip === METADATA.ip);
    assert.ok(
      metadata.length > 0 && metadata.every((m) => !m.connected),
      "a tenant pod reached the metadata endpoint",
    );
    log(
      `${rows.length} connections: declared egress ${declared.map((m) => `${label(m.from)}->${m.to.ip}:${m.port}`).join(", ")}; metadata dropped from ${metadata.length} tenant pods${skippedEgress.length ? `; not outside here: ${skippedEgress.join("; ")}` : ""}`,
    );
  });

  it("the cluster DNS: every tenant pod reaches the DNS pods on TCP 53", async function () {
    this.timeout(5 * 60_000);
    const rows: Row[] = [...firstPods(), world("control")].map((from) => ({
      from,
      to: world("dns"),
      port: 53,
    }));
    const r = await judge(rows);
    assert.deepEqual(r.wrong, [], `${r.wrong.length} of ${rows.length} connections disagree`);
    assert.equal(r.connected, rows.length, "a pod does not reach the DNS pods on 53");
  });

  it("the API server: its Service address dropped from every tenant pod; the control pod reaches it", async function () {
    this.timeout(5 * 60_000);
    const svc = JSON.parse(k(["get", "service", "kubernetes", "-n", "default", "-o", "json"]));
    const service: ExternalEndpoint = {
      kind: "external",
      what: "API server Service",
      ip: svc.spec.clusterIP,
    };
    const port = svc.spec.ports[0].port as number;
    // kube-proxy has the stand-in endpoint: the control pod connects through the Service address.
    const control: Row = { from: world("control"), to: service, port };
    let reached: Measured | undefined;
    for (let i = 0; i < 30 && !reached?.connected; i++) {
      if (i > 0) await sleep(1000);
      [reached] = await measure(kc(), [control], () => false);
    }
    assert.ok(
      reached?.connected,
      `${rowText(control)} does not connect: kube-proxy does not send the Service to ${API_ENDPOINT.ip} (${reached?.line})`,
    );
    const rows: Row[] = firstPods().map((from) => ({ from, to: service, port }));
    const measured = await measure(kc(), rows, () => false);
    assert.deepEqual(
      measured.filter((m) => m.connected).map((m) => `${rowText(m)} (${m.line})`),
      [],
      "a tenant pod reached the API server",
    );
    for (const m of measured) {
      for (const ip of [svc.spec.clusterIP, API_ENDPOINT.ip])
        assert.equal(
          evaluated(policies, namespaces, m.from, { kind: "external", what: "API server", ip }, port),
          false,
          `the evaluator allows ${label(m.from)} -> ${ip}:${port}`,
        );
      assert.ok(!refusedByPeer(m), `${rowText(m)} was refused, not dropped: ${m.line}`);
    }
    log(
      `API server Service ${svc.spec.clusterIP}:${port} (-> ${API_ENDPOINT.ip}): dropped from ${measured.length} tenant pods; control connects`,
    );
  });

  it("an owner's NetworkPolicy: widening ones refused by admission; an admitted one opens nothing the platform forbids", async function () {
    this.timeout(15 * 60_000);
    const tenant = loaded.tenants.find((t) => t.environments.includes("dev") && t.owners.length > 0)!;
    const ns = namespaceName(tenant.name, "dev");
    const owner = person(tenant.name, "owner", tenant.owners[0]!);
    const asOwner = (args: string[], input: string) => {
      try {
        return {
          code: 0,
          out: execFileSync(kc().bin, ["--kubeconfig", kc().kubeconfig, ...owner.flags, ...args], {
            input,
            encoding: "utf8",
            stdio: "pipe",
          }),
          err: "",
        };
      } catch (err) {
        const e = err as { status?: number; stdout?: string; stderr?: string };
        return { code: e.status ?? 1, out: e.stdout ?? "", err: e.stderr ?? "" };
      }
    };
    const policy = (name: string, spec: Record<string, unknown>) =>
      JSON.stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name, namespace: ns },
        spec: { podSelector: {}, ...spec },
      });
    const other = firstPods().find((p) => p.tenant !== tenant.name && p.env === "dev")!;
    const widening: [string, Record<string, unknown>][] = [
      [
        "egress to the metadata endpoint",
        { policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: `${METADATA.ip}/32` } }] }] },
      ],
      ["egress anywhere", { policyTypes: ["Egress"], egress: [{}] }],
      ["ingress from everywhere", { policyTypes: ["Ingress"], ingress: [{}] }],
      [
        "egress to every namespace",
        { policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: {} }] }] },
      ],
      [
        `ingress from ${other.namespace}`,
        {
          policyTypes: ["Ingress"],
          ingress: [
            {
              from: [
                { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": other.namespace } } },
              ],
            },
          ],
        },
      ],
    ];
    for (const [what, spec] of widening) {
      const r = asOwner(["create", "-f", "-"], policy("owner-widening", spec));
      assert.ok(refused(r), `the owner's "${what}" was not refused: ${r.out || r.err}`);
      assert.equal(refusedBy(r), "admission imaas-tenant-network-policies", `"${what}": ${reason(r)}`);
    }
    // Admitted: everything the owner may say — every port, from and to its own namespace.
    const own = { "kubernetes.io/metadata.name": ns };
    const admitted = asOwner(
      ["create", "-f", "-"],
      policy("owner-own-namespace-all-ports", {
        policyTypes: ["Ingress", "Egress"],
        ingress: [{ from: [{ podSelector: {} }, { namespaceSelector: { matchLabels: own } }] }],
        egress: [{ to: [{ podSelector: {} }, { namespaceSelector: { matchLabels: own } }] }],
      }),
    );
    assert.equal(admitted.code, 0, `the owner's in-namespace policy was refused: ${admitted.err}`);
    try {
      readBack();
      assert.ok(policies.some((p) => p.namespace === ns && p.name === "owner-own-namespace-all-ports"));
      await sleep(3000); // the controller's informer
      const mine = pods.filter((p) => p.namespace === ns);
      const rows: Row[] = [];
      for (const from of pods)
        for (const to of firstPods())
          if (
            (mine.includes(from) || mine.includes(to)) &&
            !(from.namespace === to.namespace && from.name === to.name)
          )
            for (const port of MI_PORTS) rows.push({ from, to, port });
      const destinations: ExternalEndpoint[] = outsideAddresses.map((a) => ({
        kind: "external",
        what: a.what,
        ip: a.ip,
      }));
      for (const from of mine)
        for (const a of outsideAddresses)
          for (const port of a.ports) rows.push({ from, to: destinations.find((d) => d.ip === a.ip)!, port });
      // Inside its own namespace the owner decides (admission allows it): there packets must match the
      // evaluator; across the namespace's boundary they must also keep the platform's promise.
      const r = await judge(rows, {
        promise: (row) => !(row.to.kind === "pod" && row.from.namespace === row.to.namespace),
      });
      assert.deepEqual(
        r.wrong,
        [],
        `${r.wrong.length} of ${rows.length} connections disagree with the owner's policy in place`,
      );
      const opened = r.measured.filter((m) => m.connected && !promised(m.from, m.to, m.port, tenants));
      log(
        `owner ${owner.label}: ${widening.length} widening policies refused by admission; with the admitted one ${rows.length} connections judged, the boundary unchanged; opened inside ${ns} only: ${opened.map((m) => `${label(m.from)}->${label(m.to)}:${m.port}`).join(", ") || "nothing"}`,
      );
    } finally {
      k(["delete", "networkpolicy", "-n", ns, "owner-own-namespace-all-ports", "--ignore-not-found"]);
      readBack();
    }
  });

  it("stopping restores the host: no controller table, no outside namespace, routes or link", async function () {
    this.timeout(5 * 60_000);
    await outside?.stop();
    outside = undefined;
    await stopParts(ctx, parts);
    parts = [];
    assert.equal(netpolTable(), undefined, "the nftables table inet kube-network-policies is left");
    assert.deepEqual(Outside.leftovers(), [], "the outside network is left");
  });
});
