/** The help text, generated from the declarations in one layout for every binary. */
import type { FlagCommand } from "./command.ts";
import type { FlagDeclaration, FlagDeclarations } from "./declaration.ts";
import { formatGoDuration } from "./duration.ts";

type Entry = readonly [name: string, flag: FlagDeclaration];

/** The flags `parseFlags` answers itself: `--version` when the command has a version, and `-h, --help`. */
export function builtinFlags(command: Omit<FlagCommand<FlagDeclarations>, "checks">): readonly Entry[] {
  return [
    ...(command.version === undefined
      ? []
      : [["version", { type: "boolean", description: "Print the version and exit" }] as const]),
    ["help", { type: "boolean", short: "h", description: "Print this help and exit" }],
  ];
}

/** A section of a command's flags: the untitled first one, or one titled by the flags' `section`. */
export interface FlagSection {
  readonly title: string | undefined;
  readonly entries: readonly Entry[];
}

/**
 * A command's flags as its help lists them: first those without a `section` and the built-in ones,
 * then each `section` in order of its first flag. The docs site's flags reference lists the same.
 */
export function flagSections(command: Omit<FlagCommand<FlagDeclarations>, "checks">): FlagSection[] {
  const first: Entry[] = [];
  const sections = new Map<string, Entry[]>();
  for (const [name, flag] of Object.entries(command.flags)) {
    if (flag.section === undefined) first.push([name, flag]);
    else sections.set(flag.section, [...(sections.get(flag.section) ?? []), [name, flag]]);
  }
  first.push(...builtinFlags(command));
  return [
    { title: undefined, entries: first },
    ...[...sections].map(([title, entries]) => ({ title, entries })),
  ];
}

/**
 * The `--help` text of a command: usage line, what it does, then a table of flags, each with its
 * description and default (`$VAR` first for a flag read from the environment); flags with a
 * `section` follow in a table of their own under its title.
 */
export function flagUsage(command: Omit<FlagCommand<FlagDeclarations>, "checks">): string {
  const sections = flagSections(command);
  const tables = sections.map((section) => section.entries.map(row));
  const width = Math.max(...tables.flat().map(([left]) => left.length));
  const [main = [], ...more] = tables.map((rows) =>
    rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`.trimEnd()),
  );
  return [
    `Usage: ${command.program} ${command.synopsis}`,
    "",
    command.about,
    "",
    "Flags (also accepted as -flag, --flag=value or --flag value):",
    ...main,
    ...sections.slice(1).flatMap((section, i) => ["", `${section.title}:`, ...(more[i] ?? [])]),
    "",
  ].join("\n");
}

function row([name, flag]: Entry): [left: string, right: string] {
  const alias = flag.short === undefined ? "" : `-${flag.short}, `;
  const left = `${alias}--${name}${flag.type === "boolean" ? "" : " value"}`;
  const shown = shownDefault(flag);
  return [left, `${flag.description}${shown ? ` (default ${shown})` : ""}`.trim()];
}

/**
 * A flag's default as the help text words it (`$VAR` first for a flag read from the environment), or
 * `undefined` when there is nothing to say; the docs site's flags reference shows the same words.
 */
export function shownDefault(flag: FlagDeclaration): string | undefined {
  const value = flag.shownDefault ?? defaultText(flag);
  const shown = flag.env === undefined ? value : [`$${flag.env}`, value].filter(Boolean).join(", else ");
  return shown || undefined;
}

function defaultText(flag: FlagDeclaration): string | undefined {
  // A boolean's default of false goes without saying.
  const show = (value: unknown) =>
    flag.type === "duration" ? formatGoDuration(value as number) : value === false ? "" : String(value);
  if (flag.default === undefined) return undefined;
  return Array.isArray(flag.default) ? flag.default.map(show).join(",") : show(flag.default);
}
