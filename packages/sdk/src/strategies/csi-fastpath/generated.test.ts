import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The stubs are committed so that building the SDK needs no code generator; this keeps them honest
// by generating them again from the .proto with the pinned buf and ts-proto and comparing.

const SDK = path.resolve(import.meta.dirname, "../../..");
const GENERATED = "src/strategies/csi-fastpath/generated";
const HINT =
  "the committed fast-path stubs differ from backend.proto: run pnpm --filter @volpop/sdk generate";

/** Every file under `root`, as paths relative to it, sorted. */
function files(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe("the generated fast-path stubs", () => {
  let out: string;

  beforeAll(() => {
    out = mkdtempSync(path.join(tmpdir(), "volpop-generate-"));
    execFileSync("buf", ["generate", "-o", out], {
      cwd: SDK,
      stdio: "pipe",
      // buf and its protoc-gen-ts_proto plugin come from the SDK's devDependencies.
      env: {
        ...process.env,
        PATH: `${path.join(SDK, "node_modules/.bin")}${path.delimiter}${process.env.PATH}`,
      },
    });
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it("are exactly the files buf generates from the .proto", () => {
    const fresh = files(path.join(out, GENERATED));
    expect(fresh.length, "buf generated nothing").toBeGreaterThan(0);
    expect(files(path.join(SDK, GENERATED)), HINT).toEqual(fresh);
  });

  it("have exactly the content buf generates from the .proto", () => {
    for (const file of files(path.join(out, GENERATED))) {
      const committed = readFileSync(path.join(SDK, GENERATED, file), "utf8");
      const fresh = readFileSync(path.join(out, GENERATED, file), "utf8");
      expect(committed, `${file}: ${HINT}`).toBe(fresh);
    }
  });
});
