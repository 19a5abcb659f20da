import { defineProject } from "vitest/config";

/**
 * What users install: builds and packs every publishable package, checks the tarballs (publint,
 * are-the-types-wrong), installs the SDK with npm into a project outside the workspace, and scaffolds
 * populators there with the packed create-volpop-populator. No cluster; a few minutes, most of them
 * tsup's type declarations and npm.
 */
export default defineProject({
  test: {
    name: "packaging",
    include: ["packaging/**/*.test.ts"],
    // Builds and packs every package once, for all the files (packaging/pack.ts).
    globalSetup: ["packaging/global-setup.ts"],
    // The build alone takes a minute or more on a busy 2-core machine; npm may download on a cold cache.
    hookTimeout: 900_000,
    testTimeout: 300_000,
  },
});
