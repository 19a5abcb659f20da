import {
  createTestNamespace,
  deleteNamespace,
  type Kube,
  waitForNamespaceGone,
} from "../test/support/kube.ts";
import { forEachConcurrently, releaseFinalizer } from "./claims.ts";
import { benchPopulate, type PopulateOptions, type PopulateRun } from "./populate.ts";

/**
 * A populator must not pay for every PVC of the cluster: N PVCs that are not ours are put in the
 * cluster, then each contender runs one population among them. What grows with
 * N is what the controller keeps of other people's objects.
 *
 * The foreign PVCs are made so that kube-controller-manager leaves them alone, as a real cluster's
 * are most of the time: each names a PV that does not exist, which the PV controller keeps Pending
 * without a write or an event. (Bound claims would need a PV each, and the PV controller writes every
 * new PV's phase at ~5 a second: 30 minutes for 10,000, while PVC' of the measured population waits
 * behind them in its queue.)
 */

export interface ForeignOptions extends Omit<PopulateOptions, "sizes"> {
  /** Cumulative: each count adds claims to those of the one before. */
  readonly counts: readonly number[];
}

export interface ForeignRun extends PopulateRun {
  readonly foreignPvcs: number;
}

/** How many creates are in flight at once: fast, without tripping the API server's rate limits. */
const CREATE_CONCURRENCY = 32;

export async function benchForeign(options: ForeignOptions): Promise<ForeignRun[]> {
  const { api, log } = options;
  const namespace = await createTestNamespace(api, "bench-foreign");
  const runs: ForeignRun[] = [];
  let made = 0;
  try {
    for (const count of [...options.counts].sort((a, b) => a - b)) {
      log(`foreign: creating ${count - made} more PVCs that are not ours (${count} in all)`);
      await createForeignClaims(api, namespace, made, count);
      made = count;
      for (const run of await benchPopulate({ ...options, sizes: [1] }))
        runs.push({ ...run, foreignPvcs: count });
    }
  } finally {
    log("foreign: deleting the foreign PVCs");
    // Left to kube-controller-manager, deleting 10,000 claims takes it 8 minutes, which slows
    // whatever runs next; none of them is in use.
    await releaseFinalizer(api, namespace, "kubernetes.io/pvc-protection", CREATE_CONCURRENCY);
    await deleteNamespace(api, namespace);
    await waitForNamespaceGone(api, namespace, 900_000).catch(() => undefined);
  }
  return runs;
}

async function createForeignClaims(api: Kube, namespace: string, from: number, to: number): Promise<void> {
  await forEachConcurrently(from, to, CREATE_CONCURRENCY, async (i) => {
    await api.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: `foreign-${i}` },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "1Mi" } },
          storageClassName: "",
          volumeName: `${namespace}-missing-${i}`,
        },
      },
    });
  });
}

/** Per count of foreign PVCs: the contenders' memory, CPU and the one population's latency. */
export function foreignReport(runs: readonly ForeignRun[], contenders: readonly string[]): string {
  const counts = [...new Set(runs.map((r) => r.foreignPvcs))];
  const figures = [
    ["controller peak RSS (MiB)", (r: ForeignRun) => r.peakRssMiB, 0],
    ["controller peak private RSS, binary excluded (MiB)", (r: ForeignRun) => r.peakAnonymousRssMiB, 0],
    ["controller CPU, whole life (s)", (r: ForeignRun) => r.cpuSeconds, 2],
    ["create→Bound of one population (s)", (r: ForeignRun) => r.p50Seconds, 1],
  ] as const;
  const others = contenders.slice(1);
  const lines = [
    `| PVCs not ours | figure | ${contenders.join(" | ")} |${others.map((o) => ` ÷ ${o} |`).join("")}`,
    `| --- | --- |${contenders.map(() => " --- |").join("")}${others.map(() => " --- |").join("")}`,
  ];
  for (const count of counts) {
    for (const [label, pick, digits] of figures) {
      const values = contenders.map((c) => {
        const picked = runs.filter((r) => r.foreignPvcs === count && r.contender === c).map(pick);
        return picked.length === 0 ? Number.NaN : picked.reduce((a, b) => a + b, 0) / picked.length;
      });
      const ratios = values.slice(1).map((v) => ` ${((values[0] ?? Number.NaN) / v).toFixed(2)}× |`);
      lines.push(
        `| ${count} | ${label} | ${values.map((v) => v.toFixed(digits)).join(" | ")} |${ratios.join("")}`,
      );
    }
  }
  return lines.join("\n");
}
