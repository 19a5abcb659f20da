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

/**
 * The highest private (anonymous) resident memory a process reached, sampled. VmHWM counts the
 * program's binary too: for Node that is 35–45 MiB of file-backed pages of the `node` executable,
 * shared by every Node process on a host and evictable, where a static Go binary maps a few MiB.
 * Reported beside VmHWM so that the two are not confused.
 */
export function samplePeakAnonymousRss(pid: number, everyMs = 200): { stop(): number } {
  let peak = 0;
  const sample = () => {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      peak = Math.max(peak, Number(status.match(/^RssAnon:\s+(\d+) kB$/m)?.[1] ?? 0) * 1024);
    } catch {
      // The process is gone: its last sample stands.
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}
