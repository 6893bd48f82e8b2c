/**
 * The admission policies that close the service-account and network-policy holes, as data. Their CEL is
 * evaluated by a real API server in admission.sandbox.test.ts and `npm run test:security`; here: which
 * requests each policy sees, who is exempt, and that each refusal explains itself.
 */
import { strict as assert } from "node:assert";
import { ValidatingAdmissionPolicy } from "kubernetes-models/admissionregistration.k8s.io/v1";
import { admissionPolicies, SA_TOKEN_SECRET } from "../../../components/platform/admission";
import { testConfig } from "../../support/mocks";

const cfg = testConfig();
const policies = Object.fromEntries(admissionPolicies(cfg).map((p) => [p.name, p.spec as any]));
const rulesOf = (name: string) =>
  policies[name].matchConstraints.resourceRules.flatMap((r: any) =>
    r.resources.map((res: string) => `${r.apiGroups[0] || "core"}/${res}:${r.operations.join(",")}`),
  );

describe("admission policies: schema", () => {
  it("every policy is a valid ValidatingAdmissionPolicy", () => {
    for (const [name, spec] of Object.entries(policies)) {
      new ValidatingAdmissionPolicy({
        metadata: { name },
        spec,
      }).validate();
    }
  });
});

describe("admission policy imaas-tenant-network-policies", () => {
  const spec = policies["imaas-tenant-network-policies"];

  it("sees every create and update of a NetworkPolicy, and exempts only the platform", () => {
    assert.deepEqual(rulesOf("imaas-tenant-network-policies"), [
      "networking.k8s.io/networkpolicies:CREATE,UPDATE",
    ]);
    assert.equal(spec.matchConditions.length, 1);
    const cond = spec.matchConditions[0].expression as string;
    assert.match(cond, /^!\(/, "the condition excludes, never includes");
    assert.match(cond, /system:masters/);
    assert.match(cond, new RegExp(cfg.identity.platformAdminsGroup));
  });

  it("refuses rules without peers, ipBlock peers and namespace selectors beyond the namespace, each with its reason", () => {
    const v = spec.validations as { expression: string; message?: string; messageExpression?: string }[];
    assert.equal(v.length, 3);
    assert.match(v[0].expression, /object\.spec\.ingress\.all\(r, has\(r\.from\) && size\(r\.from\) > 0\)/);
    assert.match(v[0].expression, /object\.spec\.egress\.all\(r, has\(r\.to\) && size\(r\.to\) > 0\)/);
    assert.match(v[0].message!, /allows every address/);
    assert.match(v[1].expression, /r\.from\.all\(p, !has\(p\.ipBlock\)\)/);
    assert.match(v[1].expression, /r\.to\.all\(p, !has\(p\.ipBlock\)\)/);
    assert.match(v[1].message!, /network\.egress/, "says where external systems belong");
    assert.match(v[2].expression, /kubernetes\.io\/metadata\.name/);
    assert.match(v[2].expression, /namespaceObject\.metadata\.name/);
    assert.match(v[2].expression, /namespaceObject\.metadata\.labels\['imaas\.io\/environment'\]/);
    assert.doesNotMatch(
      v[2].expression,
      /matchExpressions/,
      "matchExpressions can only narrow: not relied on",
    );
    assert.match(v[2].messageExpression!, /network\.allowFrom/, "says where other tenants belong");
    for (const x of v) assert.equal((x as any).reason, "Forbidden");
    assert.equal(spec.failurePolicy, "Fail");
  });
});

describe("admission policy imaas-no-token-secrets", () => {
  const spec = policies["imaas-no-token-secrets"];

  it("refuses token Secrets to everyone, the platform included", () => {
    assert.deepEqual(rulesOf("imaas-no-token-secrets"), ["core/secrets:CREATE,UPDATE"]);
    assert.equal(spec.matchConditions, undefined, "no exemption");
    assert.equal(spec.validations.length, 1);
    assert.ok(spec.validations[0].expression.includes(`'${SA_TOKEN_SECRET}'`));
    assert.match(spec.validations[0].message, /secrets-reader/);
  });
});

describe("admission policy imaas-workload-service-account", () => {
  const spec = policies["imaas-workload-service-account"];

  it("sees pods and every built-in kind with a pod template, with no exemption", () => {
    assert.deepEqual(rulesOf("imaas-workload-service-account").sort(), [
      "apps/daemonsets:CREATE,UPDATE",
      "apps/deployments:CREATE,UPDATE",
      "apps/replicasets:CREATE,UPDATE",
      "apps/statefulsets:CREATE,UPDATE",
      "batch/cronjobs:CREATE,UPDATE",
      "batch/jobs:CREATE,UPDATE",
      "core/pods:CREATE",
      "core/replicationcontrollers:CREATE,UPDATE",
    ]);
    assert.equal(spec.matchConditions, undefined);
  });

  it("reads the pod spec where each kind keeps it, and the deprecated serviceAccount field too", () => {
    const podSpec = spec.variables.find((x: any) => x.name === "podSpec").expression as string;
    assert.match(podSpec, /'pods' \? object\.spec/);
    assert.match(podSpec, /'cronjobs' \? object\.spec\.jobTemplate\.spec\.template\.spec/);
    assert.match(podSpec, /: object\.spec\.template\.spec\)$/);
    const account = spec.variables.find((x: any) => x.name === "account").expression as string;
    assert.match(account, /serviceAccountName/);
    assert.match(account, /podSpec\.serviceAccount /);
    assert.match(account, /'default'\)$/, "no account named means default");
    assert.match(spec.validations[0].expression, /^variables\.account == 'mi-workloads'/);
    assert.match(spec.validations[0].messageExpression, /set serviceAccountName: mi-workloads/);
  });
});
