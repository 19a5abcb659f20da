import fs from "node:fs";
import path from "node:path";

/** The folder to scaffold into holds files, and `--force` was not given. */
export class NonEmptyDirectoryError extends Error {
  override name = "NonEmptyDirectoryError";
}

/**
 * Writes `files` under `dir`, creating it. Refuses a folder that holds anything unless `force`: then
 * the project's files are written over whatever is there, and other files are left alone.
 */
export function writeProject(
  dir: string,
  files: ReadonlyMap<string, string>,
  options: { readonly force?: boolean } = {},
): void {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory())
      throw new NonEmptyDirectoryError(`${dir} exists and is not a folder`);
    const present = fs.readdirSync(dir);
    if (present.length > 0 && !options.force)
      throw new NonEmptyDirectoryError(
        `${dir} is not empty (${present.slice(0, 3).join(", ")}${present.length > 3 ? ", …" : ""}): choose another --dir, or give --force to write over the project's files there`,
      );
  }
  for (const [file, text] of files) {
    const target = path.join(dir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
  }
}
