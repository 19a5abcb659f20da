import type { FunctionPopulation, FunctionStrategyOptions } from "@volpop/sdk";
import { type BackendClient, OperationState, PopulateRequest, VolumeMode } from "@volpop/sdk/fastpath";

// No vitest here: a controller process of the chaos suite runs these functions too.

/** The spec of a golden-content source, as the function strategy hands it over. */
type GoldenSpec = { content: string };

/**
 * Functions for the function strategy whose no-pod route is a storage vendor's API: the reference
 * fast-path backend, called through its client as any storage API would be (populate starts a copy
 * into the PV's volume, isComplete asks how it goes, cleanup cancels). `beforePopulate` may throw
 * to fail an attempt, as a busy storage API would.
 */
export function backendFunctions(
  client: BackendClient,
  hooks: {
    beforePopulate?(population: FunctionPopulation<GoldenSpec>): void;
    onCleanup?(pvcName: string): void;
  } = {},
): Omit<FunctionStrategyOptions<GoldenSpec>, "pollIntervalMs"> {
  return {
    async populate(population) {
      hooks.beforePopulate?.(population);
      const csi = population.primePv?.spec?.csi;
      await client.populate(
        PopulateRequest.fromPartial({
          operationId: population.pvc.metadata?.uid ?? "",
          attempt: population.attempt,
          csiDriver: csi?.driver ?? "",
          volumeHandle: csi?.volumeHandle ?? "",
          volumeAttributes: { ...csi?.volumeAttributes },
          capacityBytes: 64 * 1024 * 1024,
          volumeMode:
            population.pvc.spec?.volumeMode === "Block"
              ? VolumeMode.VOLUME_MODE_BLOCK
              : VolumeMode.VOLUME_MODE_FILESYSTEM,
          sourceKind: { group: "fastpath.volpop.dev", kind: "GoldenContent" },
          sourceJson: JSON.stringify({ spec: population.source.spec }),
        }),
      );
    },
    async isComplete(population) {
      const operation = await client.getOperation(population.pvc.metadata?.uid ?? "");
      if (operation.state === OperationState.OPERATION_STATE_FAILED) throw new Error(operation.message);
      return operation.state === OperationState.OPERATION_STATE_SUCCEEDED;
    },
    async cleanup({ pvc }) {
      hooks.onCleanup?.(pvc.metadata?.name ?? "");
      await client.cancelOperation(pvc.metadata?.uid ?? "").catch(() => undefined);
    },
  };
}
