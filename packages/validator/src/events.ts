import type { CoreV1Api, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import type { Clock } from "@volpop/sdk/runtime";

/**
 * Event reasons the validator records on PVCs; users grep and alert on these. Each constant's comment
 * is its entry in the docs site's events reference (generated from this file).
 */
export const EventReason = {
  /**
   * Warning: the PVC's `dataSourceRef` names a kind no `VolumePopulator` registers, so no populator
   * will fill it; recorded once per PVC. Upstream's reason and message.
   */
  UnrecognizedDataSourceKind: "UnrecognizedDataSourceKind",
  /** Normal: a `VolumePopulator` for a kind warned about earlier has appeared (a volpop addition). */
  DataSourceKindRegistered: "DataSourceKindRegistered",
} as const;

export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/** Upstream's event source component, so that `kubectl get events` filters written for it still work. */
export const EVENT_COMPONENT = "volume-data-source-validator";

/** Records one core/v1 Event on a PVC; rejects when the API server refuses it. */
export type RecordEvent = (
  pvc: V1PersistentVolumeClaim,
  event: { type: "Normal" | "Warning"; reason: string; message: string },
) => Promise<void>;

/** Options for {@link apiEventRecorder}. */
export interface ApiEventRecorderOptions {
  readonly core: CoreV1Api;
  /** `reportingInstance`, e.g. the pod name. */
  readonly instance: string;
  /** Timestamps. */
  readonly clock: Clock;
  /** `source.component` and `reportingComponent`. Default {@link EVENT_COMPONENT}. */
  readonly component?: string;
}

/** Event messages are capped by the API server at 1 KiB. */
const MAX_MESSAGE = 1024;

/** A {@link RecordEvent} that creates the Event through the API, as client-go's recorder would. */
export function apiEventRecorder(options: ApiEventRecorderOptions): RecordEvent {
  const component = options.component ?? EVENT_COMPONENT;
  return async (pvc, event) => {
    const namespace = pvc.metadata?.namespace ?? "default";
    const name = pvc.metadata?.name ?? "";
    const time = new Date(options.clock.now());
    await options.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          namespace,
          name,
          ...(pvc.metadata?.uid ? { uid: pvc.metadata.uid } : {}),
          ...(pvc.metadata?.resourceVersion ? { resourceVersion: pvc.metadata.resourceVersion } : {}),
        },
        type: event.type,
        reason: event.reason,
        message:
          event.message.length > MAX_MESSAGE
            ? `${event.message.slice(0, MAX_MESSAGE - 3)}...`
            : event.message,
        source: { component },
        reportingComponent: component,
        reportingInstance: options.instance,
        firstTimestamp: time,
        lastTimestamp: time,
        count: 1,
      },
    });
  };
}
