import fs from "node:fs";
import path from "node:path";
import { crdSpecSchema } from "@volpop/sdk/testing";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { imageSourceSpec } from "./image-source.ts";

const check = imageSourceSpec.validate;

const image = "registry.example.com/data/models:v3";

describe("imageSourceSpec.validate", () => {
  it("accepts a bare image and fills in the defaults", () => {
    expect(check({ image })).toEqual({
      ok: true,
      spec: { image, pullSecrets: [], insecureRegistries: [] },
    });
  });

  it("accepts every field at once, the CA key defaulting to ca.crt and maxBytes read as a quantity", () => {
    const spec = {
      image: `${image}@sha256:${"a".repeat(64)}`,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
      path: "models/llama",
      pullSecrets: [{ name: "registry-creds" }, { name: "mirror.creds" }],
      caBundle: { configMap: "registry-ca" },
      insecureRegistries: ["registry.local:5000", "10.0.0.7", "[fd00::1]:5000"],
      owner: { uid: 1000, gid: 2000 },
      fileMode: 0o640,
      dirMode: 0o750,
      blockFile: "disk/root.img",
      limits: { maxBytes: "5Gi", maxEntries: 1000 },
    };
    expect(check(spec)).toEqual({
      ok: true,
      spec: {
        ...spec,
        caBundle: { configMap: "registry-ca", key: "ca.crt" },
        limits: { maxBytes: 5 * 1024 ** 3, maxEntries: 1000 },
      },
    });
  });

  it("treats null fields as absent, as the API server would have pruned them", () => {
    expect(check({ image, path: null, owner: null, pullSecrets: null })).toMatchObject({
      ok: true,
      spec: { image, pullSecrets: [] },
    });
  });

  it.each([
    [{}, "spec.image is required"],
    [{ image: "" }, "spec.image is required"],
    [
      { image: "Registry.Example.com/UPPER/case:v1" },
      /^spec\.image is not a valid image reference: .*lower-case/,
    ],
    [{ image: "app:bad tag" }, /^spec\.image must match \^/],
    [{ image, platform: "linux/amd64" }, "spec.platform must be an object"],
    [{ image, platform: { os: "linux" } }, "spec.platform.architecture is required"],
    [
      { image, platform: { os: "linux", architecture: "arm 64" } },
      /^spec\.platform\.architecture must match/,
    ],
    [{ image, path: "/models" }, 'spec.path "/models" must be relative to the image root (no leading "/")'],
    [{ image, path: "models/../../etc" }, 'spec.path "models/../../etc" must not contain ".."'],
    [{ image, path: ".." }, 'spec.path ".." must not contain ".."'],
    [{ image, path: "./" }, 'spec.path "./" names the image root: name something inside it'],
    [{ image, path: "a\0b" }, "spec.path must not contain a NUL character"],
    [{ image, path: "x".repeat(4097) }, "spec.path must be at most 4096 characters long"],
    [{ image, path: "é".repeat(2049) }, "spec.path is longer than 4096 bytes"],
    [{ image, blockFile: "../disk.img" }, 'spec.blockFile "../disk.img" must not contain ".."'],
    [{ image, blockFile: 7 }, "spec.blockFile must be a string"],
    [{ image, pullSecrets: "creds" }, "spec.pullSecrets must be a list"],
    [{ image, pullSecrets: [{ name: "Creds_1" }] }, /^spec\.pullSecrets\[0\]\.name must match/],
    [{ image, pullSecrets: [{ name: "a" }, { name: "a" }] }, 'spec.pullSecrets lists "a" twice'],
    [
      { image, pullSecrets: Array.from({ length: 9 }, (_, i) => ({ name: `s${i}` })) },
      "spec.pullSecrets must list at most 8 items",
    ],
    [{ image, caBundle: { key: "ca.crt" } }, "spec.caBundle.configMap is required"],
    [{ image, caBundle: { configMap: "ca", key: ".." } }, 'spec.caBundle.key must not be "." or ".."'],
    [{ image, caBundle: { configMap: "ca", key: "../ca.crt" } }, /^spec\.caBundle\.key must match/],
    [{ image, insecureRegistries: ["http://registry.local"] }, /^spec\.insecureRegistries\[0\] must match/],
    [
      { image, insecureRegistries: ["registry.local:70000"] },
      "spec.insecureRegistries[0] has a port outside 1 to 65535",
    ],
    [{ image, insecureRegistries: ["a.b", "a.b"] }, 'spec.insecureRegistries lists "a.b" twice'],
    [{ image, owner: { uid: 1000 } }, "spec.owner.gid is required"],
    [{ image, owner: { uid: -1, gid: 0 } }, "spec.owner.uid must be at least 0"],
    [{ image, owner: { uid: 1.5, gid: 0 } }, "spec.owner.uid must be an integer"],
    [{ image, owner: { uid: 2 ** 32, gid: 0 } }, "spec.owner.uid must be at most 4294967294"],
    [{ image, fileMode: 0o10000 }, "spec.fileMode must be at most 4095"],
    [{ image, dirMode: "0755" }, "spec.dirMode must be an integer"],
    [
      { image, limits: { maxBytes: "20Gi" } },
      /^spec\.limits\.maxBytes must be .* from 1 to 10737418240 \(10Gi\)$/,
    ],
    [{ image, limits: { maxBytes: "1.5Gi" } }, /^spec\.limits\.maxBytes must be a byte count or quantity/],
    [{ image, limits: { maxBytes: 0 } }, /^spec\.limits\.maxBytes must be/],
    [{ image, limits: { maxEntries: 2_000_000 } }, "spec.limits.maxEntries must be at most 1000000"],
    [{ image, limits: 5 }, "spec.limits must be an object"],
  ] as const)("refuses %j, naming the field", (spec, problem) => {
    const result = check(spec);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    if (typeof problem === "string") expect(result.problems[0]).toBe(problem);
    else expect(result.problems[0]).toMatch(problem);
  });

  it("lists every problem, not just the first", () => {
    expect(check({ path: "/x", fileMode: -1 })).toEqual({
      ok: false,
      problems: [
        "spec.image is required",
        'spec.path "/x" must be relative to the image root (no leading "/")',
        "spec.fileMode must be at least 0",
      ],
    });
  });

  it("refuses a spec that is not an object", () => {
    expect(check("busybox")).toEqual({
      ok: false,
      problems: ["spec must be an object"],
    });
  });

  it("drops fields it does not know, as the API server prunes them", () => {
    expect(check({ image, extra: 1, owner: { uid: 1, gid: 2, name: "x" } })).toEqual({
      ok: true,
      spec: { image, pullSecrets: [], insecureRegistries: [], owner: { uid: 1, gid: 2 } },
    });
  });

  it("is the schema deploy/crd.yaml gives the API server", () => {
    const crd = parse(fs.readFileSync(path.join(import.meta.dirname, "../deploy/crd.yaml"), "utf8"));
    expect(crdSpecSchema(crd)).toEqual(imageSourceSpec.openApiSchema());
  });

  it("accepts its own output again, as populate mode checks what the controller passed", () => {
    const first = check({
      image,
      caBundle: { configMap: "ca" },
      limits: { maxBytes: "1Gi" },
      pullSecrets: [{ name: "creds" }],
    });
    if (!first.ok) throw new Error(first.problems.join("; "));
    expect(check(JSON.parse(JSON.stringify(first.spec)))).toEqual(first);
  });
});
