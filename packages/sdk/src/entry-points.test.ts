import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

// Which packages an entry point loads, seen by Node itself in a fresh process (a bundler's view could
// differ from what a consumer's `import` does): every module URL the resolver hands out is recorded.
function packagesLoadedBy(specifier: string): string[] {
  const script = `
    import { registerHooks } from "node:module";
    const urls = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.add(r.url); return r; } });
    await import(${JSON.stringify(specifier)});
    const packages = new Set();
    for (const url of urls) {
      if (url.startsWith("node:")) packages.add(url);
      const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url.replace(/.*\\/node_modules\\/\\.pnpm\\/[^/]+\\//, "/"));
      if (match) packages.add(match[1]);
    }
    console.log(JSON.stringify([...packages].sort()));
  `;
  const out = execFileSync(
    process.execPath,
    ["--conditions=volpop-source", "--input-type=module", "--eval", script],
    { cwd: import.meta.dirname, encoding: "utf8" },
  );
  return JSON.parse(out) as string[];
}

// Each case starts a Node process that loads the SDK from source: seconds on a busy machine.
describe("entry points by audience", { timeout: 60_000 }, () => {
  // gRPC and protobuf are a tenth of a bundled populator and most of what a fast-path-less one
  // would carry for nothing.
  it.each(["@volpop/sdk", "@volpop/sdk/run", "@volpop/sdk/runtime"])(
    "%s loads neither gRPC nor protobuf",
    (specifier) => {
      const loaded = packagesLoadedBy(specifier);
      expect(loaded.length).toBeGreaterThan(0);
      expect(loaded).not.toContain("@grpc/grpc-js");
      expect(loaded).not.toContain("@bufbuild/protobuf");
    },
  );

  it("@volpop/sdk/run does not load the Kubernetes client until controller mode runs", () => {
    expect(packagesLoadedBy("@volpop/sdk/run")).not.toContain("@kubernetes/client-node");
  });

  // Importing node:http makes Node load its own undici (the ESM facade reads every export): ~50 ms
  // of CPU at every populator pod's start, for a server only controller mode runs.
  it("@volpop/sdk/run does not load node:http until controller mode runs", () => {
    expect(packagesLoadedBy("@volpop/sdk/run")).not.toContain("node:http");
  });

  // `npx volpop doctor` runs where prom-client (a peer dependency) may not be installed.
  it("@volpop/sdk/doctor loads neither gRPC, protobuf nor prom-client", () => {
    const loaded = packagesLoadedBy("@volpop/sdk/doctor");
    expect(loaded).toContain("@kubernetes/client-node");
    for (const name of ["@grpc/grpc-js", "@bufbuild/protobuf", "prom-client"])
      expect(loaded).not.toContain(name);
  });

  // `volpop doctor` then loads no gRPC, `volpop fastpath conformance` no doctor.
  it("the volpop command loads no package until a subcommand runs", () => {
    expect(packagesLoadedBy(new URL("./bin/commands.ts", import.meta.url).href)).toEqual([]);
  });

  it("@volpop/sdk/fastpath is where gRPC comes in", () => {
    expect(packagesLoadedBy("@volpop/sdk/fastpath")).toContain("@grpc/grpc-js");
  });
});
