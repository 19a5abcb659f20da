/**
 * How a flag is declared, and the type of value a declaration gives: one object literal per flag
 * set, from which {@link FlagValues} infers what `parseFlags` returns.
 */

/** What every flag declares, whatever its type. */
interface FlagBase<T> {
  /** One line in the help text. */
  readonly description: string;
  /**
   * Written as the default in the help text instead of `default`: for a default that depends on
   * another flag or on where the program runs, e.g. `info` for a level that `--v` may raise.
   */
  readonly shownDefault?: string;
  /** A one-letter alias, `-x`. Go's flags have none; a populator's own flags may. */
  readonly short?: string;
  /** The command line must give this flag; it has no default. */
  readonly required?: boolean;
  /**
   * An environment variable read when the command line does not give the flag, e.g. `NODE_NAME`
   * (what a Pod's `fieldRef` sets): its value is read as one `--name=value` would be, and counts
   * as given for `required`. Empty or unset: the flag's default.
   */
  readonly env?: string;
  /** Heading of the help text section the flag is listed under; unset: the first section. */
  readonly section?: string;
  /**
   * What is wrong with a value of the right type: a phrase such as `must start with "/"`, reported
   * as `invalid --name "value": <phrase>`, or `undefined` when it is fine. An `Error` it throws is
   * reported as `--name: <message>`, for parsers whose messages quote the value already.
   */
  readonly validate?: (value: T) => string | undefined;
}

// A flag given once (the last one wins, as in Go) or collected each time it is given.
type Arity<T> =
  | { readonly multiple?: false; readonly default?: T }
  | { readonly multiple: true; readonly default?: readonly T[] };

/** A flag that takes any text. */
export type StringFlag = FlagBase<string> & Arity<string> & { readonly type: "string" };

/** A flag that is on when given alone (`--flag`), or as Go's `strconv.ParseBool` reads `--flag=value`. */
export type BooleanFlag = FlagBase<boolean> & Arity<boolean> & { readonly type: "boolean" };

/** A flag that takes a whole decimal number, optionally within `min` and `max`. */
export type IntFlag = FlagBase<number> &
  Arity<number> & { readonly type: "int"; readonly min?: number; readonly max?: number };

/** A flag that takes a Go duration (`300ms`, `1m30s`); its value is in milliseconds. */
export type DurationFlag = FlagBase<number> & Arity<number> & { readonly type: "duration" };

/** A flag that takes one of a few words. */
export type EnumFlag<V extends string = string> = FlagBase<V> &
  Arity<V> & { readonly type: "enum"; readonly values: readonly V[] };

/** Any flag declaration. */
export type FlagDeclaration = StringFlag | BooleanFlag | IntFlag | DurationFlag | EnumFlag;

/** A flag set: declarations by long name (`"metrics-path"` for `--metrics-path`). */
export type FlagDeclarations = Readonly<Record<string, FlagDeclaration>>;

type Scalar<F> = F extends { readonly type: "string" }
  ? string
  : F extends { readonly type: "boolean" }
    ? boolean
    : F extends { readonly type: "int" | "duration" }
      ? number
      : F extends { readonly type: "enum"; readonly values: readonly (infer V)[] }
        ? V
        : never;

/** The value a declaration gives: `undefined` when the flag is absent and has no default. */
export type FlagValue<F extends FlagDeclaration> =
  | (F extends { readonly multiple: true } ? Scalar<F>[] : Scalar<F>)
  | (F extends { readonly default: NonNullable<unknown> } | { readonly required: true } ? never : undefined);

/** The values of a flag set, by long name. */
export type FlagValues<S extends FlagDeclarations> = { readonly [K in keyof S]: FlagValue<S[K]> };

/**
 * Declares a flag set. Returns its argument unchanged; it exists for the types, so that each
 * `validate` gets its flag's value type and {@link FlagValues} sees the literal declarations.
 */
export function defineFlags<const S extends FlagDeclarations>(flags: S): S {
  return flags;
}
