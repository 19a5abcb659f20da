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

/**
 * The `--help` text of a command: usage line, what it does, then a table of flags, each with its
 * description and default (`$VAR` first for a flag read from the environment); flags with a
 * `section` follow in a table of their own under its title.
 */
export function flagUsage(command: Omit<FlagCommand<FlagDeclarations>, "checks">): string {
  const first: Entry[] = [];
  const sections = new Map<string, Entry[]>();
  for (const [name, flag] of Object.entries(command.flags)) {
    if (flag.section === undefined) first.push([name, flag]);
    else sections.set(flag.section, [...(sections.get(flag.section) ?? []), [name, flag]]);
  }
  first.push(...builtinFlags(command));
  const tables = [first, ...sections.values()].map((entries) => entries.map(row));
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
    ...[...sections.keys()].flatMap((title, i) => ["", `${title}:`, ...(more[i] ?? [])]),
    "",
  ].join("\n");
}

function row([name, flag]: Entry): [left: string, right: string] {
  const alias = flag.short === undefined ? "" : `-${flag.short}, `;
  const left = `${alias}--${name}${flag.type === "boolean" ? "" : " value"}`;
  const value = flag.shownDefault ?? defaultText(flag);
  const shown = flag.env === undefined ? value : [`$${flag.env}`, value].filter(Boolean).join(", else ");
  return [left, `${flag.description}${shown ? ` (default ${shown})` : ""}`.trim()];
}

function defaultText(flag: FlagDeclaration): string | undefined {
  // A boolean's default of false goes without saying.
  const show = (value: unknown) =>
    flag.type === "duration" ? formatGoDuration(value as number) : value === false ? "" : String(value);
  if (flag.default === undefined) return undefined;
  return Array.isArray(flag.default) ? flag.default.map(show).join(",") : show(flag.default);
}
