/** `parseFlags`: a command line, read as Go would, into the typed values its declarations promise. */
import type { FlagCommand } from "./command.ts";
import type { FlagDeclarations, FlagValues } from "./declaration.ts";
import { type GoFlagNames, HELP_NAMES, parseGoBool, readGoArguments } from "./go-syntax.ts";
import { builtinFlags, flagUsage } from "./usage.ts";
import { CliUsageError } from "./usage-error.ts";
import { flagValue } from "./values.ts";

/** What the command line asks for. */
export type FlagParseResult<S extends FlagDeclarations> =
  | {
      readonly action: "run";
      /** Every declared flag's value, its default when not given. */
      readonly values: FlagValues<S>;
      /** The arguments after `--` (only for a command that declares `args`). */
      readonly rest: string[];
      /** The command's operands (see {@link FlagCommand.operands}), in order; all of them are given. */
      readonly operands: string[];
    }
  | {
      readonly action: "version";
      /** `<program> <version>`. */
      readonly text: string;
    }
  | {
      readonly action: "help";
      /** The help text. */
      readonly text: string;
    };

/** The environment a flag with an `env` name is read from. */
export type FlagEnvironment = Readonly<Record<string, string | undefined>>;

/**
 * Parses `argv` (without the program name) as Go's `flag` package would, takes a flag it does not
 * give from the flag's `env` variable in `env` (default `process.env`), then types and checks
 * each value, then runs the command's cross-flag `checks`. `-h`/`--help` answers with the help text
 * unless an argument before it is malformed (values are checked once the whole line is read);
 * `--version` answers with the version even when another value is bad.
 *
 * Throws a {@link CliUsageError} (message and help text) for anything wrong on the command line,
 * and a `TypeError` for a declaration that cannot work (a reserved or repeated name or alias).
 */
export function parseFlags<const S extends FlagDeclarations>(
  argv: readonly string[],
  command: FlagCommand<S>,
  env: FlagEnvironment = process.env,
): FlagParseResult<S> {
  const names = flagNames(command);
  let usage: string | undefined;
  const help = () => {
    usage ??= flagUsage(command);
    return usage;
  };
  const fail = (message: string): never => {
    throw new CliUsageError(message, help());
  };

  const read = readGoArguments(argv, names, fail);
  if (read === "help") return { action: "help", text: help() };
  if (command.version !== undefined && read.given.get("version")?.at(-1) === true) {
    return { action: "version", text: `${command.program} ${command.version}` };
  }
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(command.flags)) {
    const given = read.given.get(name);
    const variable = given === undefined && flag.env !== undefined ? env[flag.env] : undefined;
    if (variable === undefined || variable === "") {
      values[name] = flagValue(name, flag, given, fail);
    } else {
      // Read as --name=value, its problems saying where the value came from.
      const fromEnv = (message: string): never => fail(`${message} (from $${flag.env})`);
      const raw =
        flag.type === "boolean" ? parseGoBool(variable, `$${flag.env}=${variable}`, fail) : variable;
      values[name] = flagValue(name, flag, [raw], fromEnv);
    }
  }
  const missing = command.operands?.[read.operands.length];
  if (missing !== undefined) fail(`missing ${missing}`);
  const typed = values as FlagValues<S>;
  for (const check of command.checks ?? []) {
    const problem = check(typed);
    if (problem !== undefined) fail(problem);
  }
  return { action: "run", values: typed, rest: [...read.rest], operands: [...read.operands] };
}

function flagNames(command: Omit<FlagCommand<FlagDeclarations>, "checks">): GoFlagNames {
  const booleans = new Map<string, boolean>();
  const shorts = new Map<string, string>();
  const builtins = builtinFlags(command);
  const reserved = [...HELP_NAMES, ...builtins.map(([name]) => name)];
  for (const [name, flag] of Object.entries(command.flags)) {
    if (!/^[^-=][^=]*$/.test(name)) throw new TypeError(`--${name} cannot be a flag's name`);
    if (reserved.includes(name)) throw new TypeError(`--${name} is a flag of every command; declare another`);
    if (flag.env !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(flag.env)) {
      throw new TypeError(`--${name}: ${JSON.stringify(flag.env)} cannot be an environment variable's name`);
    }
    booleans.set(name, flag.type === "boolean");
  }
  for (const [name, flag] of [...Object.entries(command.flags), ...builtins]) {
    if (flag.short === undefined) continue;
    if (flag.short.length !== 1) throw new TypeError(`--${name}: short -${flag.short} must be one letter`);
    // A one-letter long name would be shadowed by the alias; -h is always help.
    const taken =
      shorts.has(flag.short) || booleans.has(flag.short) || (name !== "help" && flag.short === "h");
    if (taken) throw new TypeError(`--${name}: short -${flag.short} is taken`);
    shorts.set(flag.short, name);
  }
  for (const [name, flag] of builtins) booleans.set(name, flag.type === "boolean");
  return { booleans, shorts, args: command.args, operands: command.operands?.length };
}
