import path from "node:path";
import { describe, expect, it } from "vitest";
import { entryPointsOf, misnamedModules } from "./api.ts";
import { fixtureRepos } from "./fixture.ts";
import { REPO_ROOT } from "./layout.ts";

const repo = fixtureRepos();

describe("the API reference's entry points", () => {
  it("are the SDK's exports, by the specifiers users import", () => {
    const sdk = path.join(REPO_ROOT, "packages", "sdk");
    expect(entryPointsOf(sdk)).toEqual([
      { specifier: "@volpop/sdk", source: path.join(sdk, "src/index.ts") },
      { specifier: "@volpop/sdk/run", source: path.join(sdk, "src/run.ts") },
      { specifier: "@volpop/sdk/runtime", source: path.join(sdk, "src/runtime.ts") },
      { specifier: "@volpop/sdk/fastpath", source: path.join(sdk, "src/strategies/csi-fastpath/index.ts") },
      { specifier: "@volpop/sdk/doctor", source: path.join(sdk, "src/doctor/index.ts") },
      { specifier: "@volpop/sdk/testing", source: path.join(sdk, "src/testing.ts") },
    ]);
  });

  it.each([
    ["no exports", { name: "@x/a" }, /package\.json has no "exports" to document/],
    [
      "an export without its source",
      { name: "@x/a", exports: { ".": { import: "./dist/index.js" } } },
      /export "\." has no "volpop-source" condition/,
    ],
  ])("refuse a package with %s", (_, manifest, message) => {
    expect(() => entryPointsOf(repo({ "package.json": JSON.stringify(manifest) }))).toThrow(message);
  });

  it("must each be named by its specifier (@module), or the build says which file to fix", () => {
    const entries = [
      { specifier: "@volpop/sdk", source: path.join(REPO_ROOT, "packages/sdk/src/index.ts") },
      { specifier: "@volpop/sdk/run", source: path.join(REPO_ROOT, "packages/sdk/src/run.ts") },
    ];
    expect(misnamedModules(entries, [{ name: "@volpop/sdk" }, { name: "run" }])).toEqual([
      'packages/sdk/src/run.ts: its first comment must end with "@module @volpop/sdk/run" (TypeDoc names modules by it)',
    ]);
  });
});
