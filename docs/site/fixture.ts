/** Throwaway repository layouts for the site's unit tests. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach } from "vitest";

/**
 * For one test file: a function that writes `files` (by repo-relative path) under a new temporary
 * folder and returns that folder. Every folder it made is deleted after each test.
 */
export function fixtureRepos(): (files: Readonly<Record<string, string>>) => string {
  const made: string[] = [];
  afterEach(() => {
    for (const root of made.splice(0)) fs.rmSync(root, { recursive: true, force: true });
  });
  return (files) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-docs-"));
    made.push(root);
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), content);
    }
    return root;
  };
}
