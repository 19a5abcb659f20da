import { it, type TestContext } from "vitest";
import { type BadInputMeta, CHECKS, type Check, TITLE_PREFIX } from "./vocabulary.ts";

/** Keys of a test's `meta` in vitest's reports: which case it proves, and which check it lost on. */
export const META_CASE = "badInput";
export const META_LOST = "badInputLost";

declare module "vitest" {
  interface TaskMeta {
    /** The id of the bad-input case a test proves. */
    badInput?: string;
    /** Set when the test failed in a containment check: something was written outside or lost. */
    badInputLost?: string;
  }
}

type Body = () => unknown;

interface RunningCase {
  readonly meta: BadInputMeta;
  readonly context: TestContext;
  readonly asserted: Set<Check>;
}

// The case whose test runs now. Tests of one file run one after the other (the repository runs no
// concurrent tests), so one slot is enough; a second case starting while one runs is refused.
let running: RunningCase | undefined;

/**
 * A test that proves one bad input handled: its title names the case, its meta carries the id into
 * vitest's reports, and `pnpm catalogue` lists it in docs/reliability.md from this very call, so
 * `meta` must be written out as an object literal of string literals. The test asserts the expected
 * outcome as any test does, and each of `meta.checks` inside {@link contained}.
 */
export function badInputCase(meta: BadInputMeta, fn: Body, timeout?: number): void {
  define(meta, titleOf(meta), fn, timeout);
}

/**
 * One case proved by several tests, one per row (variants of the same bad input, e.g. several
 * hostile file names): `badInputCase.each(rows)(meta, (row) => …)`. The case is handled when every
 * row's test passes.
 */
badInputCase.each =
  <Row>(rows: readonly Row[]) =>
  (meta: BadInputMeta, fn: (row: Row) => unknown, timeout?: number): void => {
    rows.forEach((row, index) => {
      define(meta, `${titleOf(meta)} (${rowName(row, index)})`, () => fn(row), timeout);
    });
  };

/**
 * Several cases in one table, one test each (distinct bad inputs that share their test's steps):
 * each row is a case's meta, written out as a literal, plus whatever the test needs.
 */
export function badInputCases<Row extends BadInputMeta>(
  rows: readonly Row[],
  fn: (row: Row) => unknown,
  timeout?: number,
): void {
  for (const row of rows) define(row, titleOf(row), () => fn(row), timeout);
}

/**
 * Runs a containment assertion of the running case (nothing outside the volume, nothing lost…):
 * marks `check` as asserted, and a failure as "lost" in the report. Returns what `assertion`
 * returns (a promise stays a promise). Outside a case (a shared helper called by other tests) it
 * only runs the assertion.
 */
export function contained<T>(check: Check, assertion: () => T): T {
  const current = running;
  if (current) {
    if (!current.meta.checks.includes(check)) {
      throw new Error(
        `bad input ${current.meta.id} asserts "${check}", which its checks do not list: add it to them`,
      );
    }
    current.asserted.add(check);
  }
  const lost = (error: unknown) => {
    if (current) {
      current.context.task.meta[META_LOST] = check;
      if (error instanceof Error) error.message = `[lost: ${CHECKS[check]}] ${error.message}`;
    }
    return error;
  };
  let result: T;
  try {
    result = assertion();
  } catch (error) {
    throw lost(error);
  }
  if (result instanceof Promise) {
    return result.catch((error: unknown) => {
      throw lost(error);
    }) as T;
  }
  return result;
}

function define(meta: BadInputMeta, title: string, fn: Body, timeout: number | undefined): void {
  it(title, { meta: { [META_CASE]: meta.id }, ...(timeout ? { timeout } : {}) }, async (context) => {
    if (running) {
      throw new Error(`bad input ${meta.id} started while ${running.meta.id} runs: cases run one at a time`);
    }
    const current: RunningCase = { meta, context, asserted: new Set() };
    running = current;
    // After afterEach hooks, so a containment check a file makes there counts for the case.
    context.onTestFinished(({ task }) => {
      running = undefined;
      if (task.result?.state === "fail") return;
      const missing = meta.checks.filter((check) => !current.asserted.has(check));
      if (missing.length > 0) {
        throw new Error(
          `bad input ${meta.id} lists ${missing.map((c) => `"${c}"`).join(", ")} in its checks, but its test never asserts it: wrap that assertion in contained()`,
        );
      }
    });
    await fn();
  });
}

function titleOf(meta: BadInputMeta): string {
  return `${TITLE_PREFIX}${meta.id}: ${meta.input}`;
}

/** A row's name in its test's title: itself if a string, else its first string, name or what. */
function rowName(row: unknown, index: number): string {
  if (typeof row === "string" || typeof row === "number") return JSON.stringify(row);
  if (Array.isArray(row) && typeof row[0] === "string") return row[0];
  if (typeof row === "object" && row !== null) {
    const named = (row as Record<string, unknown>).name ?? (row as Record<string, unknown>).what;
    if (typeof named === "string") return named;
  }
  return `#${index + 1}`;
}
