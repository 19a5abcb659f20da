/** Turns the text of a flag into its typed value, checked against its declaration. */
import type { FlagDeclaration } from "./declaration.ts";
import { parseGoDuration } from "./duration.ts";

// A value that is wrong in a way the flag's type or `validate` can put in a phrase.
class ValueProblem extends Error {}

/**
 * The value of flag `--name` as declared, from what the command line gave (`undefined`: not
 * given). Calls `fail` with a sentence naming the flag when a value is wrong or a required flag
 * is missing.
 */
export function flagValue(
  name: string,
  flag: FlagDeclaration,
  given: readonly (string | boolean)[] | undefined,
  fail: (message: string) => never,
): unknown {
  if (given === undefined) {
    if (flag.required) {
      const choices = flag.type === "enum" ? `: one of ${flag.values.join(", ")}` : "";
      fail(`--${name} is required${choices}`);
    }
    return Array.isArray(flag.default) ? [...flag.default] : flag.default;
  }
  const values = given.map((raw) => {
    try {
      const value = typeof raw === "boolean" ? raw : convert(flag, raw);
      const problem = (flag.validate as ((value: unknown) => string | undefined) | undefined)?.(value);
      if (problem !== undefined) throw new ValueProblem(problem);
      return value;
    } catch (error) {
      if (error instanceof ValueProblem)
        return fail(`invalid --${name} ${JSON.stringify(raw)}: ${error.message}`);
      if (error instanceof Error) return fail(`--${name}: ${error.message}`);
      throw error;
    }
  });
  return flag.multiple ? values : values.at(-1);
}

function convert(flag: FlagDeclaration, text: string): unknown {
  switch (flag.type) {
    case "string":
    case "boolean": // the reader has turned a boolean's text into true or false already
      return text;
    case "int":
      return wholeNumber(text, flag.min, flag.max);
    case "duration":
      return parseGoDuration(text);
    case "enum":
      if (!(flag.values as readonly string[]).includes(text)) {
        throw new ValueProblem(`must be one of ${flag.values.join(", ")}`);
      }
      return text;
  }
}

// Decimal only, as the parsers before this library: Go would also read +1, 0x10, 0o17 and 017 (octal!).
function wholeNumber(text: string, min: number | undefined, max: number | undefined): number {
  const value = Number(text);
  if (/^-?\d+$/.test(text) && Number.isSafeInteger(value)) {
    if ((min === undefined || value >= min) && (max === undefined || value <= max)) return value;
  }
  const range =
    min !== undefined && max !== undefined
      ? ` from ${min} to ${max}`
      : min !== undefined
        ? ` of at least ${min}`
        : max !== undefined
          ? ` of at most ${max}`
          : "";
  throw new ValueProblem(`must be a whole number${range}`);
}
