import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CatalogueError, casesInSource, readCatalogue } from "./extract.ts";

const meta = (fields: string) =>
  `{ id: "image-tar-dotdot", component: "image", input: "an entry named ../x", expected: "UNSAFE_LAYER_ENTRY", checks: ["nothing-outside-volume"]${fields} }`;

function read(text: string, file = "packages/oci/src/a.test.ts") {
  const problems: string[] = [];
  const cases = casesInSource(file, text, problems).map(({ found }) => found);
  return { cases, problems };
}

describe("casesInSource", () => {
  it("reads a case's meta and where its test lives", () => {
    expect(read(`badInputCase(${meta("")}, () => {});`)).toEqual({
      cases: [
        {
          id: "image-tar-dotdot",
          component: "image",
          input: "an entry named ../x",
          expected: "UNSAFE_LAYER_ENTRY",
          checks: ["nothing-outside-volume"],
          file: "packages/oci/src/a.test.ts",
          tier: "unit",
        },
      ],
      problems: [],
    });
  });

  it("reads one case from badInputCase.each and one per row from badInputCases, ignoring the rows' other fields", () => {
    const text = `
      badInputCase.each(["a", "b"])(${meta("")}, (row) => {});
      badInputCases([
        { id: "sdk-one", component: "sdk", input: "i", expected: "e", checks: ["pvc-kept"], spec: () => ({}) },
        { id: "sdk-two", component: "sdk", input: \`i\`, expected: "e", checks: ["pvc-kept"], n: 2 },
      ], (row) => {});`;
    expect(read(text, "test/e2e/x.e2e.ts").cases.map((c) => [c.id, c.tier])).toEqual([
      ["image-tar-dotdot", "e2e"],
      ["sdk-one", "e2e"],
      ["sdk-two", "e2e"],
    ]);
  });

  it.each([
    [
      "a meta that is not a literal",
      "badInputCase(META, () => {});",
      "must be written out as an object literal",
    ],
    [
      "a field that is not a string literal",
      `badInputCase(${meta(", input: name")}, () => {});`,
      "input must be a non-empty string literal",
    ],
    [
      "an empty field",
      `badInputCase(${meta(', expected: " "')}, () => {});`,
      "expected must be a non-empty string literal",
    ],
    ["no checks", `badInputCase(${meta(", checks: []")}, () => {});`, "checks must be a non-empty array"],
    [
      "an unknown check",
      `badInputCase(${meta(', checks: ["fine"]')}, () => {});`,
      '"fine" is not a known check',
    ],
    [
      "an unknown component",
      `badInputCase(${meta(', component: "cli"')}, () => {});`,
      'component "cli" is none of',
    ],
    [
      "an id of another component",
      `badInputCase(${meta(', component: "sdk"')}, () => {});`,
      'must start with its component, "sdk-"',
    ],
    [
      "an id that is not kebab-case",
      `badInputCase(${meta(', id: "image_Tar"')}, () => {});`,
      "must be kebab-case",
    ],
    ["a case inside a for loop", `for (const x of xs) badInputCase(${meta("")}, () => {});`, "inside a loop"],
    [
      "a case inside forEach",
      `xs.forEach(() => badInputCase(${meta("")}, () => {}));`,
      "inside a callback of .forEach()",
    ],
    [
      "table rows that are not a literal",
      "badInputCases(ROWS, () => {});",
      "rows written out as an array literal",
    ],
  ])("refuses %s, naming the file and line", (_title, text, problem) => {
    const { cases, problems } = read(`\n${text}`);
    expect(cases).toEqual([]);
    expect(problems).toEqual([expect.stringMatching(/^packages\/oci\/src\/a\.test\.ts:2: /)]);
    expect(problems[0]).toContain(problem);
  });
});

describe("readCatalogue", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });
  function repo(files: Record<string, string>): string {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-catalogue-repo-"));
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    }
    return root;
  }
  const registered = (id: string, component: string) =>
    `badInputCase({ id: "${id}", component: "${component}", input: "i", expected: "e", checks: ["pvc-kept"] }, () => {});\n`;

  it("reads every tier's test files, sorted by component, then file, then place", () => {
    const cases = readCatalogue(
      repo({
        "packages/oci/src/b.test.ts": registered("image-b", "image"),
        "packages/sdk/src/a.test.ts": registered("sdk-second", "sdk"),
        "packages/sdk/src/z.test.ts": registered("sdk-z", "sdk"),
        "test/e2e/hello.e2e.ts": registered("hello-api", "hello"),
        "packages/sdk/src/helper.ts": registered("sdk-not-a-test", "sdk"),
      }),
    );
    expect(cases.map((c) => `${c.id} ${c.file}`)).toEqual([
      "sdk-second packages/sdk/src/a.test.ts",
      "sdk-z packages/sdk/src/z.test.ts",
      "hello-api test/e2e/hello.e2e.ts",
      "image-b packages/oci/src/b.test.ts",
    ]);
  });

  it("refuses an id registered twice, with every other problem at once", () => {
    const at = repo({
      "packages/sdk/src/a.test.ts": registered("sdk-same", "sdk"),
      "packages/sdk/src/b.test.ts": registered("sdk-same", "sdk") + registered("hello-x", "sdk"),
    });
    expect(() => readCatalogue(at)).toThrow(CatalogueError);
    const problems = (() => {
      try {
        readCatalogue(at);
      } catch (error) {
        return (error as CatalogueError).problems;
      }
    })();
    expect(problems).toEqual([
      'packages/sdk/src/b.test.ts:2: id hello-x must start with its component, "sdk-"',
      "packages/sdk/src/b.test.ts: case id sdk-same is registered twice (also in packages/sdk/src/a.test.ts)",
    ]);
  });
});
