/**
 * Pulumi mocks for component tests: records every resource (type, name, resolved inputs, provider),
 * echoes inputs as state with readable ids, and throws on provider functions nobody mocked.
 *
 * The mocks trap: a module that builds resources must be loaded AFTER `setupMocks` — load components
 * with `require` inside the test, and assert the recorder saw resources so a wiring slip cannot pass.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PlatformContext } from "../../components/shared/context";
import { parsePlatformConfig, type PlatformConfig } from "../../model/platform-config";

const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  /** Logical name of the explicit provider, if any. */
  readonly provider?: string;
}

export class Recorder {
  readonly resources: RecordedResource[] = [];

  /** Waits until every pending registration reached the mocks. */
  async settle(): Promise<this> {
    await waitForRPCs();
    return this;
  }

  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  /** The one resource of `type` named `name`; throws listing what exists otherwise. */
  get(type: string, name: string): RecordedResource {
    const found = this.resources.find((r) => r.type === type && r.name === name);
    if (!found) {
      const names = this.ofType(type).map((r) => r.name);
      throw new Error(`no ${type} named ${name}; recorded: ${names.join(", ") || "none"}`);
    }
    return found;
  }
}

/** Installs recording mocks; call before requiring any module that builds resources. */
export async function setupMocks(stack = "dev"): Promise<Recorder> {
  const recorder = new Recorder();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const provider = args.provider?.split("::")[3];
        recorder.resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          ...(provider ? { provider } : {}),
        });
        return { id: `${args.name}-id`, state: { ...args.inputs } };
      },
      call(args) {
        throw new Error(`unmocked provider function ${args.token}`);
      },
    },
    "imaas",
    stack,
    false,
  );
  return recorder;
}

/** The parsed config of a test platform: one cluster for everything unless `overrides` says otherwise. */
export function testConfig(overrides: Record<string, unknown> = {}): PlatformConfig {
  return parsePlatformConfig({
    clusters: [{ name: "main", environments: ["dev", "test", "prod"] }],
    domain: "imaas.test",
    github: { owner: "acme" },
    registry: { host: "registry.imaas.test" },
    argocd: { platformRepo: "https://github.com/acme/imaas.git" },
    ingress: { allowedDomains: ["imaas.test", "imaas.example.com"] },
    ...overrides,
  });
}

/** A platform context with providers; requires mocks to be set up first. */
export function testContext(config: PlatformConfig = testConfig()): PlatformContext {
  const k8s = require("@pulumi/kubernetes") as typeof import("@pulumi/kubernetes");
  const github = require("@pulumi/github") as typeof import("@pulumi/github");
  return {
    stack: "dev",
    config,
    secrets: {
      harborPassword: pulumi.secret("harbor-admin-password"),
      grafanaAdminPassword: pulumi.secret("grafana-admin-password"),
    },
    providers: {
      kubernetes: Object.fromEntries(
        config.clusters.map((c) => [c.name, new k8s.Provider(`cluster-${c.name}`, {})]),
      ),
      ...(config.github.enabled
        ? { github: new github.Provider("github", { owner: config.github.owner }) }
        : {}),
    },
    planOnly: true,
  };
}
