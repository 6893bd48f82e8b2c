import * as assert from "node:assert/strict";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { checkRestricted } from "./pss";

/** A pod that passes `restricted`: the minimum a compliant pod has to say. */
function compliant(): IPodSpec {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    initContainers: [
      {
        name: "init",
        image: "busybox",
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      },
    ],
    containers: [
      {
        name: "app",
        image: "app",
        ports: [{ containerPort: 8080 }],
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      },
    ],
    volumes: [
      { name: "conf", configMap: { name: "conf" } },
      { name: "tmp", emptyDir: {} },
      { name: "token", projected: { sources: [] } },
    ],
  };
}

/** Violations of a compliant pod changed by `change`. */
function violations(change: (p: IPodSpec) => void, annotations?: Record<string, string>): string[] {
  const pod = compliant();
  change(pod);
  return checkRestricted(pod, annotations ? { annotations } : undefined);
}

const app = (p: IPodSpec) => p.containers[0];
const sc = (p: IPodSpec) => {
  const c = app(p);
  c.securityContext ??= {};
  return c.securityContext;
};

function expectViolation(found: string[], pattern: RegExp): void {
  assert.ok(
    found.some((v) => pattern.test(v)),
    `expected a violation matching ${pattern}, got ${JSON.stringify(found)}`,
  );
}

describe("checkRestricted (Pod Security Standards, restricted)", () => {
  it("accepts a compliant pod", () => {
    assert.deepEqual(checkRestricted(compliant()), []);
  });

  it("accepts container-level settings instead of pod-level ones", () => {
    const pod = compliant();
    pod.securityContext = {};
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      c.securityContext = {
        ...c.securityContext,
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: "Localhost", localhostProfile: "p.json" },
      };
    }
    assert.deepEqual(checkRestricted(pod), []);
  });

  it("accepts the allowed values of the optional fields", () => {
    const found = violations(
      (p) => {
        sc(p).capabilities = { drop: ["ALL"], add: ["NET_BIND_SERVICE"] };
        sc(p).seLinuxOptions = { type: "container_init_t", level: "s0:c1,c2" };
        sc(p).procMount = "Default";
        sc(p).appArmorProfile = { type: "RuntimeDefault" };
        p.securityContext = {
          ...p.securityContext,
          sysctls: [{ name: "net.ipv4.tcp_keepalive_time", value: "60" }],
        };
        app(p).ports = [{ containerPort: 80, hostPort: 0 }];
        p.volumes?.push({ name: "data", persistentVolumeClaim: { claimName: "d" } });
      },
      { "container.apparmor.security.beta.kubernetes.io/app": "localhost/profile" },
    );
    assert.deepEqual(found, []);
  });

  it("refuses HostProcess containers", () => {
    expectViolation(
      violations((p) => {
        sc(p).windowsOptions = { hostProcess: true };
      }),
      /^host process:/,
    );
  });

  it("refuses host namespaces", () => {
    expectViolation(
      violations((p) => {
        p.hostNetwork = true;
      }),
      /host namespaces: pod sets hostNetwork/,
    );
    expectViolation(
      violations((p) => {
        p.hostPID = true;
      }),
      /hostPID/,
    );
    expectViolation(
      violations((p) => {
        p.hostIPC = true;
      }),
      /hostIPC/,
    );
  });

  it("refuses privileged containers", () => {
    expectViolation(
      violations((p) => {
        sc(p).privileged = true;
      }),
      /^privileged: container "app"/,
    );
  });

  it("refuses added capabilities other than NET_BIND_SERVICE and a missing drop ALL", () => {
    expectViolation(
      violations((p) => {
        sc(p).capabilities = { drop: ["ALL"], add: ["SYS_ADMIN"] };
      }),
      /non-default capability SYS_ADMIN/,
    );
    expectViolation(
      violations((p) => {
        sc(p).capabilities = { drop: ["ALL"], add: ["CHOWN"] };
      }),
      /adds CHOWN \(only NET_BIND_SERVICE/,
    );
    expectViolation(
      violations((p) => {
        sc(p).capabilities = { drop: ["NET_RAW"] };
      }),
      /container "app" must drop ALL/,
    );
  });

  it("refuses hostPath volumes", () => {
    expectViolation(
      violations((p) => {
        p.volumes?.push({ name: "host", hostPath: { path: "/" } });
      }),
      /hostPath volumes: volume "host"/,
    );
  });

  it("refuses volume types outside the allowed list", () => {
    expectViolation(
      violations((p) => {
        p.volumes?.push({ name: "nfs", nfs: { server: "s", path: "/x" } });
      }),
      /volume types: volume "nfs" uses nfs/,
    );
  });

  it("refuses host ports", () => {
    expectViolation(
      violations((p) => {
        app(p).ports = [{ containerPort: 8080, hostPort: 8080 }];
      }),
      /host ports: container "app" uses hostPort 8080/,
    );
  });

  it("refuses an unconfined AppArmor profile (annotation or field)", () => {
    expectViolation(
      violations(() => {}, { "container.apparmor.security.beta.kubernetes.io/app": "unconfined" }),
      /AppArmor: annotation/,
    );
    expectViolation(
      violations((p) => {
        sc(p).appArmorProfile = { type: "Unconfined" };
      }),
      /AppArmor: container "app" profile type Unconfined/,
    );
  });

  it("refuses custom SELinux types, users and roles", () => {
    expectViolation(
      violations((p) => {
        sc(p).seLinuxOptions = { type: "spc_t" };
      }),
      /SELinux: container "app" sets type "spc_t"/,
    );
    expectViolation(
      violations((p) => {
        p.securityContext = { ...p.securityContext, seLinuxOptions: { user: "system_u" } };
      }),
      /SELinux: pod sets user/,
    );
    expectViolation(
      violations((p) => {
        sc(p).seLinuxOptions = { role: "sysadm_r" };
      }),
      /sets role/,
    );
  });

  it("refuses an unmasked /proc", () => {
    expectViolation(
      violations((p) => {
        sc(p).procMount = "Unmasked";
      }),
      /\/proc mount: container "app" sets procMount=Unmasked/,
    );
  });

  it("refuses a missing or unconfined seccomp profile", () => {
    expectViolation(
      violations((p) => {
        p.securityContext = { runAsNonRoot: true };
      }),
      /seccomp: pod or container "app" must set seccompProfile.type/,
    );
    expectViolation(
      violations((p) => {
        sc(p).seccompProfile = { type: "Unconfined" };
      }),
      /seccomp: container "app" sets Unconfined/,
    );
  });

  it("refuses unsafe sysctls", () => {
    expectViolation(
      violations((p) => {
        p.securityContext = { ...p.securityContext, sysctls: [{ name: "kernel.msgmax", value: "1" }] };
      }),
      /sysctls: pod sets unsafe sysctl kernel.msgmax/,
    );
  });

  it("refuses privilege escalation (unset counts as allowed escalation)", () => {
    expectViolation(
      violations((p) => {
        delete sc(p).allowPrivilegeEscalation;
      }),
      /privilege escalation: container "app"/,
    );
    expectViolation(
      violations((p) => {
        sc(p).allowPrivilegeEscalation = true;
      }),
      /privilege escalation/,
    );
  });

  it("refuses running as root: runAsNonRoot false or unset", () => {
    expectViolation(
      violations((p) => {
        sc(p).runAsNonRoot = false;
      }),
      /runAsNonRoot: container "app" sets runAsNonRoot=false/,
    );
    expectViolation(
      violations((p) => {
        p.securityContext = { seccompProfile: { type: "RuntimeDefault" } };
      }),
      /runAsNonRoot: pod or initContainer "init" must set/,
    );
  });

  it("refuses runAsUser 0 on the pod or a container", () => {
    expectViolation(
      violations((p) => {
        p.securityContext = { ...p.securityContext, runAsUser: 0 };
      }),
      /runAsUser: pod sets runAsUser=0/,
    );
    expectViolation(
      violations((p) => {
        sc(p).runAsUser = 0;
      }),
      /runAsUser: container "app"/,
    );
  });

  it("checks init and ephemeral containers too", () => {
    expectViolation(
      violations((p) => {
        p.ephemeralContainers = [{ name: "debug", image: "busybox", securityContext: { privileged: true } }];
      }),
      /ephemeralContainer "debug"/,
    );
    expectViolation(
      violations((p) => {
        (p.initContainers ?? [])[0].securityContext = {};
      }),
      /initContainer "init" must drop ALL/,
    );
  });

  it("exempts Windows pods from the Linux-only controls, not from the rest", () => {
    const pod: IPodSpec = {
      os: { name: "windows" },
      securityContext: { runAsNonRoot: true },
      containers: [{ name: "win", image: "w" }],
    };
    assert.deepEqual(checkRestricted(pod), []);
    expectViolation(checkRestricted({ ...pod, hostNetwork: true }), /hostNetwork/);
  });
});
