/** Loads tenants for tests: the examples in tenants/, or tenant YAML given inline. */
import { join } from "node:path";
import { formatError, loadTenantDir, loadTenantSources } from "../../model/load";
import type { PlatformConfig } from "../../model/platform-config";
import type { TenantSpec } from "../../model/spec";
import { testConfig } from "./mocks";

export const EXAMPLES_DIR = join(__dirname, "..", "..", "tenants");

export function exampleTenants(cfg: PlatformConfig = testConfig()): TenantSpec[] {
  const { tenants, errors } = loadTenantDir(EXAMPLES_DIR, cfg);
  if (errors.length > 0) throw new Error(errors.map(formatError).join("\n"));
  return tenants;
}

export function exampleTenant(name: string, cfg: PlatformConfig = testConfig()): TenantSpec {
  const t = exampleTenants(cfg).find((x) => x.name === name);
  if (!t) throw new Error(`no example tenant ${name}`);
  return t;
}

/** Loads inline tenant files: `{ "a.yaml": "…" }`; throws with the formatted errors if any. */
export function inlineTenants(
  files: Record<string, string>,
  cfg: PlatformConfig = testConfig(),
): TenantSpec[] {
  const { tenants, errors } = loadTenantSources(
    Object.entries(files).map(([file, text]) => ({ file, text })),
    cfg,
  );
  if (errors.length > 0) throw new Error(errors.map(formatError).join("\n"));
  return tenants;
}
