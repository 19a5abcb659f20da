/**
 * Reads an uncompressed tar stream as a sequence of entries whose bodies are pulled one chunk at a
 * time, so a file is never held in memory whole and a slow disk slows the download down.
 */
import { type Extract, extract as tarExtract } from "tar-stream";
import { MalformedLayerError } from "./errors.ts";
import type { EntryHeader } from "./metadata.ts";

/** An uncompressed tar stream, e.g. a Node Readable; it is destroyed if reading stops early. */
export type LayerStream = AsyncIterable<Uint8Array>;

// tar-stream does not export the type of the entries its extractor yields.
type Source = Extract extends AsyncIterable<infer S> ? S : never;

export interface TarEntry {
  readonly header: EntryHeader;
  /** Must be read to its end or not at all; it is drained when left unread. */
  readonly body: AsyncIterable<Buffer>;
}

/**
 * The entries of `input`, in order. Errors from `input` itself come out unchanged (the caller's
 * download failed); errors from parsing become a {@link MalformedLayerError}. When the consumer
 * stops early, `input` is destroyed.
 */
export async function* readTarEntries(input: LayerStream): AsyncGenerator<TarEntry, void, undefined> {
  const extract = tarExtract();
  let inputError: unknown;
  const pumping = pump(input, extract).catch((error: unknown) => {
    inputError = error;
    extract.destroy(error as Error);
  });
  const failure = (error: unknown): unknown =>
    inputError ??
    new MalformedLayerError(undefined, `not a valid tar stream: ${(error as Error).message}`, {
      cause: error,
    });
  const entries = extract[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (true) {
      let next: IteratorResult<Source>;
      try {
        next = await entries.next();
      } catch (error) {
        throw failure(error);
      }
      if (next.done) break;
      const body = new EntryBody(next.value as AsyncIterable<Buffer>, failure);
      yield { header: next.value.header as EntryHeader, body };
      await body.drain();
    }
    finished = true;
    await pumping;
  } finally {
    if (!finished) {
      (input as { destroy?: () => void }).destroy?.();
      await entries.return?.();
    }
  }
}

class EntryBody implements AsyncIterable<Buffer> {
  readonly #source: AsyncIterable<Buffer>;
  readonly #failure: (error: unknown) => unknown;
  #started = false;

  constructor(source: AsyncIterable<Buffer>, failure: (error: unknown) => unknown) {
    this.#source = source;
    this.#failure = failure;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    this.#started = true;
    try {
      for await (const chunk of this.#source) yield chunk;
    } catch (error) {
      throw this.#failure(error);
    }
  }

  async drain(): Promise<void> {
    if (this.#started) return;
    for await (const _chunk of this) {
      // discarded: the entry is skipped, but the stream must move past its bytes
    }
  }
}

async function pump(input: LayerStream, extract: Extract): Promise<void> {
  for await (const chunk of input) {
    if (extract.destroyed) return;
    const buffer = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!extract.write(buffer)) await writableAgain(extract);
  }
  extract.end(null);
}

function writableAgain(extract: Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      extract.off("drain", done);
      extract.off("close", done);
      resolve();
    };
    extract.on("drain", done);
    extract.on("close", done);
  });
}
