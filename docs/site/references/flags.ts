/**
 * The flags reference: each binary's command line as its flag declarations define it (the same ones
 * its `--help` is generated from), one table per help section.
 */
import { daemonCommand } from "../../../packages/populator-csi-fastpath/src/backend/daemon-flags.ts";
import { populatorCommand } from "../../../packages/sdk/src/cli.ts";
import { CLUSTER_COMMAND, PVC_COMMAND } from "../../../packages/sdk/src/doctor/cli.ts";
import type { FlagCommand } from "../../../packages/sdk/src/flags/command.ts";
import type { FlagDeclaration, FlagDeclarations } from "../../../packages/sdk/src/flags/declaration.ts";
import { flagSections, shownDefault } from "../../../packages/sdk/src/flags/usage.ts";
import { COMMAND as CONFORMANCE_COMMAND } from "../../../packages/sdk/src/strategies/csi-fastpath/conformance-cli.ts";
import { validatorCommand } from "../../../packages/validator/src/cli.ts";
import { code, generatedBanner, table } from "./markdown.ts";

/** A binary whose flags the reference lists. */
export interface FlagBinary {
  readonly title: string;
  /** What it is and where it runs, in a sentence or two. Default: the command's own `about`. */
  readonly about?: string;
  /** Its command line, with a version so that `--version` is listed as the binary has it. */
  readonly command: Omit<FlagCommand<FlagDeclarations>, "checks">;
  /** Defaults that differ from program to program, in words, by flag name. */
  readonly defaultsInWords?: Readonly<Record<string, string>>;
}

// Not printed: only --version's presence depends on it.
const ANY_VERSION = "0.0.0";

export const FLAG_BINARIES: readonly FlagBinary[] = [
  {
    title: "Populator controller",
    about:
      "Every populator built with `runPopulator` (`@volpop/sdk`) takes these flags, in controller mode (the Deployment) and populate mode (the populator pod the controller starts). Each populator sets its own program name, namespace and image; its own flags follow in `--help` under “Populator flags”.",
    command: populatorCommand({
      namespace: "",
      imageName: "",
      version: ANY_VERSION,
      programName: "<populator>",
    }),
    defaultsInWords: { namespace: "the populator's own", "image-name": "the populator's own" },
  },
  {
    title: "Data-source validator",
    about:
      "`volume-data-source-validator` (`@volpop/validator`): warns about PVCs whose `dataSourceRef` names a kind no `VolumePopulator` registers; flags as upstream's validator, plus the admission webhook's.",
    command: validatorCommand(ANY_VERSION),
  },
  {
    title: "Fast-path backend",
    about:
      "The hostpath CSI fast-path backend (`@volpop/populator-csi-fastpath`, a DaemonSet): the image's `backend` command, which fills hostpath volumes on its node from golden content.",
    command: daemonCommand(ANY_VERSION),
  },
  { title: "volpop doctor pvc", command: PVC_COMMAND },
  { title: "volpop doctor cluster", command: CLUSTER_COMMAND },
  { title: "volpop fastpath conformance", command: CONFORMANCE_COMMAND },
];

/** How a flag's value is written on the command line. */
export function valueText(flag: FlagDeclaration): string {
  const value = (() => {
    switch (flag.type) {
      case "boolean":
        return "boolean";
      case "string":
        return "text";
      case "int": {
        const range = [
          flag.min === undefined ? undefined : `≥ ${flag.min}`,
          flag.max === undefined ? undefined : `≤ ${flag.max}`,
        ].filter(Boolean);
        return `integer${range.length > 0 ? ` (${range.join(", ")})` : ""}`;
      }
      case "duration":
        return "Go duration (`30s`, `1m30s`)";
      case "enum":
        return `one of ${flag.values.map(code).join(", ")}`;
    }
  })();
  return [value, flag.multiple ? "repeatable" : undefined, flag.required ? "**required**" : undefined]
    .filter(Boolean)
    .join("; ");
}

function flagTable(
  entries: readonly (readonly [string, FlagDeclaration])[],
  defaultsInWords: Readonly<Record<string, string>>,
): string {
  const rows = entries.map(([name, flag]) => {
    const shown = shownDefault(flag);
    return [
      [flag.short === undefined ? undefined : code(`-${flag.short}`), code(`--${name}`)]
        .filter(Boolean)
        .join(", "),
      valueText(flag),
      defaultsInWords[name] ?? (shown === undefined ? "" : code(shown)),
      flag.description,
    ];
  });
  return table(["Flag", "Value", "Default", "Description"], rows);
}

/** One binary's section: usage line, then its flags, one table per help section. */
export function renderFlagBinary(binary: FlagBinary): string {
  const { command } = binary;
  const unknown = Object.keys(binary.defaultsInWords ?? {}).filter(
    (name) => !Object.hasOwn(command.flags, name),
  );
  if (unknown.length > 0) {
    throw new Error(
      `${binary.title}: defaultsInWords names flags ${command.program} does not have: ${unknown.join(", ")}`,
    );
  }
  return [
    `## ${binary.title}`,
    "",
    // The commands' own words are wrapped for a terminal.
    binary.about ?? command.about.replace(/\n/g, " "),
    "",
    "```",
    `Usage: ${command.program} ${command.synopsis}`,
    "```",
    "",
    ...flagSections(command).flatMap((section, i) => [
      ...(i === 0 ? [] : ["", `### ${section.title}`, ""]),
      flagTable(section.entries, binary.defaultsInWords ?? {}),
    ]),
  ].join("\n");
}

/** The flags reference page. */
export function renderFlagsReference(binaries: readonly FlagBinary[] = FLAG_BINARIES): string {
  return [
    generatedBanner([
      "packages/sdk/src/cli.ts (populatorCommand)",
      "packages/validator/src/cli.ts (validatorCommand)",
      "packages/populator-csi-fastpath/src/backend/daemon-flags.ts (daemonCommand)",
      "packages/sdk/src/doctor/cli.ts (PVC_COMMAND, CLUSTER_COMMAND)",
      "packages/sdk/src/strategies/csi-fastpath/conformance-cli.ts (COMMAND)",
    ]),
    "",
    "# Flags reference",
    "",
    "Every volpop binary reads its command line as Go's `flag` package does, so manifests written for",
    "upstream's images keep working: `-flag`, `--flag`, `--flag=value` and `--flag value` are the same,",
    "booleans are on when given alone, and the last of a repeated flag wins. `--help` prints the same",
    "tables as text.",
    "",
    ...binaries.flatMap((binary) => [renderFlagBinary(binary), ""]),
  ].join("\n");
}
