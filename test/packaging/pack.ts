/**
 * Builds every publishable package and packs it as `changeset publish` would: what the packaging
 * tests check and install, and what the scaffolder's e2e test installs into a project outside the
 * workspace.
 */
import fs from "node:fs";
import path from "node:path";
import { lastLines, publishablePackages, repoRoot, type Transcript } from "./packages.ts";

/** The packed packages, by name. */
export interface Packs {
  /** The tarball of each package. */
  readonly tarballs: Readonly<Record<string, string>>;
  /** Where each tarball was unpacked (its `package/` folder). */
  readonly unpacked: Readonly<Record<string, string>>;
}

/** `pnpm run build`, then `pnpm pack` of each publishable package into `work/packs`, unpacked into `work/unpacked`. */
export async function packWorkspace(work: string, transcript: Transcript): Promise<Packs> {
  await transcript.run("pnpm", ["run", "build"], {
    cwd: repoRoot,
    keep: (output) => (output.match(/^\S+ build: DTS ⚡️ Build success.*$/gm) ?? []).join("\n"),
  });
  const packs = path.join(work, "packs");
  const tarballs: Record<string, string> = {};
  const unpacked: Record<string, string> = {};
  for (const { dir, manifest } of publishablePackages()) {
    await transcript.run("pnpm", ["pack", "--pack-destination", packs], {
      cwd: path.join(repoRoot, dir),
      keep: (output) => lastLines(output),
    });
    const tarball = path.join(
      packs,
      `${manifest.name.replace(/^@/, "").replace("/", "-")}-${manifest.version}.tgz`,
    );
    const into = path.join(work, "unpacked", manifest.name);
    fs.mkdirSync(into, { recursive: true });
    await transcript.run("tar", ["-xzf", tarball, "-C", into], { cwd: repoRoot });
    tarballs[manifest.name] = tarball;
    unpacked[manifest.name] = path.join(into, "package");
  }
  return { tarballs, unpacked };
}
