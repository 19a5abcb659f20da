import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { type Logger, toVolpopError } from "@volpop/sdk";
import type { SourceKind } from "./classify.ts";
import type { RecordEvent } from "./events.ts";
import type { ValidatorMetrics } from "./metrics.ts";
import { validatePvc } from "./validate.ts";
import { type Registration, sameSourceKind } from "./volume-populator.ts";

/** What {@link createPvcReconciler} reads and writes; the controller passes its caches, tests pass fakes. */
export interface PvcReconcilerOptions {
  /** The PVC as currently cached, or `undefined` once it is gone. */
  readonly getPvc: (namespace: string, name: string) => V1PersistentVolumeClaim | undefined;
  /** The well-formed `VolumePopulator` registrations currently cached. */
  readonly registrations: () => readonly Registration[];
  /** Records an event on a PVC; a rejection makes the reconcile fail (and be retried). */
  readonly recordEvent: RecordEvent;
  readonly metrics: ValidatorMetrics;
  readonly logger: Logger;
}

/** Validates PVCs by queue key and remembers which it warned about. */
export interface PvcReconciler {
  /**
   * Validates the PVC with key `namespace/name`, records its event if any, and counts the result.
   * Rejects (after counting `error`) when the event could not be recorded, so that the caller
   * retries; the warning is then recorded by the retry, not lost.
   */
  reconcile(key: string): Promise<void>;
  /** Keys of the PVCs currently warned about, for tests and debugging. */
  warned(): readonly string[];
}

/** The queue key of a PVC, client-go's `namespace/name`. */
export function pvcKey(pvc: V1PersistentVolumeClaim): string {
  return `${pvc.metadata?.namespace ?? ""}/${pvc.metadata?.name ?? ""}`;
}

/**
 * Creates the reconciler. Memory of warnings is per PVC uid, so a PVC deleted and created again
 * under the same name is warned about afresh; it lives in this process only, so a restarted
 * validator warns once more about each PVC that is still invalid.
 */
export function createPvcReconciler(options: PvcReconcilerOptions): PvcReconciler {
  // Key → uid of the PVC instance that stands warned.
  const warned = new Map<string, string>();
  let reconcileCount = 0;

  return {
    warned: () => [...warned.keys()],
    async reconcile(key) {
      const slash = key.indexOf("/");
      const namespace = key.slice(0, slash);
      const name = key.slice(slash + 1);
      const pvc = options.getPvc(namespace, name);
      if (pvc === undefined) {
        warned.delete(key);
        return;
      }
      const uid = pvc.metadata?.uid ?? "";
      const log = options.logger.child({ namespace, name, reconcileId: ++reconcileCount });
      const decision = validatePvc(pvc, options.registrations(), warned.get(key) === uid);
      if (decision.event !== undefined) {
        try {
          await options.recordEvent(pvc, decision.event);
        } catch (error) {
          options.metrics.count("error");
          throw toVolpopError(error);
        }
        const level = decision.event.type === "Warning" ? "warn" : "info";
        log[level]({ reason: decision.event.reason }, decision.event.message);
      } else {
        log.debug({ result: decision.result }, "validated");
      }
      if (decision.warned) warned.set(key, uid);
      else warned.delete(key);
      options.metrics.count(decision.result);
    },
  };
}

/**
 * Keys of the cached PVCs whose `dataSourceRef` names one of `kinds`: the PVCs to look at again
 * when a `VolumePopulator` registering (or no longer registering) one of them changes.
 */
export function pvcKeysReferring(
  pvcs: Iterable<V1PersistentVolumeClaim>,
  kinds: readonly SourceKind[],
): string[] {
  const keys: string[] = [];
  for (const pvc of pvcs) {
    const ref = pvc.spec?.dataSourceRef;
    if (ref === undefined) continue;
    const kind = { group: ref.apiGroup ?? "", kind: ref.kind ?? "" };
    if (kinds.some((k) => sameSourceKind(k, kind))) keys.push(pvcKey(pvc));
  }
  return keys;
}
