/**
 * A blob as a stream that is checked while it flows: its bytes hash to the descriptor's digest and
 * number exactly its size, or the stream fails with {@link DigestMismatchError} or
 * {@link BlobSizeMismatchError} instead of ending, so nothing downstream mistakes a bad blob for a
 * good one. The last chunk is held back until the check passes. A connection dropped mid-blob is
 * resumed from the last byte received with `Range: bytes=N-`; a server that ignores Range and
 * starts again from byte 0 has the bytes already seen skipped, so the hash stays correct.
 * Memory stays bounded: at most one chunk is held, the rest flows with backpressure.
 */
import { Readable } from "node:stream";
import { Digester, parseDigest } from "./digest.ts";
import {
  BlobSizeMismatchError,
  DigestMismatchError,
  RegistryError,
  RegistryResponseError,
  RegistryUnavailableError,
} from "./errors.ts";
import { describeError } from "./http.ts";
import type { Descriptor } from "./manifest.ts";
import type { RegistryLogFn } from "./options.ts";
import { backoffDelay, isRetryableNetworkError, type RetryPolicy, sleep } from "./retry.ts";
import type { HttpResponse } from "./transport.ts";

export interface VerifiedBlobOptions {
  readonly descriptor: Pick<Descriptor, "digest" | "size">;
  /** Names the blob in errors and logs. */
  readonly what: string;
  /** Registry host, for {@link RegistryUnavailableError}. */
  readonly registry: string;
  /**
   * Requests the blob from byte `offset` on (a Range request when it is not 0) and returns a 200 or
   * 206 response; throws for anything else. Connection failures before the response are its to retry.
   */
  readonly open: (offset: number, signal: AbortSignal) => Promise<HttpResponse>;
  /** How often, and after how long, a dropped download is resumed. */
  readonly retry: RetryPolicy;
  readonly log: RegistryLogFn;
  /** Called with the count of each new verified-so-far byte run, for progress. */
  readonly onBytes?: (bytes: number) => void;
  readonly signal?: AbortSignal;
}

export class VerifiedBlobStream extends Readable {
  readonly #options: VerifiedBlobOptions;
  readonly #digester: Digester;
  readonly #abort = new AbortController();
  #received = 0;
  #held: Buffer | undefined;
  #body: Readable | undefined;
  #started = false;

  constructor(options: VerifiedBlobOptions) {
    super();
    this.#options = options;
    this.#digester = new Digester(parseDigest(options.descriptor.digest).algorithm);
    const signal = options.signal;
    if (signal?.aborted) this.destroy(signal.reason as Error);
    else if (signal !== undefined) {
      const onAbort = (): void => {
        this.destroy(signal.reason as Error);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.once("close", () => signal.removeEventListener("abort", onAbort));
    }
  }

  override _read(): void {
    if (this.#started) {
      this.#body?.resume();
      return;
    }
    this.#started = true;
    this.#run().catch((error: unknown) => this.destroy(error as Error));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#abort.abort(error ?? new Error("blob stream destroyed"));
    this.#body?.destroy();
    callback(error);
  }

  async #run(): Promise<void> {
    const { descriptor, what, registry, retry, log } = this.#options;
    let failures = 0;
    for (;;) {
      const before = this.#received;
      let failure: unknown;
      try {
        const response = await this.#options.open(this.#received, this.#abort.signal);
        await this.#consume(response);
        if (this.#received === descriptor.size) break;
        failure = new Error(`connection closed after ${this.#received} of ${descriptor.size} bytes`);
      } catch (error) {
        if (this.destroyed) return;
        if (error instanceof RegistryError || !isRetryableNetworkError(error)) throw error;
        failure = error;
      }
      // A try that moved forward resets the count: a long download over a flaky link may need many.
      failures = this.#received > before ? 1 : failures + 1;
      if (failures >= retry.attempts) {
        throw new RegistryUnavailableError(
          registry,
          failures,
          `${what}: download failed at byte ${this.#received} of ${descriptor.size}: ${describeError(failure)}`,
          { cause: failure },
        );
      }
      const delay = backoffDelay(retry, failures);
      log(
        "warn",
        { registry, offset: this.#received, delayMs: delay, failure: describeError(failure) },
        `resuming ${what}`,
      );
      await sleep(delay, this.#abort.signal);
    }
    const actual = this.#digester.digest();
    if (actual !== descriptor.digest) throw new DigestMismatchError(what, descriptor.digest, actual);
    if (this.#held !== undefined) this.push(this.#held);
    this.#held = undefined;
    this.push(null);
  }

  // Feeds one response's body through the check; resolves when it ends, rejects when it fails.
  #consume(response: HttpResponse): Promise<void> {
    const { descriptor, what } = this.#options;
    let skip = 0;
    if (this.#received > 0 && response.status === 200) {
      // The server ignored Range and sent the whole blob again: drop what we already hashed.
      skip = this.#received;
    } else if (this.#received > 0) {
      const start = contentRangeStart(response.headers["content-range"]);
      if (start === undefined || start > this.#received) {
        response.body.destroy();
        return Promise.reject(
          new RegistryResponseError(
            what,
            response.status,
            `asked for bytes from ${this.#received}, got ${String(response.headers["content-range"])}`,
          ),
        );
      }
      skip = this.#received - start;
    }
    const body = response.body;
    this.#body = body;
    return new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        this.#body = undefined;
        body.destroy();
        reject(error);
      };
      body.on("data", (data: Buffer) => {
        let chunk = data;
        if (skip > 0) {
          if (chunk.length <= skip) {
            skip -= chunk.length;
            return;
          }
          chunk = chunk.subarray(skip);
          skip = 0;
        }
        if (this.#received + chunk.length > descriptor.size) {
          fail(new BlobSizeMismatchError(what, descriptor.size, this.#received + chunk.length));
          return;
        }
        this.#digester.update(chunk);
        this.#received += chunk.length;
        this.#options.onBytes?.(chunk.length);
        const previous = this.#held;
        this.#held = chunk;
        if (previous !== undefined && !this.push(previous)) body.pause();
      });
      body.once("end", () => {
        this.#body = undefined;
        resolve();
      });
      body.once("error", fail);
      body.once("close", () => {
        if (!body.readableEnded) fail(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
      });
    });
  }
}

function contentRangeStart(header: string | undefined): number | undefined {
  const match = header === undefined ? null : /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(header.trim());
  return match ? Number(match[1]) : undefined;
}
