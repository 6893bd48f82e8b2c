/**
 * Root hooks for the lifecycle tests (imported by every test file, so registered once): start the tests'
 * own sandbox before anything runs, stop it and remove its directory afterwards — also after a failure,
 * and on Ctrl-C or SIGTERM.
 */
import { startSandbox, stopSandbox } from "./sandbox";

before(async function () {
  this.timeout(40 * 60_000); // a cold tool build takes about 25 minutes
  await startSandbox();
});

after(function () {
  this.timeout(120_000);
  stopSandbox();
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    try {
      stopSandbox();
    } finally {
      process.exit(130);
    }
  });
}
