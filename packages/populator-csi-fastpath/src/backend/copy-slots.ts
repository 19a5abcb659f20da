/**
 * At most `limit` copies at once: each is disk-bound, and more in parallel only makes all of them
 * slower (and the node's other work too). The others wait in PENDING, first come first served.
 */
export class CopySlots {
  readonly #limit: number;
  #used = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`copy slots must be at least 1, got ${limit}`);
    this.#limit = limit;
  }

  /** Resolves with a release function once a slot is free; rejects when `signal` fires first. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.#used < this.#limit) {
      this.#used++;
      return this.#releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(wake);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(signal?.reason);
      };
      this.#waiting.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    // The slot was handed over by the releaser without being given back in between.
    return this.#releaser();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#used--;
    };
  }
}
