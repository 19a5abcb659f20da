/**
 * Decides what a PVC's `spec.dataSourceRef` points at. The result values are upstream's
 * `volume_data_source_validator_operation_count{result}` label values, so dashboards carry over.
 */

/** The `(group, kind)` a `VolumePopulator` registers in its `sourceKind`. */
export interface SourceKind {
  readonly group: string;
  readonly kind: string;
}

/** The fields of `spec.dataSourceRef` that matter for validation. */
export interface DataSourceRef {
  readonly apiGroup?: string | undefined;
  readonly kind?: string | undefined;
  readonly name?: string | undefined;
}

export type DataSourceClass = "empty" | "pvc" | "snapshot" | "populator" | "invalid";

export function classifyDataSourceRef(
  ref: DataSourceRef | undefined,
  registered: Iterable<SourceKind>,
): DataSourceClass {
  if (ref === undefined) return "empty";
  const group = ref.apiGroup ?? "";
  if (group === "" && ref.kind === "PersistentVolumeClaim") return "pvc";
  if (group === "snapshot.storage.k8s.io" && ref.kind === "VolumeSnapshot") return "snapshot";
  for (const known of registered) {
    if (known.group === group && known.kind === ref.kind) return "populator";
  }
  return "invalid";
}
