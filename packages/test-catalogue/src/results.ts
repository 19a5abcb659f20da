/**
 * What a run did with each case, read from vitest's JSON report: measured, never assumed. A case is
 * handled when every test of it that ran passed; lost when one failed in a containment check
 * (something written outside the volume, or lost); not handled when one failed otherwise; not tried
 * when none of its tests ran (an e2e case without a cluster, a test only root may run).
 */
import { META_CASE, META_LOST } from "./case.ts";
import { type Check, isCheck } from "./vocabulary.ts";

export type Outcome = "handled" | `lost: ${Check}` | "not handled" | "not tried";

/** The part of vitest's JSON report read here. */
export interface JsonReport {
  readonly testResults: readonly {
    readonly assertionResults: readonly {
      readonly status: string;
      readonly meta?: Readonly<Record<string, unknown>>;
    }[];
  }[];
}

/** Each case id the report has a test of, and what became of it. */
export function outcomesOf(report: JsonReport): Map<string, Outcome> {
  const byCase = new Map<string, { ran: number; failed: number; lost?: Check }>();
  for (const file of report.testResults) {
    for (const test of file.assertionResults) {
      const id = test.meta?.[META_CASE];
      if (typeof id !== "string") continue;
      const tally = byCase.get(id) ?? { ran: 0, failed: 0 };
      if (test.status === "passed" || test.status === "failed") tally.ran += 1;
      if (test.status === "failed") {
        tally.failed += 1;
        const lost = test.meta?.[META_LOST];
        if (typeof lost === "string" && isCheck(lost)) tally.lost ??= lost;
      }
      byCase.set(id, tally);
    }
  }
  const outcomes = new Map<string, Outcome>();
  for (const [id, tally] of byCase) {
    if (tally.lost) outcomes.set(id, `lost: ${tally.lost}`);
    else if (tally.failed > 0) outcomes.set(id, "not handled");
    else outcomes.set(id, tally.ran > 0 ? "handled" : "not tried");
  }
  return outcomes;
}

/** An outcome as the table writes it, read back; undefined for anything else. */
export function parseOutcome(text: string): Outcome | undefined {
  if (text === "handled" || text === "not handled" || text === "not tried") return text;
  const lost = /^lost: (.+)$/.exec(text)?.[1];
  return lost !== undefined && isCheck(lost) ? `lost: ${lost}` : undefined;
}
