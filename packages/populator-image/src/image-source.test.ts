import { describe, expect, it } from "vitest";
import { checkImageSourceSpec } from "./image-source.ts";

const image = "registry.example.com/data/models:v3";

describe("checkImageSourceSpec", () => {
  it("accepts a bare image and fills in the defaults", () => {
    expect(checkImageSourceSpec({ image })).toEqual({
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
    expect(checkImageSourceSpec(spec)).toEqual({
      ok: true,
      spec: {
        ...spec,
        caBundle: { configMap: "registry-ca", key: "ca.crt" },
        limits: { maxBytes: 5 * 1024 ** 3, maxEntries: 1000 },
      },
    });
  });

  it("treats null fields as absent, as the API server would have pruned them", () => {
    expect(checkImageSourceSpec({ image, path: null, owner: null, pullSecrets: null })).toMatchObject({
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
    [{ image: "app:bad tag" }, /^spec\.image is not a valid image reference: .*tag/],
    [{ image, platform: "linux/amd64" }, "spec.platform must be an object with os and architecture"],
    [{ image, platform: { os: "linux" } }, "spec.platform.architecture is required"],
    [{ image, platform: { os: "linux", architecture: "arm 64" } }, /^spec\.platform\.architecture must be/],
    [{ image, path: "/models" }, 'spec.path "/models" must be relative to the image root (no leading "/")'],
    [{ image, path: "models/../../etc" }, 'spec.path "models/../../etc" must not contain ".."'],
    [{ image, path: ".." }, 'spec.path ".." must not contain ".."'],
    [{ image, path: "./" }, 'spec.path "./" names the image root: name something inside it'],
    [{ image, path: "a\0b" }, "spec.path must not contain a NUL character"],
    [{ image, path: "x".repeat(4097) }, "spec.path is longer than 4096 bytes"],
    [{ image, blockFile: "../disk.img" }, 'spec.blockFile "../disk.img" must not contain ".."'],
    [{ image, blockFile: 7 }, "spec.blockFile must be a non-empty string"],
    [{ image, pullSecrets: "creds" }, "spec.pullSecrets must be a list of {name}"],
    [
      { image, pullSecrets: [{ name: "Creds_1" }] },
      /^spec\.pullSecrets\[0\]\.name must be the name of a Secret/,
    ],
    [{ image, pullSecrets: [{ name: "a" }, { name: "a" }] }, 'spec.pullSecrets[1].name "a" is listed twice'],
    [
      { image, pullSecrets: Array.from({ length: 9 }, (_, i) => ({ name: `s${i}` })) },
      "spec.pullSecrets lists 9 Secrets, more than 8",
    ],
    [{ image, caBundle: { key: "ca.crt" } }, /^spec\.caBundle\.configMap must be the name of a ConfigMap/],
    [
      { image, caBundle: { configMap: "ca", key: "../ca.crt" } },
      /^spec\.caBundle\.key must be a ConfigMap key/,
    ],
    [
      { image, insecureRegistries: ["http://registry.local"] },
      /^spec\.insecureRegistries\[0\] must be a registry host/,
    ],
    [
      { image, insecureRegistries: ["registry.local:70000"] },
      /^spec\.insecureRegistries\[0\] must be a registry host/,
    ],
    [{ image, insecureRegistries: ["a.b", "a.b"] }, 'spec.insecureRegistries[1] "a.b" is listed twice'],
    [{ image, owner: { uid: 1000 } }, "spec.owner.gid is required"],
    [{ image, owner: { uid: -1, gid: 0 } }, "spec.owner.uid must be an integer from 0 to 4294967294"],
    [{ image, owner: { uid: 1.5, gid: 0 } }, "spec.owner.uid must be an integer from 0 to 4294967294"],
    [{ image, fileMode: 0o10000 }, /^spec\.fileMode must be permission bits from 0 to 0o7777/],
    [{ image, dirMode: "0755" }, /^spec\.dirMode must be permission bits from 0 to 0o7777/],
    [
      { image, limits: { maxBytes: "20Gi" } },
      /^spec\.limits\.maxBytes must be .* from 1 to 10737418240 \(10Gi\)$/,
    ],
    [{ image, limits: { maxBytes: "1.5Gi" } }, /^spec\.limits\.maxBytes must be a byte count or quantity/],
    [{ image, limits: { maxBytes: 0 } }, /^spec\.limits\.maxBytes must be/],
    [
      { image, limits: { maxEntries: 2_000_000 } },
      "spec.limits.maxEntries must be an integer from 1 to 1000000",
    ],
    [{ image, limits: 5 }, "spec.limits must be an object with maxBytes and/or maxEntries"],
  ] as const)("refuses %j, naming the field", (spec, problem) => {
    const check = checkImageSourceSpec(spec);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems).toHaveLength(1);
    if (typeof problem === "string") expect(check.problems[0]).toBe(problem);
    else expect(check.problems[0]).toMatch(problem);
  });

  it("lists every problem, not just the first", () => {
    expect(checkImageSourceSpec({ path: "/x", fileMode: -1 })).toEqual({
      ok: false,
      problems: [
        "spec.image is required",
        'spec.path "/x" must be relative to the image root (no leading "/")',
        "spec.fileMode must be permission bits from 0 to 0o7777 (4095); write it in decimal in JSON (0644 is 420)",
      ],
    });
  });

  it("refuses a spec that is not an object", () => {
    expect(checkImageSourceSpec("busybox")).toEqual({
      ok: false,
      problems: ["spec must be an object", "spec.image is required"],
    });
  });

  it("accepts its own output again, as populate mode checks what the controller passed", () => {
    const first = checkImageSourceSpec({
      image,
      caBundle: { configMap: "ca" },
      limits: { maxBytes: "1Gi" },
      pullSecrets: [{ name: "creds" }],
    });
    if (!first.ok) throw new Error(first.problems.join("; "));
    expect(checkImageSourceSpec(JSON.parse(JSON.stringify(first.spec)))).toEqual(first);
  });
});
