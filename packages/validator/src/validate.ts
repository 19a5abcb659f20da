/**
 * What the validator does about one PVC, decided from observed state only (level-based): the same
 * PVC, registrations and memory of earlier warnings always give the same answer, whatever woke the
 * controller. The controller records the event and remembers `warned`; nothing here does I/O.
 */
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import {
  classifyDataSourceRef,
  type DataSourceClass,
  type DataSourceRef,
  type SourceKind,
} from "./classify.ts";
import { EventReason } from "./events.ts";
import { type Registration, sameSourceKind } from "./volume-populator.ts";

/**
 * Upstream's message for {@link EventReason.UnrecognizedDataSourceKind}, word for word, so that
 * alerts and searches written for upstream keep matching; volpop appends the kind in parentheses.
 */
export const UNRECOGNIZED_MESSAGE =
  "The datasource for this PVC does not match any registered VolumePopulator";

/** An event to record on the PVC. */
export interface ValidatorEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: EventReason;
  readonly message: string;
}

/** The decision for one PVC. */
export interface PvcValidation {
  /** What `spec.dataSourceRef` points at: the `result` label of the operation counter. */
  readonly result: DataSourceClass;
  /** The event to record now, if any. */
  readonly event: ValidatorEvent | undefined;
  /**
   * Whether the PVC stands warned once `event` is recorded: true from the Warning until its kind is
   * registered, so that the Warning is recorded once per PVC rather than on every resync.
   */
  readonly warned: boolean;
}

/**
 * Validates a PVC's `spec.dataSourceRef` against the registered `VolumePopulator`s:
 * - no data source, a PVC clone, a VolumeSnapshot or a registered kind is valid;
 * - any other kind gets a Warning `UnrecognizedDataSourceKind`, unless it was warned already;
 * - a warned PVC whose kind has since been registered gets a Normal `DataSourceKindRegistered`
 *   while it still waits for its volume (a bound PVC no longer cares).
 */
export function validatePvc(
  pvc: V1PersistentVolumeClaim,
  registrations: readonly Registration[],
  alreadyWarned: boolean,
): PvcValidation {
  const ref = pvc.spec?.dataSourceRef;
  const result = classifyDataSourceRef(
    ref,
    registrations.map((r) => r.sourceKind),
  );
  if (result === "invalid") {
    const event: ValidatorEvent | undefined = alreadyWarned
      ? undefined
      : {
          type: "Warning",
          reason: EventReason.UnrecognizedDataSourceKind,
          message: unrecognizedMessage(ref),
        };
    return { result, event, warned: true };
  }
  if (result === "populator" && alreadyWarned && isWaiting(pvc)) {
    const kind: SourceKind = { group: ref?.apiGroup ?? "", kind: ref?.kind ?? "" };
    const registration = registrations.find((r) => sameSourceKind(r.sourceKind, kind));
    return {
      result,
      event: {
        type: "Normal",
        reason: EventReason.DataSourceKindRegistered,
        message: `VolumePopulator ${JSON.stringify(registration?.name ?? "")} now registers the datasource of this PVC (${describeRef(kind.group, kind.kind)})`,
      },
      warned: false,
    };
  }
  return { result, event: undefined, warned: false };
}

/** Whether the PVC still waits for its volume: not bound, not being deleted. */
export function isWaiting(pvc: V1PersistentVolumeClaim): boolean {
  return !pvc.spec?.volumeName && pvc.status?.phase !== "Bound" && !pvc.metadata?.deletionTimestamp;
}

/**
 * The text of the warning about an unregistered data source kind: {@link UNRECOGNIZED_MESSAGE} and
 * the kind, as both the event and the admission webhook say it.
 */
export function unrecognizedMessage(ref: DataSourceRef | undefined): string {
  return `${UNRECOGNIZED_MESSAGE} (${describeRef(ref?.apiGroup, ref?.kind)})`;
}

// In the PVC's own field names, so that users see at once what to compare with their YAML.
function describeRef(apiGroup: string | undefined, kind: string | undefined): string {
  const group = apiGroup ? `apiGroup ${JSON.stringify(apiGroup)}` : "core apiGroup";
  return `${group}, kind ${JSON.stringify(kind ?? "")}`;
}
