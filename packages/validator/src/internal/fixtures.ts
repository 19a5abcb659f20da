/** Fixture builders for the unit tests. */
import type { V1PersistentVolumeClaim, V1TypedObjectReference } from "@kubernetes/client-node";
import type { Registration, VolumePopulator } from "../volume-populator.ts";

/** Options of {@link pvc}. */
export interface PvcFixture {
  readonly namespace?: string;
  readonly uid?: string;
  readonly dataSourceRef?: V1TypedObjectReference;
  /** Bound: sets `spec.volumeName` and phase `Bound`. */
  readonly bound?: boolean;
  readonly deleting?: boolean;
}

/** A PVC named `name` (namespace `ns`, uid `uid-<name>` unless given), pending unless `bound`. */
export function pvc(name: string, options: PvcFixture = {}): V1PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name,
      namespace: options.namespace ?? "ns",
      uid: options.uid ?? `uid-${name}`,
      ...(options.deleting ? { deletionTimestamp: new Date(0) } : {}),
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: "1Gi" } },
      ...(options.dataSourceRef ? { dataSourceRef: options.dataSourceRef } : {}),
      ...(options.bound ? { volumeName: `pv-${name}` } : {}),
    },
    status: { phase: options.bound ? "Bound" : "Pending" },
  };
}

/** A `dataSourceRef` to `name` of `kind` in `apiGroup` (left out for the core group). */
export function ref(apiGroup: string, kind: string, name = "source"): V1TypedObjectReference {
  return apiGroup === "" ? { kind, name } : { apiGroup, kind, name };
}

/** A `VolumePopulator` named `name` registering `(group, kind)`. */
export function volumePopulator(name: string, group: string, kind: string): VolumePopulator {
  return {
    apiVersion: "populator.storage.k8s.io/v1beta1",
    kind: "VolumePopulator",
    metadata: { name },
    sourceKind: { group, kind },
  };
}

/** A registration of `(group, kind)` by a VolumePopulator named `name`. */
export function registration(name: string, group: string, kind: string): Registration {
  return { name, sourceKind: { group, kind } };
}
