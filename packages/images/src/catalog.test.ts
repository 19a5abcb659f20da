import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { manifestImage, productImage } from "./catalog.ts";

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
