import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_TENANT_FILE_BYTES } from "../../model/discover";
import { formatError, loadTenantDir, loadTenantSources } from "../../model/load";
import { testConfig } from "../support/mocks";

const cfg = testConfig();

const VALID = `apiVersion: imaas.io/v1alpha1
kind: Tenant
metadata:
  name: payroll
spec:
  owners: [ana-lopez]
  services:
    - name: salary-sync
`;

/** Loads files given as `{ name: text }` and returns the formatted errors. */
function errorsOf(files: Record<string, string>): string[] {
  const result = loadTenantSources(
    Object.entries(files).map(([file, text]) => ({ file, text })),
    cfg,
  );
  return result.errors.map(formatError);
}

/** A payroll tenant with `spec` lines replaced. */
function tenant(spec: string, name = "payroll"): string {
  return `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
}

describe("loader: a valid tenant", () => {
  it("loads with every default resolved from the platform config", () => {
    const { tenants, errors } = loadTenantSources([{ file: "payroll.yaml", text: VALID }], cfg);
    assert.deepEqual(errors, []);
    const [t] = tenants;
    assert.equal(t.name, "payroll");
    assert.deepEqual(t.environments, ["dev", "test", "prod"]);
    assert.deepEqual(t.services[0].environments, ["dev", "test", "prod"]);
    assert.equal(t.services[0].miVersion, cfg.mi.defaultVersion);
    assert.deepEqual(t.services[0].replicas, cfg.service.defaultReplicas);
    assert.deepEqual(t.quota.prod, cfg.quota.defaults);
  });

  it("overlays a quota override on the defaults", () => {
    const { tenants } = loadTenantSources(
      [
        {
          file: "payroll.yaml",
          text: tenant('  owners: [ana]\n  quota:\n    prod: { cpu: "6", pods: 30 }\n'),
        },
      ],
      cfg,
    );
    assert.equal(tenants[0].quota.prod?.cpu, "6");
    assert.equal(tenants[0].quota.prod?.pods, 30);
    assert.equal(tenants[0].quota.prod?.memory, cfg.quota.defaults.memory);
    assert.deepEqual(tenants[0].quota.dev, cfg.quota.defaults);
  });

  it("sorts environments into promotion order", () => {
    const { tenants } = loadTenantSources(
      [{ file: "payroll.yaml", text: tenant("  owners: [ana]\n  environments: [prod, dev]\n") }],
      cfg,
    );
    assert.deepEqual(tenants[0].environments, ["dev", "prod"]);
  });
});

describe("loader: each rule refuses bad input with file:line:col and the field", () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      "tenant name pattern",
      tenant("  owners: [ana]\n", "Payroll"),
      /payroll\.yaml:4:9: metadata\.name: use lowercase/,
    ],
    [
      "tenant name too short",
      tenant("  owners: [ana]\n", "p"),
      /:4:9: metadata\.name: a tenant name has 2 to 20/,
    ],
    [
      "tenant name too long",
      tenant("  owners: [ana]\n", "p".repeat(21)),
      /:4:9: metadata\.name: a tenant name has 2 to 20/,
    ],
    [
      "reserved tenant name",
      tenant("  owners: [ana]\n", "argocd"),
      /:4:9: metadata\.name: this name is reserved/,
    ],
    ["kube- prefix", tenant("  owners: [ana]\n", "kube-x"), /:4:9: metadata\.name: this name is reserved/],
    [
      "service name pattern",
      tenant("  owners: [ana]\n  services:\n    - name: Sync_1\n"),
      /:8:13: spec\.services\[0\]\.name: use lowercase/,
    ],
    [
      "service name too long",
      tenant(`  owners: [ana]\n  services:\n    - name: ${"s".repeat(31)}\n`),
      /:8:13: spec\.services\[0\]\.name: a service name has 2 to 30/,
    ],
    ["GitHub login", tenant("  owners: [-ana]\n"), /:6:12: spec\.owners\[0\]: not a valid GitHub login/],
    [
      "GitHub login double hyphen",
      tenant("  owners: [ana]\n  members: [a--b]\n"),
      /:7:13: spec\.members\[0\]: not a valid GitHub login/,
    ],
    ["no owners", tenant("  owners: []\n"), /:6:11: spec\.owners: name at least one owner/],
    [
      "quantity",
      tenant("  owners: [ana]\n  quota:\n    dev: { memory: 12GB }\n"),
      /:8:20: spec\.quota\.dev\.memory: "12GB" is not a size; write a number with a unit such as 512Mi/,
    ],
    [
      "quota over the cap",
      tenant('  owners: [ana]\n  quota:\n    prod: { cpu: "64" }\n'),
      /:8:18: spec\.quota\.prod\.cpu: 64 exceeds the cap of 32 \(imaas:quota\.caps\.cpu of stack "the stack"\)/,
    ],
    [
      "pods over the cap",
      tenant("  owners: [ana]\n  quota:\n    prod: { pods: 1000 }\n"),
      /spec\.quota\.prod\.pods: 1000 exceeds the cap of 200 \(imaas:quota\.caps\.pods/,
    ],
    [
      "negative replicas",
      tenant("  owners: [ana]\n  services:\n    - name: sync\n      replicas: { dev: -1 }\n"),
      /:9:24: spec\.services\[0\]\.replicas\.dev: replicas must be 0 or more/,
    ],
    [
      "autoscaling min > max",
      tenant(
        "  owners: [ana]\n  services:\n    - name: sync\n      autoscaling: { prod: { min: 5, max: 2 } }\n",
      ),
      /:9:35: spec\.services\[0\]\.autoscaling\.prod\.min: min \(5\) is above max \(2\)/,
    ],
    [
      "bad CIDR",
      tenant("  owners: [ana]\n  network:\n    egress:\n      - { cidr: 10.0.0.0/33, ports: [443] }\n"),
      /:9:17: spec\.network\.egress\[0\]\.cidr: not a CIDR block/,
    ],
    [
      "bad CIDR address",
      tenant("  owners: [ana]\n  network:\n    egress:\n      - { cidr: 10.0.0/8, ports: [443] }\n"),
      /spec\.network\.egress\[0\]\.cidr: not a CIDR block/,
    ],
    [
      "bad port",
      tenant("  owners: [ana]\n  network:\n    egress:\n      - { cidr: 10.0.0.0/8, ports: [70000] }\n"),
      /:9:37: spec\.network\.egress\[0\]\.ports\[0\]: ports are 1-65535/,
    ],
    [
      "service env not the tenant's",
      tenant(
        "  owners: [ana]\n  environments: [dev]\n  services:\n    - name: sync\n      environments: [dev, prod]\n",
      ),
      /:10:27: spec\.services\[0\]\.environments\[1\]: "prod" is not one of the tenant's environments/,
    ],
    [
      "service only in prod (nothing would build its image)",
      tenant("  owners: [ana]\n  services:\n    - name: sync\n      environments: [prod]\n"),
      /:9:21: spec\.services\[0\]\.environments: service "sync" runs only in prod, and prod never builds images/,
    ],
    [
      "prod-only tenant with a service",
      tenant("  owners: [ana]\n  environments: [prod]\n  services:\n    - name: sync\n"),
      /:9:13: spec\.services\[0\]\.name: service "sync" runs only in prod.*give it a dev or test environment/,
    ],
    [
      "duplicate service",
      tenant("  owners: [ana]\n  services:\n    - name: sync\n    - name: sync\n"),
      /:9:13: spec\.services\[1\]\.name: service "sync" is already defined at services\[0\]/,
    ],
    [
      "repeated environment",
      tenant("  owners: [ana]\n  environments: [dev, dev]\n"),
      /:7:23: spec\.environments\[1\]: "dev" is listed twice/,
    ],
    [
      "unknown environment",
      tenant("  owners: [ana]\n  environments: [staging]\n"),
      /:7:18: spec\.environments\[0\]: Invalid option/,
    ],
    [
      "unknown key",
      tenant("  owners: [ana]\n  environmnts: [dev]\n"),
      /:7:3: spec\.environmnts: unknown field/,
    ],
    [
      "__proto__ is an unknown key",
      tenant("  owners: [ana]\n  __proto__: { polluted: true }\n"),
      /:7:3: spec\.__proto__: unknown field/,
    ],
    [
      "wrong apiVersion",
      VALID.replace("v1alpha1", "v2"),
      /:1:13: apiVersion: apiVersion must be imaas\.io\/v1alpha1/,
    ],
    [
      "replicas for an env the service lacks",
      tenant(
        "  owners: [ana]\n  services:\n    - name: sync\n      environments: [dev]\n      replicas: { prod: 2 }\n",
      ),
      /spec\.services\[0\]\.replicas\.prod: the service does not run in "prod"/,
    ],
    [
      "bad label value",
      tenant("  owners: [ana]\n").replace(
        "  name: payroll\n",
        "  name: payroll\n  labels: { team: 'a b' }\n",
      ),
      /metadata\.labels\.team: not a valid Kubernetes label value/,
    ],
  ];
  for (const [rule, text, expected] of cases) {
    it(rule, () => {
      const errors = errorsOf({ "tenants/payroll.yaml": text });
      assert.ok(
        errors.some((e) => expected.test(e)),
        `expected ${expected}, got:\n${errors.join("\n")}`,
      );
    });
  }

  it("metadata.name must equal the file's base name", () => {
    const errors = errorsOf({ "tenants/pay.yaml": VALID });
    assert.deepEqual(errors, [
      'tenants/pay.yaml:4:9: metadata.name: "payroll" must equal the file\'s base name "pay"; rename the file or the tenant',
    ]);
  });

  it("allowFrom must name an existing tenant", () => {
    const errors = errorsOf({
      "payroll.yaml": tenant("  owners: [ana]\n  network:\n    allowFrom: [ghost]\n"),
    });
    assert.deepEqual(errors, [
      'payroll.yaml:8:17: spec.network.allowFrom[0]: no tenant "ghost" exists in this folder',
    ]);
  });

  it("allowFrom accepts an existing tenant", () => {
    const errors = errorsOf({
      "payroll.yaml": tenant("  owners: [ana]\n  network:\n    allowFrom: [logistics]\n"),
      "logistics.yaml": tenant("  owners: [ana]\n", "logistics"),
    });
    assert.deepEqual(errors, []);
  });

  it("reports every error of every file at once, sorted by file and line", () => {
    const errors = errorsOf({
      "bb.yaml": tenant("  owners: [-x]\n  oops: 1\n", "bb"),
      "aa.yaml": tenant("  owners: []\n", "aa"),
    });
    assert.equal(errors.length, 3, errors.join("\n"));
    assert.match(errors[0], /^aa\.yaml:6:11: spec\.owners: /);
    assert.match(errors[1], /^bb\.yaml:6:12: spec\.owners\[0\]: /);
    assert.match(errors[2], /^bb\.yaml:7:3: spec\.oops: /);
  });
});

describe("loader: names derived across files are unique", () => {
  it("names both files when two tenants derive the same repository", () => {
    const errors = errorsOf({
      "ops.yaml": tenant("  owners: [ana]\n  services:\n    - name: data-sync\n", "ops"),
      "ops-data.yaml": tenant("  owners: [ana]\n  services:\n    - name: sync\n", "ops-data"),
    });
    assert.deepEqual(errors, [
      'ops-data.yaml:8:13: spec.services[0].name: service repository "ops-data-sync" is also derived by ops.yaml (tenant "ops", service "data-sync"); rename one of them',
      'ops.yaml:8:13: spec.services[0].name: service repository "ops-data-sync" is also derived by ops-data.yaml (tenant "ops-data", service "sync"); rename one of them',
    ]);
  });

  it("does not flag the same names within different kinds", () => {
    const errors = errorsOf({
      "ops.yaml": tenant("  owners: [ana]\n  services:\n    - name: data\n", "ops"),
      "ops-data.yaml": tenant("  owners: [ana]\n", "ops-data"),
    });
    assert.deepEqual(errors, []);
  });
});

describe("loader: hostile input", () => {
  it("refuses an empty file", () => {
    assert.match(errorsOf({ "e.yaml": "" })[0], /^e\.yaml:1:1: the file is empty/);
    assert.match(errorsOf({ "e.yaml": "# only a comment\n" })[0], /^e\.yaml:1:1: the file is empty/);
  });

  it("refuses a non-mapping", () => {
    assert.match(
      errorsOf({ "l.yaml": "- a\n- b\n" })[0],
      /^l\.yaml:1:1: a tenant file must be a YAML mapping/,
    );
    assert.match(
      errorsOf({ "s.yaml": "just text\n" })[0],
      /^s\.yaml:1:1: a tenant file must be a YAML mapping/,
    );
  });

  it("refuses more than one document", () => {
    assert.match(
      errorsOf({ "m.yaml": `${VALID}---\n${VALID}` })[0],
      /^m\.yaml:9:1: a tenant file holds exactly one YAML document/,
    );
  });

  it("refuses custom tags", () => {
    const errors = errorsOf({ "t.yaml": "a: !!js/function 'x'\nb: !custom y\n" });
    assert.deepEqual(errors, [
      "t.yaml:1:4: custom YAML tags are not allowed",
      "t.yaml:2:4: custom YAML tags are not allowed",
    ]);
  });

  it("refuses an alias bomb at once", () => {
    const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${prev}`).join(", ")}]`,
      );
    }
    const started = process.hrtime.bigint();
    const errors = errorsOf({ "bomb.yaml": `${lines.join("\n")}\n` });
    assert.match(errors[0], /^bomb\.yaml:1:1: refused: .*aliases are limited to 50/);
    assert.ok(
      process.hrtime.bigint() - started < 2_000_000_000n,
      "an alias bomb must be refused without expanding it",
    );
  });

  it("refuses duplicate keys", () => {
    assert.match(
      errorsOf({ "d.yaml": `${VALID}kind: Tenant\n` })[0],
      /^d\.yaml:9:1: Map keys must be unique/,
    );
  });

  it("refuses YAML syntax errors with their position", () => {
    assert.match(errorsOf({ "x.yaml": "a: [1, 2\n" })[0], /^x\.yaml:\d+:\d+: /);
  });

  it("refuses a file over the size cap", () => {
    const big = `${VALID}# ${"x".repeat(MAX_TENANT_FILE_BYTES)}\n`;
    assert.match(errorsOf({ "big.yaml": big })[0], /^big\.yaml:1:1: file is larger than/);
  });

  it("does not pollute prototypes", () => {
    errorsOf({ "p.yaml": "__proto__: { polluted: true }\nconstructor: { prototype: { polluted: true } }\n" });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe("loader: reading a folder", () => {
  it("reads .yaml and .yml files and ignores the rest", () => {
    const dir = mkdtempSync(join(tmpdir(), "imaas-"));
    writeFileSync(join(dir, "payroll.yaml"), VALID);
    writeFileSync(join(dir, "hr.yml"), tenant("  owners: [ana]\n", "hr"));
    writeFileSync(join(dir, "README.md"), "# not a tenant");
    writeFileSync(join(dir, "tenant.schema.json"), "{}");
    const { tenants, errors } = loadTenantDir(dir, cfg);
    assert.deepEqual(errors, []);
    assert.deepEqual(tenants.map((t) => t.name).sort(), ["hr", "payroll"]);
  });

  it("reports a missing folder as an error, not a crash", () => {
    const { errors } = loadTenantDir("/nonexistent/tenants", cfg);
    assert.match(formatError(errors[0]), /cannot read tenants: no such folder/);
  });

  it("loads the example tenants without errors", () => {
    const { tenants, errors } = loadTenantDir(join(__dirname, "..", "..", "tenants"), cfg);
    assert.deepEqual(errors.map(formatError), []);
    assert.ok(tenants.length >= 3);
  });
});

describe("loader: service config, secrets and endpoints", () => {
  const svc = (body: string, name = "payroll", service = "sync") =>
    tenant(`  owners: [ana]\n  services:\n    - name: ${service}\n${body}`, name);

  it("resolves config, secrets and hosts per environment", () => {
    const { tenants, errors } = loadTenantSources(
      [
        {
          file: "payroll.yaml",
          text: svc(
            "      config:\n        dev: { BANK_URL: https://bank.test, RETRIES: 3 }\n      secrets: [BANK_API_KEY, DB_PASSWORD]\n      expose:\n        dev: true\n        prod: { host: payroll-api.imaas.test }\n",
          ),
        },
      ],
      cfg,
    );
    assert.deepEqual(errors.map(formatError), []);
    const s = tenants[0].services[0];
    assert.deepEqual(s.config.dev, { BANK_URL: "https://bank.test", RETRIES: "3" });
    assert.deepEqual(s.config.prod, {});
    assert.deepEqual(s.secrets, ["BANK_API_KEY", "DB_PASSWORD"]);
    assert.deepEqual(s.expose, {
      dev: { host: "sync.payroll.dev.imaas.test" },
      prod: { host: "payroll-api.imaas.test" },
    });
  });

  const cases: Array<[string, string, RegExp]> = [
    [
      "config names are env var names",
      "      config:\n        dev: { bank-url: x }\n",
      /spec\.services\[0\]\.config\.dev\.bank-url: config names are UPPER_SNAKE_CASE/,
    ],
    [
      "platform variables are reserved",
      "      config:\n        dev: { JAVA_OPTS: x }\n",
      /config\.dev\.JAVA_OPTS: JAVA_OPTS is set by the platform or the runtime; choose another name/,
    ],
    [
      "config values are small",
      `      config:\n        dev: { BIG: "${"x".repeat(5000)}" }\n`,
      /config\.dev\.BIG: a config value has at most 4096 characters/,
    ],
    [
      "secret names",
      "      secrets: [db-password]\n",
      /spec\.services\[0\]\.secrets\[0\]: secret names are UPPER_SNAKE_CASE/,
    ],
    ["secret repeated", "      secrets: [A_KEY, A_KEY]\n", /secrets\[1\]: "A_KEY" is listed twice/],
    [
      "a name is config or secret",
      "      config:\n        dev: { A_KEY: x }\n      secrets: [A_KEY]\n",
      /secrets\[0\]: "A_KEY" is also a config name/,
    ],
    [
      "host syntax",
      "      expose:\n        dev: { host: Not_A_Host }\n",
      /expose\.dev\.host: not a DNS host name/,
    ],
    [
      "host outside the allowed domains",
      "      expose:\n        prod: { host: api.evil.example }\n",
      /:10:23: spec\.services\[0\]\.expose\.prod\.host: host "api\.evil\.example" is outside the allowed domains \(imaas\.test, imaas\.example\.com\)/,
    ],
    [
      "expose in an environment the service lacks",
      "      environments: [dev]\n      expose:\n        prod: true\n",
      /expose\.prod: the service does not run in "prod"/,
    ],
  ];
  for (const [rule, body, expected] of cases) {
    it(rule, () => {
      const errors = errorsOf({ "payroll.yaml": svc(body) });
      assert.ok(
        errors.some((e) => expected.test(e)),
        `expected ${expected}, got:\n${errors.join("\n")}`,
      );
    });
  }

  it("hosts collide across tenants: both files are named", () => {
    const errors = errorsOf({
      "payroll.yaml": svc("      expose:\n        prod: { host: api.imaas.test }\n"),
      "hr.yaml": svc("      expose:\n        dev: { host: api.imaas.test }\n", "hr", "portal"),
    });
    assert.equal(errors.length, 2, errors.join("\n"));
    assert.match(
      errors[0],
      /^hr\.yaml:10:22: spec\.services\[0\]\.expose\.dev\.host: host "api\.imaas\.test" is (already used|also requested) by payroll\.yaml \(tenant "payroll", service "sync", prod\)/,
    );
    assert.match(
      errors[1],
      /^payroll\.yaml:10:23: spec\.services\[0\]\.expose\.prod\.host: host "api\.imaas\.test" is (already used|also requested) by hr\.yaml \(tenant "hr", service "portal", dev\)/,
    );
  });

  it("a requested host may not take another service's default host (nor anything in its tenant's subtree)", () => {
    const errors = errorsOf({
      "payroll.yaml": svc("      expose:\n        dev: true\n"),
      "hr.yaml": svc("      expose:\n        dev: { host: sync.payroll.dev.imaas.test }\n", "hr", "portal"),
    });
    assert.deepEqual(errors, [
      'hr.yaml:10:22: spec.services[0].expose.dev.host: host "sync.payroll.dev.imaas.test" is inside tenant "payroll"\'s hosts (*.payroll.dev.imaas.test); choose a host outside other tenants\' names',
    ]);
  });
});
