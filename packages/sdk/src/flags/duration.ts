/** Go's `time.Duration` text, read and written as Go does, in milliseconds. */

/**
 * Parses a Go duration string (`300ms`, `1.5h`, `1m30s`, `-2s`; units ns, us, µs, ms, s, m, h)
 * into milliseconds, as Go's `time.ParseDuration`. Throws a `RangeError` saying what is wrong.
 */
export function parseGoDuration(value: string): number {
  const problem = (why: string) => new RangeError(`invalid duration ${JSON.stringify(value)}: ${why}`);
  let rest = value;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw problem('expected a number and a unit, e.g. "15s", "1m30s" or "500ms"');
  let total = 0;
  while (rest !== "") {
    const part = /^(\d*)(?:\.(\d*))?([^\d.]*)/.exec(rest);
    const [whole = "", int = "", frac = "", unit = ""] = part ?? [];
    if (int === "" && frac === "") throw problem(`expected a number at ${JSON.stringify(rest)}`);
    if (unit === "" && whole.length < rest.length) {
      throw problem(`unexpected ${JSON.stringify(rest.slice(whole.length))}`);
    }
    if (unit === "") throw problem('missing unit (use one of ns, us, ms, s, m, h, e.g. "15s")');
    const scale = DURATION_UNITS_MS[unit];
    if (scale === undefined) {
      throw problem(`unknown unit ${JSON.stringify(unit)} (use ns, us, ms, s, m or h)`);
    }
    total += Number(`${int || "0"}.${frac || "0"}`) * scale;
    rest = rest.slice(whole.length);
  }
  return sign * total;
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Writes milliseconds as Go's `Duration.String` does (`15s`, `1m30s`, `1h0m0s`, `500ms`, `0s`), so
 * that help texts and messages show durations the way the flags take them. Rounds to nanoseconds.
 */
export function formatGoDuration(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  const ns = Math.round(Math.abs(ms) * 1e6);
  if (ns === 0) return "0s";
  // Under a second Go picks the largest unit that keeps a whole part.
  if (ns < 1e3) return `${sign}${ns}ns`;
  if (ns < 1e6) return `${sign}${decimal(ns, 3)}µs`;
  if (ns < 1e9) return `${sign}${decimal(ns, 6)}ms`;
  const seconds = Math.floor(ns / 1e9);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = `${decimal((seconds % 60) * 1e9 + (ns % 1e9), 9)}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${rest}`;
  return minutes > 0 ? `${sign}${minutes}m${rest}` : `${sign}${rest}`;
}

// `value / 10^digits` without trailing zeros, as Go's fmtFrac writes it.
function decimal(value: number, digits: number): string {
  const scale = 10 ** digits;
  const fraction = String(value % scale)
    .padStart(digits, "0")
    .replace(/0+$/, "");
  return fraction === "" ? `${Math.floor(value / scale)}` : `${Math.floor(value / scale)}.${fraction}`;
}
