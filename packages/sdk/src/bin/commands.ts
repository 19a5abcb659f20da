/**
 * The `volpop` command: picks the subcommand and loads only its module, so that `volpop doctor` does
 * not load gRPC and `volpop fastpath conformance` does not load the doctor.
 */

/** Where a command writes, and whether it may color what it writes. */
export interface CommandOutput {
  /** Writes a line (or several, joined by newlines). */
  readonly out: (text: string) => void;
  /** Writes an error (usage, connection): stderr, so that `-o json` output stays JSON. Default: `out`. */
  readonly err?: (text: string) => void;
  /** Color the text: only for a terminal that wants color (see {@link colorWanted}). */
  readonly color: boolean;
}

const USAGE = `Usage: volpop <command> [flags]

Commands:
  doctor pvc NAME [-n NAMESPACE]  Explain why a PVC is not Bound yet, and what to do about it
  doctor cluster                  Check the cluster's volume populator set-up
  fastpath conformance            Check a CSI fast-path backend against the volpop fast-path protocol

"volpop <command> --help" lists a command's flags.
`;

/**
 * Runs `volpop <command>` with `argv` (the words after `volpop`) and resolves to the exit code:
 * 0 success (or help), 1 the command found a problem, 2 a usage or connection error.
 */
export async function runVolpopCli(
  argv: readonly string[],
  output: Partial<CommandOutput> = {},
): Promise<number> {
  // A caller that captures `out` alone gets the errors there too; the real command, on stderr.
  const err = output.err ?? (output.out ? undefined : console.error);
  const io: CommandOutput = {
    out: output.out ?? console.log,
    ...(err ? { err } : {}),
    color: output.color ?? false,
  };
  const [group, command, ...rest] = argv;
  if (group === "fastpath" && command === "conformance") {
    const { runConformanceCli } = await import("../strategies/csi-fastpath/conformance-cli.ts");
    return runConformanceCli(rest, io.out);
  }
  if (group === "doctor") {
    const { runDoctorCli } = await import("../doctor/cli.ts");
    return runDoctorCli(argv.slice(1), io);
  }
  if (/^--?(h|help)$/.test(group ?? "")) {
    io.out(USAGE);
    return 0;
  }
  const typed = argv.slice(0, 2).join(" ");
  io.out(`${typed ? `unknown command ${JSON.stringify(typed)}` : "no command"}\n\n${USAGE}`);
  return 2;
}

/**
 * Whether to color what goes to `stream`: only a terminal, and only one that wants color (Node's
 * `hasColors` honours `NO_COLOR`, `NODE_DISABLE_COLORS`, `FORCE_COLOR` and `TERM=dumb`).
 */
export function colorWanted(stream: { readonly isTTY?: boolean; hasColors?: () => boolean }): boolean {
  return stream.isTTY === true && (stream.hasColors?.() ?? false);
}
