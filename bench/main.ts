#!/usr/bin/env node
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { VersionApi } from "@kubernetes/client-node";
import { bundleEntry, parseReference, productImages, publishProductImage } from "@volpop/images";
import { registry as embeddedRegistry, layout } from "../test/cluster/config.ts";
import { kubeFromFile } from "../test/support/kube.ts";
import { benchForeign, foreignReport } from "./foreign.ts";
import { benchPopulate, type Contender, populateReport } from "./populate.ts";
import { prepareUpstream } from "./upstream.ts";
import { benchValidator, type ValidatorContender, validatorReport } from "./validator.ts";

const usage = `Usage: pnpm bench [options]

Runs the benchmarks on the embedded cluster (started if needed) or on $KUBECONFIG's cluster, and
writes bench/results/<date>.md and .json.

  --upstream-populator DIR   a git clone of kubernetes-csi/lib-volume-populator (e.g. at v3.2.0):
                             its hello-populator runs beside ours
  --upstream-validator DIR   a git clone of kubernetes-csi/volume-data-source-validator (e.g. v1.7.0)
  --baseline-bundle DIR      a bundled hello main.js of another volpop commit (bundleEntry output):
                             runs as a third contender, "volpop (baseline)", for before/after
  --only LIST                populate,foreign,validator,images,fastpath,image (default: all)
  --sizes LIST               PVCs per populate run (default 1,10,50)
  --rounds N                 rounds of each size, contenders alternating (default 3)
  --validator-pvcs N         PVCs of mixed kinds for the validator (default 100)
  --foreign-pvcs LIST        bound PVCs that are not ours, for the foreign suite (default 1000,10000)
`;

const SUITES = ["populate", "foreign", "validator", "images", "fastpath", "image"] as const;
type Suite = (typeof SUITES)[number];

const { values } = parseArgs({
  options: {
    "upstream-populator": { type: "string" },
    "upstream-validator": { type: "string" },
    "baseline-bundle": { type: "string" },
    only: { type: "string" },
    sizes: { type: "string", default: "1,10,50" },
    rounds: { type: "string", default: "3" },
    "validator-pvcs": { type: "string", default: "100" },
    "foreign-pvcs": { type: "string", default: "1000,10000" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const suites = new Set<Suite>(
  (values.only?.split(",") ?? SUITES).map((s) => {
    if (!(SUITES as readonly string[]).includes(s)) {
      process.stderr.write(`unknown suite ${s}\n${usage}`);
      process.exit(2);
    }
    return s as Suite;
  }),
);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const here = import.meta.dirname;
const embedded = process.env.KUBECONFIG === undefined;
const kubeconfig = process.env.KUBECONFIG ?? layout.adminKubeconfig;
const imageRegistry = embedded ? embeddedRegistry : process.env.VOLPOP_IMAGE_REGISTRY;
const storageClass = process.env.VOLPOP_E2E_STORAGE_CLASS ?? "volpop-immediate";

if (embedded) {
  log("starting the embedded cluster (no-op when it is up)");
  const up = spawnSync(process.execPath, [path.join(layout.clusterSource, "cli.ts"), "up"], {
    stdio: "inherit",
  });
  if (up.status !== 0) process.exit(up.status ?? 1);
}
if (!imageRegistry) {
  process.stderr.write(
    "KUBECONFIG is set: also set VOLPOP_IMAGE_REGISTRY to a registry the cluster pulls from\n",
  );
  process.exit(2);
}
const api = kubeFromFile(kubeconfig);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-bench-"));
const sections: string[] = [];
const json: Record<string, unknown> = { machine: await machineFacts() };

try {
  const upstream = await prepareUpstream({
    ...(values["upstream-populator"] ? { populatorCheckout: values["upstream-populator"] } : {}),
    ...(values["upstream-validator"] ? { validatorCheckout: values["upstream-validator"] } : {}),
    registry: imageRegistry,
  });
  json.upstream = upstream;

  if (suites.has("populate") || suites.has("foreign")) {
    const bundle = path.join(work, "hello");
    await bundleEntry(path.join(layout.repoRoot, "packages/populator-hello/src/main.ts"), bundle);
    const contenders: Contender[] = [
      {
        name: "volpop (TypeScript)",
        command: process.execPath,
        leadingArgs: [path.join(bundle, "main.js")],
        image: await publishProductImage("populator-hello", imageRegistry),
      },
    ];
    const baseline = values["baseline-bundle"];
    if (baseline) {
      contenders.push({
        name: "volpop (baseline)",
        command: process.execPath,
        leadingArgs: [path.resolve(baseline, "main.js")],
        // The pod's work is the same; the controllers differ.
        image: contenders[0]?.image ?? "",
      });
    }
    if (upstream.helloPopulator?.image) {
      contenders.push({
        name: "upstream (Go)",
        command: upstream.helloPopulator.binary,
        leadingArgs: [],
        image: upstream.helloPopulator.image.reference,
      });
    }
    const common = { api, kubeconfig, storageClass, rounds: Number(values.rounds), contenders, log };
    const names = contenders.map((c) => c.name);
    if (suites.has("populate")) {
      const runs = await benchPopulate({ ...common, sizes: values.sizes.split(",").map(Number) });
      json.populate = runs;
      sections.push(`## populate: hello, N PVCs at once (${storageClass})\n\n${populateReport(runs, names)}`);
    }
    if (suites.has("foreign")) {
      const runs = await benchForeign({ ...common, counts: values["foreign-pvcs"].split(",").map(Number) });
      json.foreign = runs;
      sections.push(
        `## foreign: one population among N PVCs that are not ours\n\n${foreignReport(runs, names)}`,
      );
    }
  }

  if (suites.has("validator")) {
    const bundle = path.join(work, "validator");
    await bundleEntry(path.join(layout.repoRoot, "packages/validator/src/main.ts"), bundle);
    const contenders: ValidatorContender[] = [
      { name: "volpop (TypeScript)", command: process.execPath, leadingArgs: [path.join(bundle, "main.js")] },
    ];
    if (upstream.validator) {
      contenders.push({ name: "upstream (Go)", command: upstream.validator.binary, leadingArgs: [] });
    }
    const runs = await benchValidator({
      api,
      kubeconfig,
      pvcs: Number(values["validator-pvcs"]),
      rounds: Number(values.rounds),
      contenders,
      log,
    });
    json.validator = runs;
    sections.push(
      `## validator: ${values["validator-pvcs"]} PVCs of mixed kinds\n\n${validatorReport(
        runs,
        contenders.map((c) => c.name),
      )}`,
    );
  }

  if (suites.has("images")) {
    const ours = await Promise.all(
      productImages.map(async ({ name }) => ({
        name,
        reference: await publishProductImage(name, imageRegistry),
      })),
    );
    const theirs = [
      ...(upstream.helloPopulator?.image
        ? [{ name: "hello-populator", reference: upstream.helloPopulator.image.reference }]
        : []),
      ...(upstream.validator?.image
        ? [{ name: "volume-data-source-validator", reference: upstream.validator.image.reference }]
        : []),
    ];
    const report = await imagesReport(ours, theirs);
    json.images = report.json;
    sections.push(`## images (compressed, as pulled)\n\n${report.markdown}`);
  }

  for (const suite of ["fastpath", "image"] as const) {
    if (!suites.has(suite)) continue;
    log(`${suite}: running bench/${suite}.ts`);
    const child = spawnSync(
      process.execPath,
      ["--conditions=volpop-source", path.join(here, `${suite}.ts`)],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    if (child.status !== 0) throw new Error(`bench/${suite}.ts exited ${child.status}`);
    sections.push(fs.readFileSync(path.join(here, "results", `${suite}.md`), "utf8").replace(/^# /, "## "));
    json[suite] = JSON.parse(fs.readFileSync(path.join(here, "results", `${suite}.json`), "utf8"));
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

const date = new Date().toISOString().slice(0, 10);
const facts = json.machine as Record<string, string>;
const markdown = [
  `# volpop benchmarks, ${date}`,
  "",
  Object.entries(facts)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join("\n"),
  "",
  ...sections.map((s) => `${s.trim()}\n`),
].join("\n");
fs.mkdirSync(path.join(here, "results"), { recursive: true });
fs.writeFileSync(path.join(here, "results", `${date}.md`), markdown);
fs.writeFileSync(path.join(here, "results", `${date}.json`), `${JSON.stringify(json, null, 2)}\n`);
process.stdout.write(markdown);
log(`written: bench/results/${date}.md and .json`);

async function machineFacts(): Promise<Record<string, string>> {
  const cpu = os.cpus();
  const tryRun = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    cpu: `${cpu.length} × ${cpu[0]?.model ?? "unknown"}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    kernel: os.release(),
    node: process.version,
    go: tryRun("go", ["env", "GOVERSION"]),
    cluster: embedded ? "embedded (test/cluster)" : `KUBECONFIG (${kubeconfig})`,
    kubernetes: await serverVersion(),
    load: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
  };
}

async function serverVersion(): Promise<string> {
  const version = await api.config
    .makeApiClient(VersionApi)
    .getCode()
    .catch(() => undefined);
  return version?.gitVersion ?? "unknown";
}

/** Compressed layer sizes of each image and of each set with shared layers counted once. */
/** Our image each upstream image does the work of. */
const UPSTREAM_COUNTERPART: Readonly<Record<string, string>> = {
  "hello-populator": "populator-hello",
  "volume-data-source-validator": "validator",
};

async function imagesReport(
  ours: readonly { name: string; reference: string }[],
  theirs: readonly { name: string; reference: string }[],
): Promise<{ markdown: string; json: unknown }> {
  const layersOf = async (reference: string) => {
    const { registry, repository, ref } = parseReference(reference);
    const response = await fetch(`http://${registry}/v2/${repository}/manifests/${ref}`, {
      headers: {
        accept:
          "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    if (!response.ok) throw new Error(`${reference}: ${response.status}`);
    const manifest = (await response.json()) as { layers: { digest: string; size: number }[] };
    return new Map(manifest.layers.map((l) => [l.digest, l.size]));
  };
  const measure = async (images: readonly { name: string; reference: string }[]) => {
    const all = new Map<string, number>();
    const rows: { name: string; bytes: number }[] = [];
    for (const image of images) {
      const layers = await layersOf(image.reference);
      let bytes = 0;
      for (const [digest, size] of layers) {
        bytes += size;
        all.set(digest, size);
      }
      rows.push({ name: image.name, bytes });
    }
    return { rows, setBytes: [...all.values()].reduce((a, b) => a + b, 0) };
  };
  const a = await measure(ours);
  const b = await measure(theirs);
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  const lines = [
    "| image | volpop (MB) | upstream (MB) |",
    "| --- | --- | --- |",
    ...a.rows.map((r) => {
      const match = b.rows.find((t) => UPSTREAM_COUNTERPART[t.name] === r.name);
      return `| ${r.name} | ${mb(r.bytes)} | ${match ? mb(match.bytes) : "–"} |`;
    }),
    `| the set, shared layers once | ${mb(a.setBytes)} (${a.rows.length} images) | ${mb(b.setBytes)} (${b.rows.length} images) |`,
  ];
  return { markdown: lines.join("\n"), json: { ours: a, upstream: b } };
}
