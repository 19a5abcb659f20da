import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { goComponents, goTools, recipesDir } from "./build.ts";
import { kubernetesReleases, layout } from "./config.ts";

/**
 * What a fresh clone must hold for the README's commands to work: every file the scripts and the
 * cluster tooling spawn, source or read from the repository. Found by reading their source, so a new
 * join onto the cluster source folder is covered without anyone remembering to list it.
 */

/** A repo-relative path some tooling file uses, and where. */
export interface RepoReference {
  readonly path: string;
  readonly from: string;
}

/** Anchors the TypeScript tooling joins literal path parts onto, as repo-relative folders. */
const anchors: Readonly<Record<string, string>> = {
  "layout.clusterSource": "test/cluster",
  "layout.repoRoot": ".",
  repoRoot: ".",
  recipesDir: "test/cluster/go",
};

const literalArgs = String.raw`((?:\s*"[^"\n]*"\s*,?)+)`;
const joinOnAnchor = new RegExp(
  String.raw`path\.(?:join|resolve)\(\s*(${Object.keys(anchors)
    .map((a) => a.replace(".", String.raw`\.`))
    .join("|")})\s*,${literalArgs}\)`,
  "g",
);
const joinOnDirname = new RegExp(
  String.raw`path\.(?:join|resolve)\(\s*import\.meta\.dirname\s*,${literalArgs}\)`,
  "g",
);
const urlOnModule = /new URL\(\s*"([^"\n]+)"\s*,\s*import\.meta\.url\s*\)/g;
/** In shell scripts: repo-relative paths to our own files. */
const shellPath =
  /(?:^|[\s"'=(])(?:\.\/)?((?:scripts|test|packages|images|bench|docs|\.ci)\/[\w./-]*[\w-])/gm;
const shellBesideScript = /\$\(dirname "\$\{?(?:0|BASH_SOURCE\[0\])\}?"\)\/([\w./-]+)/g;

const parts = (args: string) => [...args.matchAll(/"([^"\n]*)"/g)].map((m) => m[1] ?? "");

/** References one tooling file makes, resolved against the repository root. */
export function referencesIn(file: string, source: string): RepoReference[] {
  const found: RepoReference[] = [];
  const add = (p: string) => found.push({ path: path.normalize(p).replace(/\/$/, ""), from: file });
  const dir = path.dirname(file);
  if (file.endsWith(".ts")) {
    for (const m of source.matchAll(joinOnAnchor))
      add(path.join(anchors[m[1] ?? ""] ?? ".", ...parts(m[2] ?? "")));
    for (const m of source.matchAll(joinOnDirname)) add(path.join(dir, ...parts(m[1] ?? "")));
    for (const m of source.matchAll(urlOnModule)) add(path.join(dir, m[1] ?? ""));
  } else {
    for (const m of source.matchAll(shellPath)) add(m[1] ?? "");
    for (const m of source.matchAll(shellBesideScript)) add(path.join(dir, m[1] ?? ""));
  }
  // Joins onto the repository root with no further part name the root itself: nothing to check.
  return found.filter((r) => r.path !== "." && !r.path.startsWith(".."));
}

/** The files whose references are checked: the README's scripts, CI, and the cluster and e2e tooling. */
export function toolingFiles(tracked: readonly string[]): string[] {
  return tracked.filter(
    (f) =>
      f === ".ci/run" ||
      f.startsWith("scripts/") ||
      ((f.startsWith("test/") || f.startsWith("bench/")) && f.endsWith(".ts") && !f.endsWith(".test.ts")),
  );
}

/** Every recipe file each supported Kubernetes release and the shared components build from. */
export function recipeFiles(): string[] {
  const relative = path.relative(layout.repoRoot, recipesDir);
  const recipes = new Set([...goComponents, ...goTools].map((c) => c.recipe));
  for (const release of Object.values(kubernetesReleases)) {
    recipes.add(`kubernetes-${release.kubernetes.split(".").slice(0, 2).join(".")}`);
    recipes.add(`etcd-${release.etcd.split(".").slice(0, 2).join(".")}`);
  }
  return [...recipes]
    .flatMap((r) => [path.join(relative, r, "go.mod"), path.join(relative, r, "go.sum")])
    .filter((f) => !f.endsWith("pause/go.sum")); // pause imports only the standard library
}

export function gitLsFiles(root: string = layout.repoRoot): string[] {
  return execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" }).split("\0").filter(Boolean);
}

/** Paths git ignores in the work tree (folders end in `/`). */
export function gitIgnored(root: string = layout.repoRoot): string[] {
  return execFileSync(
    "git",
    ["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"],
    {
      cwd: root,
      encoding: "utf8",
    },
  )
    .split("\0")
    .filter(Boolean);
}

/** References that name no tracked file or folder. */
export function untracked(references: readonly RepoReference[], tracked: readonly string[]): RepoReference[] {
  const files = new Set(tracked);
  const folders = new Set(
    tracked.flatMap((f) =>
      f
        .split("/")
        .slice(0, -1)
        .map((_, i, a) => a.slice(0, i + 1).join("/")),
    ),
  );
  return references.filter((r) => !files.has(r.path) && !folders.has(r.path));
}

export function readTooling(tracked: readonly string[], root: string = layout.repoRoot): RepoReference[] {
  return toolingFiles(tracked).flatMap((f) => referencesIn(f, fs.readFileSync(path.join(root, f), "utf8")));
}
