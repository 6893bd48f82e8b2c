/**
 * Root hooks of `npm run test:telemetry` (imported by every test file, so registered once): build the
 * suite's tools if needed, pick the loopback port of the suite's mail sink (the stack config's mail relay
 * points there), and plan the program once.
 */
import { createServer } from "node:net";
import { type Generated, generated } from "./generated";
import { ensureTools } from "./tools";

let smtpPort: number | undefined;

/** A free TCP port on 127.0.0.1. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The port the generated Alertmanager config sends mail to (`imaas:observability.alerting.smtp`). */
export function mailSinkPort(): number {
  if (smtpPort === undefined) throw new Error("the telemetry root hook has not run");
  return smtpPort;
}

/** The program's generated artifacts (planned once, in the root hook). */
export function artifacts(): Generated {
  if (!artifacts_) throw new Error("the telemetry root hook has not run");
  return artifacts_;
}
let artifacts_: Generated | undefined;

before(async function () {
  this.timeout(30 * 60_000); // a cold build of the suite's tools takes about 10 minutes
  ensureTools();
  smtpPort = await freeLoopbackPort();
  artifacts_ = await generated(`127.0.0.1:${smtpPort}`);
});
