import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { Kube } from "../test/support/kube.ts";

/** Calls `fn(i)` for each `i` in `[from, to)`, `concurrency` at a time. */
export async function forEachConcurrently(
  from: number,
  to: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = from;
  const worker = async () => {
    for (let i = next++; i < to; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Takes `finalizer` off every PVC of `namespace` that carries it, as a list item (nothing else on the
 * list is touched), many at once: for a benchmark's own claims whose controller is gone, or that
 * kube-controller-manager would release one by one, so that the namespace can go.
 */
export async function releaseFinalizer(
  api: Kube,
  namespace: string,
  finalizer: string,
  concurrency = 32,
): Promise<void> {
  const claims = await api.core.listNamespacedPersistentVolumeClaim({ namespace }).catch(() => undefined);
  const names = (claims?.items ?? [])
    .filter((claim) => claim.metadata?.finalizers?.includes(finalizer))
    .map((claim) => claim.metadata?.name ?? "");
  await forEachConcurrently(0, names.length, concurrency, async (i) => {
    await api.core
      .patchNamespacedPersistentVolumeClaim(
        {
          name: names[i] ?? "",
          namespace,
          body: { metadata: { "$deleteFromPrimitiveList/finalizers": [finalizer] } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      )
      .catch(() => undefined);
  });
}
