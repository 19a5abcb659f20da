import type { FlagDeclarations, FlagValues } from "./declaration.ts";

/**
 * A rule across flags, run once each flag's value is valid: a sentence saying what is wrong, used as
 * the usage error's message, or `undefined`.
 */
export type FlagCheck<S extends FlagDeclarations> = (values: FlagValues<S>) => string | undefined;

/** A program's command line: its flags, their rules, and the text of its help. */
export interface FlagCommand<S extends FlagDeclarations> {
  /** Program name, in the usage line and the `--version` text. */
  readonly program: string;
  /** What follows the program name in the usage line, e.g. `[flags]`. */
  readonly synopsis: string;
  /** What the program does, between the usage line and the flags (may span lines). */
  readonly about: string;
  /** With a version, `--version` prints `<program> <version>` (and wins over any bad value). */
  readonly version?: string;
  /** The flags; `help`, `h` and (with a version) `version` are the library's. */
  readonly flags: S;
  /** Rules across flags, in order; the first problem is the usage error. */
  readonly checks?: readonly FlagCheck<NoInfer<S>>[];
  /**
   * When set, the arguments after `--` are the program's (`rest`), and this phrase follows
   * `unexpected argument "…"` for a stray one before it, e.g. `arguments for the populator go
   * after "--"`. Unset: the command takes no arguments at all.
   */
  readonly args?: string;
  /**
   * Names of the words the command takes besides its flags, e.g. `["NAME"]`, all required, in
   * order. They may stand before, between or after the flags, as kubectl takes them (Go would stop
   * reading flags at the first); a word beyond them is refused. Unset: the command takes none.
   */
  readonly operands?: readonly string[];
}
