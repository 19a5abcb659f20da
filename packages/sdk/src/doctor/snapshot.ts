/**
 * What `volpop doctor` read from the cluster: plain data, gathered once by `gather.ts` and judged by
 * the pure rules (`pvc-rules.ts`, `cluster-rules.ts`), so that every diagnosis is table-testable.
 */
import type {
  CoreV1Event,
  V1Deployment,
  V1Lease,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ResourceQuota,
  V1StorageClass,
} from "@kubernetes/client-node";
import type { SourceObject } from "../observed.ts";
import type { ReferenceGrant } from "../reference-grant.ts";

/** One read: the object (or list) is there, is not there (404), or could not be read (RBAC, an error). */
export type Read<T> =
  | { readonly state: "found"; readonly value: T }
  | { readonly state: "absent" }
  | { readonly state: "unreadable"; readonly what: string; readonly reason: string };

/** What the API server says of itself. */
export interface ServerFacts {
  /** `gitVersion`, e.g. `v1.35.0`. */
  readonly version: string;
  readonly major: number;
  readonly minor: number;
}

/** A kind the API serves, from discovery. */
export interface ServedKind {
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

/** A `VolumePopulator` (populator.storage.k8s.io/v1beta1), the data-source validator's registry. */
export interface VolumePopulatorObject {
  readonly metadata?: { readonly name?: string };
  readonly sourceKind?: { readonly group?: string; readonly kind?: string };
}

/** How doctor learnt a populator's prefix (the `<prefix>/…` of its finalizer, annotations, Lease and events). */
export type PrefixOrigin = "finalizer" | "annotation" | "flag" | "group";

/** What shows whether a controller serves a kind: its Lease, and the pod behind its identity. */
export interface ControllerFacts {
  /** The prefix the controller uses: its Lease is `<prefix>-populator`, its events' component the same. */
  readonly prefix: string;
  readonly prefixFrom: PrefixOrigin;
  /** Leases named `<prefix>-populator`, in every namespace (controllers with `--leader-election`). */
  readonly leases: Read<readonly V1Lease[]>;
  /**
   * The pod behind the controller's identity (the Lease holder's, or the instance that last recorded
   * an event), looked up by the identity's host name; undefined when there is no identity to follow.
   */
  readonly pod?: { readonly identity: string; readonly pod: Read<V1Pod> };
  /** Events its controller recorded anywhere (`source=<prefix>-populator`), newest last; cluster mode only. */
  readonly events?: Read<readonly CoreV1Event[]>;
}

/** Where PVC' and populator pods live, and how doctor knows. */
export interface PopulatorNamespace {
  readonly name: string;
  readonly from: "flag" | "prime-pvc" | "pod" | "lease";
}

/** What a population of the PVC left visible; only for a `dataSourceRef` naming a custom kind. */
export interface PopulationFacts {
  /** The source kind, from discovery: absent when the API does not serve it. */
  readonly sourceKind: Read<ServedKind>;
  /** The source object; undefined when its kind is not served. */
  readonly source: Read<SourceObject> | undefined;
  /** Every `VolumePopulator`; absent when their CRD is not installed. */
  readonly volumePopulators: Read<readonly VolumePopulatorObject[]>;
  /** ReferenceGrants of the source's namespace, for a source in another namespace; absent: no CRD. */
  readonly referenceGrants?: Read<readonly ReferenceGrant[]>;
  readonly controller: ControllerFacts;
  readonly populatorNamespace: PopulatorNamespace | undefined;
  /** That namespace's labels (its Pod Security level), when readable. */
  readonly populatorNamespaceLabels?: Readonly<Record<string, string>>;
  /** PVC' (`prime-<uid>`). */
  readonly primePvc: Read<V1PersistentVolumeClaim>;
  /** The PV PVC' is bound to, when it is. */
  readonly primePv?: Read<V1PersistentVolume>;
  /** The populator pod (`populate-<uid>`). */
  readonly pod: Read<V1Pod>;
  /** ResourceQuotas of the populator namespace, when it is known. */
  readonly populatorQuotas?: Read<readonly V1ResourceQuota[]>;
  /** Events on PVC' and on the populator pod. */
  readonly primePvcEvents: Read<readonly CoreV1Event[]>;
  readonly podEvents: Read<readonly CoreV1Event[]>;
}

/** Everything `volpop doctor pvc` looks at. */
export interface PvcSnapshot {
  /** Milliseconds since the epoch, when the snapshot was taken. */
  readonly now: number;
  readonly namespace: string;
  readonly name: string;
  readonly server: ServerFacts;
  readonly pvc: Read<V1PersistentVolumeClaim>;
  /** The PVC's PV, when it is bound. */
  readonly volume?: Read<V1PersistentVolume>;
  /** The PVC's StorageClass; undefined when the PVC names none. */
  readonly storageClass?: Read<V1StorageClass>;
  /** Pods of the PVC's namespace that mount it; read only while WaitForFirstConsumer waits for one. */
  readonly consumers?: Read<readonly V1Pod[]>;
  /** Events on the PVC (this uid only). */
  readonly pvcEvents: Read<readonly CoreV1Event[]>;
  /** ResourceQuotas of the PVC's namespace. */
  readonly quotas: Read<readonly V1ResourceQuota[]>;
  readonly population?: PopulationFacts;
}

/** One registered populator, as `volpop doctor cluster` sees it. */
export interface PopulatorFacts {
  /** Name of its `VolumePopulator`. */
  readonly name: string;
  readonly group: string;
  readonly kind: string;
  readonly sourceKind: Read<ServedKind>;
  readonly controller: ControllerFacts;
}

/** The data-source validator's Deployment and pods. */
export interface ValidatorFacts {
  readonly deployment: V1Deployment;
  readonly pods: Read<readonly V1Pod[]>;
}

/** Everything `volpop doctor cluster` looks at. */
export interface ClusterSnapshot {
  readonly now: number;
  readonly server: ServerFacts;
  /** Every `VolumePopulator`; absent when their CRD is not installed. */
  readonly volumePopulators: Read<readonly VolumePopulatorObject[]>;
  /** Deployments named `volume-data-source-validator`, in any namespace (ours and upstream's). */
  readonly validators: Read<readonly ValidatorFacts[]>;
  /** One entry per VolumePopulator. */
  readonly populators: readonly PopulatorFacts[];
  /** Every PVC of the cluster whose `dataSourceRef` names a custom kind. */
  readonly populatedPvcs: Read<readonly V1PersistentVolumeClaim[]>;
}
