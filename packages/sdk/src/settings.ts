/** How the controller behaves; every field has a default in {@link withDefaults}. */
export interface PopulationSettings {
  /** Namespace of PVC' and of populator pods (`--namespace`). */
  readonly namespace: string;
  /** Image of the populator pod (`--image-name`), handed to `Populator.populatorPod`. */
  readonly imageName: string | undefined;
  /**
   * Populator pods that may fail before the population is given up, reported on the PVC and left
   * alone. Upstream retries forever; a pod that fails five times in a row is not going to succeed
   * without someone changing something.
   */
  readonly maxAttempts: number;
  /** Wait before re-creating a failed pod; doubles with each failure. */
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** Keep a failed pod (and PVC') after the last attempt, for `kubectl logs` and debugging. */
  readonly retainOnFailure: boolean;
  /**
   * Allow `dataSourceRef.namespace` to name another namespace, when a gateway-api ReferenceGrant there
   * allows it (upstream's CrossNamespaceVolumeDataSource).
   */
  readonly allowCrossNamespace: boolean;
  /**
   * How long a populator pod may keep failing to start (its image not pullable, a container that
   * cannot be created) before the attempt counts as failed. Said on the user's PVC meanwhile. A
   * pod's own `activeDeadlineSeconds` (hours) is for pods that run too long, not for these.
   */
  readonly podStartTimeoutMs: number;
  /** Re-read a running populator pod this often, for progress. */
  readonly progressIntervalMs: number;
  /**
   * Look for a ReferenceGrant again this often while a cross-namespace source waits for one: grants
   * are not watched, since most clusters do not have their CRD.
   */
  readonly referenceGrantRecheckMs: number;
}

/**
 * Default `--workers` (the controller's `workers`). Upstream's populator runs a single worker; its
 * sibling controller, the data source validator, defaults `--worker-threads` to 10. The queue never
 * hands one PVC to two workers, so parallelism is safe, and 10 keeps a burst of new PVCs from
 * queueing behind one slow API call without flooding the API server.
 */
export const DEFAULT_WORKERS = 10;

export const defaultSettings: Omit<PopulationSettings, "namespace" | "imageName"> = {
  maxAttempts: 5,
  retryBaseDelayMs: 10_000,
  retryMaxDelayMs: 5 * 60_000,
  retainOnFailure: false,
  allowCrossNamespace: false,
  progressIntervalMs: 10_000,
  referenceGrantRecheckMs: 15_000,
  podStartTimeoutMs: 5 * 60_000,
};

export function withDefaults(
  partial: Partial<PopulationSettings> & Pick<PopulationSettings, "namespace">,
): PopulationSettings {
  return { ...defaultSettings, imageName: undefined, ...partial };
}

/** Delay before attempt `failures + 1`: base × 2^(failures − 1), capped. */
export function retryDelayMs(settings: PopulationSettings, failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(settings.retryMaxDelayMs, settings.retryBaseDelayMs * 2 ** (failures - 1));
}
