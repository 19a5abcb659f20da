/**
 * A populator project made the way a user makes one: the packed create-volpop-populator installed
 * with npm and run, the project's dependencies installed from the packed tarballs with npm, all in a
 * folder outside the workspace. Shared by scaffold.test.ts (no cluster) and the e2e tier.
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import type { Packs } from "./pack.ts";
import {
  consumerEnv,
  nodeModulesAbove,
  publishablePackages,
  readManifest,
  repoRoot,
  type Transcript,
  workspaceClosure,
} from "./packages.ts";

const NPM_FLAGS = ["--prefer-offline", "--no-audit", "--no-fund", "--no-update-notifier"];
const npmSummary = (output: string) =>
  (output.match(/^(added|changed|up to date|npm error).*$/gm) ?? []).join("\n");

/** Where `npm install` put a project's commands. */
export const binOf = (project: string, name: string) => path.join(project, "node_modules", ".bin", name);

/** Checks `dir` is outside the workspace with no node_modules above it, which Node would search. */
export function expectOutsideWorkspace(dir: string): void {
  expect(path.relative(repoRoot, dir).startsWith("..")).toBe(true);
  expect(nodeModulesAbove(dir)).toEqual([]);
}

/** The packed scaffolder installed with npm into `<work>/scaffolder`, as `npm create` would: its command. */
export async function installScaffolder(work: string, packs: Packs, transcript: Transcript): Promise<string> {
  const dir = path.join(work, "scaffolder");
  fs.mkdirSync(dir, { recursive: true });
  expectOutsideWorkspace(dir);
  fs.writeFileSync(path.join(dir, "package.json"), '{ "private": true }\n');
  await transcript.run("npm", ["install", ...NPM_FLAGS, tarball(packs, "create-volpop-populator")], {
    cwd: dir,
    env: consumerEnv(),
    keep: npmSummary,
  });
  return binOf(dir, "create-volpop-populator");
}

/** Runs the scaffolder in `work`: `create-volpop-populator <args>`; answers the project's folder. */
export async function scaffoldWith(
  scaffolder: string,
  work: string,
  args: readonly string[],
  dir: string,
  transcript: Transcript,
): Promise<string> {
  await transcript.run(scaffolder, [...args, "--dir", dir], { cwd: work, env: consumerEnv() });
  return path.join(work, dir);
}

/**
 * `npm install` in the project, with @volpop/images and what it needs (the SDK, @volpop/oci) from their
 * tarballs: the versions its package.json pins are not in the registry before a release.
 */
export async function installProject(project: string, packs: Packs, transcript: Transcript): Promise<void> {
  expectOutsideWorkspace(project);
  const tarballs = workspaceClosure("@volpop/images", publishablePackages()).map((name) =>
    tarball(packs, name),
  );
  await transcript.run("npm", ["install", ...NPM_FLAGS, ...tarballs], {
    cwd: project,
    env: consumerEnv(),
    keep: npmSummary,
  });
  // The packed SDK, not one from the registry or the workspace.
  const sdk = readManifest(path.join(project, "node_modules", "@volpop", "sdk", "package.json"));
  expect(sdk.version).toBe(readManifest(path.join(repoRoot, "packages", "sdk", "package.json")).version);
  expect(fs.lstatSync(path.join(project, "node_modules", "@volpop", "sdk")).isSymbolicLink()).toBe(false);
}

function tarball(packs: Packs, name: string): string {
  const found = packs.tarballs[name];
  if (!found) throw new Error(`no tarball of ${name}`);
  return found;
}
