/**
 * Property-based (fast-check): every folder of tenant files the loader accepts gives a catalog that
 * Backstage's own validators accept, whose refs all resolve within it, with one Component per service
 * and distinct entity refs — the promise "imaas validate passes ⇒ imaas catalog works" on tenant files
 * nobody wrote by hand (longest names, many people, labels, free-text titles, custom hosts, subsets of
 * environments), for a stack with one cluster and one with two.
 */
import { strict as assert } from "node:assert";
import { join } from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { validateEntities } from "../../cli/catalog";
import { buildCatalog, type CatalogEntity, entityRef } from "../../cli/catalog-entities";
import { ENVIRONMENTS } from "../../model/environments";
import { formatError, loadTenantSources } from "../../model/load";
import { platformConfigOf, readStackConfig } from "../../model/stack-file";

const ROOT = join(__dirname, "..", "..");

const lower = "abcdefghijklmnopqrstuvwxyz";
/** Names as the contract allows them: a letter, then letters, digits and single inner hyphens. */
const name = (min: number, max: number) =>
  fc
    .tuple(
      fc.constantFrom(...lower),
      fc.string({ unit: fc.constantFrom(...`${lower}0123456789-`), minLength: min - 2, maxLength: max - 2 }),
      fc.constantFrom(...`${lower}0123456789`),
    )
    .map(([a, b, c]) => `${a}${b}${c}`.replace(/--+/g, "-"));
const login = fc
  .tuple(
    fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
    fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), maxLength: 37 }),
    fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
  )
  .map(([a, b, c]) => `${a}${b}${c}`.replace(/--+/g, "-"));
const text = (max: number) => fc.string({ unit: "grapheme", minLength: 1, maxLength: max });
const labelValue = fc.oneof(
  fc.constant(""),
  fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?$/),
);
const labelKey = fc.oneof(
  name(2, 20),
  fc.tuple(name(2, 10), name(2, 10)).map(([p, k]) => `${p}.example.com/${k}`),
);
const environments = fc.subarray([...ENVIRONMENTS], { minLength: 1 });

const service = fc.record(
  {
    name: name(2, 30),
    description: text(200),
    miVersion: fc.constant("4.4.0"), // the one both stacks support
    expose: fc.record(
      {
        dev: fc.boolean(),
        test: fc.boolean(),
        prod: fc.oneof(
          fc.boolean(),
          name(2, 20).map((h) => ({ host: `${h}.imaas.example.com` })),
        ),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ["name"] },
);

const tenant = (tenantName: string) =>
  fc
    .record({
      displayName: fc.option(text(100), { nil: undefined }),
      labels: fc.option(fc.dictionary(labelKey, labelValue, { maxKeys: 3 }), { nil: undefined }),
      people: fc.uniqueArray(login, { minLength: 1, maxLength: 6, selector: (l) => l.toLowerCase() }),
      split: fc.nat(),
      environments,
      services: fc.uniqueArray(service, { maxLength: 3, selector: (s) => s.name }),
    })
    .map((t) => {
      const owners = t.people.slice(0, 1 + (t.split % t.people.length));
      const members = t.people.slice(owners.length);
      return {
        apiVersion: "imaas.io/v1alpha1",
        kind: "Tenant",
        metadata: {
          name: tenantName,
          ...(t.displayName ? { displayName: t.displayName } : {}),
          ...(t.labels ? { labels: t.labels } : {}),
        },
        spec: {
          owners,
          ...(members.length > 0 ? { members } : {}),
          environments: t.environments,
          // Room for three services at their largest, within both stacks' caps: fitting is not what is tested here.
          quota: Object.fromEntries(t.environments.map((e) => [e, { cpu: "12", memory: "24Gi", pods: 60 }])),
          services: t.services.map((s) => ({
            ...s,
            environments: t.environments,
            expose: Object.fromEntries(
              Object.entries(s.expose ?? {}).filter(([e]) => t.environments.includes(e as never)),
            ),
          })),
        },
      };
    });

const folder = fc
  .uniqueArray(name(2, 20), { minLength: 1, maxLength: 3 })
  .chain((names) => fc.tuple(...names.map((n) => tenant(n))));

describe("imaas catalog (property): accepted tenant files ⇒ a catalog Backstage accepts", function () {
  this.timeout(240_000);

  for (const stackName of ["dev", "prod"]) {
    it(`stack ${stackName}`, async () => {
      const cfg = platformConfigOf(readStackConfig(ROOT, stackName));
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(folder, async (files) => {
          const { tenants, errors } = loadTenantSources(
            files.map((f) => ({ file: `${f.metadata.name}.yaml`, text: stringify(f) })),
            cfg,
            { stack: stackName },
          );
          if (errors.length > 0) return; // refused by the contract: not the catalog's business
          accepted++;
          const catalog = buildCatalog(cfg, tenants, { users: true });
          const entities: CatalogEntity[] = [...catalog.tenants.flatMap((t) => t.entities), ...catalog.users];
          const problems = await validateEntities(entities);
          assert.deepEqual(
            problems.map((p) => `${p.entity.kind} ${p.entity.metadata.name}: ${p.message}`),
            [],
          );
          const refs = entities.map((e) => entityRef(e.kind, e.metadata.name));
          assert.equal(
            new Set(refs.map((r) => r.toLowerCase())).size,
            refs.length,
            "entity refs are distinct",
          );
          const emitted = new Set(refs);
          for (const e of entities) {
            const s = e.spec as Record<string, unknown>;
            const pointsAt = [
              s.owner,
              s.system === undefined ? undefined : `system:default/${s.system}`,
              ...((s.dependsOn as string[] | undefined) ?? []),
              ...((s.members as string[] | undefined) ?? []),
              ...((s.memberOf as string[] | undefined) ?? []),
            ].filter((r): r is string => r !== undefined);
            for (const ref of pointsAt) assert.ok(emitted.has(ref), `${e.kind} ${e.metadata.name} → ${ref}`);
          }
          assert.equal(
            entities.filter((e) => e.kind === "Component").length,
            tenants.reduce((n, t) => n + t.services.length, 0),
          );
        }),
        { numRuns: 40, seed: 20261201 },
      );
      // The generator aims at valid files: most must get through, or the property says little.
      assert.ok(accepted >= 25, `only ${accepted} of 40 generated folders were accepted`);
    });
  }

  it("the generator is not vacuous: a generated folder is accepted as a whole (example)", () => {
    const cfg = platformConfigOf(readStackConfig(ROOT, "dev"));
    const [sample] = fc.sample(folder, { numRuns: 1, seed: 7 });
    const { errors } = loadTenantSources(
      sample!.map((f) => ({ file: `${f.metadata.name}.yaml`, text: stringify(f) })),
      cfg,
      { stack: "dev" },
    );
    assert.deepEqual(errors.map(formatError), []);
  });
});
