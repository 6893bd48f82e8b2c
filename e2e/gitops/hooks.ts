/**
 * Root hooks of the GitOps suite: start its own sandbox with Argo CD before anything runs, stop every part
 * afterwards — also after a failure, and on Ctrl-C or SIGTERM.
 */
import { startGitOps, stopGitOps } from "./sandbox";

before(async function () {
  this.timeout(40 * 60_000); // includes a cold tool build
  await startGitOps();
});

after(async function () {
  this.timeout(120_000);
  await stopGitOps();
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    stopGitOps().finally(() => process.exit(130));
  });
}
