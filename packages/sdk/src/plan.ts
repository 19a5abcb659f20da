import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";

/**
 * What one reconcile decided: steps to carry out in order, then whether to look again. Decisions are
 * pure (see reconcile.ts); carrying them out is the executor's job, so every decision is table-testable.
 */
export type Step =
  | {
      readonly kind: "event";
      readonly type: "Normal" | "Warning";
      readonly reason: string;
      readonly message: string;
    }
  | { readonly kind: "addFinalizer" }
  | { readonly kind: "removeFinalizer" }
  | { readonly kind: "setProgress"; readonly progress: string }
  | { readonly kind: "createPrimePvc"; readonly pvc: V1PersistentVolumeClaim }
  | { readonly kind: "deletePrimePvc" }
  | { readonly kind: "annotatePrimePvc"; readonly annotations: Readonly<Record<string, string>> }
  /** `announce` becomes a Normal event on the user's PVC only if this call created the pod. */
  | {
      readonly kind: "createPod";
      readonly pod: V1Pod;
      readonly announce?: { readonly reason: string; readonly message: string };
    }
  | { readonly kind: "deletePod" }
  /**
   * Copies a Secret or ConfigMap of the source's namespace into the populator namespace as `copyName`,
   * owned by PVC' (uid `ownerUid`), unless a copy is already there.
   */
  | {
      readonly kind: "copyObject";
      readonly object: {
        readonly kind: "Secret" | "ConfigMap";
        readonly namespace: string;
        readonly name: string;
        readonly secretTypes?: readonly string[];
      };
      readonly copyName: string;
      readonly ownerUid: string;
    }
  | { readonly kind: "rebindPv"; readonly pvName: string }
  | { readonly kind: "startOperation" }
  /** `strategy`: which one filled the volume, when the configured strategy can delegate (fast path → pod). */
  | {
      readonly kind: "finishOperation";
      readonly result: "success" | "failed" | "abandoned";
      readonly strategy?: string;
    }
  /**
   * Work only the strategy's runtime can do (a call to a storage backend, a function of the
   * populator's): handed to `strategy.runtime.perform(action, pvcUid)`. The core never looks inside.
   */
  | { readonly kind: "runtime"; readonly action: unknown };

export interface Plan {
  readonly steps: readonly Step[];
  /** Why nothing more happens now (logged); undefined when the population is complete or not ours. */
  readonly waitingFor?: string;
  /**
   * Look again after this long even if no watched object changes (retry backoff, a pod's progress).
   * Changes of watched objects re-drive the reconcile anyway, so most waits need none.
   */
  readonly requeueAfterMs?: number;
}

export const nothing: Plan = { steps: [] };
