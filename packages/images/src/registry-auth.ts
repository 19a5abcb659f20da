/**
 * Finds the credentials for pushing to a registry the way the container tools a release engineer
 * already uses do, and resolves them once for the whole push: buildah pushes the images with an
 * auth file we write from them, and the SBOMs are attached with the same credentials, so a release
 * can never be half-published because two readers disagreed about a login.
 *
 * Where credentials are looked for, first found wins (containers-auth.json(5), then Docker):
 * `$REGISTRY_AUTH_FILE` alone when set; else `$XDG_RUNTIME_DIR/containers/auth.json`
 * (`/run/containers/<uid>/auth.json` without `XDG_RUNTIME_DIR`); `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/…`);
 * `$DOCKER_CONFIG/config.json` (`~/.docker/config.json`); the legacy `~/.dockercfg`. In each file,
 * as Docker reads it: the registry's `credHelpers` entry, else the global `credsStore` (whose answer,
 * found or not, stands), else the `auths` entry for the registry or, longest first, its namespace.
 * A helper is `docker-credential-<name>` on `PATH`, asked with `get` and the registry host on stdin.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  credentialsFor,
  DOCKER_HUB,
  normaliseRegistryHost,
  parseDockerConfig,
  type RegistryCredentials,
} from "@volpop/oci";

const execFileAsync = promisify(execFile);

/** Credentials for one registry, and where they came from (for messages; never the secret). */
export interface ResolvedAuth {
  readonly registry: string;
  readonly credentials?: RegistryCredentials;
  /** e.g. `~/.docker/config.json (credsStore "pass")`, or `none` when the push is anonymous. */
  readonly source: string;
}

/** An auth file or credential helper that could not be read: the push is refused before it starts. */
export class RegistryAuthError extends Error {
  override readonly name = "RegistryAuthError";
}

/** Runs `docker-credential-<helper> get` with `registry` on stdin; answers its stdout. */
export type CredentialHelperRunner = (helper: string, registry: string) => Promise<string>;

export interface ResolveOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly uid?: number;
  readonly home?: string;
  readonly runHelper?: CredentialHelperRunner;
}

/** The auth files looked at, in order, for this environment. */
export function authFilePaths(
  env: NodeJS.ProcessEnv = process.env,
  uid: number = process.getuid?.() ?? 0,
  home: string = os.homedir(),
): string[] {
  const runtime = env.XDG_RUNTIME_DIR
    ? path.join(env.XDG_RUNTIME_DIR, "containers", "auth.json")
    : path.join("/run", "containers", String(uid), "auth.json");
  // A file the user names is the only one read, as containers/image does (`--authfile`).
  if (env.REGISTRY_AUTH_FILE) return [env.REGISTRY_AUTH_FILE];
  return [
    runtime,
    path.join(env.XDG_CONFIG_HOME || path.join(home, ".config"), "containers", "auth.json"),
    path.join(env.DOCKER_CONFIG || path.join(home, ".docker"), "config.json"),
    path.join(home, ".dockercfg"),
  ];
}

/**
 * The credentials to push to `registry` with: a host, optionally with a path (`quay.io/acme`), which
 * picks a per-namespace `auths` key (`quay.io/acme`) over the host's, longest match first, as
 * containers-auth.json(5) does.
 */
export async function resolveRegistryAuth(
  registryWithPath: string,
  options: ResolveOptions = {},
): Promise<ResolvedAuth> {
  const [host = "", ...rest] = registryWithPath.replace(SCHEME, "").split("/");
  const registry = normaliseRegistryHost(host);
  const target = [registry, ...rest.filter((part) => part !== "")].join("/");
  const env = options.env ?? process.env;
  const runHelper = options.runHelper ?? ((helper, server) => runCredentialHelper(helper, server, env));
  for (const file of authFilePaths(env, options.uid, options.home)) {
    const text = readIfPresent(file);
    if (text === undefined) continue;
    const found = await credentialsInFile(file, text, { registry, target }, runHelper);
    if (found !== undefined) return { registry, ...found };
  }
  return { registry, source: "none (anonymous)" };
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

async function credentialsInFile(
  file: string,
  text: string,
  where: { readonly registry: string; readonly target: string },
  runHelper: CredentialHelperRunner,
): Promise<{ credentials: RegistryCredentials; source: string } | undefined> {
  const { registry, target } = where;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text around the fault, which may be a password.
    throw new RegistryAuthError(`${file}: not valid JSON`);
  }
  if (!isRecord(parsed)) throw new RegistryAuthError(`${file}: must hold a JSON object`);
  const helper = helperFor(file, parsed, registry);
  if (helper !== undefined) {
    // As Docker: a helper in charge answers for the registry, found or not; `auths` is not read.
    const credentials = await askHelper(helper.name, registry, runHelper);
    return credentials === undefined
      ? undefined
      : { credentials, source: `${file} (${helper.field} "${helper.name}")` };
  }
  // Docker's config.json has other top-level keys (proxies, plugins, …): only `auths` holds logins.
  // A file without `auths` is a login-less config, unless it is the legacy map of hosts itself.
  const legacy = path.basename(file) === ".dockercfg";
  const auths = legacy ? parsed : parsed.auths;
  if (auths === undefined) return undefined;
  if (!isRecord(auths)) throw new RegistryAuthError(`${file}: "auths" must be an object`);
  const key = bestAuthsKey(Object.keys(auths), target);
  if (key === undefined) return undefined;
  let store: ReturnType<typeof parseDockerConfig>;
  try {
    // Only the entry that applies: a broken entry for another registry is not this push's business.
    store = parseDockerConfig({ auths: { [key]: auths[key] } });
  } catch (error) {
    throw new RegistryAuthError(`${file}: ${(error as Error).message.replace(/^pull secret:? ?/, "")}`);
  }
  const credentials = credentialsFor(store, registry);
  return credentials === undefined ? undefined : { credentials, source: `${file} (auths "${key}")` };
}

/**
 * The `auths` key for `target` (`host[/path]`): a key with a scheme (`https://host/v1/`, Docker's)
 * names its host only; a bare key may name a namespace (`quay.io/acme`), which applies to what is
 * under it. The longest matching key wins.
 */
export function bestAuthsKey(keys: readonly string[], target: string): string | undefined {
  let best: { key: string; length: number } | undefined;
  for (const key of keys) {
    const [host = "", ...rest] = key.replace(SCHEME, "").split("/");
    const namespace = SCHEME.test(key) ? [] : rest.filter((part) => part !== "");
    const scope = [normaliseRegistryHost(host), ...namespace].join("/");
    const applies = target === scope || target.startsWith(`${scope}/`);
    if (applies && (best === undefined || scope.length > best.length)) best = { key, length: scope.length };
  }
  return best?.key;
}

function helperFor(
  file: string,
  config: Record<string, unknown>,
  registry: string,
): { name: string; field: "credHelpers" | "credsStore" } | undefined {
  const { credHelpers, credsStore } = config;
  if (credHelpers !== undefined) {
    if (!isRecord(credHelpers)) throw new RegistryAuthError(`${file}: "credHelpers" must be an object`);
    for (const [host, name] of Object.entries(credHelpers)) {
      if (normaliseRegistryHost(host) !== registry) continue;
      if (typeof name !== "string" || !isHelperName(name))
        throw new RegistryAuthError(`${file}: credHelpers[${JSON.stringify(host)}] is not a helper name`);
      return { name, field: "credHelpers" };
    }
  }
  if (credsStore === undefined || credsStore === "") return undefined;
  if (typeof credsStore !== "string" || !isHelperName(credsStore))
    throw new RegistryAuthError(`${file}: "credsStore" is not a helper name`);
  return { name: credsStore, field: "credsStore" };
}

/** A helper name becomes part of a program name: no path separators or option-looking names. */
function isHelperName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name);
}

/** Asks a credential helper; `undefined` when it has nothing for `registry`. */
async function askHelper(
  name: string,
  registry: string,
  runHelper: CredentialHelperRunner,
): Promise<RegistryCredentials | undefined> {
  let stdout: string;
  try {
    stdout = await runHelper(name, registry);
  } catch (error) {
    const failed = error as { stdout?: unknown; stderr?: unknown };
    // The protocol's way to say "no login for this server", in every helper Docker ships (on stdout).
    if (/credentials not found/i.test(`${String(failed.stdout ?? "")} ${String(failed.stderr ?? "")}`))
      return undefined;
    throw new RegistryAuthError(
      `credential helper docker-credential-${name} failed for ${registry}: ${helperFailure(error)}`,
    );
  }
  let answer: unknown;
  try {
    answer = JSON.parse(stdout);
  } catch {
    throw new RegistryAuthError(`credential helper docker-credential-${name} did not answer JSON`);
  }
  if (!isRecord(answer) || typeof answer.Username !== "string" || typeof answer.Secret !== "string")
    throw new RegistryAuthError(
      `credential helper docker-credential-${name} answered without string "Username" and "Secret"`,
    );
  if (answer.Secret === "") return undefined;
  // Docker's convention: the user "<token>" means the secret is an identity (refresh) token.
  return answer.Username === "<token>"
    ? { identityToken: answer.Secret }
    : { username: answer.Username, password: answer.Secret };
}

/** Why a helper failed: its stderr (never its stdout, where a helper writes secrets), or the exit. */
function helperFailure(error: unknown): string {
  const failed = error as { code?: unknown; stderr?: unknown; killed?: boolean };
  if (failed.code === "ENOENT") return "not found on PATH";
  if (failed.killed) return "no answer within 30 s";
  const said = String(failed.stderr ?? "").trim();
  return said === "" ? `exit code ${String(failed.code ?? "?")}` : said.slice(0, 300);
}

async function runCredentialHelper(
  helper: string,
  registry: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const child = execFileAsync(`docker-credential-${helper}`, ["get"], { timeout: 30_000, env });
  // Docker stores Hub logins under its historical server URL; every other registry by host.
  child.child.stdin?.end(registry === DOCKER_HUB ? "https://index.docker.io/v1/" : registry);
  return (await child).stdout;
}

/**
 * Writes `auth` as a containers auth file (mode 0600) in `dir` for `buildah push --authfile`, so
 * buildah uses exactly the credentials the SBOMs are attached with; with no credentials, an empty
 * file makes buildah push anonymously too rather than find a login of its own.
 */
export function writeAuthFile(dir: string, auth: ResolvedAuth): string {
  const file = path.join(dir, "auth.json");
  const entry: Record<string, string> = {};
  const { credentials } = auth;
  if (credentials?.username !== undefined)
    entry.auth = Buffer.from(`${credentials.username}:${credentials.password ?? ""}`).toString("base64");
  if (credentials?.identityToken !== undefined) entry.identitytoken = credentials.identityToken;
  if (credentials?.registryToken !== undefined) entry.registrytoken = credentials.registryToken;
  const auths = Object.keys(entry).length === 0 ? {} : { [auth.registry]: entry };
  fs.writeFileSync(file, JSON.stringify({ auths }), { mode: 0o600 });
  return file;
}

function readIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new RegistryAuthError(`${file}: cannot be read (${code ?? String(error)})`, { cause: error });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
