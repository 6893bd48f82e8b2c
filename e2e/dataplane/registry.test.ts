/**
 * The sandbox's registry part and the STAND-IN MI image (not MI): the loopback registry serves the stand-in
 * under the platform's image names over the distribution HTTP API v2, the image runs as MI's non-root user,
 * the stand-in program does what the chart asks of MI (checked on the host), and on the node part a
 * pod in a tenant namespace pulls `<registry.host>/<tenant>/<service>:<tag>` through containerd from it.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { loadTenantDir } from "../../model/load";
import { namespaceName } from "../../model/naming";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";
import { kubectl } from "../sandbox/parts/control-plane";
import { allParts, stopParts } from "../sandbox/parts/orchestrator";
import type { Part, PartContext } from "../sandbox/parts/part";
import { freePort, isRunning, recordedProcesses } from "../sandbox/parts/process";
import { registryPartDir } from "../sandbox/parts/registry";
import {
  FIRST_BUILD_TAG,
  MI_UID,
  platformRegistryHost,
  probeCommand,
  pushStandin,
  ROLLOUT_TAG,
  registryAddress,
  registryHostsDir,
  standinBinary,
  standinPod,
  startPartsWithNode,
} from "./standin";

const ROOT = join(__dirname, "../..");
/** Debian's JDK keytool, when installed: the stand-in's JKS files must be real ones. */
const JDK_KEYTOOL = "/usr/bin/keytool";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const log = (m: string) => process.stderr.write(`      ${new Date().toISOString().slice(11, 19)} ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("registry part and the stand-in MI image", function () {
  this.timeout(60_000);
  const base = mkdtempSync(join(tmpdir(), "imaas-registry-"));
  const ctx: PartContext = {
    repo: ROOT,
    dir: join(base, "sandbox"),
    toolsDir: process.env.IMAAS_TOOLS_DIR || join(homedir(), ".cache/imaas-tools"),
    log,
  };
  let parts: Part[] = [];
  let address = "";
  const host = platformRegistryHost(ROOT);
  const cfg = platformConfigOf(readStackConfig(ROOT, "sandbox"));
  const services = loadTenantDir(join(ROOT, "tenants"), cfg).tenants.flatMap((t) =>
    t.services.map((s) => ({ tenant: t.name, service: s.name })),
  );

  before(async function () {
    this.timeout(35 * 60_000); // a cold tool build, and waiting for the node
    execFileSync("bash", [join(ROOT, "e2e/tools/build.sh"), "kube", "etcd", "crds", "node"], {
      env: { ...process.env, IMAAS_TOOLS_DIR: ctx.toolsDir },
      stdio: ["ignore", "inherit", "inherit"],
    });
    // One node per machine: taken last, waiting (bounded) while another sandbox holds it.
    parts = await startPartsWithNode(ctx, ["registry", "node"], allParts());
    address = registryAddress(ctx.dir);
  });

  after(async function () {
    this.timeout(120_000);
    const registry = recordedProcesses(registryPartDir(ctx.dir));
    try {
      await stopParts(ctx, parts);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
    // The stop leaves no registry process behind (the parts stop in reverse order, the control plane last).
    assert.equal(registry.length, 1, "the registry part recorded its one process");
    assert.deepEqual(
      registry.filter(isRunning).map((r) => r.pid),
      [],
      "registry processes still running after stop",
    );
  });

  const get = (path: string, accept = OCI_MANIFEST) =>
    fetch(`http://${address}${path}`, { headers: { Accept: accept } });

  it("serves every tenant service's stand-in under the platform's name, both tags, over the HTTP API v2", async () => {
    assert.ok(services.length >= 5, `the example tenants have services (${services.length})`);
    const catalog = (await (await get("/v2/_catalog", "application/json")).json()) as {
      repositories: string[];
    };
    assert.deepEqual(catalog.repositories.sort(), services.map((s) => `${s.tenant}/${s.service}`).sort());
    for (const s of services) {
      const tags = (await (
        await get(`/v2/${s.tenant}/${s.service}/tags/list`, "application/json")
      ).json()) as {
        tags: string[];
      };
      assert.deepEqual(tags.tags.sort(), [FIRST_BUILD_TAG, ROLLOUT_TAG].sort(), `${s.tenant}/${s.service}`);
      const res = await get(`/v2/${s.tenant}/${s.service}/manifests/${FIRST_BUILD_TAG}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), OCI_MANIFEST);
      const body = Buffer.from(await res.arrayBuffer());
      const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
      assert.equal(res.headers.get("docker-content-digest"), digest, "the served digest is the manifest's");
    }
  });

  it("answers 404 MANIFEST_UNKNOWN for an unknown tag, NAME_UNKNOWN for an unknown repository", async () => {
    const s = services[0]!;
    const tag = await get(`/v2/${s.tenant}/${s.service}/manifests/9.9.9-never-pushed`);
    assert.equal(tag.status, 404);
    assert.equal(((await tag.json()) as { errors: { code: string }[] }).errors[0]?.code, "MANIFEST_UNKNOWN");
    const repo = await get(`/v2/${s.tenant}/no-such-service/tags/list`, "application/json");
    assert.equal(repo.status, 404);
    assert.equal(((await repo.json()) as { errors: { code: string }[] }).errors[0]?.code, "NAME_UNKNOWN");
  });

  it("the image config runs MI's non-root user and names itself a stand-in and its tag", async () => {
    const s = services[0]!;
    const configs = [];
    for (const tag of [FIRST_BUILD_TAG, ROLLOUT_TAG]) {
      const manifest = (await (await get(`/v2/${s.tenant}/${s.service}/manifests/${tag}`)).json()) as {
        config: { digest: string };
        layers: { digest: string }[];
      };
      const config = (await (
        await get(`/v2/${s.tenant}/${s.service}/blobs/${manifest.config.digest}`, "*/*")
      ).json()) as {
        config: { User: string; Env: string[]; Entrypoint: string[]; Labels: Record<string, string> };
      };
      configs.push({ manifest, config: config.config });
    }
    const [first, second] = configs;
    assert.equal(first!.config.User, `${MI_UID}:${MI_UID}`);
    assert.ok(
      first!.config.Env.includes(`IMAAS_STANDIN_TAG=${FIRST_BUILD_TAG}`),
      first!.config.Env.join(" "),
    );
    assert.ok(second!.config.Env.includes(`IMAAS_STANDIN_TAG=${ROLLOUT_TAG}`), second!.config.Env.join(" "));
    assert.ok(first!.config.Env.includes(`IMAAS_STANDIN_IMAGE=${host}/${s.tenant}/${s.service}`));
    assert.ok(first!.config.Env.includes("WSO2_SERVER_HOME=/home/wso2carbon/wso2mi-4.4.0"));
    assert.deepEqual(first!.config.Entrypoint, ["/home/wso2carbon/docker-entrypoint.sh"]);
    assert.match(first!.config.Labels["org.opencontainers.image.description"] ?? "", /STAND-IN .*not MI/);
    assert.notEqual(
      first!.manifest.config.digest,
      second!.manifest.config.digest,
      "each tag is its own image",
    );
    assert.deepEqual(first!.manifest.layers, second!.manifest.layers, "the tags share the one layer");
  });

  it("pushes the stand-in under any <tenant>/<service>:<tag> on request", async () => {
    const pushed = pushStandin(ctx.dir, { tenant: "acme", service: "orders", tag: "1.2.3-test" });
    assert.equal(pushed.image, `${host}/acme/orders:1.2.3-test`);
    const res = await get("/v2/acme/orders/manifests/1.2.3-test");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), pushed.digest);
    assert.throws(
      () => pushStandin(ctx.dir, { tenant: "acme", service: "orders", tag: "bad tag" }),
      /not an image tag/,
    );
  });

  it("writes containerd's hosts.toml for the platform's registry host, pointing at the loopback registry", () => {
    const toml = readFileSync(join(registryHostsDir(ctx.dir), host, "hosts.toml"), "utf8");
    assert.match(toml, new RegExp(`^server = "http://${address.replace(/\./g, "\\.")}"$`, "m"));
    assert.match(toml, /capabilities = \["pull", "resolve"\]/);
  });

  describe("the stand-in program (on the host)", () => {
    let work = "";
    let bin = "";
    let offset = 0;
    let child: ChildProcess | undefined;
    let out = "";
    const home = () => join(work, "home");
    const password = "s3cret-Keystore";

    before(async () => {
      bin = standinBinary(ctx.dir);
      work = mkdtempSync(join(tmpdir(), "imaas-standin-"));
      // MI's home as the chart makes it: the two config files, the keystore Secret, the init container's truststore.
      const sec = join(home(), "repository/resources/security");
      mkdirSync(join(sec, "imaas"), { recursive: true });
      mkdirSync(join(home(), "conf"), { recursive: true });
      mkdirSync(join(home(), "repository/logs"), { recursive: true });
      writeFileSync(join(home(), "conf/deployment.toml"), "[server]\n");
      writeFileSync(join(home(), "conf/log4j2.properties"), "status = error\n");
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(work, "ca.key")].concat([
          "-out",
          join(sec, "imaas/ca.crt"),
          "-days",
          "1",
          "-subj",
          "/CN=test CA",
        ]),
        { stdio: "ignore" },
      );
      const keytool = (args: string[]) =>
        execFileSync(bin, ["keytool", ...args], { env: { P: password }, encoding: "utf8" });
      keytool(
        ["-importcert", "-noprompt", "-alias", "mi", "-file", join(sec, "imaas/ca.crt")].concat([
          "-keystore",
          join(sec, "imaas/keystore.jks"),
          "-storepass:env",
          "P",
        ]),
      );
      // The chart's init container, verbatim apart from paths: an empty JDK cacerts, then the internal CA.
      const cacerts = join(work, "cacerts");
      execFileSync(bin, ["jks-empty", cacerts, "changeit"]);
      const ts = join(sec, "imaas-truststore.jks");
      keytool(
        [
          "-importkeystore",
          "-noprompt",
          "-srckeystore",
          cacerts,
          "-destkeystore",
          ts,
          "-deststoretype",
          "JKS",
        ].concat(["-deststorepass:env", "P"]),
      );
      keytool(
        [
          "-importcert",
          "-noprompt",
          "-alias",
          "imaas-internal-ca",
          "-file",
          join(sec, "imaas/ca.crt"),
        ].concat(["-keystore", ts, "-storetype", "JKS", "-storepass:env", "P"]),
      );
      assert.match(
        keytool(["-list", "-keystore", ts, "-storepass:env", "P"]),
        /imaas-internal-ca, trustedCertEntry/,
      );
      offset = (await freePort()) - 8000; // the four ports land on offset+8253 … offset+9201
    });

    after(() => {
      child?.kill("SIGKILL");
      rmSync(work, { recursive: true, force: true });
    });

    const env = (extra: Record<string, string> = {}) => ({
      WSO2_SERVER_HOME: home(),
      POD_NAME: "standin-test-pod",
      IMAAS_STANDIN_TAG: "7.7.7",
      STANDIN_PORT_OFFSET: String(offset),
      STANDIN_STARTUP_DELAY: "1s",
      IMAAS_MI_KEYSTORE_PASSWORD: password,
      IMAAS_MI_MANAGEMENT_USERNAME: "imaas-ops",
      IMAAS_MI_MANAGEMENT_PASSWORD: "m",
      ...extra,
    });
    const url = (port: number, path: string) => `http://127.0.0.1:${port + offset}${path}`;

    it("refuses to start when the keystore does not open under the chart's password", () => {
      let err: { status: number; stderr: string } | undefined;
      try {
        execFileSync(bin, ["serve"], {
          env: env({ IMAAS_MI_KEYSTORE_PASSWORD: "wrong" }),
          stdio: "pipe",
          encoding: "utf8",
        });
      } catch (e) {
        err = e as { status: number; stderr: string };
      }
      assert.equal(err?.status, 1);
      assert.match(
        err!.stderr,
        /cannot start: keystore: .*keystore\.jks: keystore was tampered with, or password was incorrect/,
      );
    });

    it("is ready only after its start-up, answers with its tag and pod, and drains gracefully on SIGTERM", async () => {
      child = spawn(bin, ["serve"], { env: env(), stdio: ["ignore", "pipe", "pipe"] });
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
      // Service ports open at once; the internal API (readiness) only after the start-up delay.
      let early: number | string = "";
      for (let i = 0; i < 50 && early === ""; i++) {
        await sleep(20);
        await fetch(url(8290, "/")).then(
          async () =>
            (early = await fetch(url(9201, "/healthz")).then(
              (r) => r.status,
              (e) => String(e.cause?.code),
            )),
          () => undefined,
        );
      }
      assert.equal(early, "ECONNREFUSED", "the internal API is closed while the stand-in starts");
      for (let i = 0; i < 100; i++) {
        if (
          (await fetch(url(9201, "/healthz")).then(
            (r) => r.status,
            () => 0,
          )) === 200
        )
          break;
        await sleep(50);
      }
      assert.equal((await fetch(url(9201, "/liveness"))).status, 200);
      const answer = await fetch(url(8290, "/any/path"));
      assert.equal(answer.headers.get("x-standin-tag"), "7.7.7");
      assert.deepEqual(
        { ...((await answer.json()) as object) },
        {
          standin: "mi-standin (a stand-in for WSO2 Micro Integrator, not MI)",
          image: "",
          tag: "7.7.7",
          pod: "standin-test-pod",
          port: "http",
          method: "GET",
          path: "/any/path",
          ready: true,
        },
      );
      const metrics = await (await fetch(url(9201, "/metric-service/metrics"))).text();
      assert.match(metrics, /^mi_standin_info\{tag="7\.7\.7",pod="standin-test-pod"\} 1$/m);
      // The first answer on 8290 above, then /any/path.
      assert.match(metrics, /^mi_standin_requests_total\{port="http"\} 2$/m);
      // The management API checks the chart's credentials.
      assert.equal(
        execFileSync(bin, [
          "probe",
          "-status",
          "401",
          "http",
          `https://127.0.0.1:${9164 + offset}/management/login`,
        ]).length > 0,
        true,
      );
      // A request in flight, then SIGTERM: readiness fails at once, the request is still answered, then exit 0.
      const slow = fetch(url(8290, "/slow?sleep=1500ms"));
      await sleep(200);
      child.kill("SIGTERM");
      await sleep(200);
      const during = await fetch(url(9201, "/healthz"));
      assert.equal(during.status, 503);
      assert.match(await during.text(), /draining/);
      const slowAnswer = await slow;
      assert.equal(slowAnswer.status, 200);
      assert.equal(((await slowAnswer.json()) as { ready: boolean }).ready, false, "answered while draining");
      assert.equal(await exited, 0, out);
      assert.match(out, /stopped gracefully/);
      assert.equal(readFileSync(join(home(), "wso2carbon.pid"), "utf8").trim(), String(child.pid));
      assert.match(
        readFileSync(join(home(), "repository/logs/wso2carbon.log"), "utf8"),
        /ready: internal API/,
      );
    });

    (existsSync(JDK_KEYTOOL) ? it : it.skip)(
      `the JDK's keytool (${JDK_KEYTOOL}) reads the truststore the stand-in's keytool wrote, and refuses a wrong password`,
      () => {
        const ts = join(home(), "repository/resources/security/imaas-truststore.jks");
        const list = execFileSync(JDK_KEYTOOL, ["-list", "-keystore", ts, "-storepass", password], {
          encoding: "utf8",
        });
        assert.match(list, /Keystore type: JKS/);
        assert.match(list, /imaas-internal-ca, .*trustedCertEntry/);
        let err = "";
        try {
          execFileSync(JDK_KEYTOOL, ["-list", "-keystore", ts, "-storepass", "wrong"], { stdio: "pipe" });
        } catch (e) {
          err =
            String((e as { stdout?: Buffer }).stdout ?? "") + String((e as { stderr?: Buffer }).stderr ?? "");
        }
        assert.match(err, /Keystore was tampered with, or password was incorrect/);
      },
    );

    it("probe exits 0 on a connection and 1 on a refused one", () => {
      const ok = execFileSync(bin, ["probe", "tcp", `127.0.0.1:${registryAddress(ctx.dir).split(":")[1]}`], {
        encoding: "utf8",
      });
      assert.match(ok, /^ok tcp /);
      let status = -1;
      try {
        execFileSync(bin, probeCommand("tcp", `127.0.0.1:${8290 + offset}`, "1s").slice(1), {
          stdio: "pipe",
        });
      } catch (e) {
        status = (e as { status: number }).status;
      }
      assert.equal(status, 1);
    });
  });

  it("a pod in a tenant namespace pulls <registry.host>/<tenant>/<service>:<tag> through containerd from it", async function () {
    this.timeout(5 * 60_000);
    const { tenant, service } = services.find((s) => s.tenant === "payroll") ?? services[0]!;
    const ns = namespaceName(tenant, "dev");
    const image = `${host}/${tenant}/${service}:${FIRST_BUILD_TAG}`;
    const digest = (await get(`/v2/${tenant}/${service}/manifests/${FIRST_BUILD_TAG}`)).headers.get(
      "docker-content-digest",
    );
    kubectl(ctx, ["create", "namespace", ns]);
    const pod = standinPod({ name: "pull-check", namespace: ns, image });
    kubectl(ctx, ["apply", "-f", "-"], JSON.stringify(pod));
    const t = Date.now();
    try {
      kubectl(ctx, ["-n", ns, "wait", "--for=condition=Ready", "pod/pull-check", "--timeout=180s"]);
    } catch (err) {
      const describe = kubectl(ctx, ["-n", ns, "describe", "pod", "pull-check"]);
      throw new Error(`${(err as Error).message}\n${describe}`);
    }
    log(`pod pulled and ready in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const status = JSON.parse(kubectl(ctx, ["-n", ns, "get", "pod", "pull-check", "-o", "json"])) as {
      status: { containerStatuses: { image: string; imageID: string }[] };
    };
    assert.equal(status.status.containerStatuses[0]?.image, image);
    assert.equal(status.status.containerStatuses[0]?.imageID, `${host}/${tenant}/${service}@${digest}`);
    // The registry's access log: containerd resolved the tag itself (its user agent), for the platform's
    // registry host (`?ns=<host>`: the mirror is asked on behalf of that name).
    const manifestLines = readFileSync(join(ctx.dir, "parts/registry/docker-registry.log"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("127.0.0.1 - - ") && l.includes(`/v2/${tenant}/${service}/manifests/`));
    assert.ok(
      manifestLines.some((l) =>
        new RegExp(
          `"(HEAD|GET) /v2/${tenant}/${service}/manifests/${FIRST_BUILD_TAG}\\?ns=${host} HTTP/[0-9.]+" 200 .*"containerd/`,
        ).test(l),
      ),
      `no manifest request by containerd for ${FIRST_BUILD_TAG}:\n${manifestLines.join("\n")}`,
    );
    const answer = kubectl(ctx, [
      "-n",
      ns,
      "exec",
      "pull-check",
      "--",
      ...probeCommand("http", "http://127.0.0.1:8290/"),
    ]);
    assert.match(answer, new RegExp(`^ok http .*"tag":"${FIRST_BUILD_TAG.replace(/\./g, "\\.")}"`));
    const user = kubectl(ctx, ["-n", ns, "exec", "pull-check", "--", "/bin/id", "-u"]).trim();
    assert.equal(user, String(MI_UID));
    kubectl(ctx, ["delete", "namespace", ns, "--wait=false"]);
  });
});
