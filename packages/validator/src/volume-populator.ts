/**
 * The `VolumePopulator` resource (`populator.storage.k8s.io/v1beta1`, cluster-scoped): a populator's
 * registration of the data source kind it serves, in upstream's shape (`sourceKind` at the top
 * level, not under `spec`).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { SourceKind } from "./classify.ts";

/** API group of `VolumePopulator`. */
export const VOLUME_POPULATOR_GROUP = "populator.storage.k8s.io";
/** The served (and only) version. */
export const VOLUME_POPULATOR_VERSION = "v1beta1";
/** Resource name, as in RBAC rules and API paths. */
export const VOLUME_POPULATOR_PLURAL = "volumepopulators";
/** Kind. */
export const VOLUME_POPULATOR_KIND = "VolumePopulator";

/** A `VolumePopulator` as the API server returns it; every field is optional because old objects may lack any. */
export interface VolumePopulator extends KubernetesObject {
  /** The data source kind the populator serves; `group` empty or absent for the core group. */
  sourceKind?: { group?: string; kind?: string };
}

/** A well-formed registration: the object's name and the kind it registers. */
export interface Registration {
  /** `metadata.name` of the `VolumePopulator`. */
  readonly name: string;
  readonly sourceKind: SourceKind;
}

/**
 * Reads the registration out of a `VolumePopulator`; `undefined` when it registers nothing usable
 * (no `sourceKind.kind`, which only objects stored before the CRD required it can lack). A missing
 * group means the core group, as in a PVC's `dataSourceRef`.
 */
export function registrationOf(object: VolumePopulator): Registration | undefined {
  const kind = object.sourceKind?.kind;
  if (typeof kind !== "string" || kind === "") return undefined;
  const group = object.sourceKind?.group;
  return {
    name: object.metadata?.name ?? "",
    sourceKind: { group: typeof group === "string" ? group : "", kind },
  };
}

/** Whether two source kinds are the same `(group, kind)`. */
export function sameSourceKind(a: SourceKind, b: SourceKind): boolean {
  return a.group === b.group && a.kind === b.kind;
}

/** `Kind.group` (`Kind` alone for the core group), Go's `GroupKind.String()`, for logs. */
export function formatSourceKind(kind: SourceKind): string {
  return kind.group === "" ? kind.kind : `${kind.kind}.${kind.group}`;
}
