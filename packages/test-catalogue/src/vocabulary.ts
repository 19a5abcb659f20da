/**
 * The words a bad-input case is described in: which component it hits, and what else its test
 * asserts beside the expected refusal. Closed lists, so that the generated table reads the same
 * everywhere and a typo is a type error (and an error of `pnpm catalogue`).
 */

/** The component a bad input is aimed at, in the order the table lists them. */
export const COMPONENTS = ["sdk", "hello", "validator", "webhook", "fastpath", "image"] as const;
export type Component = (typeof COMPONENTS)[number];

/**
 * What a case asserts beside its expected outcome: that nothing was written outside the volume and
 * nothing was lost. Each, as the table's "also asserted" column says it.
 */
export const CHECKS = {
  "nothing-outside-volume": "nothing written outside the volume",
  "volume-left-empty": "the volume left empty (nothing of the bad input stays)",
  "existing-data-kept": "data already there kept, unchanged",
  "no-handover": "no volume handed to the user's PVC",
  "nothing-created": "no object created or stored",
  "no-leftovers": "no temporary object left behind",
  "no-credentials-leaked": "no credentials sent where they do not belong",
  "pvc-kept": "the user's PVC kept and usable",
  "keeps-serving": "the component answers the next good request",
} as const;
export type Check = keyof typeof CHECKS;

/** One bad input, as a test registers it. */
export interface BadInputMeta {
  /** Unique, kebab-case, starting with the component: `image-tar-dotdot`. */
  readonly id: string;
  readonly component: Component;
  /** What the bad input is, as a noun phrase: "a layer entry named ../etc/passwd". */
  readonly input: string;
  /** The event reason, API rejection or error code (and its words) the test expects. */
  readonly expected: string;
  /** What else the test asserts; at least one. */
  readonly checks: readonly [Check, ...Check[]];
}

/** Test titles start with this, followed by the case id and a colon: how a run's results are picked. */
export const TITLE_PREFIX = "bad input ";
export const ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)+$/;

export const isComponent = (value: string): value is Component =>
  (COMPONENTS as readonly string[]).includes(value);
export const isCheck = (value: string): value is Check => Object.hasOwn(CHECKS, value);
