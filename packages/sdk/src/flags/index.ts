/**
 * One declarative flag library for every volpop binary, Go-compatible: a flag set is an object of
 * declarations (`defineFlags`), `parseFlags` reads a command line as Go's `flag` package does and
 * returns values typed from the declarations, and the help text is generated from them. Groups of
 * flags that several binaries share (leader election, HTTP endpoint, logging, kubeconfig) are
 * declared once here, with their checks.
 *
 * @example
 * const flags = defineFlags({
 *   workers: { type: "int", min: 1, default: 10, description: "Reconciles in parallel" },
 *   ...leaderElectionFlags({ namespaceDefault: "--namespace" }),
 * });
 * const parsed = parseFlags(process.argv.slice(2), {
 *   program: "my-controller", synopsis: "[flags]", about: "Does things.", version: "1.0.0",
 *   flags, checks: [leaderElectionCheck],
 * });
 * if (parsed.action === "run") parsed.values.workers; // number
 */
export type { FlagCheck, FlagCommand } from "./command.ts";
export {
  type BooleanFlag,
  type DurationFlag,
  defineFlags,
  type EnumFlag,
  type FlagDeclaration,
  type FlagDeclarations,
  type FlagValue,
  type FlagValues,
  type IntFlag,
  type StringFlag,
} from "./declaration.ts";
export { formatGoDuration, parseGoDuration } from "./duration.ts";
export { httpEndpointFlags } from "./groups/http-endpoint.ts";
export { kubeconfigFlags } from "./groups/kubeconfig.ts";
export {
  type LeaderElectionFlags,
  leaderElectionCheck,
  leaderElectionFlags,
} from "./groups/leader-election.ts";
export { loggingFlags, logLevelOf } from "./groups/logging.ts";
export { type FlagEnvironment, type FlagParseResult, parseFlags } from "./parse.ts";
export { flagUsage } from "./usage.ts";
export { CliUsageError } from "./usage-error.ts";
