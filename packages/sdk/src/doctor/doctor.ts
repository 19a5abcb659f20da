import type { KubeConfig } from "@kubernetes/client-node";
import { diagnoseCluster } from "./cluster-rules.ts";
import { type GatherOptions, gatherClusterSnapshot, gatherPvcSnapshot } from "./gather.ts";
import { diagnosePvc } from "./pvc-rules.ts";
import type { DoctorReport } from "./report.ts";

/**
 * Why PVC `namespace/name` is not Bound yet, and what to do: reads the cluster (read-only), then
 * judges. Rejects with a `DoctorConnectionError` when the API server cannot be reached.
 */
export async function doctorPvc(
  kubeConfig: KubeConfig,
  target: { readonly namespace: string; readonly name: string },
  options: GatherOptions = {},
): Promise<DoctorReport> {
  return diagnosePvc(await gatherPvcSnapshot(kubeConfig, target, options));
}

/** Whether the cluster is ready for volume populators, and whether each registered one is served. */
export async function doctorCluster(
  kubeConfig: KubeConfig,
  options: GatherOptions = {},
): Promise<DoctorReport> {
  return diagnoseCluster(await gatherClusterSnapshot(kubeConfig, options));
}
