import fs from "node:fs";

/** Peak resident memory (VmHWM) and CPU time of a live process, from /proc. */
export function processStats(pid: number): { peakRssBytes: number; cpuSeconds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const hwm = Number(status.match(/^VmHWM:\s+(\d+) kB$/m)?.[1] ?? 0) * 1024;
  // Fields 14 and 15 of /proc/<pid>/stat (after the command in parentheses) are utime and stime in ticks.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { peakRssBytes: hwm, cpuSeconds: ticks / 100 };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
