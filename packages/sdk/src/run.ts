/**
 * `@volpop/sdk/run`: `runPopulator` and what a populator's `main` needs with it (its spec's
 * definition), without the rest of the SDK: populate mode, in every populator pod, loads this much
 * and no Kubernetes client.
 *
 * @module @volpop/sdk/run
 */
import { writeFile } from "node:fs/promises";
import { type ExtraOptions, type ExtraValues, type PopulatorCliOptions, parsePopulatorArgs } from "./cli.ts";
import { CliUsageError } from "./flags/index.ts";
import { createLogger, type Logger } from "./logger.ts";
import { detectTarget, type PopulateContext, progressReporter, targetPaths } from "./populate.ts";
import type { Populator } from "./populator.ts";
import type { PopulationSettings } from "./settings.ts";
import { readSpec } from "./spec-env.ts";
import type { Strategy } from "./strategy.ts";

// What a populator's `main` needs besides runPopulator: its spec's definition, loaded as lightly.
export { defineSpec, refine, type SpecDefinition, type Static, Type } from "./spec.ts";

/** A populator binary: one image, two modes, as upstream's examples. */
export interface PopulatorProgram<Spec, E extends ExtraOptions> {
  readonly populator: Populator<Spec>;
  readonly version: string;
  /** Program name in help and logs, e.g. `hello-populator`. */
  readonly programName: string;
  /** Default `--namespace` and `--image-name`. */
  readonly defaults: { readonly namespace: string; readonly imageName?: string };
  /**
   * The populator's own flags: the cluster admin's settings (e.g. a deadline), which controller mode
   * may hand on to its pods. Never the source's spec: that reaches populate mode as `context.spec`.
   */
  readonly flags?: E;
  /** Populate mode, inside the populator pod: write `context.spec`'s data into `context.target`. */
  populate(context: PopulateContext<Spec, ExtraValues<E>>): Promise<void>;
  readonly strategy?: Strategy;
  readonly settings?: Partial<Omit<PopulationSettings, "namespace" | "imageName">>;
}

/** Where Kubernetes reads a container's termination message from. */
const TERMINATION_LOG = "/dev/termination-log";

/**
 * How long populate mode waits after SIGTERM for `populate` to heed its signal before exiting anyway:
 * SIGTERM ended the pod at once before there was a signal, and a `populate` that ignores it must not
 * keep the pod until the kubelet kills it.
 */
const STOP_GRACE_MS = 5000;

/**
 * The `main` of a populator binary: parses upstream's flags, then runs the controller (with metrics,
 * health checks and a clean SIGTERM) or populate mode. Resolves to the process exit code.
 */
export async function runPopulator<Spec, const E extends ExtraOptions = Record<never, never>>(
  program: PopulatorProgram<Spec, E>,
  argv: readonly string[] = process.argv.slice(2),
  /** Stops controller mode like SIGTERM does (for embedding and tests). */
  signal?: AbortSignal,
): Promise<number> {
  let parsed: ReturnType<typeof parsePopulatorArgs<E>>;
  try {
    parsed = parsePopulatorArgs(
      argv,
      {
        ...program.defaults,
        version: program.version,
        prefix: program.populator.prefix,
        programName: program.programName,
      },
      program.flags,
    );
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`${error.message}\n\n${error.usage}`);
      return 2;
    }
    throw error;
  }
  if (parsed.action !== "run") {
    process.stdout.write(`${parsed.text}\n`);
    return 0;
  }
  const options = parsed.options;
  const logger = createLogger({ name: program.programName, level: options.logLevel });
  if (options.mode === "populate") return populateMode(program, options, logger);
  // Loaded only here: the Kubernetes client, metrics and gRPC are most of a populator's start-up
  // time and memory, and a populator pod in populate mode needs none of them.
  const { controllerMode } = await import("./controller-mode.ts");
  return controllerMode(program, options, logger, signal);
}

async function populateMode<Spec, E extends ExtraOptions>(
  program: PopulatorProgram<Spec, E>,
  options: PopulatorCliOptions<ExtraValues<E>>,
  logger: Logger,
): Promise<number> {
  const stop = new AbortController();
  const onSigterm = () => {
    logger.info("SIGTERM: stopping the population");
    stop.abort(new Error("the populator pod was told to stop"));
    setTimeout(() => process.exit(143), STOP_GRACE_MS).unref();
  };
  process.once("SIGTERM", onSigterm);
  try {
    // Checked again here: the pod acts on nothing its own validator would refuse, whoever set the env.
    const spec = readSpec(program.populator.validate);
    await program.populate({
      target: detectTarget(targetPaths()),
      spec,
      extra: options.extra,
      signal: stop.signal,
      logger,
      reportProgress: progressReporter(),
    });
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error({ err: error }, "population failed");
    // The controller shows the termination message in the PopulatorFailed event on the user's PVC.
    await writeFile(TERMINATION_LOG, message).catch(() => undefined);
    return 1;
  } finally {
    process.off("SIGTERM", onSigterm);
  }
}
