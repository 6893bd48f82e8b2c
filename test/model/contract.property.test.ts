/**
 * Property-based tests of the tenant contract (fast-check): tenant files generated from the contract,
 * valid and mutated, must never make the loader throw; every refusal carries file:line:col and a field;
 * and every accepted folder plans with `imaas plan`'s engine (the real index.ts under mocks) without an
 * exception. This is the promise "validate passes ⇒ pulumi up works" checked on inputs nobody wrote by hand.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { planProgram } from "../../cli/plan-engine";
import { buildMIChartValues } from "../../components/mi-service/chart-values";
import { limitRangeSpec, quotaHard } from "../../components/tenant-space/quota";
import { ENVIRONMENTS } from "../../model/environments";
import { loadTenantSources } from "../../model/load";
import { isProblem, parseBytes, parseCpu } from "../../model/quantity";
import { readStackConfig } from "../../model/stack-file";
import { platformConfigOf } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");
const stack = readStackConfig(ROOT, "dev");
const cfg = platformConfigOf(stack);

// ---- generators: tenant files as the contract describes them ----------------------------------------

const name = (max: number) =>
  fc
    .tuple(
      fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"),
      fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), maxLength: max - 2 }),
      fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
    )
    .map(([a, b, c]) => `${a}${b}${c}`.replace(/--+/g, "-"));

const cpu = fc.oneof(
  fc.integer({ min: 100, max: 4000 }).map((m) => `${m}m`),
  fc.constantFrom("0.5", "1", "1.5", "2", "0.25"),
);
const memory = fc.oneof(
  fc.integer({ min: 512, max: 4096 }).map((m) => `${m}Mi`),
  fc.constantFrom("1Gi", "2Gi", "1.5Gi", "3G"),
);
/** Every environment (per-environment fields of the generator name all three); mutations cover the rest. */
const allEnvironments = fc.constant([...ENVIRONMENTS]);
const perEnv = <T>(value: fc.Arbitrary<T>) =>
  fc.record({ dev: value, test: value, prod: value }, { requiredKeys: [] });

const service = fc.record(
  {
    name: name(12),
    replicas: perEnv(fc.integer({ min: 0, max: 6 })),
    autoscaling: perEnv(
      fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 4 })).map(([min, extra]) => ({
        min,
        max: min + extra,
      })),
    ),
    resources: fc.record({ cpu, memory }, { requiredKeys: [] }),
    config: perEnv(
      fc.dictionary(
        fc.constantFrom("BANK_URL", "RETRIES", "LOG_LEVEL", "BATCH_SIZE"),
        fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()),
        { maxKeys: 3 },
      ),
    ),
    secrets: fc.uniqueArray(fc.constantFrom("DB_PASSWORD", "API_KEY", "TOKEN"), { maxLength: 2 }),
    expose: perEnv(fc.boolean()),
  },
  { requiredKeys: ["name"] },
);

const tenantFile = (tenantName: string) =>
  fc.record(
    {
      apiVersion: fc.constant("imaas.io/v1alpha1"),
      kind: fc.constant("Tenant"),
      metadata: fc.record(
        { name: fc.constant(tenantName), displayName: fc.string({ maxLength: 30 }) },
        { requiredKeys: ["name"] },
      ),
      spec: fc.record(
        {
          owners: fc.uniqueArray(name(10), { minLength: 1, maxLength: 2 }),
          environments: allEnvironments,
          quota: perEnv(
            fc.record(
              {
                // within the dev stack caps (16 CPU, 32Gi); "2"/"4Gi" make some folders not fit (refused)
                cpu: fc.constantFrom("2", "12", "16"),
                memory: fc.constantFrom("4Gi", "24Gi", "32Gi"),
                pods: fc.integer({ min: 10, max: 60 }),
              },
              { requiredKeys: [] },
            ),
          ),
          network: fc.record(
            {
              egress: fc.array(
                fc.record({
                  cidr: fc.constantFrom("10.40.0.0/16", "192.0.2.0/24", "2001:db8::/32"),
                  ports: fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 2 }),
                }),
                { maxLength: 2 },
              ),
            },
            { requiredKeys: [] },
          ),
          services: fc.uniqueArray(service, { maxLength: 3, selector: (s) => s.name }),
        },
        { requiredKeys: ["owners"] },
      ),
    },
    { requiredKeys: ["apiVersion", "kind", "metadata", "spec"] },
  );

/** A junk value of the kinds tenants actually write by mistake. */
const junk = fc.oneof(
  fc.constantFrom(".5", "1e3", "500m", "0", "", "yes", "2Gi", "-1", "ＡＢＣ", "p\u0430yroll", "\u202e", "<<"),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.string({ maxLength: 8 }),
);

/** Replaces the value at one of the paths of `value` (chosen by `pick`) with `replacement`. */
function mutate(value: unknown, pick: number, replacement: unknown): unknown {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    paths.push(path);
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, [...path, i]);
    } else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(value, []);
  const path = paths[pick % paths.length];
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  parent[path[path.length - 1]] = replacement;
  return copy;
}

const files = fc
  .uniqueArray(name(10), { minLength: 1, maxLength: 3 })
  .chain((names) => fc.tuple(...names.map((n) => tenantFile(n))));

function load(docs: readonly unknown[]) {
  const sources = docs.map((d, i) => ({
    file: `t${i}.yaml`,
    text: stringify(d),
  }));
  // The file name is the tenant name where the document has one (the loader checks they are equal).
  return loadTenantSources(
    sources.map((s, i) => {
      const n = (docs[i] as { metadata?: { name?: unknown } })?.metadata?.name;
      return typeof n === "string" && /^[a-z0-9-]+$/.test(n) ? { ...s, file: `${n}.yaml` } : s;
    }),
    cfg,
    { stack: "dev" },
  );
}

describe("tenant contract (property-based)", function () {
  this.timeout(300_000);

  it("every CPU and memory amount the grammar accepts is one the MI chart's values.schema.json accepts", () => {
    const schema = JSON.parse(readFileSync(join(ROOT, "charts/wso2-mi/values.schema.json"), "utf8"));
    const pattern = (key: "cpu" | "memory") => new RegExp(schema.definitions[key].pattern);
    const digits = fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 6 });
    const candidates = fc.tuple(
      digits,
      fc.option(digits),
      fc.constantFrom("", "m", "Ki", "Mi", "Gi", "Ti", "Pi", "k", "M", "G", "T", "P", "e3"),
    );
    fc.assert(
      fc.property(candidates, ([whole, fraction, unit]) => {
        const text = `${whole}${fraction === null ? "" : `.${fraction}`}${unit}`;
        if (!isProblem(parseCpu(text))) assert.match(text, pattern("cpu"));
        if (!isProblem(parseBytes(text))) assert.match(text, pattern("memory"));
      }),
      { numRuns: 2000 },
    );
  });

  it("the loader never throws, and every refusal has file:line:col and says what is wrong", () => {
    fc.assert(
      fc.property(files, fc.nat(), junk, fc.boolean(), (docs, pick, replacement, doMutate) => {
        const input = doMutate ? docs.map((d, i) => (i === 0 ? mutate(d, pick, replacement) : d)) : docs;
        const result = load(input);
        for (const e of result.errors) {
          assert.ok(e.line >= 1 && e.col >= 1, `no position: ${JSON.stringify(e)}`);
          assert.ok(/\.yaml$/.test(e.file), `no file: ${JSON.stringify(e)}`);
          assert.ok(e.message.length > 10, `no message: ${JSON.stringify(e)}`);
          assert.ok(!/\[object Object\]|undefined|NaN/.test(e.message), `vague: ${e.message}`);
        }
        assert.ok(result.errors.length > 0 || result.tenants.length === input.length);
      }),
      { numRuns: 400 },
    );
  });

  it("an accepted tenant builds its quota, limit range and chart values without an exception", () => {
    let accepted = 0;
    fc.assert(
      fc.property(files, (docs) => {
        const { tenants, errors } = load(docs);
        if (errors.length > 0) return;
        accepted++;
        for (const t of tenants) {
          for (const env of t.environments) {
            quotaHard(t.quota[env]!);
            limitRangeSpec(t.quota[env]!, cfg.service.maxResources);
          }
          for (const s of t.services) {
            for (const env of s.environments) {
              buildMIChartValues({
                tenant: t.name,
                service: s.name,
                environment: env,
                imageRepository: `registry.imaas.test/${t.name}/${s.name}`,
                miVersion: s.miVersion,
                replicas: s.replicas[env] ?? 0,
                ...(s.autoscaling[env] ? { autoscaling: s.autoscaling[env] } : {}),
                resources: s.resources,
                serviceAccountName: "mi-workloads",
                imagePullSecret: "registry-pull",
                config: s.config[env] ?? {},
              });
            }
          }
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(
      accepted >= 20,
      `only ${accepted} of 300 generated folders were accepted: the generator is off`,
    );
  });

  it("every accepted folder plans with imaas plan's engine (index.ts under mocks)", async () => {
    const samples = fc.sample(files, { numRuns: 200, seed: 42 });
    const accepted = samples.filter((docs) => load(docs).errors.length === 0).slice(0, 4);
    assert.ok(accepted.length >= 4, "the generator produced too few accepted folders");
    for (const docs of accepted) {
      const dir = mkdtempSync(join(tmpdir(), "imaas-prop-"));
      for (const d of docs) {
        const n = (d as { metadata: { name: string } }).metadata.name;
        writeFileSync(join(dir, `${n}.yaml`), stringify(d));
      }
      const { resources } = await planProgram({
        stack: "dev",
        config: stack.values,
        secretKeys: stack.secretKeys,
        tenantsDir: dir,
      });
      const spaces = resources.filter((r) => r.type === "imaas:index:TenantSpace").map((r) => r.name);
      assert.deepEqual(
        spaces.sort(),
        docs.map((d) => (d as { metadata: { name: string } }).metadata.name).sort(),
      );
    }
  });
});
