import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { apiserverMetrics, countsDelta, requestCounts, total } from "../test/support/apiserver-metrics.ts";
import { applyCrdFile } from "../test/support/crd.ts";
import {
  createPvc,
  createTestNamespace,
  deleteNamespace,
  type Kube,
  waitFor,
  waitForNamespaceGone,
} from "../test/support/kube.ts";
import { releaseFinalizer } from "./claims.ts";
import { percentile, processStats, samplePeakAnonymousRss } from "./process-stats.ts";
import { alternatingRounds } from "./rounds.ts";
import { PHASES, type PopulationTimeline, recordTimelines } from "./timeline.ts";

/**
 * Side by side: N `Hello` objects and N PVCs naming them, created at once, populated by one hello
 * controller at a time (ours, upstream's), each run as a local process against the same cluster with
 * the same flags, alternating within each round. Everything is measured from outside the
 * controllers: create→Bound per PVC, the API server's request counters, the process's /proc figures,
 * and a timeline of each population's steps from watches, which shows where the time goes.
 */

/** A hello controller to run: both take upstream hello-populator's flags. */
export interface Contender {
  readonly name: string;
  readonly command: string;
  /** Arguments before the common flags (e.g. the script for node). */
  readonly leadingArgs: readonly string[];
  /** The populator pod's image. */
  readonly image: string;
}

export interface PopulateOptions {
  readonly api: Kube;
  readonly kubeconfig: string;
  readonly storageClass: string;
  readonly sizes: readonly number[];
  readonly rounds: number;
  readonly contenders: readonly Contender[];
  readonly log: (line: string) => void;
}

export interface PopulateRun {
  readonly contender: string;
  readonly pvcs: number;
  readonly round: number;
  readonly latenciesSeconds: readonly number[];
  readonly p50Seconds: number;
  readonly p95Seconds: number;
  readonly wallSeconds: number;
  readonly apiRequestsPerPopulation: number;
  readonly apiRequests: Record<string, number>;
  readonly peakRssMiB: number;
  /** Peak private memory (RssAnon), without the program's binary; see `samplePeakAnonymousRss`. */
  readonly peakAnonymousRssMiB: number;
  /** CPU over the controller's life: start-up, caches, the run. */
  readonly cpuSeconds: number;
  /** CPU from the first create to the last PVC bound. */
  readonly cpuSecondsDuringRun: number;
  readonly timelines: readonly PopulationTimeline[];
}

const HELLO_GROUP = "hello.example.com";
/** The finalizer both hello controllers put on a user's PVC while they populate it. */
const PROTECTION = `${HELLO_GROUP}/populate-target-protection`;

export async function benchPopulate(options: PopulateOptions): Promise<PopulateRun[]> {
  // Ours is upstream's Hello (same group, version, kind, fields) plus validation: both serve it.
  await applyCrdFile(
    options.api.config,
    path.join(import.meta.dirname, "../packages/populator-hello/deploy/crd.yaml"),
  );
  const runs: PopulateRun[] = [];
  for (const n of options.sizes) {
    runs.push(
      ...(await alternatingRounds(options.rounds, options.contenders, (contender, round) => {
        options.log(`populate: ${contender.name}, ${n} PVC(s), round ${round}/${options.rounds}`);
        return runOnce(options, contender, n, round);
      })),
    );
  }
  return runs;
}

async function runOnce(options: PopulateOptions, contender: Contender, n: number, round: number) {
  const { api } = options;
  const populatorNs = await createTestNamespace(api, "bench-populator");
  const userNs = await createTestNamespace(api, "bench");
  const controller = spawn(
    contender.command,
    [
      ...contender.leadingArgs,
      "--mode=controller",
      `--kubeconfig=${options.kubeconfig}`,
      `--namespace=${populatorNs}`,
      `--image-name=${contender.image}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  controller.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // waitFor retries a check that throws: a controller that died must end the run at once instead.
  const died = new Promise<never>((_, reject) =>
    controller.once("exit", (code, signal) =>
      reject(new Error(`${contender.name} exited (${signal ?? code}): ${stderr}`)),
    ),
  );
  died.catch(() => undefined);
  const recorder = await recordTimelines(api.config, userNs, populatorNs);
  const anonymous = samplePeakAnonymousRss(pidOf(controller));
  try {
    // Both list and watch before acting; a few seconds is past either's start-up.
    await sleep(4000);
    if (controller.exitCode !== null) throw new Error(`${contender.name} exited: ${stderr}`);
    const before = requestCounts(await apiserverMetrics(api.config));
    const cpuBefore = processStats(pidOf(controller)).cpuSeconds;
    const custom = api.config.makeApiClient(CustomObjectsApi);
    const created = new Map<string, number>();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const name = `p${i}`;
        await custom.createNamespacedCustomObject({
          group: HELLO_GROUP,
          version: "v1alpha1",
          namespace: userNs,
          plural: "hellos",
          body: {
            apiVersion: `${HELLO_GROUP}/v1alpha1`,
            kind: "Hello",
            metadata: { name },
            spec: { fileName: "hello.txt", fileContents: `bench ${i}` },
          },
        });
        const at = Date.now();
        const pvc = await createPvc(api, userNs, name, {
          storageClassName: options.storageClass,
          volumeMode: "Filesystem",
          dataSourceRef: { apiGroup: HELLO_GROUP, kind: "Hello", name },
        });
        created.set(name, at);
        recorder.created(pvc.metadata?.uid ?? name, at);
      }),
    );
    const bound = new Map<string, number>();
    const allBound = waitFor(
      `${n} PVCs to bind with ${contender.name}`,
      async () => {
        const list = await api.core.listNamespacedPersistentVolumeClaim({ namespace: userNs });
        for (const pvc of list.items) {
          const name = pvc.metadata?.name ?? "";
          if (pvc.status?.phase === "Bound" && !bound.has(name)) bound.set(name, Date.now());
        }
        return bound.size === n ? true : undefined;
      },
      900_000,
    );
    await Promise.race([allBound, died]);
    const stats = processStats(pidOf(controller));
    const peakAnonymousBytes = anonymous.stop();
    // The clean-up after Bound is part of a population (and of its API requests): wait for PVC', the
    // pods and the finalizers on the users' PVCs to go (both controllers release the finalizer last).
    await waitFor(
      `PVC', pods and finalizers of ${contender.name} to be removed`,
      async () => {
        const [primes, pods, claims] = await Promise.all([
          api.core.listNamespacedPersistentVolumeClaim({ namespace: populatorNs }),
          api.core.listNamespacedPod({ namespace: populatorNs }),
          api.core.listNamespacedPersistentVolumeClaim({ namespace: userNs }),
        ]);
        const protectedClaims = claims.items.filter((c) => c.metadata?.finalizers?.includes(PROTECTION));
        return primes.items.length === 0 && pods.items.length === 0 && protectedClaims.length === 0
          ? true
          : undefined;
      },
      300_000,
    );
    const after = requestCounts(await apiserverMetrics(api.config));
    const latencies = [...bound].map(([name, at]) => (at - (created.get(name) ?? at)) / 1000);
    const requests = countsDelta(before, after);
    return {
      contender: contender.name,
      pvcs: n,
      round,
      latenciesSeconds: latencies,
      p50Seconds: percentile(latencies, 50),
      p95Seconds: percentile(latencies, 95),
      wallSeconds: (Math.max(...bound.values()) - started) / 1000,
      apiRequestsPerPopulation: total(requests) / n,
      apiRequests: Object.fromEntries([...requests].sort(([, a], [, b]) => b - a)),
      peakRssMiB: stats.peakRssBytes / 1024 / 1024,
      peakAnonymousRssMiB: peakAnonymousBytes / 1024 / 1024,
      cpuSeconds: stats.cpuSeconds,
      cpuSecondsDuringRun: stats.cpuSeconds - cpuBefore,
      timelines: [...recorder.timelines.values()],
    };
  } finally {
    anonymous.stop();
    recorder.stop();
    controller.kill("SIGTERM");
    // A run cut short leaves the finalizer of a controller that is gone: the namespace would never go.
    await releaseFinalizer(api, userNs, PROTECTION);
    await deleteNamespace(api, userNs);
    await waitForPvsReleased(api, userNs);
    await deleteNamespace(api, populatorNs);
    // The namespace controller's clean-up lists and deletes every kind: not the next run's requests.
    for (const namespace of [userNs, populatorNs]) {
      await waitForNamespaceGone(api, namespace, 300_000).catch(() => undefined);
    }
  }
}

function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error("controller process did not start");
  return child.pid;
}

// The next run starts on a quiet cluster: the PVs of this one deleted by the provisioner.
async function waitForPvsReleased(api: Kube, namespace: string): Promise<void> {
  await waitFor(
    `PVs of ${namespace} to be deleted`,
    async () => {
      const pvs = await api.core.listPersistentVolume();
      return pvs.items.some((pv) => pv.spec?.claimRef?.namespace === namespace) ? undefined : true;
    },
    300_000,
  ).catch(() => undefined);
}

/** Median over rounds of each run's figure. */
function medianOf(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The markdown section: one row per contender and size (medians over rounds), ratios, and phases. */
export function populateReport(runs: readonly PopulateRun[], contenders: readonly string[]): string {
  const sizes = [...new Set(runs.map((r) => r.pvcs))];
  const figures = [
    ["p50 create→Bound (s)", (r: PopulateRun) => r.p50Seconds, 1],
    ["p95 create→Bound (s)", (r: PopulateRun) => r.p95Seconds, 1],
    ["all bound, wall (s)", (r: PopulateRun) => r.wallSeconds, 1],
    ["API requests / population", (r: PopulateRun) => r.apiRequestsPerPopulation, 0],
    ["controller peak RSS (MiB)", (r: PopulateRun) => r.peakRssMiB, 0],
    ["controller peak private RSS, binary excluded (MiB)", (r: PopulateRun) => r.peakAnonymousRssMiB, 0],
    ["controller CPU, whole life (s)", (r: PopulateRun) => r.cpuSeconds, 2],
    ["controller CPU during the run (s)", (r: PopulateRun) => r.cpuSecondsDuringRun, 2],
  ] as const;
  const lines: string[] = [];
  // Ratios are the first contender (volpop now) over each other one: below 1 means volpop is ahead.
  const others = contenders.slice(1);
  lines.push(
    `| PVCs | figure (median of rounds) | ${contenders.join(" | ")} |${others.map((o) => ` ÷ ${o} |`).join("")}`,
    `| --- | --- |${contenders.map(() => " --- |").join("")}${others.map(() => " --- |").join("")}`,
  );
  for (const n of sizes) {
    for (const [label, pick, digits] of figures) {
      const values = contenders.map((c) =>
        medianOf(runs.filter((r) => r.pvcs === n && r.contender === c).map(pick)),
      );
      const ratios = values.slice(1).map((v) => ` ${((values[0] ?? Number.NaN) / v).toFixed(2)}× |`);
      lines.push(
        `| ${n} | ${label} | ${values.map((v) => v.toFixed(digits)).join(" | ")} |${ratios.join("")}`,
      );
    }
  }
  lines.push("", phaseReport(runs, contenders), "", requestReport(runs, contenders));
  return lines.join("\n");
}

/** Median and max seconds of each step of a population, over every run of the largest size. */
function phaseReport(runs: readonly PopulateRun[], contenders: readonly string[]): string {
  const n = Math.max(...runs.map((r) => r.pvcs));
  const lines = [
    `Where the time goes at ${n} PVCs (seconds, median / max over every population of every round; milestones seen from watches):`,
    "",
    `| step | ${contenders.join(" | ")} |`,
    `| --- |${contenders.map(() => " --- |").join("")}`,
  ];
  for (const [from, to] of PHASES) {
    const cells = contenders.map((c) => {
      const values = runs
        .filter((r) => r.pvcs === n && r.contender === c)
        .flatMap((r) => r.timelines)
        .flatMap((t) => {
          const start = t[from];
          const end = t[to];
          return start !== undefined && end !== undefined ? [(end - start) / 1000] : [];
        });
      return values.length === 0
        ? "–"
        : `${percentile(values, 50).toFixed(1)} / ${Math.max(...values).toFixed(1)}`;
    });
    lines.push(`| ${from} → ${to} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** API requests per population by verb and resource at the largest size, medians over rounds. */
function requestReport(runs: readonly PopulateRun[], contenders: readonly string[]): string {
  const n = Math.max(...runs.map((r) => r.pvcs));
  const keys = [
    ...new Set(runs.filter((r) => r.pvcs === n).flatMap((r) => Object.keys(r.apiRequests))),
  ].sort();
  const lines = [
    `API requests per population at ${n} PVCs, by verb and resource (the whole cluster: kubelet, scheduler and provisioner included; median over rounds):`,
    "",
    `| request | ${contenders.join(" | ")} |`,
    `| --- |${contenders.map(() => " --- |").join("")}`,
  ];
  for (const key of keys) {
    const cells = contenders.map((c) =>
      medianOf(
        runs.filter((r) => r.pvcs === n && r.contender === c).map((r) => (r.apiRequests[key] ?? 0) / n),
      ).toFixed(1),
    );
    if (cells.every((cell) => cell === "0.0")) continue;
    lines.push(`| ${key} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
