import type {
  KubernetesObject,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1StorageClass,
} from "@kubernetes/client-node";
import type { Progress } from "./progress.ts";

/** A source custom resource as read from the API: only metadata and an untrusted `spec`. */
export interface SourceObject extends KubernetesObject {
  readonly spec?: unknown;
}

/**
 * Everything one reconcile of a user's PVC looks at. Decisions depend only on this (level-based),
 * never on which change woke the reconcile. Objects come from the informers' caches; two things are
 * read live, because no watch can carry them: the populator pod's progress (the tail of its log,
 * only while it runs) and, for a source in another namespace when the controller allows that, the
 * ReferenceGrants there (a watch of every namespace's grants would need cluster-wide rights the
 * controller otherwise does without).
 */
export interface Observed {
  /** Milliseconds since the epoch, from the injected clock. */
  readonly now: number;
  /** The user's PVC. */
  readonly pvc: V1PersistentVolumeClaim;
  /** The object `spec.dataSourceRef` names, if it exists. */
  readonly source: SourceObject | undefined;
  /** For a source in another namespace: whether a ReferenceGrant there allows this PVC's namespace. */
  readonly referenceGranted: boolean;
  readonly storageClass: V1StorageClass | undefined;
  /** PVC' (`prime-<uid>`) in the populator's namespace. */
  readonly primePvc: V1PersistentVolumeClaim | undefined;
  /** The PV PVC' is bound to. */
  readonly primePv: V1PersistentVolume | undefined;
  /** The populator pod (`populate-<uid>`), Pod strategy. */
  readonly pod: V1Pod | undefined;
  /** The last progress the running populator pod reported, if any. */
  readonly podProgress?: Progress | undefined;
  /**
   * What the strategy's runtime knows of this population (`strategy.runtime.observe(uid)`): for the
   * fast path, its backends and this PVC's operation. Only the strategy reads it.
   */
  readonly strategyState?: unknown;
}
