/**
 * What the packaging test needs to know about the workspace's publishable packages, and a transcript
 * of the commands it runs (printed at the end, for notes on an issue).
 */
import fs from "node:fs";
import path from "node:path";
import { run } from "../cluster/exec.ts";

export const repoRoot = path.resolve(import.meta.dirname, "../..");

/** Where volpop is developed: what each published package.json names as its repository. */
export const REPOSITORY_URL = "https://github.com/volpop/volpop";

/** The fields of a package.json this test reads. */
export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly repository?: { readonly type?: string; readonly url?: string; readonly directory?: string };
  readonly homepage?: string;
  readonly bugs?: { readonly url?: string };
  readonly files?: readonly string[];
  readonly bin?: Readonly<Record<string, string>>;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

export interface WorkspacePackage {
  /** e.g. `packages/sdk` */
  readonly dir: string;
  readonly manifest: Manifest;
}

export function readManifest(file: string): Manifest {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Manifest;
}

/** Every package under packages/ that is not `"private": true`: what `changeset publish` would publish. */
export function publishablePackages(): WorkspacePackage[] {
  return fs
    .readdirSync(path.join(repoRoot, "packages"))
    .sort()
    .map((name) => path.join("packages", name))
    .filter((dir) => fs.existsSync(path.join(repoRoot, dir, "package.json")))
    .map((dir) => ({ dir, manifest: readManifest(path.join(repoRoot, dir, "package.json")) }))
    .filter((p) => !p.manifest.private);
}

/** `name` and the workspace packages it depends on at run time, transitively: what a consumer installs. */
export function workspaceClosure(name: string, packages: readonly WorkspacePackage[]): string[] {
  const byName = new Map(packages.map((p) => [p.manifest.name, p]));
  const seen = new Set<string>();
  const visit = (current: string) => {
    const found = byName.get(current);
    if (!found) throw new Error(`${current} is not a publishable workspace package`);
    if (seen.has(current)) return;
    seen.add(current);
    const runtime = { ...found.manifest.dependencies, ...found.manifest.peerDependencies };
    for (const [dep, range] of Object.entries(runtime)) if (range.startsWith("workspace:")) visit(dep);
  };
  visit(name);
  return [...seen];
}

/** The folders above `dir` that hold a node_modules Node would search from `dir`: must be none. */
export function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let at = path.dirname(dir); ; at = path.dirname(at)) {
    if (fs.existsSync(path.join(at, "node_modules"))) found.push(path.join(at, "node_modules"));
    if (path.dirname(at) === at) return found;
  }
}

/**
 * The environment of a consumer's shell: ours without what pnpm, vitest or Node options would add
 * (`npm_config_*` from `pnpm test`, NODE_OPTIONS with export conditions, NODE_PATH) and without PATH
 * entries inside the repository (node_modules/.bin), so that nothing of the workspace leaks in.
 */
export function consumerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|vitest|node_options$|node_path$|init_cwd$)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((entry) => entry !== "" && !path.resolve(entry).startsWith(repoRoot + path.sep))
    .join(path.delimiter);
  return { ...env, ...extra };
}

/** Commands run and the lines worth keeping from their output, with long paths shortened. */
export class Transcript {
  private readonly lines: string[] = [];
  private readonly names: [string, string][];

  /** `names`: paths to write shorter, e.g. `[work, "$WORK"]`; the repository becomes `.`. */
  constructor(names: Readonly<Record<string, string>>) {
    this.names = [
      ...Object.entries(names).map(([name, at]): [string, string] => [at, name]),
      [repoRoot, "."],
    ];
  }

  private short(text: string): string {
    return this.names.reduce((out, [at, name]) => out.replaceAll(at, name), text);
  }

  /** Lines another transcript recorded (e.g. the global setup's build and pack), as they are. */
  include(text: string): void {
    if (text.trim()) this.lines.push(...text.split("\n"));
  }

  note(text: string): void {
    for (const line of text.trimEnd().split("\n")) this.lines.push(this.short(`  ${line}`));
  }

  /**
   * Runs `file args` (in `cwd`), records `$ command` and what `keep` picks from its output (the whole
   * output by default), and returns the output. A failure throws with the command's last lines.
   */
  async run(
    file: string,
    args: readonly string[],
    options: {
      cwd: string;
      env?: NodeJS.ProcessEnv;
      /** Env vars to show before the command, as a shell would take them. */
      shown?: Readonly<Record<string, string>>;
      keep?: (output: string) => string;
    },
  ): Promise<string> {
    const where = options.cwd === repoRoot ? "" : `(cd ${options.cwd} && `;
    const shown = Object.entries(options.shown ?? {}).map(([name, value]) => `${name}='${value}' `);
    const command = [path.basename(file), ...args].join(" ");
    this.lines.push(this.short(`$ ${where}${shown.join("")}${command}${where ? ")" : ""}`));
    const { stdout, stderr } = await run(file, args, {
      cwd: options.cwd,
      ...(options.env ? { env: options.env } : {}),
    });
    const output = `${stdout}${stderr}`;
    const kept = (options.keep ?? ((o) => o))(output);
    if (kept.trim()) this.note(kept);
    return stdout;
  }

  toString(): string {
    return this.lines.join("\n");
  }
}

/** The last `n` non-empty lines of `text`. */
export function lastLines(text: string, n = 1): string {
  return text
    .split("\n")
    .filter((line) => line.trim())
    .slice(-n)
    .join("\n");
}
