/** Build-context folders: a digest of their content, and modes that do not depend on the umask. */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * sha256 over a folder's files and symlinks, in sorted order, each with its relative path and mode;
 * the same for the same tree wherever it is.
 */
export function treeSha256(root: string): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name);
      const stat = fs.lstatSync(file);
      const relative = path.relative(root, file);
      if (stat.isDirectory()) {
        hash.update(`dir ${relative} ${stat.mode & 0o7777}\n`);
        walk(file);
      } else if (stat.isSymbolicLink()) hash.update(`symlink ${relative} ${fs.readlinkSync(file)}\n`);
      else hash.update(`file ${relative} ${stat.mode & 0o7777} ${stat.size}\n`).update(fs.readFileSync(file));
    }
  };
  walk(root);
  return hash.digest("hex");
}

/**
 * Sets every folder under `root` to 0755 (those named in `sticky`, relative to `root`, to 1777) and
 * every file to its mode without group and other write bits, whatever this process's umask made of
 * them: an image layer's bytes must not depend on the machine that built it.
 */
export function normaliseModes(root: string, sticky: readonly string[] = []): void {
  for (const entry of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) fs.chmodSync(file, sticky.includes(path.relative(root, file)) ? 0o1777 : 0o755);
    else fs.chmodSync(file, fs.statSync(file).mode & 0o755);
  }
  fs.chmodSync(root, 0o755);
}
