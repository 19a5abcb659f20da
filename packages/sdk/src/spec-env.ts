/**
 * How a population's spec reaches its pod: the controller checks the source, then puts the checked
 * spec in one env var of the populator's container as JSON; populate mode reads it there and checks it
 * again with the same validator (see run.ts). An env var rather than flags, so that no field of an
 * untrusted spec is ever read as a flag, and every populator finds it in the same place; rather than a
 * file, so that the pod needs no volume for it and `VOLPOP_SPEC='{…}' node main.js --mode=populate`
 * runs populate mode by hand.
 */
import type { V1EnvVar, V1Pod } from "@kubernetes/client-node";
import type { SourceCheck } from "./populator.ts";

/** The env var holding the checked spec as JSON, in every populator pod. */
export const SPEC_ENV = "VOLPOP_SPEC";

/**
 * The env var for `spec`. The kubelet expands `$(NAME)` in env values and reads `$$` as `$`: every
 * `$` is doubled, so that the pod reads exactly the JSON written here.
 */
export function specEnvVar(spec: unknown): V1EnvVar {
  return { name: SPEC_ENV, value: JSON.stringify(spec).replaceAll("$", () => "$$") };
}

/**
 * The most one environment string (`NAME=value` and its NUL) may hold: Linux's MAX_ARG_STRLEN, 32
 * pages. A longer one makes the container's start fail with E2BIG ("argument list too long"), after
 * the pod was scheduled and its volume attached, in words no user connects with their source.
 */
export const ENV_STRING_LIMIT_BYTES = 32 * 4096;

/** An env var of a pod's container that the kernel would refuse. */
export interface OversizedEnvVar {
  readonly container: string;
  readonly name: string;
  /** Its size as the program would receive it: `NAME=value\0`, after the kubelet's `$$` → `$`. */
  readonly bytes: number;
}

/** The env vars of `pod`'s containers too long for Linux to start the program with. */
export function oversizedEnv(pod: V1Pod): OversizedEnvVar[] {
  const found: OversizedEnvVar[] = [];
  for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const { name, value } of container.env ?? []) {
      if (value === undefined) continue;
      // `$$` is one `$` once the kubelet has expanded it; a `$(VAR)` reference is counted as written
      // (expanded it may be longer: mutatePod env is the populator author's to keep small).
      const bytes = Buffer.byteLength(`${name}=${value.replaceAll("$$", "$")}`) + 1;
      if (bytes > ENV_STRING_LIMIT_BYTES) found.push({ container: container.name, name, bytes });
    }
  }
  return found;
}

/**
 * Populate mode's spec: the one in `env`, checked by the populator's `validate`. Throws an Error
 * beginning `refusing to populate:` and naming each problem (a missing or broken variable is one).
 */
export function readSpec<Spec>(
  validate: (spec: unknown) => SourceCheck<Spec>,
  env: NodeJS.ProcessEnv = process.env,
): Spec {
  const checked = checkedSpec(validate, env[SPEC_ENV]);
  if (!checked.ok) throw new Error(`refusing to populate: ${checked.problems.join("; ")}`);
  return checked.spec;
}

function checkedSpec<Spec>(
  validate: (spec: unknown) => SourceCheck<Spec>,
  json: string | undefined,
): SourceCheck<Spec> {
  if (json === undefined || json === "") return { ok: false, problems: [`${SPEC_ENV} is not set`] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { ok: false, problems: [`${SPEC_ENV} is not JSON`] };
  }
  return validate(parsed);
}
