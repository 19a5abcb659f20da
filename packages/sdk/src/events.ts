/**
 * Event reasons a populator records, with upstream lib-volume-populator's spelling:
 * users grep for these and alert on them.
 */
export const EventReason = {
  DataSourceNotFound: "PopulatorDataSourceNotFound",
  Created: "PopulatorCreated",
  CreationError: "PopulatorCreationError",
  Failed: "PopulatorFailed",
  Finished: "PopulatorFinished",
  PvcPrimeCreationError: "PopulatorPVCPrimeCreationError",
  WaitForDataPopulationFinished: "PopulatorWaitForDataPopulationFinished",
  StorageClassCreationError: "PopulatorStorageClassCreationError",
  OperationStartError: "PopulateOperationStartError",
  OperationStartSuccess: "PopulateOperationStartSuccess",
  OperationFailed: "PopulateOperationFailed",
  OperationFinished: "PopulateOperationFinished",
  // volpop additions.
  DataSourceInvalid: "PopulatorDataSourceInvalid",
  CrossNamespaceNotAllowed: "PopulatorCrossNamespaceNotAllowed",
  CrossNamespaceNotGranted: "PopulatorCrossNamespaceNotGranted",
  Progress: "PopulatorProgress",
  /** The populator pod cannot start: its image cannot be pulled, its container not created. */
  PodNotStarting: "PopulatorPodNotStarting",
} as const;

export type EventReason = (typeof EventReason)[keyof typeof EventReason];
