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

/** Options of {@link admissionReview}. */
export interface AdmissionReviewFixture {
  readonly uid?: string;
  readonly operation?: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  /** Default `persistentvolumeclaims` in the core group. */
  readonly resource?: { group: string; version: string; resource: string };
  readonly subResource?: string;
}

/** An `admission.k8s.io/v1` `AdmissionReview` the API server would send about `object` (a PVC by default). */
export function admissionReview(object: unknown, options: AdmissionReviewFixture = {}): unknown {
  const metadata = (object as { metadata?: { name?: string; namespace?: string } } | undefined)?.metadata;
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: options.uid ?? "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: { group: "", version: "v1", kind: "PersistentVolumeClaim" },
      resource: options.resource ?? { group: "", version: "v1", resource: "persistentvolumeclaims" },
      ...(options.subResource ? { subResource: options.subResource } : {}),
      requestKind: { group: "", version: "v1", kind: "PersistentVolumeClaim" },
      requestResource: { group: "", version: "v1", resource: "persistentvolumeclaims" },
      name: metadata?.name,
      namespace: metadata?.namespace,
      operation: options.operation ?? "CREATE",
      userInfo: { username: "admin", groups: ["system:authenticated"] },
      object,
      oldObject: options.operation === "UPDATE" ? object : null,
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  };
}
