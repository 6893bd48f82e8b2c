/**
 * The platform's MI base image: built from images/mi-base (MI version from config, the platform's default
 * deployment.toml for metrics and tracing) and pushed to the base-image project of the registry. Tenants'
 * CI builds `FROM` it, so an MI upgrade is a one-line config change.
 */
import { join } from "node:path";
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { harborUrl, miBaseImage } from "../../model/naming";
import type { PlatformConfig } from "../../model/platform-config";
import { HarborProject } from "../../providers/harbor/project";
import { type PlatformContext, requireSecret } from "../shared/context";

/** `<registry>/<baseImageProject>/mi-base:<version>`: the image tenants' Dockerfiles build FROM. */
export function baseImageName(cfg: PlatformConfig, miVersion: string = cfg.mi.defaultVersion): string {
  return miBaseImage(cfg.registry.host, cfg.registry.baseImageProject, miVersion);
}

export const BASE_IMAGE_CONTEXT = join(__dirname, "..", "..", "images", "mi-base");

/**
 * The base-image project (readable by every tenant's CI and cluster: it holds only the public MI
 * distribution and the platform's default config) and, unless switched off or planning, one image build
 * per supported MI version (`imaas:mi.versions`). The default version keeps the logical name it always had.
 */
export function createBaseImage(ctx: PlatformContext, parent?: pulumi.Resource): docker.Image[] {
  const cfg = ctx.config;
  if (!cfg.registry.enabled) return [];
  const password = requireSecret(ctx, "harborPassword", "the registry (imaas:registry.enabled)");
  const project = new HarborProject(
    "registry-base-image-project",
    {
      url: harborUrl(cfg.registry.host),
      username: cfg.registry.adminUser,
      password,
      name: cfg.registry.baseImageProject,
      private: false,
      autoScan: true,
    },
    { parent, protect: true },
  );
  // The build needs a Docker engine at `pulumi up`; `imaas plan` never builds.
  if (!cfg.mi.buildBaseImage || ctx.planOnly) return [];
  return cfg.mi.versions.map(
    (version) =>
      new docker.Image(
        version === cfg.mi.defaultVersion ? "mi-base-image" : `mi-base-image-${version}`,
        {
          imageName: baseImageName(cfg, version),
          build: {
            context: BASE_IMAGE_CONTEXT,
            dockerfile: join(BASE_IMAGE_CONTEXT, "Dockerfile"),
            args: { MI_VERSION: version },
            platform: "linux/amd64",
          },
          registry: { server: cfg.registry.host, username: cfg.registry.adminUser, password },
        },
        { parent, dependsOn: [project] },
      ),
  );
}
