/**
 * Turns the pull's and the extraction's running counts into progress reports for the user's PVC,
 * at most one a second: layers advance by the chunk, and each report is a line in the pod's log.
 */
import type { Progress } from "@volpop/sdk";

export interface PopulateProgressOptions {
  /** Least time between two reports, the last one excepted. Default: 1000 ms. */
  readonly intervalMs?: number;
  /** Milliseconds clock. Default: `Date.now`. */
  readonly now?: () => number;
}

/**
 * The percentage and byte counts follow the download (compressed layer bytes), the only total
 * known up front; the message says which layer and how much has been written so far. The
 * percentage stops at 99 until {@link finished}: the last bytes still have to reach the disk.
 */
export class PopulateProgress {
  readonly #report: (progress: Progress) => void;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #last = Number.NEGATIVE_INFINITY;
  #downloaded = 0;
  #total = 0;
  #written = 0;
  #layer: { readonly index: number; readonly count: number } | undefined;

  constructor(report: (progress: Progress) => void, options: PopulateProgressOptions = {}) {
    this.#report = report;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Layer `index` (from 0) of `count` is being read. */
  layer(index: number, count: number): void {
    this.#layer = { index, count };
    this.#maybeReport();
  }

  /** Compressed layer bytes received so far, of `total`. */
  downloaded(done: number, total: number): void {
    this.#downloaded = done;
    this.#total = total;
    this.#maybeReport();
  }

  /** Bytes written to the volume so far. */
  written(bytes: number): void {
    this.#written = bytes;
    this.#maybeReport();
  }

  /** Reports completion, whenever the last report was. */
  finished(message: string): void {
    this.#last = this.#now();
    this.#report({
      percent: 100,
      ...(this.#total > 0 ? { bytesDone: this.#total, bytesTotal: this.#total } : {}),
      message,
    });
  }

  #maybeReport(): void {
    const now = this.#now();
    if (now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#report(this.#current());
  }

  #current(): Progress {
    const parts: string[] = [];
    if (this.#layer !== undefined) parts.push(`layer ${this.#layer.index + 1} of ${this.#layer.count}`);
    parts.push(`${formatBytes(this.#written)} written`);
    const percent = this.#total > 0 ? Math.min(99, Math.floor((100 * this.#downloaded) / this.#total)) : 0;
    return {
      percent,
      ...(this.#total > 0 ? { bytesDone: this.#downloaded, bytesTotal: this.#total } : {}),
      message: parts.join(", "),
    };
  }
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** `1.5 MiB`: bytes for people. */
export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}
