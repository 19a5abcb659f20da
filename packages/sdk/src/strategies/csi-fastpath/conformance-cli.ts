import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { parseGoDuration } from "../../flags/index.ts";
import { quantityToBytes } from "../../quantity.ts";
import { type ConformanceResult, type ConformanceVolume, runConformance } from "./conformance.ts";
import { readMutualTls } from "./endpoint.ts";

const USAGE = `Usage: volpop fastpath conformance --endpoint ADDRESS [options]

Checks a CSI fast-path backend against the volpop fast-path protocol (backend.proto).
Without --volume-handle only the checks that write nothing run.

  --endpoint ADDRESS          unix:///path/to.sock or host:port (required)
  --tls-dir DIR               ca.crt, tls.crt, tls.key for a TCP endpoint (mutual TLS)
  --csi-driver NAME           driver of the test volume
  --volume-handle HANDLE      a volume the backend manages and may overwrite
  --other-volume-handle H     a second such volume (one more check)
  --capacity QUANTITY         the volume's size, e.g. 1Gi
  --volume-mode MODE          Filesystem (default) or Block
  --source-group GROUP        API group of the source kind
  --source-kind KIND          source kind
  --source-json JSON|@FILE    the source object
  --timeout DURATION          how long one population may take (default 5m)
  -h, --help
`;

/** `volpop <command>`: today one command, `fastpath conformance`. Resolves to the exit code. */
export async function runVolpopCli(
  argv: readonly string[],
  out: (line: string) => void = console.log,
): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group !== "fastpath" || command !== "conformance") {
    out(USAGE);
    return group === "--help" || group === "-h" ? 0 : 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: {
        endpoint: { type: "string" },
        "tls-dir": { type: "string" },
        "csi-driver": { type: "string" },
        "volume-handle": { type: "string" },
        "other-volume-handle": { type: "string" },
        capacity: { type: "string" },
        "volume-mode": { type: "string", default: "Filesystem" },
        "source-group": { type: "string" },
        "source-kind": { type: "string" },
        "source-json": { type: "string" },
        timeout: { type: "string", default: "5m" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    out(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const text = (name: string) => (typeof values[name] === "string" ? (values[name] as string) : undefined);
  const endpoint = text("endpoint");
  if (!endpoint) {
    out(`--endpoint is required\n\n${USAGE}`);
    return 2;
  }
  let volume: ConformanceVolume | undefined;
  const handle = text("volume-handle");
  if (handle) {
    const missing = ["csi-driver", "capacity", "source-group", "source-kind", "source-json"].filter(
      (f) => !text(f),
    );
    if (missing.length > 0) {
      out(`--volume-handle also needs ${missing.map((f) => `--${f}`).join(", ")}`);
      return 2;
    }
    const capacityBytes = quantityToBytes(text("capacity"));
    const mode = text("volume-mode");
    if (capacityBytes === undefined || (mode !== "Filesystem" && mode !== "Block")) {
      out("--capacity must be a quantity (1Gi) and --volume-mode Filesystem or Block");
      return 2;
    }
    const sourceArg = text("source-json") as string;
    const sourceJson = sourceArg.startsWith("@") ? await readFile(sourceArg.slice(1), "utf8") : sourceArg;
    const other = text("other-volume-handle");
    volume = {
      csiDriver: text("csi-driver") as string,
      volumeHandle: handle,
      capacityBytes,
      volumeMode: mode,
      sourceKind: { group: text("source-group") as string, kind: text("source-kind") as string },
      sourceJson,
      ...(other ? { otherVolumeHandle: other } : {}),
    };
  }
  const tlsDir = text("tls-dir");
  const results = await runConformance({
    endpoint,
    tls: tlsDir ? readMutualTls(tlsDir) : undefined,
    volume,
    populateTimeoutMs: parseGoDuration(text("timeout") ?? "5m"),
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
