import { strict as assert } from "node:assert";
import {
  applicationName,
  appProjectName,
  derivedNames,
  gitUrlBase,
  imageRepository,
  namespaceName,
  registryProjectName,
  repositoryName,
  repositoryUrl,
  teamName,
} from "../../model/naming";

describe("naming", () => {
  it("derives the documented names", () => {
    assert.equal(namespaceName("payroll", "prod"), "payroll-prod");
    assert.equal(teamName("payroll"), "payroll");
    assert.equal(repositoryName("payroll", "salary-sync"), "payroll-salary-sync");
    assert.equal(registryProjectName("payroll"), "payroll");
    assert.equal(appProjectName("payroll"), "payroll");
    assert.equal(applicationName("payroll", "salary-sync", "test"), "payroll-salary-sync-test");
    assert.equal(
      imageRepository("registry.example.com", "payroll", "salary-sync"),
      "registry.example.com/payroll/salary-sync",
    );
  });

  it("builds service repo URLs on github.com, or on the configured Git URL base", () => {
    assert.equal(
      repositoryUrl("acme", "payroll", "salary-sync"),
      "https://github.com/acme/payroll-salary-sync.git",
    );
    assert.equal(
      repositoryUrl("acme", "payroll", "salary-sync", "https://ghe.example.com/acme/"),
      "https://ghe.example.com/acme/payroll-salary-sync.git",
    );
    assert.equal(gitUrlBase("acme", "file:///tmp/sb/git/acme"), "file:///tmp/sb/git/acme");
    assert.equal(gitUrlBase("acme"), "https://github.com/acme");
  });

  it("lists every derived name of a tenant, per kind", () => {
    const names = derivedNames({
      name: "payroll",
      environments: ["dev", "prod"],
      services: [{ name: "sync", environments: ["prod"] }],
    });
    assert.deepEqual(
      names.map((n) => `${n.kind}=${n.name}`),
      [
        "GitHub team=payroll",
        "registry project=payroll",
        "Argo CD AppProject=payroll",
        "namespace=payroll-dev",
        "namespace=payroll-prod",
        "service repository=payroll-sync",
        "Argo CD Application=payroll-sync-prod",
      ],
    );
  });

  it("keeps the longest names within Kubernetes' 63-character label limit", () => {
    const app = applicationName("t".repeat(20), "s".repeat(30), "prod");
    assert.ok(app.length <= 63, app);
  });
});
