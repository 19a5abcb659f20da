/**
 * The versions a generated project pins: those this scaffolder was released (and tested) with. Its
 * own package.json lists them (devDependencies; `yaml`, which it uses too, in dependencies), with
 * `@volpop/sdk` and `@volpop/images` as `workspace:*` here, which packing turns into the released
 * versions. Read when the scaffolder runs, never copied into code.
 */
import fs from "node:fs";
import path from "node:path";

/** What the generated package.json pins. */
export interface PinnedVersions {
  readonly "@volpop/sdk": string;
  readonly "@volpop/images": string;
  readonly typescript: string;
  readonly "@types/node": string;
  readonly vitest: string;
  readonly yaml: string;
}

const PINNED = ["@volpop/sdk", "@volpop/images", "typescript", "@types/node", "vitest", "yaml"] as const;

/** This package's folder: `src/` and `dist/` both sit directly in it. */
export const packageDir = path.resolve(import.meta.dirname, "..");

/**
 * The pinned versions, from the package.json in `dir`. A `workspace:` range (in this repository) is
 * the version of the workspace package the scaffolder's node_modules links to.
 */
export function pinnedVersions(dir: string = packageDir): PinnedVersions {
  const manifest = readJson(path.join(dir, "package.json")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const listed = { ...manifest.dependencies, ...manifest.devDependencies };
  const pinned: Record<string, string> = {};
  for (const name of PINNED) {
    const range = listed[name];
    if (range === undefined) throw new Error(`${path.join(dir, "package.json")} pins no ${name}`);
    pinned[name] = range.startsWith("workspace:")
      ? (readJson(path.join(dir, "node_modules", name, "package.json")) as { version: string }).version
      : range;
  }
  return pinned as unknown as PinnedVersions;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}
