#!/usr/bin/env node
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { IMAGE_SOURCE_ENV } from "@volpop/populator-image";
import { randomImage, startLocalRegistry, writeImage } from "@volpop/populator-image/testing";

/**
 * Pull and unpack of one image from a local registry (Debian's docker-registry, plain HTTP on
 * 127.0.0.1): by @volpop/populator-image's populate mode, alone in a Node process (image-child.ts),
 * against `skopeo copy` to an OCI layout then `umoci unpack`. Images are random, incompressible data
 * in gzip layers, as model and dataset images are. Each command runs under GNU time for wall seconds,
 * peak RSS and CPU; the page cache is dropped before ours and before skopeo (not between skopeo and
 * umoci, which run back to back in real use). No cluster needed.
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

interface TheirSample extends Sample {
  readonly skopeo: Sample;
  readonly umoci: Sample;
}

interface Row {
  readonly sizeMb: number;
  readonly layers: number;
  readonly compressedMb: number;
  readonly runs: number;
  readonly ours: Sample;
  readonly theirs: TheirSample;
  readonly oursOverTheirsWall: number;
  readonly loadAverage: { readonly before: number; readonly after: number };
  readonly samples: { readonly ours: readonly Sample[]; readonly theirs: readonly TheirSample[] };
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

/** Runs `command` under GNU time; `%M` is the peak RSS in KiB. */
async function timed(
  timeFile: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Sample> {
  await run(GNU_TIME, ["-o", timeFile, "-f", "%e %M %U %S", command, ...args], {
    env,
    maxBuffer: 16 * 2 ** 20,
  });
  const last = fs.readFileSync(timeFile, "utf8").trim().split("\n").at(-1) ?? "";
  const [wall = Number.NaN, kib = Number.NaN, user = Number.NaN, system = Number.NaN] = last
    .split(" ")
    .map(Number);
  return { wallSeconds: wall, peakRssMiB: kib / 1024, cpuSeconds: user + system };
}

/** Regular files under `dir` and their bytes: what both methods must have written. */
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

function medianSample(samples: readonly Sample[]): Sample {
  return {
    wallSeconds: median(samples.map((s) => s.wallSeconds)),
    peakRssMiB: median(samples.map((s) => s.peakRssMiB)),
    cpuSeconds: median(samples.map((s) => s.cpuSeconds)),
  };
}

async function main(): Promise<void> {
  if (runCounts.length !== 1 && runCounts.length !== sizesMb.length)
    throw new Error("VOLPOP_BENCH_RUNS: give one count, or one per size in VOLPOP_BENCH_IMAGE_MB");
  const work = workDirectory();
  // startLocalRegistry keeps its storage under os.tmpdir(): point that into the work directory, so
  // that the registry's blobs sit on the same disk as everything else the benchmark writes.
  process.env.TMPDIR = work.dir;
  const registry = await startLocalRegistry();
  const timeFile = path.join(work.dir, "time.txt");
  let cachesDropped = true;
  const rows: Row[] = [];
  try {
    for (const [index, sizeMb] of sizesMb.entries()) {
      const runs = runCounts[runCounts.length === 1 ? 0 : index] ?? 1;
      const tag = `${sizeMb}mb`;
      const pushed = performance.now();
      const written = await writeImage(
        registry.pushTarget,
        randomImage({ repository: "bench/img", tag, totalBytes: sizeMb * MB, layers: layerCount }),
      );
      const compressedBytes = written.manifests[0]?.layers.reduce((sum, l) => sum + l.size, 0) ?? 0;
      log(`${sizeMb} MB: pushed in ${((performance.now() - pushed) / 1000).toFixed(1)} s`);
      const reference = `${registry.host}/bench/img:${tag}`;
      const spec = { image: reference, insecureRegistries: [registry.host] };
      const childEnv = { ...process.env, [IMAGE_SOURCE_ENV]: JSON.stringify(spec) };
      const loadBefore = os.loadavg()[0] ?? Number.NaN;

      const ours: Sample[] = [];
      const theirs: TheirSample[] = [];
      const measureOurs = async (runDir: string): Promise<void> => {
        const volume = path.join(runDir, "volume");
        fs.mkdirSync(volume, { recursive: true });
        // Always drop: `&&=` would skip the call once one drop failed.
        if (!(await dropCaches())) cachesDropped = false;
        const sample = await timed(
          timeFile,
          process.execPath,
          ["--conditions=volpop-source", path.join(here, "image-child.ts"), volume],
          childEnv,
        );
        checkContents("populateImage", volume, sizeMb);
        ours.push(sample);
        log(`${sizeMb} MB ours: ${format(sample)}`);
      };
      const measureTheirs = async (runDir: string): Promise<void> => {
        const layout = path.join(runDir, "oci");
        const bundle = path.join(runDir, "bundle");
        fs.mkdirSync(runDir, { recursive: true });
        // Always drop: `&&=` would skip the call once one drop failed.
        if (!(await dropCaches())) cachesDropped = false;
        const skopeo = await timed(timeFile, SKOPEO, [
          "copy",
          "--quiet",
          "--src-tls-verify=false",
          `docker://${reference}`,
          `oci:${layout}:${tag}`,
        ]);
        // Run as root, so no --rootless: umoci keeps the image's owners, as our populate mode does.
        const umoci = await timed(timeFile, UMOCI, ["unpack", "--image", `${layout}:${tag}`, bundle]);
        checkContents("skopeo + umoci", path.join(bundle, "rootfs"), sizeMb);
        const sample: TheirSample = {
          wallSeconds: skopeo.wallSeconds + umoci.wallSeconds,
          peakRssMiB: Math.max(skopeo.peakRssMiB, umoci.peakRssMiB),
          cpuSeconds: skopeo.cpuSeconds + umoci.cpuSeconds,
          skopeo,
          umoci,
        };
        theirs.push(sample);
        log(`${sizeMb} MB theirs: ${format(sample)} (skopeo ${format(skopeo)}; umoci ${format(umoci)})`);
      };

      for (let i = 0; i < runs; i++) {
        // Alternate who goes first, so that neither always follows the other's disk writeback.
        const order = i % 2 === 0 ? [measureOurs, measureTheirs] : [measureTheirs, measureOurs];
        for (const measure of order) {
          const runDir = path.join(work.dir, `run-${sizeMb}-${i}`);
          try {
            await measure(runDir);
          } finally {
            fs.rmSync(runDir, { recursive: true, force: true });
          }
        }
      }
      const oursMedian = medianSample(ours);
      const theirsMedian = medianSample(theirs);
      rows.push({
        sizeMb,
        layers: layerCount,
        compressedMb: compressedBytes / MB,
        runs,
        ours: oursMedian,
        theirs: {
          ...theirsMedian,
          skopeo: medianSample(theirs.map((s) => s.skopeo)),
          umoci: medianSample(theirs.map((s) => s.umoci)),
        },
        oursOverTheirsWall: oursMedian.wallSeconds / theirsMedian.wallSeconds,
        loadAverage: { before: loadBefore, after: os.loadavg()[0] ?? Number.NaN },
        samples: { ours, theirs },
      });
    }
  } finally {
    await registry.stop();
    if (work.ours) fs.rmSync(work.dir, { recursive: true, force: true });
    else fs.rmSync(timeFile, { force: true });
  }
  writeReport(rows, cachesDropped);
}

function writeReport(rows: readonly Row[], cachesDropped: boolean): void {
  const peaks = rows.map((r) => r.ours.peakRssMiB);
  const within = peaks.every((p) => p <= RSS_BUDGET_MIB);
  const flat = Math.max(...peaks) <= FLAT_FACTOR * Math.min(...peaks);
  const fixed = (n: number, digits = 2) => n.toFixed(digits);
  const table = [
    "| image (MB) | layers | gzip (MB) | runs | ours wall (s) | ours peak RSS (MiB) | ours CPU (s) | skopeo copy (s) | umoci unpack (s) | theirs wall (s) | theirs peak RSS (MiB) | theirs CPU (s) | ours / theirs wall |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows
      .map((r) =>
        [
          r.sizeMb,
          r.layers,
          fixed(r.compressedMb, 1),
          r.runs,
          fixed(r.ours.wallSeconds),
          fixed(r.ours.peakRssMiB, 0),
          fixed(r.ours.cpuSeconds),
          fixed(r.theirs.skopeo.wallSeconds),
          fixed(r.theirs.umoci.wallSeconds),
          fixed(r.theirs.wallSeconds),
          `${fixed(r.theirs.peakRssMiB, 0)} (skopeo ${fixed(r.theirs.skopeo.peakRssMiB, 0)}, umoci ${fixed(r.theirs.umoci.peakRssMiB, 0)})`,
          fixed(r.theirs.cpuSeconds),
          `${fixed(r.oursOverTheirsWall)}×`,
        ].join(" | "),
      )
      .map((line) => `| ${line} |`),
  ].join("\n");
  const report = [
    "# image: pull + unpack from a local registry",
    "",
    `Medians; ${os.availableParallelism()} cores, load average ${rows.map((r) => `${fixed(r.loadAverage.before)}→${fixed(r.loadAverage.after)}`).join(", ")} over the sizes. Page cache ${cachesDropped ? "dropped before ours and before skopeo" : "NOT dropped (not allowed here)"}. Theirs: wall and CPU are skopeo's plus umoci's, peak RSS the larger. Ours / theirs wall target: ≤ 1.0.`,
    "",
    table,
    "",
    `Our peak RSS ${within ? "stays" : "does NOT stay"} ≤ ${RSS_BUDGET_MIB} MiB at every size (${peaks.map((p) => fixed(p, 0)).join(", ")} MiB), and is ${flat ? "flat" : "NOT flat"} across sizes (largest ${flat ? "within" : "beyond"} ${FLAT_FACTOR}× the smallest).`,
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
        oursRssWithinBudget: within,
        oursRssFlat: flat,
        rows,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(report);
}

function format(sample: Sample): string {
  return `${sample.wallSeconds.toFixed(2)} s, ${sample.peakRssMiB.toFixed(0)} MiB, ${sample.cpuSeconds.toFixed(2)} s CPU`;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

await main();
