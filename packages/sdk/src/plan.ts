import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import type { PopulateRequest } from "./fastpath/protocol.ts";

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
   * Records on PVC' which strategy fills it (once, so a restarted controller keeps to it); a fallback
   * is also told on the user's PVC with `reason`. Counted in `volpop_fastpath_decisions_total`.
   */
  | {
      readonly kind: "chooseStrategy";
      readonly strategy: "csi-fastpath" | "pod";
      readonly reason: string;
      readonly message: string;
      readonly endpoint?: string;
    }
  /** Asks the fast-path backend at `endpoint` to populate (idempotent on the request's operation id). */
  | { readonly kind: "fastPathPopulate"; readonly endpoint: string; readonly request: PopulateRequest }
  /** Cancels and forgets the PVC's fast-path operation at `endpoint`. */
  | { readonly kind: "fastPathCancel"; readonly endpoint: string };

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
