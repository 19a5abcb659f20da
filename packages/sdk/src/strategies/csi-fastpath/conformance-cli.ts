import { readFile } from "node:fs/promises";
import {
  CliUsageError,
  defineFlags,
  type FlagCheck,
  type FlagCommand,
  parseFlags,
} from "../../flags/index.ts";
import { quantityToBytes } from "../../quantity.ts";
import { type ConformanceResult, type ConformanceVolume, runConformance } from "./conformance.ts";
import { parseEndpoint, readMutualTls } from "./endpoint.ts";

const CONFORMANCE_FLAGS = defineFlags({
  endpoint: {
    type: "string",
    required: true,
    description: "The backend: unix:///path/to.sock or host:port (required)",
    validate: (text) => {
      parseEndpoint(text); // throws, naming the endpoint
      return undefined;
    },
  },
  "tls-dir": { type: "string", description: "ca.crt, tls.crt and tls.key for a TCP endpoint (mutual TLS)" },
  "csi-driver": { type: "string", description: "Driver of the test volume" },
  "volume-handle": { type: "string", description: "A volume the backend manages and may overwrite" },
  "other-volume-handle": { type: "string", description: "A second such volume (one more check)" },
  capacity: {
    type: "string",
    description: "The volume's size, e.g. 1Gi",
    validate: (text) => (quantityToBytes(text) === undefined ? "must be a quantity such as 1Gi" : undefined),
  },
  "volume-mode": {
    type: "enum",
    values: ["Filesystem", "Block"],
    default: "Filesystem",
    description: "The volume's mode: Filesystem or Block",
  },
  "source-group": { type: "string", description: "API group of the source kind" },
  "source-kind": { type: "string", description: "Source kind" },
  "source-json": { type: "string", description: "The source object as JSON, or @FILE to read it from FILE" },
  timeout: {
    type: "duration",
    default: 5 * 60_000,
    description: "How long one population may take",
    validate: (ms) => (ms > 0 ? undefined : "must be positive"),
  },
});

type ConformanceFlags = typeof CONFORMANCE_FLAGS;

// What the population checks need besides --volume-handle.
const VOLUME_FLAGS = ["csi-driver", "capacity", "source-group", "source-kind", "source-json"] as const;

const volumeCheck: FlagCheck<ConformanceFlags> = (values) => {
  const missing = VOLUME_FLAGS.filter((name) => !values[name]);
  return values["volume-handle"] && missing.length > 0
    ? `--volume-handle also needs ${missing.map((name) => `--${name}`).join(", ")}`
    : undefined;
};

/** `volpop fastpath conformance`'s command line; also read by the docs site's flags reference. */
export const COMMAND: FlagCommand<ConformanceFlags> = {
  program: "volpop fastpath conformance",
  synopsis: "--endpoint=ADDRESS [flags]",
  about: [
    "Checks a CSI fast-path backend against the volpop fast-path protocol (backend.proto).",
    "Without --volume-handle only the checks that write nothing run.",
  ].join("\n"),
  flags: CONFORMANCE_FLAGS,
  checks: [volumeCheck],
};

/**
 * `volpop fastpath conformance [flags]` (`argv` is what follows the two words), whose flags are read
 * as Go's `flag` package reads them. Resolves to the exit code: 0 all passed (or help), 1 a check
 * failed, 2 a usage error.
 */
export async function runConformanceCli(
  argv: readonly string[],
  out: (line: string) => void = console.log,
): Promise<number> {
  let parsed: ReturnType<typeof parseFlags<ConformanceFlags>>;
  try {
    parsed = parseFlags(argv, COMMAND);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    out(`${error.message}\n\n${error.usage}`);
    return 2;
  }
  if (parsed.action !== "run") {
    out(parsed.text);
    return 0;
  }
  const { values } = parsed;
  let volume: ConformanceVolume | undefined;
  const handle = values["volume-handle"];
  if (handle) {
    // volumeCheck has made sure each of VOLUME_FLAGS is given and not empty.
    const sourceArg = values["source-json"] ?? "";
    let sourceJson = sourceArg;
    if (sourceArg.startsWith("@")) {
      try {
        sourceJson = await readFile(sourceArg.slice(1), "utf8");
      } catch (error) {
        out(`--source-json: cannot read ${sourceArg.slice(1)}: ${(error as Error).message}`);
        return 2;
      }
    }
    const other = values["other-volume-handle"];
    volume = {
      csiDriver: values["csi-driver"] ?? "",
      volumeHandle: handle,
      capacityBytes: quantityToBytes(values.capacity) ?? 0,
      volumeMode: values["volume-mode"],
      sourceKind: { group: values["source-group"] ?? "", kind: values["source-kind"] ?? "" },
      sourceJson,
      ...(other ? { otherVolumeHandle: other } : {}),
    };
  }
  const tlsDir = values["tls-dir"];
  const results = await runConformance({
    endpoint: values.endpoint,
    tls: tlsDir ? readMutualTls(tlsDir) : undefined,
    volume,
    populateTimeoutMs: values.timeout,
    onResult: (r) => out(formatResult(r)),
  });
  const count = (outcome: ConformanceResult["outcome"]) =>
    results.filter((r) => r.outcome === outcome).length;
  out(`${count("passed")} passed, ${count("failed")} failed, ${count("skipped")} skipped`);
  return count("failed") > 0 ? 1 : 0;
}

function formatResult(result: ConformanceResult): string {
  const mark = { passed: "✓", failed: "✗", skipped: "-" }[result.outcome];
  return `${mark} ${result.name} (${result.ms} ms)${result.detail ? `\n    ${result.detail}` : ""}`;
}
