/**
 * The command line: `create-volpop-populator <name> [flags]`. Node's own `util.parseArgs` reads it:
 * a scaffolder runs once through `npm create`, and this keeps it free of dependencies (the SDK's flag
 * library would bring the Kubernetes client along).
 */
import { parseArgs } from "node:util";
import { STRATEGIES, type StrategyName, VOLUME_MODES, type VolumeMode } from "./options.ts";
import type { ScaffoldOptions } from "./scaffold.ts";

export const USAGE = `Usage: create-volpop-populator <name> [flags]
       npm create volpop-populator <name> -- [flags]   |   pnpm create volpop-populator <name> [flags]

Writes a volume populator project on @volpop/sdk into ./<name>: the source's spec and CRD, the
populator, unit and e2e tests, a Containerfile, kustomize manifests and a Helm chart.

  <name>                   the project's name: npm package, image, namespace (DNS-1123 label)
  --strategy <s>           how volumes are filled: ${STRATEGIES.join(" | ")} (default pod)
  --volume-mode <m>        ${VOLUME_MODES.join(" | ")} (default Filesystem)
  --group <group>          the source's API group (default <name>.example.com)
  --kind <Kind>            the source's kind (default <name> in PascalCase, less "-populator")
  --dir <folder>           where to write the project (default ./<name>)
  --sdk-version <version>  the @volpop/sdk version to depend on (default the one this scaffolder was released with)
  --force                  write into a folder that is not empty
  -h, --help               this text
`;

/** A command line that cannot be read; the message says why. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type CliRequest =
  | { readonly action: "help" }
  | { readonly action: "scaffold"; readonly options: ScaffoldOptions };

export function parseCommandLine(argv: readonly string[]): CliRequest {
  let parsed: ReturnType<typeof read>;
  try {
    parsed = read(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { action: "help" };
  const [name, ...extra] = positionals;
  if (name === undefined)
    throw new UsageError("give the populator a name, e.g. `create-volpop-populator tape-archive`");
  if (extra.length > 0) throw new UsageError(`one name only; also given: ${extra.join(" ")}`);
  const options: ScaffoldOptions = {
    name,
    ...(values.strategy !== undefined ? { strategy: values.strategy as StrategyName } : {}),
    ...(values["volume-mode"] !== undefined ? { volumeMode: values["volume-mode"] as VolumeMode } : {}),
    ...(values.group !== undefined ? { group: values.group } : {}),
    ...(values.kind !== undefined ? { kind: values.kind } : {}),
    ...(values.dir !== undefined ? { dir: values.dir } : {}),
    ...(values["sdk-version"] !== undefined ? { sdkVersion: values["sdk-version"] } : {}),
    force: values.force ?? false,
  };
  return { action: "scaffold", options };
}

function read(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      strategy: { type: "string" },
      "volume-mode": { type: "string" },
      group: { type: "string" },
      kind: { type: "string" },
      dir: { type: "string" },
      "sdk-version": { type: "string" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}
