/**
 * Synthetic tenants for the benchmark: N valid tenant files, each with three environments and five services
 * and the fields real tenants use (labels, members, a prod quota override, allowFrom to a neighbour, egress,
 * per-service replicas, autoscaling, resources). Deterministic: the same N gives the same files.
 *
 * `syntheticTenants` is pure; `writeSyntheticTenants` puts the files into a fresh temporary folder.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SyntheticFile {
  /** File name inside the tenants folder (`tenant-00001.yaml`). */
  readonly file: string;
  readonly text: string;
}

export interface SyntheticOptions {
  /**
   * Let each tenant be called by its neighbour (`allowFrom`). Off for a folder holding a single tenant,
   * where the neighbour would not exist and the loader would refuse the file.
   * @default true
   */
  readonly allowFrom?: boolean;
}

/** Five services per tenant: names and the optional fields each one sets. */
const SERVICES = [
  {
    name: "order-sync",
    description: "Syncs orders from the web shop to the ERP",
    extra: [
      "      replicas: { dev: 1, test: 1, prod: 3 }",
      "      autoscaling:",
      "        prod: { min: 3, max: 8, targetCPUUtilization: 70 }",
      "      resources: { cpu: 500m, memory: 1Gi }",
    ],
  },
  {
    name: "invoice-api",
    description: "Serves invoices to the customer portal",
    extra: ['      miVersion: "4.4.0"', "      replicas: { prod: 2 }"],
  },
  {
    name: "customer-hub",
    description: "Mediates CRM SOAP APIs to REST",
    extra: ['      resources: { cpu: "1", memory: 2Gi }'],
  },
  {
    name: "stock-feed",
    description: "Publishes stock levels to the marketplace",
    extra: ["      autoscaling:", "        prod: { min: 2, max: 6 }"],
  },
  { name: "payment-bridge", description: "Bridges the payment gateway to the ledger", extra: [] },
] as const;

/** The tenant name of index `i` (0-based): `tenant-00001`, … — fixed width, so no derived name collides. */
export function syntheticTenantName(i: number): string {
  return `tenant-${String(i + 1).padStart(5, "0")}`;
}

/** The text of synthetic tenant `i` of `n`. */
export function syntheticTenantText(i: number, n: number, options: SyntheticOptions = {}): string {
  const name = syntheticTenantName(i);
  const allowFrom = (options.allowFrom ?? true) && n > 1;
  const octet = i % 250;
  const lines = [
    "# yaml-language-server: $schema=./tenant.schema.json",
    "apiVersion: imaas.io/v1alpha1",
    "kind: Tenant",
    "metadata:",
    `  name: ${name}`,
    `  displayName: Synthetic Business Unit ${i + 1}`,
    "  labels:",
    `    cost-center: cc-${String(1000 + (i % 9000))}`,
    "spec:",
    `  owners: [owner-${i + 1}]`,
    `  members: [dev-${i + 1}-a, dev-${i + 1}-b, ops-${i + 1}]`,
    "  environments: [dev, test, prod]",
    "  quota:",
    // What the five services need at their largest, plus a rolling update's surge pod each (model/resources.ts).
    '    dev: { cpu: "6", memory: 12Gi }',
    '    test: { cpu: "6", memory: 12Gi }',
    '    prod: { cpu: "14", memory: 28Gi, pods: 40 }',
    "  network:",
    ...(allowFrom ? [`    allowFrom: [${syntheticTenantName((i + 1) % n)}]`] : []),
    "    egress:",
    `      - { cidr: 10.${octet}.0.0/16, ports: [443, 8443] }`,
    `      - { cidr: 192.0.2.${octet}/32, ports: [5432] }`,
    "  services:",
  ];
  for (const s of SERVICES) {
    lines.push(`    - name: ${s.name}`, `      description: ${s.description}`, ...s.extra);
  }
  return `${lines.join("\n")}\n`;
}

/** N synthetic tenant files, in name order. */
export function syntheticTenants(n: number, options: SyntheticOptions = {}): SyntheticFile[] {
  return Array.from({ length: n }, (_, i) => ({
    file: `${syntheticTenantName(i)}.yaml`,
    text: syntheticTenantText(i, n, options),
  }));
}

/** Writes the files into a new temporary folder and returns its path. */
export function writeSyntheticTenants(files: readonly SyntheticFile[], prefix = "imaas-bench-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const f of files) writeFileSync(join(dir, f.file), f.text);
  return dir;
}
