/**
 * Progress travels from the populator pod to the user's PVC as a line on the pod's stdout, which the
 * controller reads from the pod's log tail: it needs no API access in the pod and no extra port.
 */
export const PROGRESS_MARKER = "volpop-progress ";

export interface Progress {
  /** 0 to 100. */
  readonly percent?: number;
  readonly bytesDone?: number;
  readonly bytesTotal?: number;
  readonly message?: string;
}

export function formatProgressLine(progress: Progress): string {
  return `${PROGRESS_MARKER}${JSON.stringify(progress)}`;
}

/** The last well-formed progress report in a log excerpt, or undefined. */
export function lastProgress(log: string): Progress | undefined {
  const lines = log.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim() ?? "";
    if (!line.startsWith(PROGRESS_MARKER)) continue;
    try {
      const value = JSON.parse(line.slice(PROGRESS_MARKER.length)) as Record<string, unknown>;
      const progress: { -readonly [K in keyof Progress]: Progress[K] } = {};
      if (typeof value.percent === "number" && value.percent >= 0 && value.percent <= 100)
        progress.percent = value.percent;
      if (typeof value.bytesDone === "number" && value.bytesDone >= 0) progress.bytesDone = value.bytesDone;
      if (typeof value.bytesTotal === "number" && value.bytesTotal >= 0)
        progress.bytesTotal = value.bytesTotal;
      if (typeof value.message === "string") progress.message = value.message.slice(0, 200);
      return progress;
    } catch {
      // A torn or foreign line: look further back.
    }
  }
  return undefined;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

/** The annotation value shown to users: `populating: 40% (1.2 GiB of 3.0 GiB) copying layer 2`. */
export function describeProgress(progress: Progress): string {
  const percent =
    progress.percent ??
    (progress.bytesDone !== undefined && progress.bytesTotal
      ? (100 * progress.bytesDone) / progress.bytesTotal
      : undefined);
  const parts = ["populating:"];
  if (percent !== undefined) parts.push(`${Math.floor(percent)}%`);
  if (progress.bytesDone !== undefined) {
    parts.push(
      progress.bytesTotal
        ? `(${bytes(progress.bytesDone)} of ${bytes(progress.bytesTotal)})`
        : `(${bytes(progress.bytesDone)})`,
    );
  }
  if (progress.message) parts.push(progress.message);
  return parts.join(" ");
}
