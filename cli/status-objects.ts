/**
 * What `imaas status` reads from a cluster, and how: only the fields it uses of Argo CD's Application
 * (the Application CRD of Argo CD v3.2.11, `manifests/crds/application-crd.yaml`), of apps/v1 Deployments and
 * of v1 Pods, and the {@link ClusterReader} that returns them (the real one: cli/status-kube.ts).
 */
export interface ArgoSource {
  readonly repoURL?: string;
  /** The branch, tag or commit the source is synced to (the platform chart's: its ring's revision). */
  readonly targetRevision?: string;
  /** Set on a source that only provides value files to another (`$values/...`). */
  readonly ref?: string;
}

export interface ArgoApplication {
  readonly metadata?: { readonly name?: string };
  readonly spec?: {
    readonly sources?: readonly ArgoSource[];
    readonly source?: ArgoSource;
  };
  readonly status?: {
    readonly sync?: {
      readonly status?: string;
      readonly revision?: string;
      readonly revisions?: readonly string[];
      /** The spec the last comparison was made against: what `status` (and health) describe. */
      readonly comparedTo?: { readonly sources?: readonly ArgoSource[]; readonly source?: ArgoSource };
    };
    readonly health?: { readonly status?: string; readonly message?: string };
    readonly conditions?: readonly { readonly type?: string; readonly message?: string }[];
    readonly operationState?: {
      readonly phase?: string;
      readonly message?: string;
      readonly finishedAt?: string;
      readonly syncResult?: {
        readonly resources?: readonly {
          readonly kind?: string;
          readonly name?: string;
          readonly namespace?: string;
          readonly status?: string;
          readonly message?: string;
          readonly images?: readonly string[];
        }[];
      };
    };
    readonly resources?: readonly {
      readonly kind?: string;
      readonly name?: string;
      readonly namespace?: string;
      readonly status?: string;
      readonly health?: { readonly status?: string; readonly message?: string };
    }[];
  };
}

interface Condition {
  readonly type?: string;
  readonly status?: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface Deployment {
  readonly metadata?: { readonly name?: string };
  readonly spec?: {
    readonly replicas?: number;
    readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
    readonly template?: {
      readonly spec?: {
        readonly containers?: readonly { readonly name?: string; readonly image?: string }[];
      };
    };
  };
  readonly status?: {
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly updatedReplicas?: number;
    readonly conditions?: readonly Condition[];
  };
}

export interface Pod {
  readonly metadata?: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly status?: {
    readonly phase?: string;
    readonly conditions?: readonly Condition[];
    readonly containerStatuses?: readonly {
      readonly name?: string;
      readonly state?: { readonly waiting?: { readonly reason?: string; readonly message?: string } };
    }[];
  };
}

/** Reads one cluster. Throws {@link ClusterAccessError} when the cluster cannot be read. */
export interface ClusterReader {
  /** Applications in `namespace`; undefined when the cluster has no Application CRD (no Argo CD). */
  applications(namespace: string): Promise<readonly ArgoApplication[] | undefined>;
  deployments(namespace: string): Promise<readonly Deployment[]>;
  pods(namespace: string): Promise<readonly Pod[]>;
}

/** The cluster is unreachable, refuses the credentials, or forbids a read: nothing of it can be judged. */
export class ClusterAccessError extends Error {}
