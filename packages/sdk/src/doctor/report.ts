/**
 * A doctor's report: what `-o json` prints (schema `volpop.dev/doctor/v1`, documented in
 * docs/troubleshooting.md) and what the text renderer shows.
 */
import type { CoreV1Event } from "@kubernetes/client-node";
import { exitCodeOf, type Finding, sortFindings } from "./findings.ts";
import { byTime, eventCount, eventTimeMs } from "./kube-facts.ts";

export const REPORT_SCHEMA = "volpop.dev/doctor/v1";

/** One event, as the report shows it. */
export interface EventLine {
  /** The object it is about: `PersistentVolumeClaim apps/data`. */
  readonly object: string;
  /** When it last happened (RFC 3339), if the event says. */
  readonly time: string | undefined;
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  /** How often it happened. */
  readonly count: number;
}

export interface DoctorReport {
  readonly schema: typeof REPORT_SCHEMA;
  /** `pvc` or `cluster`. */
  readonly kind: "pvc" | "cluster";
  /** What was examined: `PersistentVolumeClaim apps/data`, or the API server's version for `cluster`. */
  readonly subject: string;
  /** The first finding's `what`: the one thing to read. */
  readonly summary: string;
  /** When doctor looked (RFC 3339). */
  readonly generatedAt: string;
  /** 0 nothing wrong, 1 something is (an error or warning finding). */
  readonly exitCode: 0 | 1;
  /** Most serious first. */
  readonly findings: readonly Finding[];
  /** Key facts by name (`phase`, `dataSource`, `primePvc`, …): only those doctor found. */
  readonly facts: Readonly<Record<string, string>>;
  /** Recent events of the PVC and of PVC', oldest first (`pvc` only). */
  readonly events: readonly EventLine[];
}

/** Assembles a report: sorts the findings and derives the summary and exit code. */
export function report(
  now: number,
  kind: DoctorReport["kind"],
  subject: string,
  findings: readonly Finding[],
  facts: Readonly<Record<string, string | undefined>> = {},
  events: readonly EventLine[] = [],
): DoctorReport {
  const sorted = sortFindings(findings);
  return {
    schema: REPORT_SCHEMA,
    kind,
    subject,
    summary: sorted[0]?.what ?? "Nothing to report",
    generatedAt: new Date(now).toISOString(),
    exitCode: exitCodeOf(sorted),
    findings: sorted,
    facts: Object.fromEntries(
      Object.entries(facts).filter(
        (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== "",
      ),
    ),
    events,
  };
}

/** The last `limit` events of an object, oldest first. */
export function eventLines(object: string, events: readonly CoreV1Event[], limit: number): EventLine[] {
  return byTime(events)
    .slice(-limit)
    .map((event) => {
      const at = eventTimeMs(event);
      return {
        object,
        time: Number.isNaN(at) ? undefined : new Date(at).toISOString(),
        type: event.type ?? "Normal",
        reason: event.reason ?? "",
        message: event.message?.trim() ?? "",
        count: eventCount(event),
      };
    });
}
