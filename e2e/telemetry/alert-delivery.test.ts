/**
 * Alerts that reach someone: a real Alertmanager runs the generated configuration of the nonprod cluster and
 * delivers fired alerts to loopback sinks standing in for each owner's webhooks and for the mail relay. The
 * webhook URLs sit in files laid out as the Prometheus operator mounts the Secrets External Secrets fills
 * (`<dir>/alerts-<owner>/<webhook>`); the only change to the configuration is that mount point.
 */
import * as assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import YAML from "yaml";
import { ALERTMANAGER_SECRETS_DIR } from "../../components/observability/alerting";
import { PLATFORM_ALERTS } from "./generated";
import { artifacts, freeLoopbackPort, mailSinkPort } from "./hooks";
import { answers, listenLoopback, type Proc, start, stopAll, waitFor } from "./processes";
import { bin } from "./tools";

interface WebhookCall {
  readonly path: string;
  readonly body: { receiver: string; status: string; alerts: { labels: Record<string, string> }[] };
}
interface Mail {
  readonly to: string[];
  readonly data: string;
}

/** A minimal SMTP server (no TLS, no AUTH: the relay config sets requireTls false and no user). */
function smtpSink(mails: Mail[]) {
  return createTcpServer((sock: Socket) => {
    let buf = "";
    let inData = false;
    let to: string[] = [];
    let data = "";
    const reply = (line: string) => sock.write(`${line}\r\n`);
    reply("220 imaas-test-sink ESMTP");
    sock.on("data", (chunk) => {
      buf += chunk.toString("utf8");
      for (let i = buf.indexOf("\r\n"); i >= 0; i = buf.indexOf("\r\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            mails.push({ to, data: data.replace(/=\n/g, "") }); // undo quoted-printable soft breaks
            to = [];
            data = "";
            reply("250 OK queued");
          } else data += `${line}\n`;
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") sock.write("250-imaas-test-sink\r\n250 8BITMIME\r\n");
        else if (verb === "HELO" || verb === "MAIL" || verb === "RSET" || verb === "NOOP") reply("250 OK");
        else if (verb === "RCPT") {
          to.push(/<([^>]+)>/.exec(line)?.[1] ?? line);
          reply("250 OK");
        } else if (verb === "DATA") {
          inData = true;
          reply("354 end with <CRLF>.<CRLF>");
        } else if (verb === "QUIT") {
          reply("221 bye");
          sock.end();
        } else reply("502 not implemented");
      }
    });
    sock.on("error", () => undefined);
  });
}

describe("alert delivery: a real Alertmanager with the generated configuration", function () {
  this.timeout(120_000);
  let dir: string;
  let am: Proc;
  let amUrl: string;
  const calls: WebhookCall[] = [];
  const mails: Mail[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "imaas-telemetry-alertmanager-"));
    const { config, secrets } = artifacts().alertmanager.nonprod!;
    const sinkPort = await listenLoopback(
      createHttpServer((req, res) => {
        let body = "";
        req.on("data", (c) => {
          body += c;
        });
        req.on("end", () => {
          calls.push({ path: req.url ?? "", body: JSON.parse(body) });
          res.writeHead(200).end();
        });
      }),
    );
    await listenLoopback(smtpSink(mails), mailSinkPort());
    // The Secrets' files, as mounted: each webhook URL points at the sink under /<owner>/<webhook>.
    const mount = join(dir, "secrets");
    const urlFiles = config.receivers.flatMap((r) => (r.webhook_configs ?? []).map((w) => w.url_file));
    assert.ok(urlFiles.length > 0);
    for (const f of urlFiles) {
      assert.ok(f.startsWith(`${ALERTMANAGER_SECRETS_DIR}/`), f);
      const [secret, key] = relative(ALERTMANAGER_SECRETS_DIR, f).split("/");
      assert.ok(secrets.includes(secret!), `${f}: Secret ${secret} is mounted (alertmanagerSpec.secrets)`);
      const file = join(mount, secret!, key!);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `http://127.0.0.1:${sinkPort}/${secret!.replace(/^alerts-/, "")}/${key}\n`);
    }
    const text = JSON.stringify(config).replaceAll(`"${ALERTMANAGER_SECRETS_DIR}/`, `"${mount}/`);
    const configFile = join(dir, "alertmanager.yaml");
    writeFileSync(configFile, YAML.stringify(JSON.parse(text)));
    const port = await freeLoopbackPort();
    amUrl = `http://127.0.0.1:${port}`;
    am = start(
      "alertmanager",
      [
        bin("alertmanager"),
        `--config.file=${configFile}`,
        `--storage.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--cluster.listen-address=", // no gossip: a single instance on loopback
      ],
      join(dir, "alertmanager.log"),
    );
    await waitFor("Alertmanager /-/ready", () => answers(`${amUrl}/-/ready`), 30_000, am);
  });

  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers each tenant's alerts to its own webhooks and mail, and the rest to the platform's", async () => {
    const alert = (labels: Record<string, string>) => ({
      labels: { severity: "warning", environment: "dev", ...labels },
      annotations: { summary: "test alert" },
      startsAt: new Date().toISOString(),
    });
    const fired = [
      alert({
        alertname: "MIInstanceDown",
        namespace: "payroll-dev",
        tenant: "payroll",
        pod: "salary-sync-0",
      }),
      alert({ alertname: "MIHighLatency", namespace: "payroll-test", tenant: "payroll", service_name: "s" }),
      // logistics labels its alert as payroll's: it must still reach logistics alone.
      alert({ alertname: "MIInstanceDown", namespace: "logistics-dev", tenant: "payroll", pod: "tracker-0" }),
      alert({ alertname: "MIInstanceDown", namespace: "hr-dev", tenant: "hr", pod: "flow-0" }),
      alert({ alertname: "KubePodCrashLooping", namespace: "observability", pod: "loki-0" }),
    ];
    const res = await fetch(`${amUrl}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(fired),
    });
    assert.equal(res.status, 200, await res.text());

    const namespacesAt = (path: string) =>
      new Set(
        calls.filter((c) => c.path === path).flatMap((c) => c.body.alerts.map((a) => a.labels.namespace)),
      );
    const mailTo = (addr: string) => mails.filter((m) => m.to.includes(addr));
    const expectedWebhooks: Record<string, string[]> = {
      "/payroll/oncall": ["payroll-dev", "payroll-test"],
      "/logistics/chat": ["logistics-dev"],
      "/logistics/incidents": ["logistics-dev"],
      "/platform/pager": ["hr-dev", "observability"],
    };
    // group_wait is 30 s: wait for every expected delivery (bounded), then a little longer for strays.
    await waitFor(
      "every expected delivery",
      async () =>
        Object.entries(expectedWebhooks).every(([p, nss]) => nss.every((ns) => namespacesAt(p).has(ns))) &&
        mailTo("payroll-oncall@example.com").length >= 2 &&
        mailTo(PLATFORM_ALERTS.email[0]!).length >= 2,
      75_000,
      am,
    );
    await new Promise((r) => setTimeout(r, 3000));

    for (const [path, nss] of Object.entries(expectedWebhooks)) {
      assert.deepEqual(
        [...namespacesAt(path)].sort(),
        [...nss].sort(),
        `webhook ${path} got only its owner's alerts`,
      );
    }
    assert.deepEqual(
      [...new Set(calls.map((c) => c.path))].sort(),
      Object.keys(expectedWebhooks).sort(),
      "no webhook outside the configuration was called",
    );
    for (const c of calls) assert.equal(c.body.status, "firing");
    const payrollMail = mailTo("payroll-oncall@example.com")
      .map((m) => m.data)
      .join("\n");
    assert.match(payrollMail, /payroll-dev/);
    assert.doesNotMatch(
      payrollMail,
      /logistics-dev|hr-dev|loki-0/,
      "payroll's mail holds no one else's alert",
    );
    const platformMail = mailTo(PLATFORM_ALERTS.email[0]!)
      .map((m) => m.data)
      .join("\n");
    assert.match(platformMail, /hr-dev/);
    assert.doesNotMatch(
      platformMail,
      /payroll-dev|logistics-dev/,
      "the platform's mail holds no tenant's own alert",
    );
    for (const m of mails) {
      assert.ok(m.to.length === 1, `one recipient per mail: ${m.to.join(", ")}`);
    }
  });
});
