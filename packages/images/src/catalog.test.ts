import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { manifestImage, outsidePackage, productImage } from "./catalog.ts";
import { imageRepository } from "./package-image.ts";

describe("manifestImage", () => {
  const repoRoot = path.resolve(import.meta.dirname, "../../..");
  const withManifests = fs
    .readdirSync(path.join(repoRoot, "packages"))
    .filter((name) => fs.existsSync(path.join(repoRoot, "packages", name, "deploy")))
    .sort();
  /** The files that name a package's image: its manifests, its README and the docs. */
  function naming(name: string): string[] {
    const deploy = path.join("packages", name, "deploy");
    const manifests = (fs.readdirSync(path.join(repoRoot, deploy), { recursive: true }) as string[])
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => path.join(deploy, f));
    const docs = fs.readdirSync(path.join(repoRoot, "docs")).filter((f) => f.endsWith(".md"));
    return [...manifests, path.join("packages", name, "README.md"), ...docs.map((f) => path.join("docs", f))];
  }

  it("covers every package that ships manifests", () => {
    expect(withManifests).toEqual([
      "populator-csi-fastpath",
      "populator-hello",
      "populator-image",
      "validator",
    ]);
  });

  // The tag moves with the package's version (`changeset version`): a manifest left behind would
  // install an image no release has, and the e2e tier would not find what it replaces.
  it.each(withManifests)(
    "is what every manifest, README and doc names for %s: its package's version",
    (name) => {
      const image = manifestImage(name);
      const named = naming(name).flatMap((file) => {
        const full = path.join(repoRoot, file);
        if (!fs.existsSync(full)) return [];
        const text = fs.readFileSync(full, "utf8");
        return [...text.matchAll(new RegExp(`volpop/${name}:[\\w.-]*\\w`, "g"))].map((m) => ({
          file,
          image: m[0],
        }));
      });
      expect(named.filter((n) => n.file.includes("/deploy/")).length).toBeGreaterThan(0);
      expect(named.filter((n) => n.image !== image)).toEqual([]);
    },
  );
});

describe("productImage", () => {
  it("names the images there are when asked for one there is not", () => {
    expect(() => productImage("populator-nope")).toThrow(
      /no product image populator-nope; there are validator, /,
    );
  });
});

describe("outsidePackage", () => {
  let dir: string;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "outside-package-"));
    write("package.json", JSON.stringify({ name: "@acme/tape-populator", version: "1.2.0" }));
    write("src/main.ts", "");
    write("Containerfile", "FROM scratch\n");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("names the image after the package, without the scope's @, and builds it from the package's folder", () => {
    const image = outsidePackage(dir);
    expect(image).toEqual({
      name: "acme-tape-populator",
      entry: "src/main.ts",
      repository: "acme/tape-populator",
      root: dir,
    });
    expect(imageRepository(image)).toBe("acme/tape-populator");
    expect(imageRepository(productImage("validator"))).toBe("volpop/validator");
  });

  it("takes another program with entry", () => {
    write("bin/run.ts", "");
    expect(outsidePackage(dir, { entry: "bin/run.ts" }).entry).toBe("bin/run.ts");
  });

  it.each([
    ["no package.json", () => fs.rmSync(path.join(dir, "package.json")), /has no package\.json/],
    ["no name", () => write("package.json", JSON.stringify({ version: "1.0.0" })), /has no name/],
    ["no version", () => write("package.json", JSON.stringify({ name: "tape" })), /has no version to tag/],
    [
      "a name no registry takes",
      () => write("package.json", JSON.stringify({ name: "tape~x", version: "1.0.0" })),
      /is no image repository name/,
    ],
    ["no program", () => fs.rmSync(path.join(dir, "src/main.ts")), /src\/main\.ts does not exist/],
    ["no Containerfile", () => fs.rmSync(path.join(dir, "Containerfile")), /has no Containerfile/],
  ])("refuses a package with %s, saying so", (_case, breakIt, why) => {
    breakIt();
    expect(() => outsidePackage(dir)).toThrow(why);
  });
});
