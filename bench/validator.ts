import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  ApiextensionsV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  type V1PersistentVolumeClaimSpec,
  Watch,
} from "@kubernetes/client-node";
import { apiserverMetrics, countsDelta, requestCounts, total } from "../test/support/apiserver-metrics.ts";
import { applyCrdFile } from "../test/support/crd.ts";
import {
  createTestNamespace,
  deleteNamespace,
  type Kube,
  waitForNamespaceGone,
} from "../test/support/kube.ts";
import { percentile, processStats } from "./process-stats.ts";
import { alternatingRounds } from "./rounds.ts";

/**
 * Side by side: the data-source validator (ours, upstream's `volume-data-source-validator`), each
 * run as a local process with `--kubeconfig` against the same cluster, with the same flags,
 * alternating who goes first within each round. A fresh namespace per run gets N PVCs at once: a
 * third naming a kind a VolumePopulator registers, a third naming unregistered kinds, a third with a
 * core data source (a PVC clone, a VolumeSnapshot, or none). Everything is measured from outside the
 * validators: create → first `UnrecognizedDataSourceKind` Warning per unregistered PVC (a watch on
 * the namespace's events), events they should not have written, the API server's request counters
 * and the process's /proc figures. PVCs name a StorageClass that does not exist, so nothing is
 * provisioned and they stay Pending: the validator is the only thing that acts on them besides the
 * PV controller (same for both contenders).
 */

/** A validator to run: both take upstream's flags. */
export interface ValidatorContender {
  readonly name: string;
  readonly command: string;
  /** Arguments before the common flags (e.g. the bundled `main.js` for node). */
  readonly leadingArgs: readonly string[];
}

export interface ValidatorBenchOptions {
  readonly api: Kube;
  readonly kubeconfig: string;
  /** PVCs created at once per run. Default 100. */
  readonly pvcs?: number;
  readonly rounds: number;
  readonly contenders: readonly ValidatorContender[];
  readonly log: (line: string) => void;
}

export interface ValidatorRun {
  readonly contender: string;
  readonly round: number;
  readonly pvcs: number;
  /** PVCs naming an unregistered kind: each should get one Warning. */
  readonly unregistered: number;
  /** Process start → its Warning on a canary PVC created before it started: start-up plus cache sync. */
  readonly startupSeconds: number;
  /** Per unregistered PVC: its create call returned → its first Warning seen by the watch. */
  readonly latenciesSeconds: readonly number[];
  readonly p50Seconds: number;
  readonly p95Seconds: number;
  /** First create call sent → last first-Warning seen. */
  readonly wallSeconds: number;
  /** Occurrences (summing `count`) of the validator's Warnings on unregistered PVCs, per PVC; 1 is ideal. */
  readonly warningsPerUnregistered: number;
  /** Occurrences of the validator's events on PVCs naming a registered kind or a core source; should be 0. */
  readonly wrongEvents: number;
  /** One Warning's message, to compare wording. */
  readonly warningMessage: string;
  readonly apiRequestsPerPvc: number;
  readonly apiRequests: Record<string, number>;
  readonly peakRssMiB: number;
  /** CPU over the process's life: start-up, caches, the run, the settle time. */
  readonly cpuSeconds: number;
  /** CPU from just before the first create to the end of the settle time. */
  readonly cpuSecondsDuringRun: number;
}

/** Upstream's reason and event source component, which ours keeps. */
const REASON = "UnrecognizedDataSourceKind";
const COMPONENT = "volume-data-source-validator";

const CRD_FILE = fileURLToPath(new URL("../packages/validator/deploy/crd.yaml", import.meta.url));
const VP = { group: "populator.storage.k8s.io", version: "v1beta1", plural: "volumepopulators" } as const;
const VP_CRD = `${VP.plural}.${VP.group}`;

/** The kind the benchmark makes sure a VolumePopulator registers (left in place for later runs). */
const REGISTERED = { group: "hello.example.com", kind: "Hello" } as const;
const REGISTERED_POPULATOR = "volpop-bench-validator-hello";
/** Unregistered kinds in several groups, including near misses of the registered one. */
const UNREGISTERED = [
  { group: "unknown.example.com", kind: "Thing" },
  { group: "acme.bench.volpop.dev", kind: "Backup" },
  { group: "hello.example.com", kind: "Goodbye" },
  { group: "hello.example.net", kind: "Hello" },
] as const;
const CANARY = { group: "canary.bench.volpop.dev", kind: "Canary" } as const;
const STORAGE_CLASS = "volpop-bench-none";

/** How long a validator already running elsewhere on the cluster gets to give itself away. */
const FOREIGN_CHECK_MS = 3000;
const STARTUP_TIMEOUT_MS = 60_000;
const EVENTS_TIMEOUT_MS = 120_000;
/** After the last expected Warning: time for late, repeated or wrong events to show up. */
const SETTLE_MS = 5000;
const EXIT_TIMEOUT_MS = 15_000;

export async function benchValidator(options: ValidatorBenchOptions): Promise<ValidatorRun[]> {
  const n = options.pvcs ?? 100;
  if (!Number.isSafeInteger(n) || n < 3) throw new RangeError(`pvcs must be a whole number ≥ 3, not ${n}`);
  await ensureVolumePopulator(options.api, options.log);
  return alternatingRounds(options.rounds, options.contenders, (contender, round) => {
    options.log(`validator: ${contender.name}, ${n} PVC(s), round ${round}/${options.rounds}`);
    return runOnce(options, contender, n, round);
  });
}

/** The CRD if missing; a VolumePopulator registering {@link REGISTERED} if none does. */
async function ensureVolumePopulator(api: Kube, log: (line: string) => void): Promise<void> {
  const extensions = api.config.makeApiClient(ApiextensionsV1Api);
  const present = await extensions.readCustomResourceDefinition({ name: VP_CRD }).then(
    () => true,
    (error: { code?: number }) => {
      if (error.code === 404) return false;
      throw error;
    },
  );
  if (!present) {
    log(`validator: applying the VolumePopulator CRD from ${CRD_FILE}`);
    await applyCrdFile(api.config, CRD_FILE);
  }
  const registered = await registrations(api);
  const taken = [...UNREGISTERED, CANARY].filter((k) => registered.some((r) => sameKind(r, k)));
  if (taken.length > 0) {
    throw new Error(
      `a VolumePopulator on this cluster registers ${taken.map((k) => `${k.group}/${k.kind}`).join(", ")}, which the benchmark needs unregistered`,
    );
  }
  if (registered.some((r) => sameKind(r, REGISTERED))) return;
  log(
    `validator: creating VolumePopulator ${REGISTERED_POPULATOR} for ${REGISTERED.group}/${REGISTERED.kind}`,
  );
  await api.config
    .makeApiClient(CustomObjectsApi)
    .createClusterCustomObject({
      ...VP,
      body: {
        apiVersion: `${VP.group}/${VP.version}`,
        kind: "VolumePopulator",
        metadata: { name: REGISTERED_POPULATOR },
        sourceKind: { ...REGISTERED },
      },
    })
    .catch((error: { code?: number }) => {
      if (error.code !== 409) throw error;
      throw new Error(
        `VolumePopulator ${REGISTERED_POPULATOR} exists but does not register ${REGISTERED.group}/${REGISTERED.kind}: delete it`,
      );
    });
}

interface Kind {
  readonly group: string;
  readonly kind: string;
}

async function registrations(api: Kube): Promise<Kind[]> {
  const list = (await api.config.makeApiClient(CustomObjectsApi).listClusterCustomObject({ ...VP })) as {
    items?: { sourceKind?: { group?: string; kind?: string } }[];
  };
  return (list.items ?? []).flatMap((vp) =>
    vp.sourceKind?.kind ? [{ group: vp.sourceKind.group ?? "", kind: vp.sourceKind.kind }] : [],
  );
}

function sameKind(a: Kind, b: Kind): boolean {
  return a.group === b.group && a.kind === b.kind;
}

type Role = "registered" | "unregistered" | "core";

/** The PVC spec for the i-th PVC of a run, and what it names. */
function pvcSpec(i: number): { role: Role; spec: V1PersistentVolumeClaimSpec } {
  const base: V1PersistentVolumeClaimSpec = {
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: "16Mi" } },
    storageClassName: STORAGE_CLASS,
    volumeMode: "Filesystem",
  };
  const variant = Math.floor(i / 3);
  switch (i % 3) {
    case 0:
      return {
        role: "registered",
        spec: {
          ...base,
          dataSourceRef: { apiGroup: REGISTERED.group, kind: REGISTERED.kind, name: `s${i}` },
        },
      };
    case 1: {
      const kind = UNREGISTERED[variant % UNREGISTERED.length] ?? UNREGISTERED[0];
      return {
        role: "unregistered",
        spec: { ...base, dataSourceRef: { apiGroup: kind.group, kind: kind.kind, name: `s${i}` } },
      };
    }
    default:
      // `dataSource`, as users write it; the API server mirrors it into `dataSourceRef`.
      switch (variant % 3) {
        case 0:
          return {
            role: "core",
            spec: { ...base, dataSource: { kind: "PersistentVolumeClaim", name: `s${i}` } },
          };
        case 1:
          return {
            role: "core",
            spec: {
              ...base,
              dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: `s${i}` },
            },
          };
        default:
          return { role: "core", spec: base };
      }
  }
}

/** What the event watch has seen of the validator's events, by PVC name. */
interface EventLog {
  /** PVC name → when its first validator Warning with {@link REASON} arrived. */
  readonly firstWarning: Map<string, number>;
  /** Event uid → the validator's event as last seen (its `count` grows when client-go aggregates). */
  readonly events: Map<string, CoreV1Event>;
  /** Set when the watch ended before it was stopped. */
  ended: string | undefined;
  stop(): void;
}

async function watchValidatorEvents(api: Kube, namespace: string): Promise<EventLog> {
  const log: EventLog = { firstWarning: new Map(), events: new Map(), ended: undefined, stop: () => {} };
  let stopped = false;
  const controller = await new Watch(api.config).watch(
    `/api/v1/namespaces/${namespace}/events`,
    {},
    (type: string, event: CoreV1Event) => {
      const at = Date.now();
      if (type === "DELETED" || type === "BOOKMARK") return;
      if (event.source?.component !== COMPONENT && event.reportingComponent !== COMPONENT) return;
      if (event.involvedObject?.kind !== "PersistentVolumeClaim") return;
      log.events.set(event.metadata?.uid ?? `${event.metadata?.name}`, event);
      const pvc = event.involvedObject.name ?? "";
      if (event.type === "Warning" && event.reason === REASON && !log.firstWarning.has(pvc)) {
        log.firstWarning.set(pvc, at);
      }
    },
    (error: unknown) => {
      if (!stopped) log.ended = `the event watch ended early${error ? `: ${String(error)}` : ""}`;
    },
  );
  log.stop = () => {
    stopped = true;
    controller.abort();
  };
  return log;
}

/** Occurrences of the validator's events on the PVCs `names` (client-go aggregates repeats into `count`). */
function occurrences(events: Iterable<CoreV1Event>, names: ReadonlySet<string>, reason?: string): number {
  let sum = 0;
  for (const event of events) {
    if (!names.has(event.involvedObject?.name ?? "")) continue;
    if (reason !== undefined && event.reason !== reason) continue;
    sum += Math.max(1, event.count ?? 1);
  }
  return sum;
}

interface Started {
  readonly child: ChildProcess;
  readonly spawnedAt: number;
  /** The last lines of its stdout and stderr together. */
  output(): string;
  /** Set once the process has exited (or failed to start). */
  exited(): string | undefined;
}

function start(contender: ValidatorContender, kubeconfig: string): Started {
  const args = [
    ...contender.leadingArgs,
    `--kubeconfig=${kubeconfig}`,
    // Both defaults, spelled out: one process, no Lease; no metrics/health server (no port to pick).
    "--leader-election=false",
    "--http-endpoint=",
    "--worker-threads=10",
  ];
  const spawnedAt = Date.now();
  const child = spawn(contender.command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let exit: string | undefined;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  // Ours logs to stdout (pino), upstream to stderr (klog): keep both, and drain both so neither blocks.
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("error", (error) => {
    exit ??= `failed to start: ${error.message}`;
  });
  child.on("exit", (code, signal) => {
    exit ??= signal ? `killed by ${signal}` : `exited with code ${code}`;
  });
  return {
    child,
    spawnedAt,
    output: () => output.split("\n").slice(-30).join("\n"),
    exited: () => exit,
  };
}

/**
 * Polls `check` every 100 ms until it returns true; its errors propagate at once (unlike `waitFor`).
 * On timeout, the error ends with `detail()`.
 */
async function until(
  what: string,
  check: () => boolean,
  timeoutMs: number,
  detail: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${detail()}`);
    }
    await sleep(100);
  }
}

async function runOnce(
  options: ValidatorBenchOptions,
  contender: ValidatorContender,
  n: number,
  round: number,
): Promise<ValidatorRun> {
  const { api } = options;
  const namespace = await createTestNamespace(api, "bench-validator");
  let events: EventLog | undefined;
  let validator: Started | undefined;
  try {
    events = await watchValidatorEvents(api, namespace);
    const log = events;
    // A canary before the contender starts: a validator already running on the cluster would warn
    // about it, and would then skew every figure. Once the contender runs, its warning about the
    // canary shows it has listed both caches and works: its start-up time, the same for both.
    await api.core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name: "canary" },
        spec: {
          ...pvcSpec(0).spec,
          dataSourceRef: { apiGroup: CANARY.group, kind: CANARY.kind, name: "canary" },
        },
      },
    });
    await sleep(FOREIGN_CHECK_MS);
    if (log.events.size > 0) {
      const [foreign] = log.events.values();
      throw new Error(
        `another data-source validator watches this cluster (it warned about ${namespace}/canary; instance ${JSON.stringify(foreign?.reportingInstance ?? foreign?.source?.host ?? "")}): stop it before benchmarking`,
      );
    }

    validator = start(contender, options.kubeconfig);
    const running = validator;
    const alive = (): void => {
      const exit = running.exited();
      if (exit !== undefined)
        throw new Error(`${contender.name} ${exit}; its last output:\n${running.output()}`);
      if (log.ended !== undefined) throw new Error(log.ended);
    };
    await until(
      `${contender.name} to warn about the canary PVC`,
      () => {
        alive();
        return log.firstWarning.has("canary");
      },
      STARTUP_TIMEOUT_MS,
      () => `; its last output:\n${running.output()}`,
    );
    const startupSeconds = ((log.firstWarning.get("canary") ?? 0) - running.spawnedAt) / 1000;
    const pid = running.child.pid;
    if (pid === undefined) throw new Error(`${contender.name} has no pid`);

    const before = requestCounts(await apiserverMetrics(api.config));
    const cpuBefore = processStats(pid).cpuSeconds;
    const roles = new Map<Role, Set<string>>([
      ["registered", new Set()],
      ["unregistered", new Set()],
      ["core", new Set()],
    ]);
    const created = new Map<string, number>();
    const started = Date.now();
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const name = `p${i}`;
        const { role, spec } = pvcSpec(i);
        roles.get(role)?.add(name);
        await api.core.createNamespacedPersistentVolumeClaim({
          namespace,
          body: { metadata: { name }, spec },
        });
        created.set(name, Date.now());
      }),
    );
    const unregistered = roles.get("unregistered") ?? new Set<string>();
    await until(
      `${contender.name} to warn about ${unregistered.size} PVCs`,
      () => {
        alive();
        return [...unregistered].every((name) => log.firstWarning.has(name));
      },
      EVENTS_TIMEOUT_MS,
      () => {
        const missing = [...unregistered].filter((name) => !log.firstWarning.has(name));
        return ` (${missing.length} without a warning, e.g. ${missing.slice(0, 5).join(", ")}); its last output:\n${running.output()}`;
      },
    );
    await sleep(SETTLE_MS);
    alive();
    const stats = processStats(pid);
    const after = requestCounts(await apiserverMetrics(api.config));

    const latencies = [...unregistered].map(
      (name) => ((log.firstWarning.get(name) ?? Number.NaN) - (created.get(name) ?? Number.NaN)) / 1000,
    );
    const lastWarning = Math.max(
      ...[...unregistered].map((name) => log.firstWarning.get(name) ?? Number.NaN),
    );
    const validEvents = new Set([...(roles.get("registered") ?? []), ...(roles.get("core") ?? [])]);
    const sample = [...log.events.values()].find(
      (e) => e.reason === REASON && unregistered.has(e.involvedObject?.name ?? ""),
    );
    const requests = countsDelta(before, after);
    return {
      contender: contender.name,
      round,
      pvcs: n,
      unregistered: unregistered.size,
      startupSeconds,
      latenciesSeconds: latencies,
      p50Seconds: percentile(latencies, 50),
      p95Seconds: percentile(latencies, 95),
      wallSeconds: (lastWarning - started) / 1000,
      warningsPerUnregistered: occurrences(log.events.values(), unregistered, REASON) / unregistered.size,
      wrongEvents: occurrences(log.events.values(), validEvents),
      warningMessage: sample?.message ?? "",
      apiRequestsPerPvc: total(requests) / n,
      apiRequests: Object.fromEntries([...requests].sort(([, a], [, b]) => b - a)),
      peakRssMiB: stats.peakRssBytes / 1024 / 1024,
      cpuSeconds: stats.cpuSeconds,
      cpuSecondsDuringRun: stats.cpuSeconds - cpuBefore,
    };
  } finally {
    events?.stop();
    if (validator) await stop(validator);
    await deleteNamespace(api, namespace);
    await waitForNamespaceGone(api, namespace).catch(() => undefined);
  }
}

/** SIGTERM, then SIGKILL if it has not exited within {@link EXIT_TIMEOUT_MS}. */
async function stop(validator: Started): Promise<void> {
  if (validator.exited() !== undefined) return;
  const exit = once(validator.child, "exit");
  validator.child.kill("SIGTERM");
  const timedOut = await Promise.race([exit.then(() => false), sleep(EXIT_TIMEOUT_MS).then(() => true)]);
  if (timedOut) {
    validator.child.kill("SIGKILL");
    await exit;
  }
}

// The next contender lists every PVC in the cluster at start: let this run's go first.
/** Median over rounds of each run's figure. */
function medianOf(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The markdown section: one row per figure (medians over rounds), ours / upstream, requests and messages. */
export function validatorReport(runs: readonly ValidatorRun[], contenders: readonly string[]): string {
  const figures = [
    ["start → first warning (s)", (r: ValidatorRun) => r.startupSeconds, 2],
    ["p50 create → warning (s)", (r: ValidatorRun) => r.p50Seconds, 2],
    ["p95 create → warning (s)", (r: ValidatorRun) => r.p95Seconds, 2],
    ["all warnings seen, wall (s)", (r: ValidatorRun) => r.wallSeconds, 2],
    ["warnings per unregistered PVC (1 is right)", (r: ValidatorRun) => r.warningsPerUnregistered, 2],
    ["wrong events: registered kind or core source (0 is right)", (r: ValidatorRun) => r.wrongEvents, 0],
    ["peak RSS (MiB)", (r: ValidatorRun) => r.peakRssMiB, 0],
    ["CPU, whole life (s)", (r: ValidatorRun) => r.cpuSeconds, 2],
    ["CPU during the run (s)", (r: ValidatorRun) => r.cpuSecondsDuringRun, 2],
    ["API requests / PVC", (r: ValidatorRun) => r.apiRequestsPerPvc, 1],
  ] as const;
  const [ours, theirs] = contenders;
  const sizes = [...new Set(runs.map((r) => r.pvcs))].join(", ");
  const rounds = Math.max(0, ...runs.map((r) => r.round));
  const lines = [
    `${sizes} PVCs per run (a third each: registered kind, unregistered kinds, core source), ${rounds} round(s):`,
    "",
    `| figure (median of rounds) | ${contenders.join(" | ")} |${theirs ? " ratio |" : ""}`,
    `| --- |${contenders.map(() => " --- |").join("")}${theirs ? " --- |" : ""}`,
  ];
  for (const [label, pick, digits] of figures) {
    const values = contenders.map((c) => medianOf(runs.filter((r) => r.contender === c).map(pick)));
    const ratio = theirs && ours ? (values[0] ?? Number.NaN) / (values[1] ?? Number.NaN) : undefined;
    const cell = (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : "–");
    lines.push(
      `| ${label} | ${values.map(cell).join(" | ")} |${ratio === undefined ? "" : ` ${Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "–"} |`}`,
    );
  }
  lines.push("", requestReport(runs, contenders), "", "Warning messages:", "");
  for (const c of contenders) {
    const message = runs.find((r) => r.contender === c && r.warningMessage)?.warningMessage;
    lines.push(`- ${c}: ${message ? `\`${message}\`` : "(none seen)"}`);
  }
  return lines.join("\n");
}

/** API requests per PVC by verb and resource, medians over rounds. */
function requestReport(runs: readonly ValidatorRun[], contenders: readonly string[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.apiRequests)))].sort();
  const lines = [
    "API requests per PVC, by verb and resource (the whole cluster: the PV controller and the benchmark's creates included; median over rounds):",
    "",
    `| request | ${contenders.join(" | ")} |`,
    `| --- |${contenders.map(() => " --- |").join("")}`,
  ];
  for (const key of keys) {
    const cells = contenders.map((c) =>
      medianOf(runs.filter((r) => r.contender === c).map((r) => (r.apiRequests[key] ?? 0) / r.pvcs)).toFixed(
        2,
      ),
    );
    if (cells.every((cell) => cell === "0.00")) continue;
    lines.push(`| ${key} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
