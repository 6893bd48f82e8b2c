/**
 * Container images without a public registry: a tiny OCI image built with umoci from files of this machine
 * (Debian's static catatonit, busybox-static, …), packed by skopeo as a docker archive that carries its full
 * name, and imported into the node's containerd (`ctr -n k8s.io images import`), where the kubelet finds it
 * (imagePullPolicy Never or IfNotPresent).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";

export interface ImageSpec {
  /** Full reference, e.g. `imaas.local/busybox:1.35`. */
  readonly ref: string;
  /** Host files copied into the image: `{ from: "/bin/busybox", to: "/bin/busybox" }`. */
  readonly files: readonly { readonly from: string; readonly to: string }[];
  /** Symlinks inside the image: `{ path: "/bin/sh", target: "busybox" }`. */
  readonly links?: readonly { readonly path: string; readonly target: string }[];
  /** Empty directories inside the image. */
  readonly dirs?: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd?: readonly string[];
  /** `uid:gid`; default root. */
  readonly user?: string;
}

function run(bin: string, args: readonly string[]): string {
  try {
    return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(" ")} failed: ${(e.stderr || e.message).trim()}`);
  }
}

/** Builds `spec` under `work` and returns the docker archive (a tar) holding it under its full name. */
export function buildImageArchive(spec: ImageSpec, work: string, binDir: string): string {
  const tag = "build";
  const layout = join(work, "layout");
  const bundle = join(work, "bundle");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const umoci = join(binDir, "umoci");
  run(umoci, ["init", "--layout", layout]);
  run(umoci, ["new", "--image", `${layout}:${tag}`]);
  run(umoci, ["unpack", "--image", `${layout}:${tag}`, bundle]);
  const rootfs = join(bundle, "rootfs");
  for (const d of spec.dirs ?? []) mkdirSync(join(rootfs, d), { recursive: true });
  for (const f of spec.files) {
    const to = join(rootfs, f.to);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(f.from, to);
    chmodSync(to, 0o755);
  }
  for (const l of spec.links ?? []) {
    const path = join(rootfs, l.path);
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(l.target, path);
  }
  run(umoci, ["repack", "--image", `${layout}:${tag}`, bundle]);
  const config = ["config", "--image", `${layout}:${tag}`, "--clear=config.entrypoint", "--clear=config.cmd"];
  for (const e of spec.entrypoint) config.push(`--config.entrypoint=${e}`);
  for (const c of spec.cmd ?? []) config.push(`--config.cmd=${c}`);
  if (spec.user) config.push(`--config.user=${spec.user}`);
  run(umoci, config);
  run(umoci, ["gc", "--layout", layout]);
  const archive = join(work, "image.tar");
  run(join(binDir, "skopeo"), [
    "copy",
    "--quiet",
    `oci:${layout}:${tag}`,
    `docker-archive:${archive}:${spec.ref}`,
  ]);
  rmSync(bundle, { recursive: true, force: true });
  return archive;
}

/** Imports a docker or OCI archive into containerd's `k8s.io` namespace (the one the CRI plugin uses). */
export function importImage(archive: string, containerdSocket: string, binDir: string): void {
  run(join(binDir, "ctr"), ["--address", containerdSocket, "-n", "k8s.io", "images", "import", archive]);
}

/** Builds `spec` and imports it into the node's containerd. */
export function buildAndImport(
  spec: ImageSpec,
  work: string,
  containerdSocket: string,
  binDir: string,
): void {
  importImage(buildImageArchive(spec, work, binDir), containerdSocket, binDir);
}

/** The pause image: catatonit as PID 1 of every pod sandbox (`-P`: just wait, reaping children). */
export const PAUSE_IMAGE = "imaas.local/pause:catatonit";
export const pauseImageSpec: ImageSpec = {
  ref: PAUSE_IMAGE,
  files: [{ from: "/usr/bin/catatonit", to: "/catatonit" }],
  entrypoint: ["/catatonit", "-P"],
  user: "65535:65535",
};

/** A busybox image (Debian's busybox-static) with the applets the tests use as links. */
export const BUSYBOX_IMAGE = "imaas.local/busybox:static";
export const busyboxImageSpec: ImageSpec = {
  ref: BUSYBOX_IMAGE,
  files: [{ from: "/bin/busybox", to: "/bin/busybox" }],
  links: ["sh", "httpd", "wget", "sleep", "cat", "echo", "ls", "timeout", "nc", "hostname", "ip"].map(
    (a) => ({
      path: `/bin/${a}`,
      target: "busybox",
    }),
  ),
  dirs: ["/tmp", "/www"],
  entrypoint: ["/bin/sh"],
};
