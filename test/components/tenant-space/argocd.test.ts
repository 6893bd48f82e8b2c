import { strict as assert } from "node:assert";
import { appProjectManifest } from "../../../components/tenant-space/argocd";
import { testConfig } from "../../support/mocks";
import { exampleTenants } from "../../support/tenants";

describe("AppProject source repos", () => {
  const tenantOf = (cfg: ReturnType<typeof testConfig>) =>
    exampleTenants(cfg).find((t) => t.name === "payroll")!;

  it("are github.com/<owner>/<repo>.git by default", () => {
    const cfg = testConfig();
    const p = appProjectManifest(tenantOf(cfg), cfg, cfg.clusters[0]!);
    assert.deepEqual(p.spec.sourceRepos, [
      "https://github.com/acme/imaas.git",
      "https://github.com/acme/payroll-salary-sync.git",
      "https://github.com/acme/payroll-payslip-api.git",
    ]);
  });

  it("follow github.urlBase (GitHub Enterprise, another Git host, the sandbox's file:// world)", () => {
    const cfg = testConfig({
      github: { owner: "acme", urlBase: "https://git.example.com/scm/acme/" },
      argocd: { platformRepo: "https://git.example.com/scm/platform/imaas.git" },
    });
    const p = appProjectManifest(tenantOf(cfg), cfg, cfg.clusters[0]!);
    assert.deepEqual(p.spec.sourceRepos, [
      "https://git.example.com/scm/platform/imaas.git",
      "https://git.example.com/scm/acme/payroll-salary-sync.git",
      "https://git.example.com/scm/acme/payroll-payslip-api.git",
    ]);
  });
});
