import fs from "node:fs";
import path from "node:path";

/** The SDK's README, whose example populator is what a new author copies first. */
export const SDK_README = path.resolve(import.meta.dirname, "../../README.md");

/**
 * The README's TypeScript blocks, by the file named in their first line (`// src/hello.ts: …`): the
 * example populator, compiled by readme.test.ts against the sources and by test/packaging against the
 * packed SDK, so that neither writes an example of its own.
 */
export function readmeExample(readme: string = fs.readFileSync(SDK_README, "utf8")): Map<string, string> {
  const files = new Map<string, string>();
  for (const [, code = ""] of readme.matchAll(/```ts\n([\s\S]*?)```/g)) {
    const name = /^\/\/ src\/([\w-]+\.ts)/.exec(code)?.[1];
    if (name) files.set(name, code);
  }
  return files;
}
