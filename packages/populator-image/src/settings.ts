/**
 * The image populator's own settings: the cluster admin's, never an ImageSource author's. They are
 * flags of the controller (its Deployment's args), which hands them on to every populator pod it
 * creates as the same flags, so that populate mode obeys them too:
 *
 * - `--population-deadline` (Go duration, default `1h`): how long one population may take, all of
 *   it; its pods get this plus ten minutes as `activeDeadlineSeconds`;
 * - `--allow-credentials-over-http` (`host[:port]`, comma-separated, default none): registries and
 *   token realms that may get pull secrets' credentials over plain HTTP;
 * - `--allow-token-realm` (`registry=realm-host`, comma-separated, default none): token realms on
 *   another host than the registry's that may get its credentials (`auth.docker.io` for `docker.io`
 *   is built in);
 * - `--allow-credentials-with-source-ca` (`host[:port]`, comma-separated, default none): registries
 *   and token realms that may get pull secrets' credentials over HTTPS when the ImageSource names its
 *   own CA (`spec.caBundle`), with which its author could vouch for a server of their own.
 */

import type { CredentialPolicy } from "@volpop/oci";
import { CliUsageError, type ExtraOptions, type ExtraValues } from "@volpop/sdk";
import { type PopulatorCliDefaults, parseGoDuration, parsePopulatorArgs } from "@volpop/sdk/runtime";
import { isRegistryHost } from "./image-source.ts";
import { formatDuration } from "./populate/errors.ts";
import { DEFAULT_POPULATION_DEADLINE_MS } from "./populate.ts";

/** The flags, as `runPopulator` takes a populator's own. */
export const IMAGE_POPULATOR_FLAGS = {
  "population-deadline": {
    type: "string",
    description:
      "How long one population may take, download and extraction included (Go duration, default 1h); populator pods get 10m more as activeDeadlineSeconds",
  },
  "allow-credentials-over-http": {
    type: "string",
    description:
      "Registries and token realms (host[:port], comma-separated) that may get pull secrets' credentials over plain HTTP (default: none)",
  },
  "allow-token-realm": {
    type: "string",
    description:
      "Token realms on another host that may get a registry's credentials, as registry=realm-host, comma-separated (default: none; auth.docker.io for docker.io is built in)",
  },
  "allow-credentials-with-source-ca": {
    type: "string",
    description:
      "Registries and token realms (host[:port], comma-separated) that may get pull secrets' credentials over HTTPS when the ImageSource names its own CA in spec.caBundle (default: none)",
  },
} as const satisfies ExtraOptions;

export interface ImagePopulatorSettings {
  /** `--population-deadline`, in milliseconds. */
  readonly populationDeadlineMs: number;
  /** `--allow-credentials-over-http`, `--allow-token-realm` and `--allow-credentials-with-source-ca`. */
  readonly credentialPolicy: CredentialPolicy;
}

export const DEFAULT_SETTINGS: ImagePopulatorSettings = {
  populationDeadlineMs: DEFAULT_POPULATION_DEADLINE_MS,
  credentialPolicy: {},
};

/**
 * The settings a command line gives. A command line the SDK would refuse, or `--help`, gives the
 * defaults: `runPopulator` reads it again and says what is wrong. Throws {@link CliUsageError} for a
 * value of these flags that makes no sense.
 */
export function settingsFromArgs(
  argv: readonly string[],
  defaults: PopulatorCliDefaults,
): ImagePopulatorSettings {
  let parsed: ReturnType<typeof parsePopulatorArgs<typeof IMAGE_POPULATOR_FLAGS>>;
  try {
    parsed = parsePopulatorArgs(argv, defaults, IMAGE_POPULATOR_FLAGS);
  } catch (error) {
    if (error instanceof CliUsageError) return DEFAULT_SETTINGS;
    throw error;
  }
  if (parsed.action !== "run") return DEFAULT_SETTINGS;
  try {
    return settingsFromFlags(parsed.options.extra);
  } catch (error) {
    const help = parsePopulatorArgs(["--help"], defaults, IMAGE_POPULATOR_FLAGS);
    throw new CliUsageError((error as Error).message, help.action === "help" ? help.text : "");
  }
}

/** The settings the flags' values give; throws an Error naming the flag at fault. */
export function settingsFromFlags(extra: ExtraValues<typeof IMAGE_POPULATOR_FLAGS>): ImagePopulatorSettings {
  const deadline = extra["population-deadline"];
  let populationDeadlineMs = DEFAULT_SETTINGS.populationDeadlineMs;
  if (deadline !== undefined && deadline !== "") {
    try {
      populationDeadlineMs = parseGoDuration(deadline);
    } catch (error) {
      throw new Error(`--population-deadline: ${(error as Error).message}`);
    }
    if (!(populationDeadlineMs > 0)) {
      throw new Error(`invalid --population-deadline ${JSON.stringify(deadline)}: must be positive`);
    }
  }
  const plainHttpHosts = hosts(extra, "allow-credentials-over-http");
  const sourceCaHosts = hosts(extra, "allow-credentials-with-source-ca");
  const tokenRealmHosts: Record<string, string[]> = {};
  for (const item of list(extra["allow-token-realm"])) {
    const [registry = "", realm = "", ...more] = item.split("=").map((part) => part.trim());
    if (more.length > 0 || !isRegistryHost(registry) || !isRegistryHost(realm)) {
      throw new Error(`--allow-token-realm: ${JSON.stringify(item)} is not registry=realm-host`);
    }
    tokenRealmHosts[registry] = [...(tokenRealmHosts[registry] ?? []), realm];
  }
  return {
    populationDeadlineMs,
    credentialPolicy: {
      ...(plainHttpHosts.length === 0 ? {} : { plainHttpHosts }),
      ...(Object.keys(tokenRealmHosts).length === 0 ? {} : { tokenRealmHosts }),
      ...(sourceCaHosts.length === 0 ? {} : { sourceCaHosts }),
    },
  };
}

/** The flags that give `settings` back, those at their default left out: what populator pods are given. */
export function settingsArgs(settings: ImagePopulatorSettings): string[] {
  const args: string[] = [];
  if (settings.populationDeadlineMs !== DEFAULT_SETTINGS.populationDeadlineMs) {
    args.push(`--population-deadline=${formatDuration(settings.populationDeadlineMs)}`);
  }
  const { plainHttpHosts = [], tokenRealmHosts = {}, sourceCaHosts = [] } = settings.credentialPolicy;
  if (plainHttpHosts.length > 0) args.push(`--allow-credentials-over-http=${plainHttpHosts.join(",")}`);
  const realms = Object.entries(tokenRealmHosts).flatMap(([registry, hosts]) =>
    hosts.map((host) => `${registry}=${host}`),
  );
  if (realms.length > 0) args.push(`--allow-token-realm=${realms.join(",")}`);
  if (sourceCaHosts.length > 0) args.push(`--allow-credentials-with-source-ca=${sourceCaHosts.join(",")}`);
  return args;
}

/** A flag's `host[:port]` list; throws naming the flag for anything else. */
function hosts(
  extra: ExtraValues<typeof IMAGE_POPULATOR_FLAGS>,
  flag: "allow-credentials-over-http" | "allow-credentials-with-source-ca",
): string[] {
  return list(extra[flag]).map((host) => {
    if (!isRegistryHost(host))
      throw new Error(`--${flag}: ${JSON.stringify(host)} is not a host or host:port`);
    return host;
  });
}

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}
