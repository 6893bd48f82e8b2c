/**
 * A checker for the Pod Security Standards `restricted` level (which includes `baseline`), written from
 * the published rules: kubernetes.io/docs/concepts/security/pod-security-standards and the check
 * descriptions of k8s.io/pod-security-admission v0.33 (policy/check_*.go), at the latest version.
 * Alpha relaxations behind feature gates (user-namespace pods) are not modelled: the checker is stricter.
 *
 * `checkRestricted(podSpec, metadata)` returns one readable violation per finding; [] means allowed.
 */
import type { IObjectMeta } from "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";

type AnyContainer = Pick<IContainer, "name" | "securityContext" | "ports">;

/** Capabilities `baseline` lets a container add (the container runtime's default set). */
export const BASELINE_CAPABILITIES: ReadonlySet<string> = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

/** Sysctls considered safe (namespaced and isolated), as of policy version 1.32+. */
export const SAFE_SYSCTLS: ReadonlySet<string> = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
]);

/** SELinux types a pod or container may set (1.31+). */
export const ALLOWED_SELINUX_TYPES: ReadonlySet<string> = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);

/** Inline volume sources `restricted` allows. */
export const ALLOWED_VOLUME_SOURCES: ReadonlySet<string> = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "image",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

const APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/";

function containersOf(spec: IPodSpec): { kind: string; c: AnyContainer }[] {
  return [
    ...(spec.initContainers ?? []).map((c) => ({ kind: "initContainer", c })),
    ...(spec.containers ?? []).map((c) => ({ kind: "container", c })),
    ...(spec.ephemeralContainers ?? []).map((c) => ({ kind: "ephemeralContainer", c })),
  ];
}

/** Every `restricted` (and `baseline`) violation of a pod; [] when the pod would be admitted. */
export function checkRestricted(spec: IPodSpec, metadata?: IObjectMeta): string[] {
  const v: string[] = [];
  const pod = spec.securityContext ?? {};
  const containers = containersOf(spec);
  const windows = spec.os?.name === "windows";
  const who = (kind: string, c: AnyContainer) => `${kind} "${c.name}"`;

  // --- baseline ---------------------------------------------------------------------------------
  // HostProcess
  if (pod.windowsOptions?.hostProcess)
    v.push("host process: pod sets securityContext.windowsOptions.hostProcess");
  for (const { kind, c } of containers) {
    if (c.securityContext?.windowsOptions?.hostProcess) {
      v.push(`host process: ${who(kind, c)} sets securityContext.windowsOptions.hostProcess`);
    }
  }

  // Host namespaces
  for (const field of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (spec[field]) v.push(`host namespaces: pod sets ${field}=true`);
  }

  // Privileged containers
  for (const { kind, c } of containers) {
    if (c.securityContext?.privileged)
      v.push(`privileged: ${who(kind, c)} sets securityContext.privileged=true`);
  }

  // Capabilities (baseline): nothing beyond the default set
  for (const { kind, c } of containers) {
    for (const cap of c.securityContext?.capabilities?.add ?? []) {
      if (!BASELINE_CAPABILITIES.has(cap))
        v.push(`capabilities: ${who(kind, c)} adds non-default capability ${cap}`);
    }
  }

  // HostPath volumes
  for (const vol of spec.volumes ?? []) {
    if (vol.hostPath) v.push(`hostPath volumes: volume "${vol.name}" is a hostPath`);
  }

  // Host ports
  for (const { kind, c } of containers) {
    for (const p of c.ports ?? []) {
      if (p.hostPort) v.push(`host ports: ${who(kind, c)} uses hostPort ${p.hostPort}`);
    }
  }

  // AppArmor: annotations and fields
  for (const [key, value] of Object.entries(metadata?.annotations ?? {})) {
    if (
      key.startsWith(APPARMOR_ANNOTATION) &&
      value !== "" &&
      value !== "runtime/default" &&
      !value.startsWith("localhost/")
    ) {
      v.push(`AppArmor: annotation ${key}="${value}"`);
    }
  }
  const appArmorOk = (t?: string) => t === undefined || t === "RuntimeDefault" || t === "Localhost";
  if (!appArmorOk(pod.appArmorProfile?.type))
    v.push(`AppArmor: pod profile type ${pod.appArmorProfile?.type}`);
  for (const { kind, c } of containers) {
    const t = c.securityContext?.appArmorProfile?.type;
    if (!appArmorOk(t)) v.push(`AppArmor: ${who(kind, c)} profile type ${t}`);
  }

  // SELinux: type from the allowed set, no custom user or role
  const seLinux = (where: string, o?: { type?: string; user?: string; role?: string }) => {
    if (!o) return;
    if (o.type !== undefined && !ALLOWED_SELINUX_TYPES.has(o.type))
      v.push(`SELinux: ${where} sets type "${o.type}"`);
    if (o.user) v.push(`SELinux: ${where} sets user "${o.user}"`);
    if (o.role) v.push(`SELinux: ${where} sets role "${o.role}"`);
  };
  seLinux("pod", pod.seLinuxOptions);
  for (const { kind, c } of containers) seLinux(who(kind, c), c.securityContext?.seLinuxOptions);

  // /proc mount
  for (const { kind, c } of containers) {
    const pm = c.securityContext?.procMount;
    if (pm !== undefined && pm !== "Default") v.push(`/proc mount: ${who(kind, c)} sets procMount=${pm}`);
  }

  // Seccomp (baseline): never Unconfined
  if (pod.seccompProfile?.type === "Unconfined") v.push("seccomp: pod sets Unconfined");
  for (const { kind, c } of containers) {
    if (c.securityContext?.seccompProfile?.type === "Unconfined")
      v.push(`seccomp: ${who(kind, c)} sets Unconfined`);
  }

  // Sysctls
  for (const s of pod.sysctls ?? []) {
    if (!SAFE_SYSCTLS.has(s.name)) v.push(`sysctls: pod sets unsafe sysctl ${s.name}`);
  }

  // --- restricted -------------------------------------------------------------------------------
  // Volume types
  for (const vol of spec.volumes ?? []) {
    for (const source of Object.keys(vol)) {
      if (source === "name" || source === "hostPath") continue; // hostPath reported above
      if (!ALLOWED_VOLUME_SOURCES.has(source)) v.push(`volume types: volume "${vol.name}" uses ${source}`);
    }
  }

  // Privilege escalation (Linux only)
  if (!windows) {
    for (const { kind, c } of containers) {
      if (c.securityContext?.allowPrivilegeEscalation !== false) {
        v.push(
          `privilege escalation: ${who(kind, c)} must set securityContext.allowPrivilegeEscalation=false`,
        );
      }
    }
  }

  // Running as non-root
  if (pod.runAsNonRoot === false) v.push("runAsNonRoot: pod sets runAsNonRoot=false");
  for (const { kind, c } of containers) {
    const own = c.securityContext?.runAsNonRoot;
    if (own === false) v.push(`runAsNonRoot: ${who(kind, c)} sets runAsNonRoot=false`);
    else if (own === undefined && pod.runAsNonRoot !== true) {
      v.push(`runAsNonRoot: pod or ${who(kind, c)} must set runAsNonRoot=true`);
    }
  }

  // Running as a non-root user
  if (pod.runAsUser === 0) v.push("runAsUser: pod sets runAsUser=0");
  for (const { kind, c } of containers) {
    if (c.securityContext?.runAsUser === 0) v.push(`runAsUser: ${who(kind, c)} sets runAsUser=0`);
  }

  // Seccomp (restricted, Linux only): RuntimeDefault or Localhost, on the pod or on every container
  if (!windows) {
    const seccompOk = (t?: string) => t === "RuntimeDefault" || t === "Localhost";
    const podType = pod.seccompProfile?.type;
    if (podType !== undefined && !seccompOk(podType)) v.push(`seccomp: pod profile type ${podType}`);
    for (const { kind, c } of containers) {
      const t = c.securityContext?.seccompProfile?.type;
      if (t !== undefined) {
        if (!seccompOk(t) && t !== "Unconfined") v.push(`seccomp: ${who(kind, c)} profile type ${t}`);
      } else if (!seccompOk(podType)) {
        v.push(`seccomp: pod or ${who(kind, c)} must set seccompProfile.type to RuntimeDefault or Localhost`);
      }
    }
  }

  // Capabilities (restricted, Linux only): drop ALL, add at most NET_BIND_SERVICE
  if (!windows) {
    for (const { kind, c } of containers) {
      const caps = c.securityContext?.capabilities;
      if (!(caps?.drop ?? []).includes("ALL")) v.push(`capabilities: ${who(kind, c)} must drop ALL`);
      for (const cap of caps?.add ?? []) {
        if (cap !== "NET_BIND_SERVICE" && BASELINE_CAPABILITIES.has(cap)) {
          v.push(`capabilities: ${who(kind, c)} adds ${cap} (only NET_BIND_SERVICE may be added)`);
        }
      }
    }
  }

  return v;
}
