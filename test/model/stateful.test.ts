/**
 * `stateful: true` services and the coordination server (imaas:mi.coordination). MI coordinates
 * scheduled tasks, message processors and polling inbound endpoints across replicas only through its
 * WSO2_COORDINATION_DB datasource (wso2/micro-integrator, components/mediation/tasks/
 * org.wso2.micro.integrator.ntask.core/…/TasksDSComponent.java `isCoordinationDataSourceAvailable`): without a
 * coordination server, the loader refuses more than one pod for a stateful service, with file:line:col.
 */
import { strict as assert } from "node:assert";
import { formatError, loadTenantSources } from "../../model/load";
import { coordinationDatabaseName, coordinationStorePath } from "../../model/naming";
import { PLATFORM_SECRETS, parsePlatformConfig } from "../../model/platform-config";
import { coordinationEnvironments } from "../../model/spec";
import { tenantJsonSchema } from "../../model/tenant";
import { testConfig } from "../support/mocks";

const COORDINATION = { host: "pg.platform.internal", networks: ["10.50.0.10/32"] };
const without = testConfig();
const withServer = testConfig({ mi: { coordination: COORDINATION } });

function load(text: string, cfg = without) {
  return loadTenantSources([{ file: "payroll.yaml", text }], cfg, { stack: "dev" });
}
const errorsOf = (text: string, cfg = without) => load(text, cfg).errors.map(formatError);

const tenant = (services: string) =>
  `apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata:\n  name: payroll\nspec:\n  owners: [ana]\n  services:\n${services}`;

describe("stateful services and the coordination server", () => {
  it("without a coordination server, a stateful service at the platform's default of 2 prod replicas is refused at `stateful`", () => {
    const errors = errorsOf(tenant("    - name: sync\n      stateful: true\n"));
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(
      errors[0],
      /^payroll\.yaml:9:17: spec\.services\[0\]\.stateful: a stateful service runs its scheduled tasks, message processors and polling inbound endpoints on every replica unless MI's coordination database coordinates them, and stack "dev" has no coordination server \(imaas:mi\.coordination\); in prod it would run 2 replicas \(the platform default for prod, imaas:service\.defaultReplicas\.prod of stack "dev"\): set replicas\.prod: 1 without autoscaling, or ask the platform admins for a coordination server$/,
    );
  });

  it("points at the written replicas or autoscaling of each environment that runs more than one pod", () => {
    const errors = errorsOf(
      tenant(
        "    - name: sync\n      stateful: true\n      replicas: { dev: 3, prod: 1 }\n      autoscaling:\n        test: { min: 1, max: 4 }\n",
      ),
    );
    assert.equal(errors.length, 2, errors.join("\n"));
    assert.match(
      errors[0],
      /^payroll\.yaml:10:24: spec\.services\[0\]\.replicas\.dev: .* in dev it would run 3 replicas: set replicas\.dev: 1/,
    );
    assert.match(
      errors[1],
      /^payroll\.yaml:12:15: spec\.services\[0\]\.autoscaling\.test: .* in test it would run autoscaling up to 4 pods: set replicas\.test: 1/,
    );
  });

  it("one pod everywhere, an autoscaler capped at 1, or a service that is not stateful passes", () => {
    assert.deepEqual(
      errorsOf(
        tenant(
          "    - name: sync\n      stateful: true\n      replicas: { dev: 1, test: 0, prod: 1 }\n    - name: api\n      replicas: { prod: 2 }\n    - name: poll\n      stateful: true\n      replicas: { dev: 1, test: 1 }\n      autoscaling:\n        prod: { min: 1, max: 1 }\n",
        ),
      ),
      [],
    );
  });

  it("with a coordination server, any number of replicas and autoscaling is fine", () => {
    assert.deepEqual(
      errorsOf(
        tenant(
          "    - name: sync\n      stateful: true\n      autoscaling:\n        prod: { min: 2, max: 4 }\n",
        ),
        withServer,
      ),
      [],
    );
  });

  it("the environment's coordination-db Secret counts against the tenant's Secret quota", () => {
    const text = tenant(
      "    - name: poller\n      stateful: true\n      environments: [dev]\n      replicas: { dev: 1 }\n      secrets: [API_KEY]\n    - name: api\n      environments: [dev]\n",
    );
    const defaults = {
      cpu: "4",
      memory: "8Gi",
      pods: 20,
      storage: "20Gi",
      persistentVolumeClaims: 5,
      services: 10,
      configMaps: 50,
      secrets: 6,
    };
    // 1 namespace Secret + 2 per MI service + 1 for poller's secrets = 6: fits without coordination …
    assert.deepEqual(errorsOf(text, testConfig({ quota: { defaults } })), []);
    // … and the coordination-db Secret makes 7.
    assert.match(
      errorsOf(text, testConfig({ quota: { defaults }, mi: { coordination: COORDINATION } })).join("\n"),
      /in dev the services need up to 7 Secrets .*the dev quota's secrets is 6/,
    );
  });

  it("stateful must be a boolean (schema), and the editor schema describes it", () => {
    assert.match(
      errorsOf(tenant('    - name: sync\n      stateful: "yes"\n')).join("\n"),
      /payroll\.yaml:9:17: spec\.services\[0\]\.stateful: /,
    );
    const text = JSON.stringify(tenantJsonSchema());
    assert.match(
      text,
      /"stateful":\{"description":"The service has scheduled tasks, message processors or polling inbound endpoints/,
    );
  });

  it("resolves stateful (default false) and the environments that get a coordination database", () => {
    const { tenants, errors } = load(
      tenant("    - name: sync\n      stateful: true\n      environments: [dev, test]\n    - name: api\n"),
      withServer,
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(
      tenants[0].services.map((s) => [s.name, s.stateful]),
      [
        ["sync", true],
        ["api", false],
      ],
    );
    assert.deepEqual(coordinationEnvironments(tenants[0]), ["dev", "test"]);
    const plain = load(tenant("    - name: api\n"), withServer).tenants[0];
    assert.deepEqual(coordinationEnvironments(plain), []);
  });
});

describe("imaas:mi.coordination", () => {
  const base = {
    clusters: [{ name: "main", environments: ["dev"] }],
    domain: "imaas.test",
  };

  it("fills the defaults: port 5432, admin role imaas_admin, database postgres, TLS required", () => {
    const cfg = parsePlatformConfig({ ...base, mi: { coordination: { host: "10.50.0.10" } } });
    assert.deepEqual(cfg.mi.coordination, {
      host: "10.50.0.10",
      port: 5432,
      adminUser: "imaas_admin",
      adminDatabase: "postgres",
      ssl: "require",
      networks: [],
    });
    assert.equal(parsePlatformConfig(base).mi.coordination, undefined);
  });

  it("refuses a bad host, port, role name, ssl mode or network, naming each key", () => {
    assert.throws(
      () =>
        parsePlatformConfig({
          ...base,
          mi: {
            coordination: {
              host: "pg;drop",
              port: 70000,
              adminUser: "Admin-1",
              ssl: "prefer",
              networks: ["10.0.0.0/33"],
            },
          },
        }),
      (err: Error) =>
        [
          /imaas:mi\.coordination\.host: a host name or IP address/,
          /imaas:mi\.coordination\.port: /,
          /imaas:mi\.coordination\.adminUser: a PostgreSQL role name/,
          /imaas:mi\.coordination\.ssl: /,
          /imaas:mi\.coordination\.networks\.0: not a CIDR block/,
        ].every((re) => re.test(err.message)),
    );
  });

  it("the admin password is a platform secret", () => {
    assert.match(PLATFORM_SECRETS.coordinationAdminPassword, /imaas:mi\.coordination\.adminUser/);
  });

  it("names: one database and role per tenant environment, and a store path no service can take", () => {
    assert.equal(coordinationDatabaseName("pay-roll", "prod"), "imaas_pay_roll_prod");
    assert.equal(coordinationStorePath("payroll", "dev"), "payroll/dev/_coordination-db");
  });
});
