import { targetProtectionFinalizer } from "@volpop/sdk/runtime";
import { type Kube, waitFor } from "../../support/kube.ts";

/** One population of the test populator: the user's PVC, and where its temporaries live. */
export interface Population {
  readonly uid: string;
  readonly name: string;
  readonly userNamespace: string;
  readonly populatorNamespace: string;
  /** The source's API group, which names the finalizer. */
  readonly group: string;
}

/** What a finished population must not have left: PVC', its pod, the finalizer, a PV claimed by PVC'. */
export async function populationLeftovers(api: Kube, population: Population): Promise<string[]> {
  const { uid, name, userNamespace, populatorNamespace, group } = population;
  const left: string[] = [];
  const prime = await api.core
    .readNamespacedPersistentVolumeClaim({ name: `prime-${uid}`, namespace: populatorNamespace })
    .catch(() => undefined);
  if (prime) left.push(`PVC' prime-${uid}`);
  const pod = await api.core
    .readNamespacedPod({ name: `populate-${uid}`, namespace: populatorNamespace })
    .catch(() => undefined);
  if (pod) left.push(`pod populate-${uid}`);
  const pvc = await api.core.readNamespacedPersistentVolumeClaim({ name, namespace: userNamespace });
  if (pvc.metadata?.finalizers?.includes(targetProtectionFinalizer(group))) left.push("finalizer");
  const pvs = await api.core.listPersistentVolume();
  for (const pv of pvs.items)
    if (pv.spec?.claimRef?.name === `prime-${uid}`)
      left.push(`PV ${pv.metadata?.name} (${pv.status?.phase}) claimed by PVC'`);
  return left;
}

/** Waits until `left` finds nothing of a population; fails naming what it still finds. */
export async function waitForNothingLeft(left: () => Promise<string[]>): Promise<void> {
  await waitFor("nothing of the population to be left", async () =>
    (await left()).length === 0 ? true : undefined,
  ).catch(async (error) => {
    throw new Error(`${error}: left ${JSON.stringify(await left())}`);
  });
}
