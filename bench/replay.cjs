/**
 * The whole-process floor of `imaas plan` (bench/cli.ts): a bare replay of the resources a plan recorded
 * (`imaas plan --format json`), in the same order, with the same inputs, parents and providers, through
 * the same SDK under mocks that echo the inputs as state (as cli/plan-engine.ts's do) — with nothing of
 * imaas around it: no CLI, no tenant files, no components' logic, no recording, no redaction, no output.
 * Plain JavaScript, run by `node` directly.
 *
 * "The same SDK" includes the provider SDKs' classes: a resource whose type token has a class in its
 * package (`kubernetes:core/v1:Namespace` → `k8s.core.v1.Namespace`, checked by the class's
 * `__pulumiType`) is made with that class, which declares every property of the provider's schema (the
 * SDK makes an Output per property); other types (CRDs, dynamic providers) with a plain CustomResource,
 * components with a plain ComponentResource. `--bare` uses plain resources for everything.
 *
 *   node bench/replay.cjs PLAN.json STACK [--bare]
 *
 * Prints how many resources it registered and how many with their provider SDK's class.
 */
"use strict";
const { readFileSync } = require("node:fs");
const pulumi = require("@pulumi/pulumi");
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings");

const PROVIDER_PREFIX = "pulumi:providers:";
const PACKAGES = {
  kubernetes: "@pulumi/kubernetes",
  github: "@pulumi/github",
  vault: "@pulumi/vault",
  docker: "@pulumi/docker",
  pulumiservice: "@pulumi/pulumiservice",
};

/** The provider SDK's class for a type token, or undefined. */
function classOf(type) {
  const [pkg, module, name] = type.split(":");
  if (pkg === "pulumi" && module === "providers") {
    const sdk = PACKAGES[name] && require(PACKAGES[name]);
    return sdk?.Provider;
  }
  if (!PACKAGES[pkg] || !module || !name) return undefined;
  const sdk = require(PACKAGES[pkg]);
  const [group, version] = module.split("/");
  const candidates =
    pkg === "kubernetes"
      ? [sdk[group.split(".")[0]]?.[version]?.[name], sdk[group]?.[version]?.[name]]
      : [group === "index" ? sdk[name] : undefined, sdk[group]?.[name]];
  return candidates.find((c) => typeof c === "function" && c.__pulumiType === type);
}

/**
 * The resource made with its class, or undefined when the class refuses the recorded inputs: an input
 * that was an Output of a provider-computed id under mocks is missing from the recording, and the class
 * checks its required inputs (before registering anything). Such a resource is replayed plain.
 */
function withItsClass(Class, r, opts) {
  try {
    return new Class(r.name, r.inputs, opts);
  } catch (err) {
    if (/^Missing required property/.test(err.message)) return undefined;
    throw err;
  }
}

async function main() {
  const [file, stack, flag] = process.argv.slice(2);
  if (!file || !stack) throw new Error("usage: node bench/replay.cjs PLAN.json STACK [--bare]");
  const bare = flag === "--bare";
  const classes = new Map();
  let withClass = 0;
  const { resources } = JSON.parse(readFileSync(file, "utf8"));
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({ id: `${args.name}-id`, state: { ...args.inputs } }),
      call: () => ({}),
    },
    "imaas",
    stack,
    false,
  );
  const byName = new Map();
  await pulumi.runtime.runInPulumiStack(async () => {
    for (const r of resources) {
      const opts = {};
      if (r.parent && byName.has(r.parent)) opts.parent = byName.get(r.parent);
      if (r.provider && byName.has(r.provider)) opts.provider = byName.get(r.provider);
      if (r.protect) opts.protect = true;
      if (r.retainOnDelete) opts.retainOnDelete = true;
      if (!bare && !r.component && !classes.has(r.type)) classes.set(r.type, classOf(r.type));
      const Class = classes.get(r.type);
      let res = Class && !r.component ? withItsClass(Class, r, opts) : undefined;
      if (res) withClass++;
      else if (r.component) res = new pulumi.ComponentResource(r.type, r.name, {}, opts);
      else if (r.type.startsWith(PROVIDER_PREFIX)) {
        res = new pulumi.ProviderResource(r.type.slice(PROVIDER_PREFIX.length), r.name, r.inputs, opts);
      } else res = new pulumi.CustomResource(r.type, r.name, r.inputs, opts);
      byName.set(r.name, res);
    }
    return {};
  });
  await waitForRPCs();
  process.stdout.write(`${resources.length} resources, ${withClass} with their provider SDK's class\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
