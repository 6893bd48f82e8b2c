/**
 * What reaches the cluster through the deployer (Argo CD applying a tenant's manifests; the cluster admin
 * here, whom neither Pod Security nor the platform's pod and Service policies exempt): the benchmark's pod
 * and Service checks — capabilities, root, privileged, privilege escalation, host access, NodePorts,
 * quotas, pull policy — and the platform's image and LoadBalancer rules, each beside its positive control.
 */
import { parseQuantity } from "../../model/quantity";
import { admin, kubectl, reason } from "./engine";
import {
  allRefused,
  type Check,
  dryCreate,
  expectAllowed,
  expectRefused,
  pod,
  podManifest,
  quota,
  service,
} from "./probe";

export const WORKLOAD_CHECKS: readonly Check[] = [
  {
    id: "MTB-PL1-BC-CPI-3",
    title: "Block add capabilities",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(
          id,
          pod(ctx, "probe-caps", { container: { capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } } }),
        ),
        "a pod adding NET_ADMIN",
        /unrestricted capabilities/,
      ),
  },
  {
    id: "MTB-PL1-BC-CPI-4",
    title: "Require run as non-root user",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(id, pod(ctx, "probe-root", { podSecurity: { runAsNonRoot: false, runAsUser: 0 } })),
        "a root pod",
        /runAsNonRoot|runAsUser=0/,
      ),
  },
  {
    id: "MTB-PL1-BC-CPI-5",
    title: "Block privileged containers",
    as: "deployer",
    // privileged: true is only valid with allowPrivilegeEscalation: true; the reason must name privileged.
    run: (ctx, id) =>
      expectRefused(
        dryCreate(
          id,
          pod(ctx, "probe-priv", { container: { privileged: true, allowPrivilegeEscalation: true } }),
        ),
        "a privileged pod",
        /privileged \(container/,
      ),
  },
  {
    id: "MTB-PL1-BC-CPI-6",
    title: "Block privilege escalation",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(id, pod(ctx, "probe-escalate", { container: { allowPrivilegeEscalation: true } })),
        "a pod allowing privilege escalation",
        /allowPrivilegeEscalation/,
      ),
  },
  {
    id: "CONTROL-POD",
    title: "Positive control: a compliant pod from the tenant's registry is admitted",
    as: "deployer",
    run: (ctx, id) => expectAllowed(dryCreate(id, pod(ctx, "probe-ok")), "the compliant pod"),
  },
  {
    id: "MTB-PL1-BC-HI-1",
    title: "Block use of host path volumes and NodePort services",
    as: "deployer",
    run(ctx, id) {
      const hp = expectRefused(
        dryCreate(
          id,
          pod(ctx, "probe-hostpath", { spec: { volumes: [{ name: "h", hostPath: { path: "/etc" } }] } }),
        ),
        "a hostPath pod",
        /hostPath/,
      );
      if (!hp.pass) return hp;
      const np = expectRefused(dryCreate(id, service(ctx, "NodePort")), "a NodePort Service", /NodePort/);
      if (!np.pass) return np;
      const cip = expectAllowed(dryCreate(id, service(ctx, "ClusterIP")), "control: a ClusterIP Service");
      return cip.pass ? { pass: true, detail: `${hp.detail} | ${np.detail} | ${cip.detail}` } : cip;
    },
  },
  {
    id: "MTB-PL1-BC-HI-3",
    title: "Block use of host networking and ports",
    as: "deployer",
    run(ctx, id) {
      const net = expectRefused(
        dryCreate(id, pod(ctx, "probe-hostnet", { spec: { hostNetwork: true } })),
        "a hostNetwork pod",
        /hostNetwork/,
      );
      if (!net.pass) return net;
      const port = podManifest(ctx, "probe-hostport");
      port.spec.containers[0].ports = [{ containerPort: 8290, hostPort: 8290 }];
      const hp = expectRefused(dryCreate(id, JSON.stringify(port)), "a hostPort pod", /hostPort/);
      return hp.pass ? { pass: true, detail: `${net.detail} | ${hp.detail}` } : hp;
    },
  },
  {
    id: "MTB-PL1-BC-HI-4",
    title: "Block use of host PID",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(id, pod(ctx, "probe-hostpid", { spec: { hostPID: true } })),
        "a hostPID pod",
        /hostPID/,
      ),
  },
  {
    id: "MTB-PL1-BC-HI-5",
    title: "Block use of host IPC",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(
        dryCreate(id, pod(ctx, "probe-hostipc", { spec: { hostIPC: true } })),
        "a hostIPC pod",
        /hostIPC/,
      ),
  },
  {
    id: "MTB-PL1-CC-FNS-1",
    title: "Configure namespace resource quotas (CPU, memory, storage); over quota refused",
    as: "deployer",
    run(ctx, id) {
      const { hard } = quota(ctx.namespace);
      const missing = [
        "limits.cpu",
        "limits.memory",
        "requests.cpu",
        "requests.memory",
        "requests.storage",
      ].filter((k) => !(k in hard));
      if (missing.length > 0) return { pass: false, detail: `quota lacks ${missing.join(", ")}` };
      // Containers within the limit range (at most 1 CPU requested each, limit at the 2:1 ratio the limit
      // range holds every container to), one more than the quota's CPU requests hold: the refusal must come
      // from the ResourceQuota itself.
      const quotaMillicores = Math.round(parseQuantity(hard["requests.cpu"]) * 1000);
      const each = Math.min(quotaMillicores, 1000);
      const big = podManifest(ctx, "probe-overquota");
      big.spec.containers[0].resources.requests.cpu = `${each}m`;
      big.spec.containers[0].resources.limits.cpu = `${each * 2}m`;
      const first = big.spec.containers[0];
      for (let i = 2; i <= Math.floor(quotaMillicores / each) + 1; i++)
        big.spec.containers.push({ ...first, name: `probe-${i}` });
      const o = expectRefused(
        dryCreate(id, JSON.stringify(big)),
        "a pod over the CPU quota",
        /exceeded quota/,
      );
      if (!o.pass) return o;
      return {
        pass: true,
        detail: `cpu ${hard["limits.cpu"]}, memory ${hard["limits.memory"]}, storage ${hard["requests.storage"]}; ${o.detail}`,
      };
    },
  },
  {
    id: "MTB-PL1-CC-FNS-2",
    title: "Configure namespace object limits (PVCs, load balancers, node ports, pods); over quota refused",
    as: "deployer",
    async run(ctx, id) {
      const { hard, used } = quota(ctx.namespace);
      const missing = [
        "persistentvolumeclaims",
        "services.loadbalancers",
        "services.nodeports",
        "pods",
      ].filter((k) => !(k in hard));
      if (missing.length > 0) return { pass: false, detail: `quota lacks ${missing.join(", ")}` };
      if (hard["services.loadbalancers"] !== "0" || hard["services.nodeports"] !== "0")
        return { pass: false, detail: "load balancers or node ports allowed by the quota" };
      // Real PVCs up to the count (a storage class that does not exist, so nothing is provisioned), then
      // one more must be refused by the quota; all removed afterwards.
      const free = Number(hard.persistentvolumeclaims) - Number(used.persistentvolumeclaims ?? 0);
      const label = "imaas.io/security-probe";
      const pvc = (i: number) =>
        JSON.stringify({
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: `probe-pvc-${i}`, namespace: ctx.namespace, labels: { [label]: "true" } },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: "imaas-security-probe-none",
            resources: { requests: { storage: "1Mi" } },
          },
        });
      try {
        for (let i = 0; i < free; i++) {
          const r = kubectl(id, ["create", "-o", "name", "-f", "-"], pvc(i));
          if (r.code !== 0) return { pass: false, detail: `PVC ${i + 1} of ${free} refused: ${reason(r)}` };
        }
        const o = expectRefused(
          kubectl(id, ["create", "--dry-run=server", "-o", "name", "-f", "-"], pvc(free)),
          `PVC ${free + 1}`,
          /exceeded quota/,
        );
        if (!o.pass) return o;
        return {
          pass: true,
          detail: `pods ${hard.pods}, PVCs ${hard.persistentvolumeclaims}, load balancers 0, node ports 0; ${free} PVCs admitted, the next ${o.detail}`,
        };
      } finally {
        kubectl(admin, ["delete", "pvc", "-n", ctx.namespace, "-l", `${label}=true`, "--wait=false"]);
      }
    },
  },
  {
    id: "MTB-PL1-CC-DI-1",
    title: "Require image pull policy Always (or a pinned digest)",
    as: "deployer",
    run(ctx, id) {
      const o = expectRefused(
        dryCreate(id, pod(ctx, "probe-pull", { pullPolicy: "IfNotPresent" })),
        "a pod with IfNotPresent",
        /imagePullPolicy: Always/,
      );
      if (!o.pass) return o;
      const digest = `${ctx.registry}/${ctx.tenant}/x@sha256:${"0".repeat(64)}`;
      const d = expectAllowed(
        dryCreate(id, pod(ctx, "probe-digest", { image: digest, pullPolicy: "IfNotPresent" })),
        "control: a digest-pinned image with IfNotPresent",
      );
      return d.pass ? { pass: true, detail: `${o.detail} | ${d.detail}` } : d;
    },
  },
  {
    id: "IMAAS-FOREIGN-IMAGES",
    title: "Images from another tenant's registry project (or elsewhere) are refused",
    as: "deployer",
    run(ctx, id) {
      const r = allRefused(
        [`${ctx.registry}/${ctx.otherTenant}/x:1`, "docker.io/library/busybox:1"].map((image) => ({
          what: `image ${image}`,
          run: () => dryCreate(id, pod(ctx, "probe-foreign", { image })),
          because: /images must come from/,
        })),
      );
      if (r.failed) return r.failed;
      const base = expectAllowed(
        dryCreate(id, pod(ctx, "probe-base", { image: `${ctx.registry}/${ctx.baseImageProject}/mi:1` })),
        "control: the platform's base image",
      );
      return base.pass
        ? {
            pass: true,
            detail: `refused by admission imaas-tenant-images: ${r.layers.join(", ")} | ${base.detail}`,
          }
        : base;
    },
  },
  {
    id: "IMAAS-NO-LOADBALANCER",
    title: "LoadBalancer Services are refused",
    as: "deployer",
    run: (ctx, id) =>
      expectRefused(dryCreate(id, service(ctx, "LoadBalancer")), "a LoadBalancer Service", /LoadBalancer/),
  },
];
