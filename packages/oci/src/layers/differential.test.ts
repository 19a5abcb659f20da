/**
 * Differential fuzzing of how a layer blob is read. Ours: the blob stream (digest and size
 * checked), decompression and the tar reader, with a LayerApplier writing what they read. The
 * reference: Go's standard library (compress/gzip, archive/tar, as containerd reads a layer; the
 * zstd tool for zstd) through @volpop/oci-testing's reference-tar, whose entries the same applier writes.
 * The applier is on both sides on purpose: what is compared is how the bytes are read, and the
 * applier's own rules (symlinks resolved inside the volume, whiteouts, modes) are tested apart
 * (safety.property.test.ts). For every layer, ours must make the tree the reference makes, or
 * refuse the layer; never another tree, and never accept what Go refuses. An honest layer must
 * be accepted, and a blob whose digest or size does not match must be refused (as such, when its
 * bytes do not decompress either).
 *
 * A bounded run is part of the unit tests; `pnpm --filter @volpop/oci fuzz` runs
 * longer (VOLPOP_FUZZ_RUNS, default 20000; VOLPOP_FUZZ_SEED to replay a run).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import {
  type GeneratedLayer,
  layerBlob,
  listEntries,
  READ_CASES,
  REFUSED_CASES,
  type ReferenceReader,
  referenceUnavailable,
  startReferenceReader,
} from "@volpop/oci-testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerifiedBlobStream } from "../registry/blob-stream.ts";
import { decompressLayer } from "../registry/decompress.ts";
import { LayerDecompressionError } from "../registry/errors.ts";
import { MediaType } from "../registry/media-types.ts";
import { LayerApplier } from "./applier.ts";

const LONG_RUN = process.env.VOLPOP_FUZZ_RUNS !== undefined;
const RUNS = Number(process.env.VOLPOP_FUZZ_RUNS ?? 1000);
// The bounded run stops after this long, whatever it reached; the long run does not.
const BOUNDED_MS = 35_000;
const SEED = process.env.VOLPOP_FUZZ_SEED === undefined ? undefined : Number(process.env.VOLPOP_FUZZ_SEED);
const CASE_TIMEOUT_MS = 20_000;

const MEDIA_TYPES = { gzip: MediaType.OciLayerGzip, zstd: MediaType.OciLayerZstd, none: MediaType.OciLayer };

/** What a reader made of a layer: a tree (path to a description line), or a refusal. */
type Outcome =
  | { readonly kind: "tree"; readonly tree: Record<string, string> }
  | { readonly kind: "refused"; readonly reason: string; readonly error?: unknown };

const missing = referenceUnavailable();

describe("reading a layer blob, against Go's compress/gzip and archive/tar", () => {
  if (missing.go !== undefined) {
    it.skip(`differential fuzzer skipped: ${missing.go}`, () => undefined);
    return;
  }
  let reference: ReferenceReader;
  let scratch: string;
  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-differential-"));
    reference = await startReferenceReader();
  }, 180_000);
  afterAll(async () => {
    await reference?.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  let cases = 0;
  async function extract(
    chunks: readonly Buffer[],
    mediaType: string,
    digest?: string,
    size?: number,
  ): Promise<Outcome> {
    const target = path.join(scratch, `case-${++cases}`);
    fs.mkdirSync(target);
    try {
      const blob = blobStream(chunks, digest, size);
      const applier = new LayerApplier({ target });
      await applier.applyLayer(decompressLayer(blob, mediaType, "layer"));
      await applier.finish();
      return { kind: "tree", tree: snapshot(target) };
    } catch (error) {
      return { kind: "refused", reason: (error as Error).message, error };
    } finally {
      fs.rmSync(target, { recursive: true, force: true });
    }
  }

  async function referenceOutcome(layer: GeneratedLayer): Promise<Outcome> {
    const read = await reference.read(Buffer.concat(layer.chunks), layer.compression);
    if (read.kind !== "accepted") return read;
    // Go's entries, written by our applier: it may refuse them (an entry that escapes) as well.
    return extract([read.tar], MediaType.OciLayer);
  }

  it.each(READ_CASES)("reads as Go does the hand-written archive with $name", async ({ blocks, entries }) => {
    const read = await reference.read(Buffer.concat(blocks), "none");
    if (read.kind !== "accepted") throw new Error(`Go refused it: ${read.reason}`);
    // Go's entries, written again (global PAX headers left out) and listed by our reader.
    expect(await listEntries(read.tar)).toEqual(
      entries.filter((entry) => !entry.startsWith("pax-global-header")),
    );
  });

  it.each(REFUSED_CASES)(
    "refuses as Go does the hand-written archive with $name",
    async ({ blocks, goAccepts }) => {
      const read = await reference.read(Buffer.concat(blocks), "none");
      expect(read.kind).toBe(goAccepts ? "accepted" : "refused");
    },
  );

  it(
    "makes the tree Go's reader makes, or refuses the layer: never another tree",
    async () => {
      const seen = {
        runs: 0,
        sameTree: 0,
        sameNonEmptyTreeOfHostileLayer: 0,
        bothRefused: 0,
        onlyOursRefused: 0,
        honest: 0,
        tampered: 0,
      };
      const refusedByOursOnly = new Map<string, number>();
      const refusedByBoth = new Map<string, number>();
      const tally = (counts: Map<string, number>, reason: string): void => {
        const general = reason
          .replace(/"[^"]*"/g, '"…"')
          .replace(/\d+/g, "N")
          .slice(0, 120);
        counts.set(general, (counts.get(general) ?? 0) + 1);
      };
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(
          layerBlob({ zstd: missing.zstd === undefined }),
          fc.constantFrom(
            "intact",
            "intact",
            "intact",
            "intact",
            "intact",
            "intact",
            "wrong digest",
            "wrong size",
          ),
          async (layer, blob) => {
            seen.runs++;
            const mediaType = MEDIA_TYPES[layer.compression];
            if (blob !== "intact") {
              // Whatever the bytes, a blob that is not the one the manifest names is refused.
              seen.tampered++;
              const bytes = Buffer.concat(layer.chunks);
              const ours = await withTimeout(
                blob === "wrong digest"
                  ? extract(layer.chunks, mediaType, `sha256:${"0".repeat(64)}`)
                  : extract(layer.chunks, mediaType, undefined, bytes.length + 1),
              );
              expect(ours.kind, layer.recipe).toBe("refused");
              // Bytes that do not decompress are the blob's fault when the blob is not the one named.
              expect((ours as { error?: unknown }).error, layer.recipe).not.toBeInstanceOf(
                LayerDecompressionError,
              );
              return;
            }
            const [ours, theirs] = [
              await withTimeout(extract(layer.chunks, mediaType)),
              await referenceOutcome(layer),
            ];
            if (layer.honest) seen.honest++;
            const context = `${layer.recipe}\nours: ${summary(ours)}\nreference: ${summary(theirs)}`;
            if (ours.kind === "refused") {
              if (theirs.kind === "refused") {
                seen.bothRefused++;
                tally(refusedByBoth, theirs.reason);
              } else {
                seen.onlyOursRefused++;
                tally(refusedByOursOnly, ours.reason);
                expect(layer.honest, `an honest layer was refused\n${context}`).toBe(false);
              }
              return;
            }
            expect(theirs.kind, `ours accepted a layer Go refuses\n${context}`).toBe("tree");
            expect(ours, context).toEqual(theirs);
            seen.sameTree++;
            if (!layer.honest && ours.kind === "tree" && Object.keys(ours.tree).length > 0) {
              seen.sameNonEmptyTreeOfHostileLayer++;
            }
          },
        ),
        {
          numRuns: RUNS,
          ...(SEED === undefined ? {} : { seed: SEED }),
          ...(LONG_RUN ? {} : { interruptAfterTimeLimit: BOUNDED_MS, markInterruptAsFailure: false }),
        },
      );
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(
        `differential fuzzer: ${JSON.stringify(seen)} in ${seconds}s; refused by ours only: ${JSON.stringify(Object.fromEntries(refusedByOursOnly))}; by both (Go, or our applier on what Go read): ${JSON.stringify(Object.fromEntries(refusedByBoth))}`,
      );
      expect(seen.runs).toBeGreaterThan(0);
    },
    LONG_RUN ? 24 * 3600_000 : 170_000,
  );
});

/** The blob as a registry serves it, chunk by chunk, through the checks a pull makes. */
function blobStream(chunks: readonly Buffer[], digest?: string, size?: number): VerifiedBlobStream {
  const bytes = Buffer.concat(chunks);
  return new VerifiedBlobStream({
    descriptor: {
      digest: digest ?? `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
      size: size ?? bytes.length,
    },
    what: "layer",
    registry: "fuzz.test",
    retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
    log: () => undefined,
    open: async () => ({
      status: 200,
      headers: {},
      body: Readable.from(
        (async function* () {
          for (const chunk of chunks) {
            await new Promise((resolve) => setImmediate(resolve));
            yield chunk;
          }
        })(),
      ),
    }),
  });
}

/** Every path below `dir`: its type, permission bits, links, and data's digest. Nothing is followed. */
function snapshot(dir: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const visit = (relative: string): void => {
    for (const name of fs.readdirSync(path.join(dir, relative)).sort()) {
      const child = relative === "" ? name : `${relative}/${name}`;
      const absolute = path.join(dir, child);
      const stats = fs.lstatSync(absolute);
      const mode = (stats.mode & 0o7777).toString(8);
      if (stats.isDirectory()) {
        tree[child] = `dir ${mode}`;
        visit(child);
      } else if (stats.isSymbolicLink()) {
        tree[child] = `symlink -> ${fs.readlinkSync(absolute)}`;
      } else if (stats.isFile()) {
        const digest = createHash("sha256").update(fs.readFileSync(absolute)).digest("hex").slice(0, 16);
        tree[child] = `file ${mode} ${stats.size} ${digest} links ${stats.nlink}`;
      } else {
        tree[child] = `other ${stats.mode.toString(8)}`;
      }
    }
  };
  visit("");
  return tree;
}

function summary(outcome: Outcome): string {
  return outcome.kind === "tree" ? JSON.stringify(outcome.tree) : `${outcome.kind}: ${outcome.reason}`;
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer in ${CASE_TIMEOUT_MS} ms: a hang`)),
        CASE_TIMEOUT_MS,
      );
    }),
  ]);
}
