/** Parses byte sizes written the Kubernetes way: "10Gi", "512Mi", "1G", or a plain number of bytes. */

const SUFFIXES: Record<string, number> = {
  "": 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
};

/**
 * Returns the number of bytes `text` stands for. Only whole numbers are accepted; the result must be
 * a positive safe integer.
 */
export function parseQuantity(text: string): number {
  const match = /^(\d+)([KMGTP]i|[kMGTP])?$/.exec(text.trim());
  const multiplier = match ? SUFFIXES[match[2] ?? ""] : undefined;
  if (!match || multiplier === undefined) {
    throw new Error(
      `invalid size "${text}": expected a whole number with an optional suffix (Ki, Mi, Gi, Ti, k, M, G, T)`,
    );
  }
  const bytes = Number(match[1]) * multiplier;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new Error(`invalid size "${text}": must be between 1 byte and ${Number.MAX_SAFE_INTEGER} bytes`);
  }
  return bytes;
}
