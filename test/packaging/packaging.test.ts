import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  consumerEnv,
  lastLines,
  type Manifest,
  nodeModulesAbove,
  publishablePackages,
  REPOSITORY_URL,
  readManifest,
  repoRoot,
  Transcript,
  workspaceClosure,
} from "./packages.ts";

// What a user of the published packages gets: every publishable package is built and packed as
// `changeset publish` would, its tarball checked (contents, manifest, publint, are-the-types-wrong),
// and the SDK installed with plain npm into a project outside the workspace, where the README's
// populator compiles under `moduleResolution: nodenext` and fills a directory in populate mode. No
// `volpop-source` condition, no workspace node_modules: only the tarballs and the registry.

const packages = publishablePackages();
const bin = (name: string) => path.join(repoRoot, "test", "node_modules", ".bin", name);
const rootManifest = readManifest(path.join(repoRoot, "package.json"));
// The SDK README's example, as packages/sdk/src/readme.test.ts compiles it against the sources. Loaded
// by path: a static import of another project's source is one tsc refuses to rewrite.
const { readmeExample }: { readmeExample: () => Map<string, string> } = await import(
  pathToFileURL(path.join(repoRoot, "packages/sdk/src/internal/readme-example.ts")).href
);

// Built and packed once by the global setup (pack.ts), for this file and scaffold.test.ts.
const { work, tarballs: tarballOf, unpacked: unpackedOf, transcript: setupTranscript } = inject("packaging");
const transcript = new Transcript({ $WORK: work });
transcript.include(setupTranscript);
/** The unpacked tarball of each package, by name. */
const unpacked = new Map(Object.entries(unpackedOf));
const tarballs = new Map(Object.entries(tarballOf));

afterAll(() => {
  // For notes on an issue: what ran and what it said.
  console.log(`packaging transcript:\n${transcript}`);
});

/** Paths of the files below `dir`, relative to it, with `/` separators. */
function filesBelow(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
    .sort();
}

it("finds the packages to publish: every package under packages/ that is not private", () => {
  const names = packages.map((p) => p.manifest.name);
  expect(names).toContain("@volpop/sdk");
  expect(names).not.toContain("@volpop/oci-testing");
});

describe.each(packages.map((p) => ({ name: p.manifest.name, ...p })))(
  "the tarball of $name",
  ({ name, manifest, dir: folder }) => {
    const dir = () => unpacked.get(name) ?? "";
    const packed = () => readManifest(path.join(dir(), "package.json"));

    // npm's page of the package links to these; `directory` says which folder of the monorepo it is.
    it("names its repository with its folder, its home page and where to report bugs", () => {
      const { repository, homepage, bugs } = packed();
      expect(repository).toEqual({ type: "git", url: `git+${REPOSITORY_URL}.git`, directory: folder });
      expect(homepage).toMatch(
        new RegExp(`^${REPOSITORY_URL.replaceAll(".", "\\.")}/tree/main/${folder}(#readme)?$`),
      );
      expect(homepage?.endsWith("#readme")).toBe(fs.existsSync(path.join(repoRoot, folder, "README.md")));
      expect(bugs).toEqual({ url: `${REPOSITORY_URL}/issues` });
    });

    it("holds only its build, README, LICENSE and what its `files` names: no sources, no tests", () => {
      const allowed = new Set([...(manifest.files ?? []), "package.json", "README.md", "LICENSE"]);
      const files = filesBelow(dir());
      expect(files.filter((f) => !allowed.has(f.split("/")[0] ?? ""))).toEqual([]);
      expect(files.filter((f) => /\.test\.|(^|\/)src\//.test(f))).toEqual([]);
      expect(files.filter((f) => f.startsWith("dist/") && f.endsWith(".js")).length).toBeGreaterThan(0);
    });

    it("has source maps that carry their sources, so that none points at a file left out", () => {
      for (const map of filesBelow(dir()).filter((f) => f.endsWith(".map"))) {
        const { sources, sourcesContent = [] } = JSON.parse(
          fs.readFileSync(path.join(dir(), map), "utf8"),
        ) as {
          sources: string[];
          sourcesContent?: (string | null)[];
        };
        const missing = sources.filter(
          (source, i) =>
            typeof sourcesContent[i] !== "string" &&
            !fs.existsSync(path.resolve(path.dirname(path.join(dir(), map)), source)),
        );
        expect({ map, missing }).toEqual({ map, missing: [] });
      }
    });

    it("names its workspace dependencies by their released versions, never `workspace:`", () => {
      const { dependencies = {}, peerDependencies = {} } = packed();
      expect(JSON.stringify(packed())).not.toContain("workspace:");
      for (const [dep, range] of Object.entries({ ...dependencies, ...peerDependencies })) {
        const workspace = packages.find((p) => p.manifest.name === dep);
        if (workspace) expect({ dep, range }).toEqual({ dep, range: workspace.manifest.version });
      }
      expect(packed().version).toBe(manifest.version);
    });

    it("ships its commands executable, each starting with a node shebang", () => {
      for (const file of Object.values(packed().bin ?? {})) {
        const full = path.join(dir(), file);
        expect(fs.statSync(full).mode & 0o111, file).toBe(0o111);
        expect(fs.readFileSync(full, "utf8").split("\n")[0], file).toBe("#!/usr/bin/env node");
      }
    });

    it("passes publint (strict: warnings fail)", async () => {
      await transcript.run(bin("publint"), ["run", tarballs.get(name) ?? "", "--strict"], {
        cwd: repoRoot,
        keep: (output) => lastLines(output),
      });
    });

    // The esm-only profile: the packages are ESM for Node 24 and say so (`"type": "module"`, `import`
    // conditions only); node10 and require() from CommonJS cannot load them, and are not meant to.
    it("passes are-the-types-wrong for ESM consumers (node16/nodenext from ESM, bundler)", async () => {
      const json = await transcript.run(
        bin("attw"),
        [tarballs.get(name) ?? "", "--profile", "esm-only", "--no-definitely-typed", "--format", "json"],
        { cwd: repoRoot, keep: () => "" },
      );
      const { analysis } = JSON.parse(json) as { analysis: { entrypoints: Record<string, unknown> } };
      transcript.note(`no problems; entry points ${Object.keys(analysis.entrypoints).join(", ")}`);
    });
  },
);

describe("a project outside the workspace that installs @volpop/sdk with npm", () => {
  let project: string;
  const run = (file: string, args: string[], keep?: (output: string) => string, shown = {}) =>
    transcript.run(file, args, { cwd: project, env: consumerEnv(shown), shown, ...(keep ? { keep } : {}) });

  beforeAll(async () => {
    project = path.join(work, "consumer");
    fs.mkdirSync(path.join(project, "src"), { recursive: true });
    // Node would find a node_modules above the project: it would see packages npm did not install.
    expect(nodeModulesAbove(project)).toEqual([]);
    expect(path.relative(repoRoot, project).startsWith("..")).toBe(true);
    fs.writeFileSync(
      path.join(project, "package.json"),
      `${JSON.stringify({ name: "volpop-consumer", version: "1.0.0", private: true, type: "module" }, null, 2)}\n`,
    );
    const dev = rootManifest.devDependencies ?? {};
    // Every one from its tarball: a name npm would fetch from the registry instead.
    const sdk = workspaceClosure("@volpop/sdk", packages).map((name) => {
      const tarball = tarballs.get(name);
      if (!tarball) throw new Error(`no tarball of ${name}`);
      return tarball;
    });
    await run(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--no-update-notifier",
        ...sdk,
        `typescript@${dev.typescript}`,
        `@types/node@${dev["@types/node"]}`,
      ],
      (output) => (output.match(/^(added|changed|up to date|npm (warn|error)).*$/gm) ?? []).join("\n"),
    );
    for (const [name, code] of readmeExample()) fs.writeFileSync(path.join(project, "src", name), code);
    const tsconfig = {
      compilerOptions: {
        target: "es2024",
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        // The README's main imports `./hello.ts`, as Node's type stripping wants; tsc writes `./hello.js`.
        rewriteRelativeImportExtensions: true,
        types: ["node"],
        rootDir: "src",
        outDir: "dist",
      },
      include: ["src"],
    };
    fs.writeFileSync(path.join(project, "tsconfig.json"), `${JSON.stringify(tsconfig, null, 2)}\n`);
    transcript.note(`tsconfig.json: ${JSON.stringify(tsconfig.compilerOptions)}`);
  });

  it("installed the packed SDK, not one from the registry or the workspace", () => {
    const installed = readManifest(path.join(project, "node_modules", "@volpop", "sdk", "package.json"));
    const workspace = packages.find((p) => p.manifest.name === "@volpop/sdk")?.manifest as Manifest;
    expect(installed.version).toBe(workspace.version);
    expect(fs.lstatSync(path.join(project, "node_modules", "@volpop", "sdk")).isSymbolicLink()).toBe(false);
    expect(fs.existsSync(path.join(project, "node_modules", "@volpop", "sdk", "src"))).toBe(false);
  });

  it("compiles the SDK README's populator with tsc under module and moduleResolution nodenext", async () => {
    await run(path.join(project, "node_modules", ".bin", "tsc"), ["-p", "."]);
    expect(filesBelow(path.join(project, "dist"))).toEqual(["hello.js", "main.js"]);
  });

  it("runs it in populate mode against a directory given in $VOLPOP_TARGET", async () => {
    const target = path.join(work, "target");
    fs.mkdirSync(target);
    await run(process.execPath, ["dist/main.js", "--version"]);
    await run(process.execPath, ["dist/main.js", "--mode=populate"], (output) => output, {
      VOLPOP_SPEC: JSON.stringify({ fileName: "hello.txt", fileContents: "Hello, world!" }),
      VOLPOP_TARGET: target,
    });
    const written = fs.readFileSync(path.join(target, "hello.txt"), "utf8");
    transcript.note(
      `$WORK/target holds ${JSON.stringify(fs.readdirSync(target))}; hello.txt: ${JSON.stringify(written)}`,
    );
    expect(written).toBe("Hello, world!\n");
  });

  it("has the SDK's `volpop` command on its PATH (node_modules/.bin)", async () => {
    const usage = await run(path.join(project, "node_modules", ".bin", "volpop"), ["--help"], (output) =>
      output.split("\n").slice(0, 2).join("\n"),
    );
    expect(usage).toMatch(/fastpath conformance/);
  });
});
