/**
 * The differential fuzzer's reference: layers read by Go's standard library (compress/gzip and
 * archive/tar, as containerd reads them) through main.go beside this file, built into a temporary
 * directory with the `go` on PATH and served as one long-lived process; zstd layers are
 * decompressed by the zstd tool first, as Go's standard library has no zstd. Not exported.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SOURCE = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.go");

/** What the reference made of a layer. */
export type ReferenceResult =
  /** Read: the entries written again as a plain archive (see main.go). */
  | { readonly kind: "accepted"; readonly tar: Buffer }
  /** Go's reader (or gzip, or the zstd tool) refused it. */
  | { readonly kind: "refused"; readonly reason: string };

export interface ReferenceReader {
  read(blob: Buffer, compression: "gzip" | "zstd" | "none"): Promise<ReferenceResult>;
  close(): Promise<void>;
}

/** Why the reference cannot run here (no `go`, no `zstd`), or undefined when it can. */
export function referenceUnavailable(): { go?: string; zstd?: string } {
  const missing: { go?: string; zstd?: string } = {};
  if (spawnSync("go", ["version"], { encoding: "utf8" }).status !== 0) {
    missing.go = "`go` is not on PATH: the reference reader is built with it at test time";
  }
  if (spawnSync("zstd", ["--version"], { encoding: "utf8" }).status !== 0) {
    missing.zstd = "the `zstd` tool is not on PATH: zstd layers have no reference";
  }
  return missing;
}

/** Builds main.go (a minute at most with a cold Go cache) and starts it. */
export async function startReferenceReader(): Promise<ReferenceReader> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-reference-tar-"));
  const binary = path.join(dir, "reference-tar");
  const env = { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "", CGO_ENABLED: "0" };
  const build = await run("go", ["build", "-o", binary, SOURCE], { cwd: dir, env });
  if (build.status !== 0) throw new Error(`go build of ${SOURCE} failed: ${build.stderr}`);
  const child = spawn(binary, [], { stdio: ["pipe", "pipe", "pipe"] });
  return new GoReader(child, dir);
}

class GoReader implements ReferenceReader {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #dir: string;
  #buffered = Buffer.alloc(0);
  #waiting: (() => void) | undefined;
  #exited: Error | undefined;

  constructor(child: ChildProcessWithoutNullStreams, dir: string) {
    this.#child = child;
    this.#dir = dir;
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on("data", (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      this.#waiting?.();
    });
    child.on("exit", (code) => {
      this.#exited = new Error(`the reference reader exited (${code}): ${stderr}`);
      this.#waiting?.();
    });
  }

  async read(blob: Buffer, compression: "gzip" | "zstd" | "none"): Promise<ReferenceResult> {
    let layer = blob;
    if (compression === "zstd") {
      const zstd = spawnSync("zstd", ["-d", "-c", "-q"], { input: blob, maxBuffer: 1 << 30 });
      if (zstd.status !== 0) return { kind: "refused", reason: `zstd: ${zstd.stderr.toString().trim()}` };
      layer = zstd.stdout;
    }
    const request = Buffer.alloc(9);
    request[0] = compression === "gzip" ? 0x67 : 0x6e;
    request.writeBigUInt64BE(BigInt(layer.length), 1);
    this.#child.stdin.write(Buffer.concat([request, layer]));
    const head = await this.#take(9);
    const payload = await this.#take(Number(head.readBigUInt64BE(1)));
    return head[0] === 0x41
      ? { kind: "accepted", tar: payload }
      : { kind: "refused", reason: payload.toString() };
  }

  async close(): Promise<void> {
    this.#child.stdin.end();
    if (this.#child.exitCode === null) await new Promise((resolve) => this.#child.once("exit", resolve));
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }

  async #take(bytes: number): Promise<Buffer> {
    while (this.#buffered.length < bytes) {
      if (this.#exited !== undefined) throw this.#exited;
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
      this.#waiting = undefined;
    }
    const taken = this.#buffered.subarray(0, bytes);
    this.#buffered = this.#buffered.subarray(bytes);
    return taken;
  }
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (status) => resolve({ status, stderr }));
  });
}
