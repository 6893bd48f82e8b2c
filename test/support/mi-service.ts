/**
 * One MIService (tenant payroll, service salary-sync) built under recording mocks, for component tests of
 * what a service gets. The component is required after the mocks are set (the mocks trap); `call` answers
 * provider functions (throws for the rest, like test/support/mocks.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../../model/platform-config";
import { Recorder, testContext } from "./mocks";
import { inlineTenants } from "./tenants";

export async function buildMIService(
  cfg: PlatformConfig,
  opts: {
    readonly environments?: string;
    readonly call?: (args: pulumi.runtime.MockCallArgs) => Record<string, any>;
  } = {},
): Promise<Recorder> {
  const recorder = new Recorder();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        recorder.resources.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: { ...args.inputs } };
      },
      call(args) {
        if (opts.call) return opts.call(args);
        throw new Error(`unmocked provider function ${args.token}`);
      },
    },
    "imaas",
    "dev",
    false,
  );
  const { MIService } =
    require("../../components/mi-service") as typeof import("../../components/mi-service");
  const [tenant] = inlineTenants(
    {
      "payroll.yaml": [
        "apiVersion: imaas.io/v1alpha1",
        "kind: Tenant",
        "metadata: { name: payroll, displayName: Payroll }",
        "spec:",
        "  owners: [ana-lopez]",
        `  environments: ${opts.environments ?? "[dev, test, prod]"}`,
        "  services:",
        "    - name: salary-sync",
      ].join("\n"),
    },
    cfg,
  );
  new MIService("payroll-salary-sync", {
    tenant: tenant!,
    service: tenant!.services[0]!,
    platform: testContext(cfg),
  });
  return recorder.settle();
}
