/**
 * `volpop doctor pvc NAME` and `volpop doctor cluster`: the command lines around `doctorPvc` and
 * `doctorCluster`. Exit codes: 0 nothing wrong, 1 a problem found, 2 a usage or connection error.
 */
import { KubeConfig } from "@kubernetes/client-node";
import type { CommandOutput } from "../bin/commands.ts";
import { toVolpopError } from "../errors.ts";
import {
  CliUsageError,
  defineFlags,
  type FlagCommand,
  type FlagDeclarations,
  type FlagValues,
  formatGoDuration,
  kubeconfigFlags,
  parseFlags,
} from "../flags/index.ts";
import { doctorCluster, doctorPvc } from "./doctor.ts";
import { DoctorConnectionError, type GatherOptions } from "./gather.ts";
import { renderJson, renderText } from "./render.ts";
import type { DoctorReport } from "./report.ts";

const CONNECTION_FLAGS = defineFlags({
  ...kubeconfigFlags(),
  context: { type: "string", description: "The kubeconfig context to use (default: its current context)" },
  as: { type: "string", description: "Act as this user, as kubectl --as (to check what a user may read)" },
  timeout: {
    type: "duration",
    default: 30_000,
    description: "How long doctor waits for the API server in all",
    validate: (ms) => (ms > 0 ? undefined : "must be positive"),
  },
});

const REPORT_FLAGS = defineFlags({
  output: {
    type: "enum",
    short: "o",
    values: ["text", "json"],
    default: "text",
    description: "text for people, json for scripts (schema volpop.dev/doctor/v1)",
  },
  prefix: {
    type: "string",
    description:
      "The populator's prefix (of its finalizer, annotations and Lease), when it is not its kind's API group",
  },
});

const PVC_FLAGS = defineFlags({
  namespace: {
    type: "string",
    short: "n",
    description: "The PVC's namespace (default: the kubeconfig context's, else default)",
  },
  "populator-namespace": {
    type: "string",
    description: "Where the populator keeps PVC' and its pods, if doctor cannot find it",
  },
  ...REPORT_FLAGS,
  ...CONNECTION_FLAGS,
});

const CLUSTER_FLAGS = defineFlags({ ...REPORT_FLAGS, ...CONNECTION_FLAGS });

const EXIT_CODES =
  "Exit codes: 0 nothing wrong (or Bound), 1 a problem found, 2 a usage or connection error.";

/** `volpop doctor pvc`'s command line; also read by the docs site's flags reference. */
export const PVC_COMMAND: FlagCommand<typeof PVC_FLAGS> = {
  program: "volpop doctor pvc",
  synopsis: "NAME [-n NAMESPACE] [flags]",
  about: [
    "Explains in plain words why a PersistentVolumeClaim is not Bound yet and what to do: its data",
    "source, the populator's controller, the StorageClass, PVC', the populator pod, retries,",
    "progress, quotas and the recent events of the PVC and of PVC'. Reads only; changes nothing.",
    EXIT_CODES,
  ].join("\n"),
  flags: PVC_FLAGS,
  operands: ["NAME"],
};

/** `volpop doctor cluster`'s command line; also read by the docs site's flags reference. */
export const CLUSTER_COMMAND: FlagCommand<typeof CLUSTER_FLAGS> = {
  program: "volpop doctor cluster",
  synopsis: "[flags]",
  about: [
    "Checks the cluster's set-up for volume populators: AnyVolumeDataSource, the data-source",
    "validator, and for each registered populator (VolumePopulator) whether its kind is served and",
    "a live controller serves it. Reads only; changes nothing.",
    EXIT_CODES,
  ].join("\n"),
  flags: CLUSTER_FLAGS,
};

const USAGE = `Usage: volpop doctor pvc NAME [-n NAMESPACE] [flags]
       volpop doctor cluster [flags]

"volpop doctor pvc --help" and "volpop doctor cluster --help" list the flags.
${EXIT_CODES}
`;

/** `volpop doctor …` with `argv` the words after `doctor`; resolves to the exit code. */
export async function runDoctorCli(argv: readonly string[], io: CommandOutput): Promise<number> {
  const [what, ...rest] = argv;
  if (what === "pvc") {
    return runCommand(rest, PVC_COMMAND, io, (kubeConfig, values, operands, options) =>
      doctorPvc(
        kubeConfig,
        { namespace: values.namespace || contextNamespace(kubeConfig), name: operands[0] ?? "" },
        { ...options, populatorNamespace: values["populator-namespace"] || undefined },
      ),
    );
  }
  if (what === "cluster") {
    return runCommand(rest, CLUSTER_COMMAND, io, (kubeConfig, _values, _operands, options) =>
      doctorCluster(kubeConfig, options),
    );
  }
  if (/^--?(h|help)$/.test(what ?? "")) {
    io.out(USAGE);
    return 0;
  }
  (io.err ?? io.out)(
    `${what === undefined ? "missing pvc or cluster" : `unknown doctor command ${JSON.stringify(what)}`}\n\n${USAGE}`,
  );
  return 2;
}

type CommonValues = FlagValues<typeof CONNECTION_FLAGS> & FlagValues<typeof REPORT_FLAGS>;

async function runCommand<S extends FlagDeclarations>(
  argv: readonly string[],
  command: FlagCommand<S>,
  io: CommandOutput,
  diagnose: (
    kubeConfig: KubeConfig,
    values: FlagValues<S>,
    operands: readonly string[],
    options: GatherOptions,
  ) => Promise<DoctorReport>,
): Promise<number> {
  let parsed: ReturnType<typeof parseFlags<S>>;
  try {
    parsed = parseFlags(argv, command);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    (io.err ?? io.out)(`${error.message}\n\n${error.usage}`);
    return 2;
  }
  if (parsed.action !== "run") {
    io.out(parsed.text);
    return 0;
  }
  const values = parsed.values as FlagValues<S> & CommonValues;
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig(values);
  } catch (error) {
    (io.err ?? io.out)(`volpop doctor: ${toVolpopError(error).message}`);
    return 2;
  }
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), values.timeout);
  try {
    const report = await diagnose(kubeConfig, values, parsed.operands, {
      signal: deadline.signal,
      prefix: values.prefix || undefined,
    });
    if (deadline.signal.aborted) {
      (io.err ?? io.out)(
        `volpop doctor: the API server did not answer everything within ${formatGoDuration(values.timeout)}`,
      );
      return 2;
    }
    io.out(values.output === "json" ? renderJson(report) : renderText(report, { color: io.color }));
    return report.exitCode;
  } catch (error) {
    if (!(error instanceof DoctorConnectionError)) throw error;
    (io.err ?? io.out)(`volpop doctor: ${error.message}`);
    return 2;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The kubeconfig as kubectl finds it: `--kubeconfig`, else `$KUBECONFIG`, `~/.kube/config` or the
 * pod's service account; then `--context` and `--as`.
 */
function loadKubeConfig(values: CommonValues): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (values.kubeconfig) kubeConfig.loadFromFile(values.kubeconfig);
  else kubeConfig.loadFromDefault();
  if (values.context) {
    if (!kubeConfig.getContextObject(values.context)) {
      throw new Error(`the kubeconfig has no context ${JSON.stringify(values.context)}`);
    }
    kubeConfig.setCurrentContext(values.context);
  }
  const as = values.as;
  if (!as) return kubeConfig;
  const user = kubeConfig.getCurrentUser();
  if (!user) throw new Error("--as needs a user in the kubeconfig's current context");
  const impersonating = new KubeConfig();
  impersonating.loadFromOptions({
    clusters: kubeConfig.clusters,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.getCurrentContext(),
    users: kubeConfig.users.map((u) => (u === user ? { ...u, impersonateUser: as } : u)),
  });
  return impersonating;
}

function contextNamespace(kubeConfig: KubeConfig): string {
  return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace || "default";
}
