/**
 * The tenant contract: every rule that anything downstream (quota, chart values, network policies,
 * registry, DNS) would apply to a tenant file is checked by the loader, with file:line:col, a field path
 * and what to change. One `it` per rule, each a file that used to pass validate and then crash or hurt.
 */
import { strict as assert } from "node:assert";
import { formatError, loadTenantSources } from "../../model/load";
import { parseBytes, parseCpu } from "../../model/quantity";
import { testConfig } from "../support/mocks";

const cfg = testConfig();

function errorsOf(files: Record<string, string>, config = cfg, stack = "dev"): string[] {
  return loadTenantSources(
    Object.entries(files).map(([file, text]) => ({ file, text })),
    config,
    { stack },
  ).errors.map(formatError);
}

function tenant(spec: string, name = "payroll"): string {
  return `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
}
const svc = (body: string, name = "payroll", service = "sync") =>
  tenant(`  owners: [ana]\n  services:\n    - name: ${service}\n${body}`, name);

function refused(files: Record<string, string>, expected: RegExp, config = cfg): string[] {
  const errors = errorsOf(files, config);
  assert.ok(
    errors.some((e) => expected.test(e)),
    `expected ${expected}, got:\n${errors.join("\n")}`,
  );
  return errors;
}

describe("contract: one grammar for amounts", () => {
  it("CPU: cores with at most 3 decimals, or millicores", () => {
    assert.equal(parseCpu("2"), 2000);
    assert.equal(parseCpu("0.5"), 500);
    assert.equal(parseCpu("1.25"), 1250);
    assert.equal(parseCpu("500m"), 500);
    for (const bad of [".5", "1e3", "2Gi", "-1", "1.2345", "", "0.5 ", "1,5"]) {
      assert.equal(typeof parseCpu(bad), "object", bad);
    }
  });

  it("sizes: a number with a byte unit, whole bytes", () => {
    assert.equal(parseBytes("512Mi"), 512 * 2 ** 20);
    assert.equal(parseBytes("1.5Gi"), 1.5 * 2 ** 30);
    assert.equal(parseBytes("4G"), 4e9);
    for (const bad of ["500m", "0", "1024", "12GB", "1gi", "1e3", "0.0000001Ki"]) {
      assert.equal(typeof parseBytes(bad), "object", bad);
    }
  });

  const cases: Array<[string, string, RegExp]> = [
    [
      "cpu .5",
      '      resources: { cpu: ".5" }\n',
      /resources\.cpu: "\.5" is not a CPU amount.*\(write 0\.5\)/,
    ],
    [
      "cpu 1e3",
      '      resources: { cpu: "1e3" }\n',
      /resources\.cpu: "1e3" is not a CPU amount.*no exponents/,
    ],
    [
      "cpu 2Gi",
      '      resources: { cpu: "2Gi" }\n',
      /resources\.cpu: "2Gi" is not a CPU amount.*that is a memory size/,
    ],
    [
      "memory 500m",
      '      resources: { memory: "500m" }\n',
      /resources\.memory: "500m" is not a size.*fraction of a byte/,
    ],
    ["memory 0", '      resources: { memory: "0" }\n', /resources\.memory: "0" is not a size.*add a unit/],
    [
      "cpu below the floor",
      '      resources: { cpu: "10m" }\n',
      /resources\.cpu: "10m" is below the minimum of 100m/,
    ],
    [
      "memory below the floor",
      "      resources: { memory: 64Mi }\n",
      /resources\.memory: "64Mi" is below the minimum of 512Mi/,
    ],
    [
      "an unquoted number",
      "      resources: { cpu: 2 }\n",
      /:9:25: spec\.services\[0\]\.resources\.cpu: quote it: write "2"/,
    ],
  ];
  for (const [name, body, expected] of cases)
    it(name, () => refused({ "payroll.yaml": svc(body) }, expected));

  it("quota amounts use the same grammar", () => {
    refused(
      { "payroll.yaml": tenant("  owners: [ana]\n  quota:\n    dev: { cpu: 0.5 }\n") },
      /spec\.quota\.dev\.cpu: quote it: write "0\.5"/,
    );
  });
});

describe("contract: it must fit", () => {
  it("every service at its largest plus the surge pod fits the quota; the error shows the arithmetic", () => {
    const file = tenant(
      '  owners: [ana]\n  environments: [test, prod]\n  quota:\n    prod: { cpu: "4", memory: 16Gi }\n  services:\n    - name: salary-sync\n      autoscaling: { prod: { min: 3, max: 8 } }\n      resources: { cpu: 500m, memory: 1Gi }\n',
    );
    const errors = errorsOf({ "payroll.yaml": file });
    assert.deepEqual(errors, [
      'payroll.yaml:9:18: spec.quota.prod.cpu: in prod the services need up to salary-sync 9 pods × 0.5 CPU = 4.5 CPU of requests (9 CPU of limits) (largest pod count plus 1 rolling-update surge pod each); the prod quota\'s cpu is 4 CPU (spec.quota.prod.cpu; cap 32 on stack "dev"): raise the quota or lower autoscaling.prod.max or resources.cpu of salary-sync',
    ]);
  });

  it("without a quota override the error points at the largest service and names the default", () => {
    const errors = errorsOf({
      "payroll.yaml": svc(
        "      environments: [dev]\n      replicas: { dev: 3 }\n      resources: { memory: 4Gi }\n",
      ),
    });
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(
      errors[0],
      /^payroll\.yaml:8:7: spec\.services\[0\]: in dev the services need up to sync 4 pods × 4Gi = 16Gi .*the dev quota's memory is 8Gi \(the platform default; set spec\.quota\.dev\.memory; cap 64Gi on stack "dev"\): raise the quota or lower replicas\.dev or resources\.memory of sync/,
    );
  });

  it("pods, Services, ConfigMaps and Secrets are counted too", () => {
    refused(
      {
        "payroll.yaml": tenant(
          "  owners: [ana]\n  quota:\n    dev: { pods: 1, services: 0 }\n  services:\n    - name: sync\n",
        ),
      },
      /spec\.quota\.dev\.pods: in dev the services need up to sync 2 = 2 pods/,
    );
    refused(
      {
        "payroll.yaml": tenant(
          "  owners: [ana]\n  quota:\n    dev: { pods: 5, services: 0 }\n  services:\n    - name: sync\n",
        ),
      },
      /spec\.quota\.dev\.services: in dev the services need up to 1 Services/,
    );
  });

  it("ConfigMaps and Secrets, which tenants cannot set, point at the platform's defaults", () => {
    const tight = testConfig({
      quota: {
        defaults: {
          cpu: "4",
          memory: "8Gi",
          pods: 20,
          storage: "20Gi",
          persistentVolumeClaims: 5,
          services: 10,
          configMaps: 1,
          secrets: 50,
        },
      },
    });
    refused(
      { "payroll.yaml": svc("      environments: [dev]\n") },
      /spec\.services\[0\]: in dev the services need up to 2 ConfigMaps .*imaas:quota\.defaults\.configMaps, which only the platform admins can raise/,
      tight,
    );
  });

  it("a pod may not be larger than the platform's largest MI pod", () => {
    refused(
      { "payroll.yaml": svc('      resources: { cpu: "6" }\n') },
      /resources\.cpu: cpu 6 per pod is above the largest MI pod of 4 \(imaas:service\.maxResources\.cpu of stack "dev"\)/,
    );
  });

  it("the number of services per tenant is capped by the platform", () => {
    const many = Array.from({ length: 4 }, (_, i) => `    - name: s${i}\n`).join("");
    refused(
      { "payroll.yaml": tenant(`  owners: [ana]\n  services:\n${many}`) },
      /spec\.services: 4 services; a tenant may have at most 3 \(imaas:service\.maxPerTenant of stack "dev"\)/,
      testConfig({ service: { maxPerTenant: 3 } }),
    );
  });

  it("the example payroll prod fits exactly: 6 CPU and 12Gi for (8+1) + (2+1) pods of 0.5 CPU and 1Gi", () => {
    const { errors } = loadTenantSources(
      [
        {
          file: "payroll.yaml",
          text: tenant(
            '  owners: [ana]\n  quota:\n    prod: { cpu: "6", memory: 12Gi, pods: 30 }\n  services:\n    - name: salary-sync\n      autoscaling: { prod: { min: 3, max: 8 } }\n    - name: payslip-api\n      environments: [dev, prod]\n',
          ),
        },
      ],
      cfg,
    );
    assert.deepEqual(errors.map(formatError), []);
  });
});

describe("contract: names, hosts and network that cannot hurt anyone else", () => {
  it("platform hosts are reserved: the apex, Argo CD and every tenant's Grafana", () => {
    refused(
      { "payroll.yaml": svc("      expose:\n        prod: { host: imaas.test }\n") },
      /host "imaas\.test" is the platform's apex domain, reserved by the platform/,
    );
    refused(
      { "payroll.yaml": svc("      expose:\n        prod: { host: argocd.main.imaas.test }\n") },
      /host "argocd\.main\.imaas\.test" is Argo CD of cluster "main", reserved/,
    );
    refused(
      {
        "payroll.yaml": svc("      expose:\n        prod: { host: grafana.hr.main.imaas.test }\n"),
        "hr.yaml": tenant("  owners: [bo]\n", "hr"),
      },
      /host "grafana\.hr\.main\.imaas\.test" is the Grafana of tenant "hr" on cluster "main"/,
    );
  });

  it("a service named grafana whose default host is its tenant's Grafana (a cluster named like an environment) is refused", () => {
    const config = testConfig({ clusters: [{ name: "prod", environments: ["dev", "test", "prod"] }] });
    refused(
      { "payroll.yaml": svc("      expose:\n        prod: true\n", "payroll", "grafana") },
      /expose\.prod: host "grafana\.payroll\.prod\.imaas\.test" is the Grafana of tenant "payroll" on cluster "prod", reserved by the platform; set another host under expose \(or rename the service\)/,
      config,
    );
  });

  it("DNS labels have at most 63 characters", () => {
    refused(
      { "payroll.yaml": svc(`      expose:\n        prod: { host: ${"a".repeat(64)}.imaas.test }\n`) },
      /has a label of 64 characters; DNS labels have at most 63/,
    );
  });

  const egress = (cidr: string) =>
    tenant(`  owners: [ana]\n  network:\n    egress:\n      - { cidr: ${cidr}, ports: [443] }\n`);
  const forbidden: Array<[string, RegExp]> = [
    [
      "169.254.169.254/32",
      /overlaps 169\.254\.0\.0\/16, which the platform forbids \(link-local: the cloud metadata endpoint\)/,
    ],
    ["169.0.0.0/8", /overlaps 169\.254\.0\.0\/16/],
    ["127.0.0.1/32", /overlaps 127\.0\.0\.0\/8.*loopback/],
    ["0.0.0.0/0", /0\.0\.0\.0\/0 is wider than \/8/],
    ["::/0", /::\/0 is wider than \/32/],
    ["fe80::1/128", /overlaps fe80::\/10/],
  ];
  for (const [cidr, expected] of forbidden) {
    it(`egress to ${cidr} is refused`, () => refused({ "payroll.yaml": egress(cidr) }, expected));
  }

  it("egress into the cluster's own networks is refused; the platform may relax the defaults", () => {
    const config = testConfig({
      clusters: [{ name: "main", environments: ["dev", "test", "prod"], networks: ["10.96.0.0/12"] }],
    });
    refused(
      { "payroll.yaml": egress("10.0.0.0/8") },
      /:9:17: spec\.network\.egress\[0\]\.cidr: 10\.0\.0\.0\/8 overlaps 10\.96\.0\.0\/12, a network of cluster "main"/,
      config,
    );
    assert.deepEqual(errorsOf({ "payroll.yaml": egress("10.40.0.0/16") }, config), []);
    const relaxed = testConfig({ network: { forbiddenEgress: [], minEgressPrefix: { ipv4: 0 } } });
    assert.deepEqual(errorsOf({ "payroll.yaml": egress("0.0.0.0/0") }, relaxed), []);
  });

  const credentials: Array<[string, string]> = [
    ["a GitHub token", `ghp_${"a1B2".repeat(9)}`],
    ["an AWS access key", "AKIAABCDEFGHIJKLMNOP"],
    ["a Slack token", "xoxb-123456789012-abcdefghij"],
    ["a private key", "-----BEGIN RSA PRIVATE KEY-----"],
    ["a JSON Web Token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlLXZhbHVl"],
    ["a URL with a password", "postgres://app:s3cr3tpw@db.internal:5432/app"],
    ["a password or key assignment", "user=app;password=hunter22"],
  ];
  for (const [kind, value] of credentials) {
    it(`a config value that looks like ${kind} is refused without echoing it`, () => {
      const errors = refused(
        { "payroll.yaml": svc(`      config:\n        dev: { SETTING: "${value}" }\n`) },
        new RegExp(`config\\.dev\\.SETTING: looks like ${kind}: .*move it to secrets:`),
      );
      assert.ok(!errors.join("\n").includes(value), "the error must not echo the value");
    });
  }

  it("ordinary config values pass", () => {
    assert.deepEqual(
      errorsOf({
        "payroll.yaml": svc(
          '      config:\n        dev: { BANK_URL: "https://bank.example.net/api?page=2", TOKEN_TTL: "300", SECRET_NAME: payroll-db, LOG_LEVEL: DEBUG }\n',
        ),
      }),
      [],
    );
  });

  for (const name of ["JVM_MEM_OPTS", "POD_NAME", "PATH", "HOME", "JAVA_TOOL_OPTIONS", "JAVA_HOME"]) {
    it(`config name ${name} is reserved`, () =>
      refused(
        { "payroll.yaml": svc(`      config:\n        dev: { ${name}: x }\n`) },
        new RegExp(`config\\.dev\\.${name}: ${name} is set by the platform or the runtime`),
      ));
  }
  it("reserved prefixes: LD_, OTEL_, KUBERNETES_, IMAAS_", () => {
    refused(
      { "payroll.yaml": svc("      config:\n        dev: { LD_PRELOAD: /x.so }\n") },
      /config\.dev\.LD_PRELOAD: names starting with LD_ belong to the platform or the runtime/,
    );
  });

  it("GitHub logins are one person whatever their case", () => {
    refused(
      { "payroll.yaml": tenant("  owners: [MKim]\n  members: [mkim]\n") },
      /:7:13: spec\.members\[0\]: "mkim" is already listed as an owner "MKim" \(GitHub logins ignore case\)/,
    );
  });

  it("control and bidi characters are refused in displayName and description", () => {
    refused(
      {
        "payroll.yaml": `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: payroll\n  displayName: "Pay\\u202Eroll"\nspec:\n  owners: [ana]\n`,
      },
      /metadata\.displayName: contains a control, invisible or text-direction character \(U\+202E at position 4\)/,
    );
    refused(
      { "payroll.yaml": svc('      description: "a\\u0007b"\n') },
      /description: contains a control, invisible or text-direction character \(U\+0007/,
    );
  });

  it("a non-ASCII look-alike says which character", () => {
    refused(
      { "payroll.yaml": svc("      replicas: { dev: 1 }\n", "payroll", "sуnc") },
      /spec\.services\[0\]\.name: contains "у" \(U\+0443\) at position 2; use plain ASCII/,
    );
  });

  it("registry-reserved project names are refused: Harbor's library and the base-image project", () => {
    refused(
      { "library.yaml": tenant("  owners: [ana]\n", "library") },
      /metadata\.name: this name is reserved/,
    );
    refused(
      { "mi-images.yaml": tenant("  owners: [ana]\n", "mi-images") },
      /metadata\.name: "mi-images" is the registry project of the platform's base images/,
      testConfig({ registry: { host: "registry.imaas.test", baseImageProject: "mi-images" } }),
    );
  });
});

describe("contract: environments the stack hosts", () => {
  it("an environment no cluster of the stack hosts is refused at the loader, not a crash in the plan", () => {
    const devOnly = testConfig({ clusters: [{ name: "main", environments: ["dev"] }] });
    refused(
      { "payroll.yaml": tenant("  owners: [ana]\n  environments: [dev, prod]\n") },
      /:7:17: spec\.environments: stack "dev" has no cluster for prod \(its clusters host dev\)/,
      devOnly,
    );
    assert.deepEqual(
      errorsOf({ "payroll.yaml": tenant("  owners: [ana]\n  environments: [dev]\n") }, devOnly),
      [],
    );
  });
});

describe("contract: what the file says, in the message", () => {
  it("a .nan where a mapping belongs is named as YAML writes it (found by the property test)", () => {
    const errors = errorsOf({ "payroll.yaml": tenant("  owners: [ana]\n  network: .nan\n") });
    assert.ok(
      errors.some((e) => /:7:12: spec\.network: .*received \.nan \(YAML's not-a-number\)/.test(e)),
      errors.join("\n"),
    );
    assert.ok(
      errors.every((e) => !/NaN/.test(e)),
      errors.join("\n"),
    );
  });
});

describe("contract: supported MI versions", () => {
  it("a service's miVersion must be one the platform builds a base image for", () => {
    refused(
      { "payroll.yaml": svc('      miVersion: "4.3.0"\n') },
      /:9:18: spec\.services\[0\]\.miVersion: MI 4\.3\.0 is not supported here \(imaas:mi\.versions of stack "dev": 4\.4\.0\); use one of them, or leave miVersion out for the default 4\.4\.0/,
    );
    const two = testConfig({ mi: { defaultVersion: "4.4.0", versions: ["4.3.0", "4.4.0"] } });
    assert.deepEqual(errorsOf({ "payroll.yaml": svc('      miVersion: "4.3.0"\n') }, two), []);
  });

  it("the default version must be one of the supported versions", () => {
    assert.throws(
      () => testConfig({ mi: { defaultVersion: "4.5.0", versions: ["4.4.0"] } }),
      /imaas:mi\.defaultVersion: 4\.5\.0 is not in imaas:mi\.versions \(4\.4\.0\); add it there/,
    );
  });
});

describe("contract: messages for the commonest mistakes", () => {
  it("expose: yes lists the accepted forms", () => {
    refused(
      { "payroll.yaml": svc("      expose:\n        dev: yes\n") },
      /expose\.dev: write true \(the default host\), false, or \{ host: <name> \}; got "yes"/,
    );
  });

  it("YAML merge keys say they are not supported", () => {
    refused(
      {
        "payroll.yaml": tenant(
          "  owners: [ana]\n  services:\n    - &base\n      name: a\n    - <<: *base\n      name: b\n",
        ),
      },
      /:10:7: YAML merge keys \(<<\) are not supported in tenant files; write the fields out/,
    );
  });
});
