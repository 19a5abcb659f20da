#!/usr/bin/env node
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { bundleEntry } from "@volpop/images";
import { randomImage, startLocalRegistry, writeImage } from "@volpop/oci-testing";
import { SPEC_ENV } from "@volpop/sdk";

/**
 * Pull and unpack of one image from a local registry (Debian's docker-registry, plain HTTP on
 * 127.0.0.1): by @volpop/populator-image's populate mode, alone in a Node process (image-child.ts),
 * against `skopeo copy` to an OCI layout then `umoci unpack`. Images are random, incompressible data
 * in gzip layers, as model and dataset images are. Every command runs under GNU time (wall seconds,
 * peak RSS, CPU); the page cache is dropped before ours and before skopeo, not between skopeo and
 * umoci, which run back to back in real use. No cluster needed.
 *
 * Ours runs twice: from TypeScript source (`--conditions=volpop-source`, as the repo runs its
 * tools) and bundled the way the populator image bundles main.ts (bundleEntry). The two differ in
 * start-up and, through the heap that start-up leaves, in garbage collection during the pull; the
 * bundled one is what a populator pod runs.
 */
const MB = 1_000_000;
const sizesMb = numbers(process.env.VOLPOP_BENCH_IMAGE_MB ?? "50,200,1000");
// One count for every size, or one per size ("3,3,1"): the largest image may not afford three runs.
const runCounts = numbers(process.env.VOLPOP_BENCH_RUNS ?? "3");
const layerCount = Number(process.env.VOLPOP_BENCH_IMAGE_LAYERS ?? 5);
const RSS_BUDGET_MIB = 256;
// Our peak RSS counts as flat when the largest median is within this factor of the smallest.
const FLAT_FACTOR = 1.1;
const SKOPEO = "/usr/bin/skopeo";
const UMOCI = "/usr/bin/umoci";
const GNU_TIME = "/usr/bin/time";
const here = import.meta.dirname;
const run = promisify(execFile);

interface Sample {
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  /** User plus system CPU of the process. */
  readonly cpuSeconds: number;
}

/** Ours, with the child's own split of its wall time. */
interface OurSample extends Sample {
  /** Node's boot plus loading the package: process start to the first line of image-child.ts. */
  readonly startSeconds: number;
  /** The `populateImage` call alone. */
  readonly populateSeconds: number;
  readonly rssAfterStartMiB: number;
}

interface TheirSample extends Sample {
  readonly skopeo: Sample;
  readonly umoci: Sample;
  /** `umoci raw unpack` of the same layout afterwards: unpacking without umoci's mtree manifest. */
  readonly umociRaw: Sample;
}

type Variant = "source" | "bundled";

interface Row {
  readonly sizeMb: number;
  readonly layers: number;
  readonly compressedMb: number;
  readonly runs: number;
  readonly ours: Readonly<Record<Variant, OurSample>>;
  readonly theirs: TheirSample;
  /** Median wall of ours over median wall of skopeo + umoci unpack: the target is ≤ 1. */
  readonly oursOverTheirsWall: Readonly<Record<Variant, number>>;
  readonly loadAverage: { readonly before: number; readonly after: number };
  readonly samples: {
    readonly ours: Readonly<Record<Variant, readonly OurSample[]>>;
    readonly theirs: readonly TheirSample[];
  };
}

function numbers(list: string): number[] {
  const values = list.split(",").map(Number);
  if (values.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`not a list of numbers: ${list}`);
  return values;
}

function workDirectory(): { dir: string; ours: boolean } {
  const given = process.env.VOLPOP_BENCH_DIR;
  if (given === undefined)
    return { dir: fs.mkdtempSync(path.join(os.tmpdir(), "volpop-bench-image-")), ours: true };
  const dir = path.resolve(given);
  // The embedded cluster's state lives there; a benchmark's scratch files must never mix with it.
  if (dir === "/var/lib/volpop" || dir.startsWith("/var/lib/volpop/"))
    throw new Error(`VOLPOP_BENCH_DIR ${dir} is inside /var/lib/volpop: choose another directory`);
  fs.mkdirSync(dir, { recursive: true });
  return { dir, ours: false };
}

/** Empties the page cache when allowed, so that each pull reads the registry's blobs from disk. */
async function dropCaches(): Promise<boolean> {
  await run("sync");
  try {
    fs.writeFileSync("/proc/sys/vm/drop_caches", "3");
    return true;
  } catch {
    return false;
  }
}

/** Runs `command` under GNU time (`%M` is the peak RSS in KiB); resolves with its figures and stdout. */
async function timed(
  timeFile: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Sample & { stdout: string }> {
  const { stdout } = await run(GNU_TIME, ["-o", timeFile, "-f", "%e %M %U %S", command, ...args], {
    env,
    maxBuffer: 16 * 2 ** 20,
  });
  const last = fs.readFileSync(timeFile, "utf8").trim().split("\n").at(-1) ?? "";
  const [wall = Number.NaN, kib = Number.NaN, user = Number.NaN, system = Number.NaN] = last
    .split(" ")
    .map(Number);
  return { wallSeconds: wall, peakRssMiB: kib / 1024, cpuSeconds: user + system, stdout };
}

function sample(measured: Sample): Sample {
  return {
    wallSeconds: measured.wallSeconds,
    peakRssMiB: measured.peakRssMiB,
    cpuSeconds: measured.cpuSeconds,
  };
}

/** Regular files under `dir` and their bytes: what every method must have written. */
function contents(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

function checkContents(what: string, dir: string, sizeMb: number): void {
  const found = contents(dir);
  if (found.files !== layerCount || found.bytes !== sizeMb * MB)
    throw new Error(
      `${what} wrote ${found.files} files of ${found.bytes} bytes, expected ${layerCount} of ${sizeMb * MB}`,
    );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

/** The median of each numeric field on its own; nested samples are left for the caller to take. */
function medianOf<T extends object>(samples: readonly T[]): T {
  const first = samples[0];
  if (first === undefined) throw new Error("no samples");
  const keys = Object.keys(first).filter((k) => typeof first[k as keyof T] === "number") as (keyof T)[];
  return Object.fromEntries(keys.map((k) => [k, median(samples.map((s) => s[k] as number))])) as T;
}

async function main(): Promise<void> {
  if (runCounts.length !== 1 && runCounts.length !== sizesMb.length)
    throw new Error("VOLPOP_BENCH_RUNS: give one count, or one per size in VOLPOP_BENCH_IMAGE_MB");
  const work = workDirectory();
  // startLocalRegistry keeps its storage under os.tmpdir(): point that into the work directory, so
  // that the registry's blobs sit on the same disk as everything else the benchmark writes.
  process.env.TMPDIR = work.dir;
  const timeFile = path.join(work.dir, "time.txt");
  const bundleDir = path.join(work.dir, "bundle");
  await bundleEntry(path.join(here, "image-child.ts"), bundleDir);
  const children: Record<Variant, readonly string[]> = {
    source: ["--conditions=volpop-source", path.join(here, "image-child.ts")],
    bundled: [path.join(bundleDir, "main.js")],
  };
  const registry = await startLocalRegistry();
  let cachesDropped = true;
  const rows: Row[] = [];
  try {
    for (const [index, sizeMb] of sizesMb.entries()) {
      const runs = runCounts[runCounts.length === 1 ? 0 : index] ?? 1;
      const tag = `${sizeMb}mb`;
      const pushStarted = performance.now();
      const written = await writeImage(
        registry.pushTarget,
        randomImage({ repository: "bench/img", tag, totalBytes: sizeMb * MB, layers: layerCount }),
      );
      const compressedBytes = written.manifests[0]?.layers.reduce((sum, l) => sum + l.size, 0) ?? 0;
      log(`${sizeMb} MB: pushed in ${((performance.now() - pushStarted) / 1000).toFixed(1)} s`);
      const reference = `${registry.host}/bench/img:${tag}`;
      const childEnv = {
        ...process.env,
        [SPEC_ENV]: JSON.stringify({ image: reference, insecureRegistries: [registry.host] }),
      };
      const loadBefore = os.loadavg()[0] ?? Number.NaN;

      const ours: Record<Variant, OurSample[]> = { source: [], bundled: [] };
      const theirs: TheirSample[] = [];
      const measureOurs =
        (variant: Variant) =>
        async (runDir: string): Promise<void> => {
          const volume = path.join(runDir, "volume");
          fs.mkdirSync(volume, { recursive: true });
          if (!(await dropCaches())) cachesDropped = false;
          const measured = await timed(timeFile, process.execPath, [...children[variant], volume], childEnv);
          checkContents(`populateImage (${variant})`, volume, sizeMb);
          const split = JSON.parse(measured.stdout) as {
            loadedMs: number;
            populateMs: number;
            rssAfterLoadBytes: number;
          };
          const result: OurSample = {
            ...sample(measured),
            startSeconds: split.loadedMs / 1000,
            populateSeconds: split.populateMs / 1000,
            rssAfterStartMiB: split.rssAfterLoadBytes / 2 ** 20,
          };
          ours[variant].push(result);
          log(
            `${sizeMb} MB ours (${variant}): ${format(result)}, start-up ${result.startSeconds.toFixed(2)} s`,
          );
        };
      const measureTheirs = async (runDir: string): Promise<void> => {
        const layout = path.join(runDir, "oci");
        fs.mkdirSync(runDir, { recursive: true });
        if (!(await dropCaches())) cachesDropped = false;
        const skopeo = await timed(timeFile, SKOPEO, [
          "copy",
          "--quiet",
          "--src-tls-verify=false",
          `docker://${reference}`,
          `oci:${layout}:${tag}`,
        ]);
        // Run as root, so no --rootless: umoci keeps the image's owners, as our populate mode does.
        const bundle = path.join(runDir, "bundle");
        const umoci = await timed(timeFile, UMOCI, ["unpack", "--image", `${layout}:${tag}`, bundle]);
        checkContents("skopeo + umoci unpack", path.join(bundle, "rootfs"), sizeMb);
        const rootfs = path.join(runDir, "raw");
        const umociRaw = await timed(timeFile, UMOCI, [
          "raw",
          "unpack",
          "--image",
          `${layout}:${tag}`,
          rootfs,
        ]);
        checkContents("umoci raw unpack", rootfs, sizeMb);
        const result: TheirSample = {
          wallSeconds: skopeo.wallSeconds + umoci.wallSeconds,
          peakRssMiB: Math.max(skopeo.peakRssMiB, umoci.peakRssMiB),
          cpuSeconds: skopeo.cpuSeconds + umoci.cpuSeconds,
          skopeo: sample(skopeo),
          umoci: sample(umoci),
          umociRaw: sample(umociRaw),
        };
        theirs.push(result);
        log(
          `${sizeMb} MB theirs: ${format(result)} (skopeo ${format(skopeo)}; umoci ${format(umoci)}; raw ${format(umociRaw)})`,
        );
      };

      const methods = [measureOurs("source"), measureOurs("bundled"), measureTheirs];
      for (let i = 0; i < runs; i++) {
        // Rotate who goes first, so that no method always follows another's disk writeback.
        for (let m = 0; m < methods.length; m++) {
          const measure = methods[(i + m) % methods.length];
          const runDir = path.join(work.dir, `run-${sizeMb}-${i}-${m}`);
          try {
            await measure?.(runDir);
          } finally {
            fs.rmSync(runDir, { recursive: true, force: true });
          }
        }
      }
      const oursMedian = { source: medianOf(ours.source), bundled: medianOf(ours.bundled) };
      const theirsMedian: TheirSample = {
        ...medianOf(theirs),
        skopeo: medianOf(theirs.map((s) => s.skopeo)),
        umoci: medianOf(theirs.map((s) => s.umoci)),
        umociRaw: medianOf(theirs.map((s) => s.umociRaw)),
      };
      rows.push({
        sizeMb,
        layers: layerCount,
        compressedMb: compressedBytes / MB,
        runs,
        ours: oursMedian,
        theirs: theirsMedian,
        oursOverTheirsWall: {
          source: oursMedian.source.wallSeconds / theirsMedian.wallSeconds,
          bundled: oursMedian.bundled.wallSeconds / theirsMedian.wallSeconds,
        },
        loadAverage: { before: loadBefore, after: os.loadavg()[0] ?? Number.NaN },
        samples: { ours, theirs },
      });
    }
  } finally {
    await registry.stop();
    if (work.ours) fs.rmSync(work.dir, { recursive: true, force: true });
    else {
      fs.rmSync(timeFile, { force: true });
      fs.rmSync(bundleDir, { recursive: true, force: true });
    }
  }
  writeReport(rows, cachesDropped);
}

function rssVerdict(
  rows: readonly Row[],
  variant: Variant,
): { within: boolean; flat: boolean; text: string } {
  const peaks = rows.map((r) => r.ours[variant].peakRssMiB);
  const within = peaks.every((p) => p <= RSS_BUDGET_MIB);
  const flat = Math.max(...peaks) <= FLAT_FACTOR * Math.min(...peaks);
  const text = `${variant}: ${peaks.map((p) => p.toFixed(0)).join(", ")} MiB, ${within ? "" : "NOT "}≤ ${RSS_BUDGET_MIB} MiB at every size, ${flat ? "" : "NOT "}flat (largest ${flat ? "within" : "beyond"} ${FLAT_FACTOR}× the smallest)`;
  return { within, flat, text };
}

function writeReport(rows: readonly Row[], cachesDropped: boolean): void {
  const fixed = (n: number, digits = 2) => n.toFixed(digits);
  const line = (row: Row, method: string, s: Sample, extra: { start?: number; ratio?: number } = {}) =>
    `| ${row.sizeMb} | ${fixed(row.compressedMb, 1)} | ${row.runs} | ${method} | ${fixed(s.wallSeconds)} | ${extra.start === undefined ? "" : fixed(extra.start)} | ${fixed(s.peakRssMiB, 0)} | ${fixed(s.cpuSeconds)} | ${extra.ratio === undefined ? "" : `${fixed(extra.ratio)}×`} |`;
  const table = [
    "| image (MB) | gzip (MB) | runs | method | wall (s) | of which start-up (s) | peak RSS (MiB) | CPU (s) | / theirs wall |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.flatMap((r) => [
      line(r, "**ours, bundled** (as in the image)", r.ours.bundled, {
        start: r.ours.bundled.startSeconds,
        ratio: r.oursOverTheirsWall.bundled,
      }),
      line(r, "ours, TypeScript source", r.ours.source, {
        start: r.ours.source.startSeconds,
        ratio: r.oursOverTheirsWall.source,
      }),
      line(r, "**theirs**: skopeo copy + umoci unpack", r.theirs),
      line(r, "… skopeo copy", r.theirs.skopeo),
      line(r, "… umoci unpack", r.theirs.umoci),
      line(r, "(umoci raw unpack, no mtree)", r.theirs.umociRaw),
    ]),
  ].join("\n");
  const bundled = rssVerdict(rows, "bundled");
  const source = rssVerdict(rows, "source");
  const report = [
    "# image: pull + unpack from a local registry",
    "",
    `Medians; ${os.availableParallelism()} cores, 1-minute load average ${rows.map((r) => `${fixed(r.loadAverage.before)}→${fixed(r.loadAverage.after)}`).join(", ")} over the sizes. Page cache ${cachesDropped ? "dropped before ours and before skopeo" : "NOT dropped (not allowed here)"}. Theirs: wall and CPU are skopeo's plus umoci unpack's, peak RSS the larger; umoci raw unpack is shown for reference only. Target: ours / theirs wall ≤ 1.0.`,
    "",
    table,
    "",
    `Our peak RSS — ${bundled.text}; ${source.text}.`,
    "",
  ].join("\n");
  fs.mkdirSync(path.join(here, "results"), { recursive: true });
  fs.writeFileSync(path.join(here, "results", "image.md"), report);
  fs.writeFileSync(
    path.join(here, "results", "image.json"),
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        cores: os.availableParallelism(),
        node: process.version,
        layers: layerCount,
        cachesDropped,
        rssBudgetMiB: RSS_BUDGET_MIB,
        rss: {
          bundled: { withinBudget: bundled.within, flat: bundled.flat },
          source: { withinBudget: source.within, flat: source.flat },
        },
        rows,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(report);
}

function format(measured: Sample): string {
  return `${measured.wallSeconds.toFixed(2)} s, ${measured.peakRssMiB.toFixed(0)} MiB, ${measured.cpuSeconds.toFixed(2)} s CPU`;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

await main();
