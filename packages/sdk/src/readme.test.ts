import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readmeExample } from "./internal/readme-example.ts";

// The README's example is what a new author copies first: it must compile against the SDK as
// published and its validation must hold against hostile names.
const packageDir = path.resolve(import.meta.dirname, "..");
const repoRoot = path.resolve(packageDir, "../..");
// Inside the package, so that `@volpop/sdk` resolves to this package as it does for an author's code.
const exampleDir = path.join(packageDir, "build", "readme-example");

describe("the README's example populator", () => {
  beforeAll(() => {
    fs.rmSync(exampleDir, { recursive: true, force: true });
    fs.mkdirSync(exampleDir, { recursive: true });
    for (const [name, code] of readmeExample()) fs.writeFileSync(path.join(exampleDir, name), code);
    fs.writeFileSync(
      path.join(exampleDir, "tsconfig.json"),
      JSON.stringify({
        extends: path.join(repoRoot, "tsconfig.base.json"),
        compilerOptions: { composite: false, declaration: false, emitDeclarationOnly: false, noEmit: true },
        include: ["*.ts"],
      }),
    );
  });

  it("has both files, the populator and its main", () => {
    expect([...readmeExample().keys()].sort()).toEqual(["hello.ts", "main.ts"]);
  });

  it("compiles under the repository's strict settings", () => {
    const tsc = path.join(repoRoot, "node_modules", "typescript", "bin", "tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", exampleDir], { encoding: "utf8" });
    // tsc's diagnostics, if any, are the failure message.
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, 60_000);

  it.each(["..", ".", "", "a/b", "../escape", "/etc/passwd", "nul\0byte"])(
    "refuses the file name %j before any pod is made",
    async (fileName) => {
      const { hello } = await import(path.join(exampleDir, "hello.ts"));
      expect(hello.validate({ fileName, fileContents: "x" })).toMatchObject({ ok: false });
    },
  );

  it("accepts a plain file name", async () => {
    const { hello } = await import(path.join(exampleDir, "hello.ts"));
    expect(hello.validate({ fileName: "hello.txt", fileContents: "hi" })).toEqual({
      ok: true,
      spec: { fileName: "hello.txt", fileContents: "hi" },
    });
  });
});
