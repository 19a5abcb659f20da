import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { parseCommandLine, UsageError } from "./cli-args.ts";
import { main } from "./command.ts";
import {
  defaultKind,
  type ProjectOptions,
  pluralOf,
  projectOptions,
  ScaffoldOptionError,
  STRATEGIES,
  VOLUME_MODES,
} from "./options.ts";
import { renderProject } from "./render.ts";
import { scaffold } from "./scaffold.ts";
import { pinnedVersions } from "./versions.ts";
import { NonEmptyDirectoryError } from "./write.ts";

const versions = pinnedVersions();
const options = (overrides: Partial<Parameters<typeof projectOptions>[0]> = {}): ProjectOptions =>
  projectOptions({ name: "tape-archive", sdkVersion: "1.2.3", ...overrides });

describe("the project's name", () => {
  it.each([
    ["", /give the populator a name/],
    ["Tape", /not a DNS-1123 label/],
    ["tape_archive", /not a DNS-1123 label/],
    ["-tape", /not a DNS-1123 label/],
    ["tape-", /not a DNS-1123 label/],
    ["tape.archive", /not a DNS-1123 label/],
    ["9tape", /must start with a letter/],
    ["t".repeat(64), /longer than 63 characters/],
  ])("refuses %j, saying why", (name, why) => {
    expect(() => options({ name })).toThrow(ScaffoldOptionError);
    expect(() => options({ name })).toThrow(why);
  });

  it.each(["a", "tape", "tape-archive-2", "t".repeat(63)])("accepts %j", (name) => {
    expect(options({ name }).name).toBe(name);
  });
});

describe("the defaults", () => {
  it("are the pod strategy, Filesystem volumes, group <name>.example.com and kind from the name", () => {
    expect(options()).toEqual({
      name: "tape-archive",
      strategy: "pod",
      volumeMode: "Filesystem",
      group: "tape-archive.example.com",
      version: "v1alpha1",
      kind: "TapeArchive",
      plural: "tapearchives",
      sdkVersion: "1.2.3",
    });
  });

  it.each([
    ["tape-archive", "TapeArchive"],
    ["hello-populator", "Hello"],
    ["populator", "Populator"],
    ["x2-disk", "X2Disk"],
  ])("names the kind of %j %s", (name, kind) => {
    expect(defaultKind(name)).toBe(kind);
  });

  it.each([
    ["TapeArchive", "tapearchives"],
    ["Backup", "backups"],
    ["Index", "indexes"],
    ["Policy", "policies"],
    ["Day", "days"],
  ])("makes the plural of %s %s", (kind, plural) => {
    expect(pluralOf(kind)).toBe(plural);
  });

  it("pins the SDK and the images command this scaffolder was built with, and the root's toolchain", () => {
    const sdk = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "../../sdk/package.json"), "utf8"));
    const root = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "../../../package.json"), "utf8"));
    expect(versions["@volpop/sdk"]).toBe(sdk.version);
    for (const tool of ["typescript", "@types/node", "vitest"] as const)
      expect({ tool, version: versions[tool] }).toEqual({ tool, version: root.devDependencies[tool] });
  });
});

describe("the flags", () => {
  it.each([
    [{ strategy: "daemon" as never }, /--strategy "daemon" is none of pod, function, fastpath/],
    [{ volumeMode: "filesystem" as never }, /--volume-mode "filesystem" is none of Filesystem, Block/],
    [{ group: "tape" }, /--group "tape" needs a dot/],
    [{ group: "Tape.example.com" }, /is not a DNS subdomain/],
    [{ group: "tape..example.com" }, /is not a DNS subdomain/],
    [{ kind: "tapeArchive" }, /--kind "tapeArchive" must be UpperCamelCase/],
    [{ kind: "Tape-Archive" }, /must be UpperCamelCase/],
    [{ sdkVersion: "latest" }, /--sdk-version "latest" is not a version/],
  ])("refuses %j, saying why", (overrides, why) => {
    expect(() => options(overrides)).toThrow(why);
  });

  it("take a group and a kind of the user's", () => {
    expect(options({ group: "storage.acme.io", kind: "Snapshot" })).toMatchObject({
      group: "storage.acme.io",
      kind: "Snapshot",
      plural: "snapshots",
    });
  });

  it("are read from the command line, in either form", () => {
    expect(
      parseCommandLine([
        "tape",
        "--strategy=fastpath",
        "--volume-mode",
        "Block",
        "--group=tape.acme.io",
        "--kind",
        "Tape",
        "--dir",
        "out",
        "--sdk-version",
        "2.0.0",
        "--force",
      ]),
    ).toEqual({
      action: "scaffold",
      options: {
        name: "tape",
        strategy: "fastpath",
        volumeMode: "Block",
        group: "tape.acme.io",
        kind: "Tape",
        dir: "out",
        sdkVersion: "2.0.0",
        force: true,
      },
    });
    expect(parseCommandLine(["--help"])).toEqual({ action: "help" });
  });

  it.each([
    [[], /give the populator a name/],
    [["a", "b"], /one name only; also given: b/],
    [["a", "--color"], /Unknown option '--color'/],
    [["a", "--strategy"], /argument missing/],
  ])("refuses the command line %j", (argv, why) => {
    expect(() => parseCommandLine(argv)).toThrow(UsageError);
    expect(() => parseCommandLine(argv)).toThrow(why);
  });
});

describe.each(STRATEGIES.flatMap((strategy) => VOLUME_MODES.map((volumeMode) => ({ strategy, volumeMode }))))(
  "a project with the $strategy strategy for $volumeMode volumes",
  ({ strategy, volumeMode }) => {
    const files = renderProject(options({ strategy, volumeMode }), versions);
    const text = (file: string) => files.get(file) ?? "";
    const objects = (file: string) =>
      parseAllDocuments(text(file)).map((doc) => doc.toJS() as { kind: string; metadata: { name: string } });

    it("has the files every project has, and its strategy's", () => {
      const names = [...files.keys()];
      for (const file of [
        "package.json",
        "tsconfig.json",
        "Containerfile",
        "README.md",
        "src/spec.ts",
        "src/crd.ts",
        "src/populator.ts",
        "src/main.ts",
        "src/populate.ts",
        "src/crd.test.ts",
        "e2e/populate.e2e.ts",
        "deploy/kustomization.yaml",
        "deploy/crd.yaml",
        "chart/Chart.yaml",
        "chart/crds/tapearchives.yaml",
      ])
        expect(names).toContain(file);
      expect(names.includes("src/storage.ts")).toBe(strategy !== "pod");
      expect(names.includes("src/backend.ts")).toBe(strategy === "fastpath");
      expect(names.includes("deploy/daemonset.yaml")).toBe(strategy === "fastpath");
    });

    it("depends on the SDK version asked for and runs volpop-images for its image", () => {
      const manifest = JSON.parse(text("package.json"));
      expect(manifest.dependencies).toEqual({ "@volpop/sdk": "1.2.3" });
      expect(manifest.devDependencies["@volpop/images"]).toBe(versions["@volpop/images"]);
      expect(manifest.scripts.image).toBe("volpop-images build --package .");
      expect(Object.keys(manifest.scripts)).toEqual(
        expect.arrayContaining(["build", "test", "typecheck", "crd", "image"]),
      );
    });

    it("lists in its kustomization every manifest in deploy/, each parsing as YAML", () => {
      const kustomization = parse(text("deploy/kustomization.yaml")) as { resources: string[] };
      const manifests = [...files.keys()]
        .filter((f) => f.startsWith("deploy/") && f !== "deploy/kustomization.yaml")
        .map((f) => f.slice("deploy/".length));
      expect([...kustomization.resources].sort()).toEqual(manifests.sort());
      for (const file of manifests) expect(objects(`deploy/${file}`).length).toBeGreaterThan(0);
    });

    it("writes the same CRD into deploy/ and the chart, with the spec's fields for its volume mode", () => {
      expect(text("chart/crds/tapearchives.yaml")).toBe(text("deploy/crd.yaml"));
      const crd = parse(text("deploy/crd.yaml"));
      expect(crd.metadata.name).toBe("tapearchives.tape-archive.example.com");
      const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec;
      expect(spec.required).toEqual(volumeMode === "Filesystem" ? ["fileName", "contents"] : ["contents"]);
    });

    it("names the volume mode in its example PVC and the populate code for it", () => {
      expect(objects("examples/source.yaml").map((o) => o.kind)).toEqual([
        "TapeArchive",
        "PersistentVolumeClaim",
      ]);
      expect(text("examples/source.yaml")).toContain(`volumeMode: ${volumeMode}`);
      expect(text("src/populate.ts")).toContain(
        volumeMode === "Filesystem" ? 'target.kind !== "directory"' : 'target.kind !== "device"',
      );
    });

    it("gives the controller the right to read its source kind and nothing of it to write", () => {
      const role = objects("deploy/rbac.yaml").find((o) => o.kind === "ClusterRole") as unknown as {
        rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
      };
      expect(role.rules.filter((r) => r.apiGroups.includes("tape-archive.example.com"))).toEqual([
        {
          apiGroups: ["tape-archive.example.com"],
          resources: ["tapearchives"],
          verbs: ["get", "list", "watch"],
        },
      ]);
    });

    it("starts populator pods with its own image, unless it starts none", () => {
      const deployment = text("deploy/deployment.yaml");
      expect(deployment.includes("--image-name=$(POPULATOR_IMAGE)")).toBe(strategy !== "function");
      expect(deployment.includes("--fastpath-endpoint=unix:///run/tape-archive/backend.sock")).toBe(
        strategy === "fastpath",
      );
    });
  },
);

describe("scaffold", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "scaffold-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes every rendered file into ./<name> by default", () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const made = scaffold({ name: "tape", sdkVersion: "1.0.0" });
      expect(made.dir).toBe(path.join(fs.realpathSync(dir), "tape"));
      for (const file of made.files) expect(fs.existsSync(path.join(made.dir, file)), file).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it("refuses a folder that is not empty, and writes nothing into it", () => {
    fs.writeFileSync(path.join(dir, "notes.txt"), "mine");
    expect(() => scaffold({ name: "tape", dir })).toThrow(NonEmptyDirectoryError);
    expect(() => scaffold({ name: "tape", dir })).toThrow(/is not empty \(notes\.txt\).*--force/);
    expect(fs.readdirSync(dir)).toEqual(["notes.txt"]);
  });

  it("writes over the project's files with --force and leaves the others", () => {
    fs.writeFileSync(path.join(dir, "notes.txt"), "mine");
    scaffold({ name: "tape", dir, force: true });
    expect(fs.readFileSync(path.join(dir, "notes.txt"), "utf8")).toBe("mine");
    expect(fs.existsSync(path.join(dir, "src", "spec.ts"))).toBe(true);
  });

  it("refuses a path that is a file", () => {
    const file = path.join(dir, "file");
    fs.writeFileSync(file, "");
    expect(() => scaffold({ name: "tape", dir: file })).toThrow(/exists and is not a folder/);
  });
});

describe("the command", () => {
  let dir: string;
  let written: string[];
  let writes: { stdout: typeof process.stdout.write; stderr: typeof process.stderr.write };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "scaffold-"));
    written = [];
    writes = { stdout: process.stdout.write, stderr: process.stderr.write };
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
  });
  afterEach(() => {
    process.stdout.write = writes.stdout;
    process.stderr.write = writes.stderr;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("exits 2 with the reason and the usage for a bad name", () => {
    expect(main(["Tape"])).toBe(2);
    expect(written.join("")).toMatch(
      /^create-volpop-populator: the name "Tape" is not a DNS-1123 label.*\n\nUsage:/s,
    );
  });

  it("exits 1 for a folder that is not empty", () => {
    fs.writeFileSync(path.join(dir, "x"), "");
    expect(main(["tape", "--dir", dir])).toBe(1);
    expect(written.join("")).toMatch(/is not empty/);
  });

  it("prints the usage for --help", () => {
    expect(main(["--help"])).toBe(0);
    expect(written.join("")).toMatch(/--strategy <s> +how volumes are filled: pod \| function \| fastpath/);
  });

  it("says what it wrote and what comes next", () => {
    expect(main(["tape", "--dir", dir, "--strategy", "function"])).toBe(0);
    expect(written.join("")).toMatch(
      /a Tape populator \(tape\.example\.com, function strategy, Filesystem volumes\)/,
    );
    expect(written.join("")).toMatch(/npm install/);
  });
});
