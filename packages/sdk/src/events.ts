/**
 * Event reasons a populator records on the user's PVC, with upstream lib-volume-populator's spelling:
 * users grep for these and alert on them. Each constant's comment is its entry in the docs site's
 * events reference (generated from this file), so it says when the event is recorded and its type.
 */
export const EventReason = {
  /**
   * Warning: the data source named by `dataSourceRef` (or a Secret or ConfigMap it names) does not
   * exist yet; the populator waits for it and tries again.
   */
  DataSourceNotFound: "PopulatorDataSourceNotFound",
  /** Normal: the Pod strategy created the populator pod; the message names it and the attempt. */
  Created: "PopulatorCreated",
  /**
   * Warning: the populator pod was not created. Either the API server refused it (the message gives
   * its words after "refused by the API server": Pod Security admission, a ResourceQuota, an
   * admission policy, the controller's RBAC; retried with back-off), or the populator's `mutatePod`
   * made a pod the SDK refuses, or the pod's environment is too long for Linux (fixing the populator
   * is the way out).
   */
  CreationError: "PopulatorCreationError",
  /**
   * Warning: a population attempt failed. Either it is retried after a delay the message gives, or,
   * after the last attempt (or when the fast path cannot take it and fallback is off), it is given
   * up: delete and re-create the PVC to try again.
   */
  Failed: "PopulatorFailed",
  /** Normal: the volume is populated and bound to the PVC; the message names the data source. */
  Finished: "PopulatorFinished",
  /**
   * Warning: PVC' (the populator's own claim) was not created. Either the API server refused it (the
   * message gives its words after "refused by the API server": a ResourceQuota or LimitRange of the
   * populator's namespace, an admission policy, the controller's RBAC; retried with back-off), or
   * the populator's `mutatePrimePvc` made one the SDK refuses.
   */
  PvcPrimeCreationError: "PopulatorPVCPrimeCreationError",
  /** Upstream's; volpop does not record it (the PVC's progress annotation says what it waits for). */
  WaitForDataPopulationFinished: "PopulatorWaitForDataPopulationFinished",
  /** Upstream's; volpop does not record it (it creates no StorageClass). */
  StorageClassCreationError: "PopulatorStorageClassCreationError",
  /** Upstream's; volpop does not record it (a failed start is a {@link EventReason.Failed} attempt). */
  OperationStartError: "PopulateOperationStartError",
  /** Normal: a strategy that populates without a pod (a function strategy) started an attempt. */
  OperationStartSuccess: "PopulateOperationStartSuccess",
  /** Upstream's; volpop does not record it (a failed operation is a {@link EventReason.Failed} attempt). */
  OperationFailed: "PopulateOperationFailed",
  /** Upstream's; volpop does not record it (a finished population is {@link EventReason.Finished}). */
  OperationFinished: "PopulateOperationFinished",
  // volpop additions.
  /**
   * Warning: the data source fails the populator's validation (the message lists the problems), or a
   * Secret it names is of a type the populator cannot use. Fix the source; the PVC waits.
   */
  DataSourceInvalid: "PopulatorDataSourceInvalid",
  /** Warning: `dataSourceRef` names another namespace, and this populator does not accept cross-namespace sources. */
  CrossNamespaceNotAllowed: "PopulatorCrossNamespaceNotAllowed",
  /**
   * Warning: `dataSourceRef` names another namespace, and no ReferenceGrant there lets PVCs of this
   * namespace use the source; checked again periodically.
   */
  CrossNamespaceNotGranted: "PopulatorCrossNamespaceNotGranted",
  /** Reserved; volpop reports progress in the PVC's `<prefix>/populate-progress` annotation instead. */
  Progress: "PopulatorProgress",
  /**
   * Warning: the populator pod cannot start: no node can run it (the scheduler's words: e.g. the node
   * holding a node-local volume is cordoned), its image cannot be pulled, its container not created.
   * The message says when the attempt fails unless the pod starts by then.
   */
  PodNotStarting: "PopulatorPodNotStarting",
  /**
   * Warning: the running populator pod is no longer ready, which for a pod without readiness probes
   * means its node stopped reporting. The population waits for the node: the volume is there.
   */
  PodNotReady: "PopulatorPodNotReady",
} as const;

export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/**
 * What a {@link EventReason.CreationError} or {@link EventReason.PvcPrimeCreationError} event says
 * after `<object> not created: ` when the API server refused the object (executor.ts), before the API
 * server's own words; doctor tells such a refusal from the SDK's own by it.
 */
export const REFUSED_BY_API_SERVER = "refused by the API server";
