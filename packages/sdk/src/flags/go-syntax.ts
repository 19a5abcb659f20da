/**
 * Reads a command line the way Go's `flag` package does, so that manifests written for upstream's
 * Go binaries work unchanged: `-flag` and `--flag` alike, `-flag=value` and `-flag value` (the next
 * argument is the value even if it starts with `-`), booleans as `-flag` or `-flag=<ParseBool>`
 * only, the last of a repeated flag winning, `--` ending the flags, `-h` and `-help` asking for
 * help. Unlike Go, an argument that is not a flag is refused rather than ending the flags (a stray
 * word is most often a flag's lost value), unless the command names it as an operand: then it is
 * taken wherever it stands among the flags.
 */

/** What the reader needs to know of a flag set. */
export interface GoFlagNames {
  /** Each flag's long name, and whether it is a boolean (which never takes the next argument). */
  readonly booleans: ReadonlyMap<string, boolean>;
  /** One-letter aliases and the long names they stand for. */
  readonly shorts: ReadonlyMap<string, string>;
  /** Said after `unexpected argument "…"` when arguments after `--` are taken; unset: none are. */
  readonly args?: string | undefined;
  /** How many words besides flags the command takes (its operands); unset: none. */
  readonly operands?: number | undefined;
}

/** The flags a command line gives. */
export interface GoArguments {
  /** Each flag given, by long name, its values in order: booleans for boolean flags, else text. */
  readonly given: ReadonlyMap<string, readonly (string | boolean)[]>;
  /** The arguments after `--`, untouched. */
  readonly rest: readonly string[];
  /** The words given besides flags, in order, at most `names.operands` of them. */
  readonly operands: readonly string[];
}

/** Names that always ask for help, as in Go. */
export const HELP_NAMES: readonly string[] = ["h", "help"];

/**
 * Reads `argv` into the flags it gives, or `"help"` at the first `-h` or `-help` (the arguments
 * after it are not read). Calls `fail` with a sentence for anything Go would refuse.
 */
export function readGoArguments(
  argv: readonly string[],
  names: GoFlagNames,
  fail: (message: string) => never,
): GoArguments | "help" {
  const given = new Map<string, (string | boolean)[]>();
  const operands: string[] = [];
  const stray = (arg: string) =>
    fail(`unexpected argument ${JSON.stringify(arg)}${names.args === undefined ? "" : `; ${names.args}`}`);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      const rest = argv.slice(i + 1);
      if (names.args === undefined && rest.length > 0) stray(rest[0] as string);
      return { given, rest, operands };
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (operands.length >= (names.operands ?? 0)) stray(arg);
      operands.push(arg);
      continue;
    }
    const body = arg.slice(arg.startsWith("--") ? 2 : 1);
    const eq = body.indexOf("=");
    const typed = eq === -1 ? body : body.slice(0, eq);
    const inline = eq === -1 ? undefined : body.slice(eq + 1);
    if (typed === "" || typed.startsWith("-")) fail(`bad flag syntax: ${arg}`);
    const name = (typed.length === 1 ? names.shorts.get(typed) : undefined) ?? typed;
    if (HELP_NAMES.includes(name)) return "help";
    const boolean = names.booleans.get(name);
    if (boolean === undefined) fail(`unknown flag ${JSON.stringify(`--${typed}`)}; see --help`);
    let value: string | boolean;
    if (boolean) {
      value = inline === undefined ? true : parseGoBool(inline, arg, fail);
    } else if (inline !== undefined) {
      value = inline;
    } else {
      if (i + 1 >= argv.length) fail(`flag --${name} needs a value`);
      value = argv[++i] as string;
    }
    given.set(name, [...(given.get(name) ?? []), value]);
  }
  return { given, rest: [], operands };
}

// The spellings Go's strconv.ParseBool accepts.
const GO_TRUE: ReadonlySet<string> = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const GO_FALSE: ReadonlySet<string> = new Set(["0", "f", "F", "false", "FALSE", "False"]);

/** Reads a boolean flag's `=value` as Go's `strconv.ParseBool`; `fail`s naming `arg` otherwise. */
export function parseGoBool(value: string, arg: string, fail: (message: string) => never): boolean {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  return fail(`invalid boolean in ${arg}: use true or false`);
}
