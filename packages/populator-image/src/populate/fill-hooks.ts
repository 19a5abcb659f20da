import type { Descriptor } from "@volpop/oci";

/** What a fill tells as it moves on: for progress, and for naming the layer in errors. */
export interface FillHooks {
  /** Layer `index` (from 0, in manifest order) of `count` is being read. */
  layer(index: number, count: number, descriptor: Descriptor): void;
  /** Bytes written to the volume so far. */
  written(bytes: number): void;
}
