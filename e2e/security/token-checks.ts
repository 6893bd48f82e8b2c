/**
 * Service-account tokens: tenant people must never hold the token of a service account of their
 * namespace — least of all `secrets-reader`, whose token logs in to Vault as the tenant's environment.
 * Three ways to one: a token Secret (the token controller fills it), a TokenRequest
 * (`serviceaccounts/token`), and a pod that runs as the account (its token is mounted, or projected with
 * any audience). Each is refused on the real API server, for its reason, beside a positive control.
 */
import { TENANT_OBJECTS } from "../../model/naming";
import { kubectl } from "./engine";
import {
  allRefused,
  type Check,
  type CheckContext,
  dryCreate,
  expectAllowed,
  podManifest,
  RBAC_DENIED,
} from "./probe";

const TOKEN_SECRETS = /ValidatingAdmissionPolicy 'imaas-no-token-secrets'/;
const WORKLOAD_ACCOUNT = /ValidatingAdmissionPolicy 'imaas-workload-service-account'/;
const ACCOUNTS = [TENANT_OBJECTS.secretReader, TENANT_OBJECTS.workloadServiceAccount, "default"];

function tokenSecret(ctx: CheckContext, account: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `probe-${account}-token`,
      namespace: ctx.namespace,
      annotations: { "kubernetes.io/service-account.name": account },
    },
    type: "kubernetes.io/service-account-token",
  });
}

/** A Job (or CronJob) whose pod runs as `account`; undefined: no account named (so `default`). */
function job(ctx: CheckContext, account: string | undefined, kind: "Job" | "CronJob" = "Job"): string {
  const spec = { ...podManifest(ctx, "x").spec, restartPolicy: "Never" };
  if (account === undefined) delete spec.serviceAccountName;
  else spec.serviceAccountName = account;
  const jobSpec = { template: { metadata: { labels: { app: "security-probe" } }, spec } };
  return JSON.stringify(
    kind === "Job"
      ? {
          apiVersion: "batch/v1",
          kind,
          metadata: { name: "probe-job", namespace: ctx.namespace },
          spec: jobSpec,
        }
      : {
          apiVersion: "batch/v1",
          kind,
          metadata: { name: "probe-cron", namespace: ctx.namespace },
          spec: { schedule: "0 0 * * *", jobTemplate: { spec: jobSpec } },
        },
  );
}

export const TOKEN_CHECKS: readonly Check[] = [
  {
    id: "IMAAS-SA-TOKENS",
    title: "People cannot mint service-account tokens: no token Secrets, no TokenRequest",
    as: "people",
    run(ctx, id) {
      // dev/test: people may write Secrets, so admission must refuse the token type; prod: no Secret writes.
      const because = ctx.env === "prod" ? RBAC_DENIED : TOKEN_SECRETS;
      const r = allRefused([
        ...ACCOUNTS.map((sa) => ({
          what: `a token Secret for ${sa}`,
          run: () => dryCreate(id, tokenSecret(ctx, sa)),
          because,
        })),
        ...ACCOUNTS.map((sa) => ({
          what: `a TokenRequest for ${sa}`,
          run: () => kubectl(id, ["create", "token", sa, "-n", ctx.namespace]),
          because: RBAC_DENIED,
        })),
      ]);
      if (r.failed) return r.failed;
      const layers = `token Secrets refused by ${ctx.env === "prod" ? "RBAC" : "admission imaas-no-token-secrets"}, TokenRequests by RBAC (${ACCOUNTS.join(", ")})`;
      if (ctx.env === "prod") return { pass: true, detail: layers };
      const control = expectAllowed(
        dryCreate(
          id,
          JSON.stringify({
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "probe-opaque", namespace: ctx.namespace },
            type: "Opaque",
            stringData: { key: "value" },
          }),
        ),
        "control: an Opaque Secret",
      );
      return control.pass ? { pass: true, detail: `${layers} | ${control.detail}` } : control;
    },
  },
  {
    id: "IMAAS-SA-WORKLOADS",
    title: "People cannot run a Job or CronJob as another service account (secrets-reader, default)",
    as: "people",
    run(ctx, id) {
      if (ctx.env === "prod") {
        const r = allRefused([
          {
            what: "a Job in prod",
            run: () => dryCreate(id, job(ctx, TENANT_OBJECTS.workloadServiceAccount)),
            because: RBAC_DENIED,
          },
        ]);
        return r.failed ?? { pass: true, detail: "prod: Jobs refused by RBAC" };
      }
      const r = allRefused([
        {
          what: `a Job as ${TENANT_OBJECTS.secretReader}`,
          run: () => dryCreate(id, job(ctx, TENANT_OBJECTS.secretReader)),
          because: WORKLOAD_ACCOUNT,
        },
        {
          what: "a Job as default",
          run: () => dryCreate(id, job(ctx, "default")),
          because: WORKLOAD_ACCOUNT,
        },
        {
          what: "a Job naming no account",
          run: () => dryCreate(id, job(ctx, undefined)),
          because: WORKLOAD_ACCOUNT,
        },
        {
          // People hold no CronJob writes at all; were they granted, the admission policy covers them too.
          what: `a CronJob as ${TENANT_OBJECTS.secretReader}`,
          run: () => dryCreate(id, job(ctx, TENANT_OBJECTS.secretReader, "CronJob")),
          because: RBAC_DENIED,
        },
      ]);
      if (r.failed) return r.failed;
      const control = expectAllowed(
        dryCreate(id, job(ctx, TENANT_OBJECTS.workloadServiceAccount)),
        `control: a Job as ${TENANT_OBJECTS.workloadServiceAccount}`,
      );
      return control.pass
        ? {
            pass: true,
            detail: `refused by admission imaas-workload-service-account: ${r.layers.slice(0, 3).join(", ")}; CronJob by RBAC | ${control.detail}`,
          }
        : control;
    },
  },
  {
    id: "IMAAS-SA-DEPLOYER",
    title:
      "Workloads arriving through the deployer run as mi-workloads only (pods, Jobs, CronJobs, Deployments)",
    as: "deployer",
    run(ctx, id) {
      const deployment = (account: string) =>
        JSON.stringify({
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "probe-deploy", namespace: ctx.namespace },
          spec: {
            selector: { matchLabels: { app: "security-probe" } },
            template: {
              metadata: { labels: { app: "security-probe" } },
              spec: { ...podManifest(ctx, "x").spec, serviceAccountName: account },
            },
          },
        });
      const pod = (account: string) => {
        const p = podManifest(ctx, "probe-account");
        p.spec.serviceAccountName = account;
        return JSON.stringify(p);
      };
      const r = allRefused([
        { what: "a pod as default", run: () => dryCreate(id, pod("default")), because: WORKLOAD_ACCOUNT },
        {
          what: `a CronJob as ${TENANT_OBJECTS.secretReader}`,
          run: () => dryCreate(id, job(ctx, TENANT_OBJECTS.secretReader, "CronJob")),
          because: WORKLOAD_ACCOUNT,
        },
        {
          what: "a Deployment as default",
          run: () => dryCreate(id, deployment("default")),
          because: WORKLOAD_ACCOUNT,
        },
        {
          what: "a token Secret",
          run: () => dryCreate(id, tokenSecret(ctx, TENANT_OBJECTS.workloadServiceAccount)),
          because: TOKEN_SECRETS,
        },
      ]);
      if (r.failed) return r.failed;
      const control = expectAllowed(
        dryCreate(id, deployment(TENANT_OBJECTS.workloadServiceAccount)),
        `control: a Deployment as ${TENANT_OBJECTS.workloadServiceAccount}`,
      );
      return control.pass
        ? { pass: true, detail: `refused by admission: ${r.layers.join(", ")} | ${control.detail}` }
        : control;
    },
  },
];
