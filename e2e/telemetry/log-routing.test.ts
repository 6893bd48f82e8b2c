/**
 * Log routing, run by a real Lua: the generated Fluent Bit Lua filter (from the planned fluent-bit release's
 * values) is loaded into Debian's LuaJIT — the Lua implementation Fluent Bit embeds — and called the way the
 * lua filter calls it, with records shaped like the kubernetes filter's output (`Namespace_Labels On`).
 * Fluent Bit itself is not packaged here: its kubernetes filter and loki output are not run.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  FLUENT_BIT_LUA_FILE,
  FLUENT_BIT_LUA_FUNCTION,
  FLUENT_BIT_TENANT_KEY,
} from "../../components/observability/values/fluent-bit";
import { artifacts } from "./hooks";
import { runTool, show } from "./tools";

interface Rec {
  readonly what: string;
  /** The record as a Lua table constructor. */
  readonly lua: string;
  /** The tenant it must be routed to. */
  readonly tenant: string;
}

const rec = (namespace: string | null, labels: Record<string, string> | null, extra = ""): string => {
  const k8s =
    namespace === null
      ? ""
      : `kubernetes = { namespace_name = ${JSON.stringify(namespace)}, pod_name = "p" },`;
  const ns =
    labels === null
      ? ""
      : `kubernetes_namespace = { labels = { ${Object.entries(labels)
          .map(([k, v]) => `[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
          .join(", ")} } },`;
  return `{ log = "line", ${k8s} ${ns} ${extra} }`;
};

const RECORDS: Rec[] = [
  {
    what: "payroll's dev namespace",
    lua: rec("payroll-dev", { "imaas.io/tenant": "payroll" }),
    tenant: "payroll",
  },
  {
    what: "logistics' prod namespace",
    lua: rec("logistics-prod", { "imaas.io/tenant": "logistics" }),
    tenant: "logistics",
  },
  {
    what: "a namespace label claiming another tenant (namespace payroll-dev says logistics)",
    lua: rec("payroll-dev", { "imaas.io/tenant": "logistics" }),
    tenant: "platform",
  },
  {
    what: "a tenant label that is only a prefix of the namespace name (pay vs payroll-dev)",
    lua: rec("payroll-dev", { "imaas.io/tenant": "pay" }),
    tenant: "platform",
  },
  {
    what: "a merged JSON log line that sets the tenant key and a fake namespace label",
    lua: rec(
      "logistics-dev",
      { "imaas.io/tenant": "logistics" },
      `log_processed = { ${FLUENT_BIT_TENANT_KEY} = "payroll", kubernetes_namespace = { labels = { ["imaas.io/tenant"] = "payroll" } } },`,
    ),
    tenant: "logistics",
  },
  {
    what: "a record that already carries a top-level tenant key",
    lua: rec("observability", {}, `${FLUENT_BIT_TENANT_KEY} = "payroll",`),
    tenant: "platform",
  },
  { what: "a platform namespace without the label", lua: rec("observability", {}), tenant: "platform" },
  { what: "no namespace labels at all", lua: rec("payroll-dev", null), tenant: "platform" },
  { what: "no kubernetes metadata at all", lua: rec(null, null), tenant: "platform" },
  { what: "an empty tenant label", lua: rec("-dev", { "imaas.io/tenant": "" }), tenant: "platform" },
];

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), "imaas-telemetry-lua-"));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe("log routing: the generated Fluent Bit Lua filter under LuaJIT", () => {
  it("routes every record to its namespace's tenant, or to the platform when anything is off", () => {
    const script = artifacts().luaScripts[FLUENT_BIT_LUA_FILE];
    assert.ok(script, `the fluent-bit values carry ${FLUENT_BIT_LUA_FILE}`);
    writeFileSync(join(work, FLUENT_BIT_LUA_FILE), script);
    const harness = [
      `dofile(${JSON.stringify(join(work, FLUENT_BIT_LUA_FILE))})`,
      `local records = { ${RECORDS.map((r) => r.lua).join(",\n")} }`,
      "for i, r in ipairs(records) do",
      `  local code, ts, out = ${FLUENT_BIT_LUA_FUNCTION}("kube.var.log.containers.x", 1700000000, r)`,
      `  local processed = out["log_processed"]`,
      `  io.write(i, "\\t", code, "\\t", ts, "\\t", tostring(out[${JSON.stringify(FLUENT_BIT_TENANT_KEY)}]), "\\t",`,
      `    tostring(out["kubernetes_namespace"] == nil), "\\t", tostring(processed and processed[${JSON.stringify(FLUENT_BIT_TENANT_KEY)}]), "\\n")`,
      "end",
    ].join("\n");
    const file = join(work, "harness.lua");
    writeFileSync(file, harness);
    const res = runTool("luajit", [file]);
    assert.equal(res.status, 0, show(res));
    const rows = res.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    assert.equal(rows.length, RECORDS.length, show(res));
    RECORDS.forEach((r, i) => {
      const [, code, ts, tenant, droppedLabels, processedTenant] = rows[i]!;
      assert.equal(code, "2", `${r.what}: return code 2 (record modified, timestamp kept)`);
      assert.equal(ts, "1700000000", r.what);
      assert.equal(tenant, r.tenant, r.what);
      assert.equal(droppedLabels, "true", `${r.what}: namespace labels are not shipped`);
      if (r.what.startsWith("a merged JSON"))
        assert.equal(processedTenant, "payroll", "the log line's own key stays nested");
    });
  });
});
