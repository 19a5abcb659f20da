import { defineProject } from "vitest/config";

/**
 * What users install: builds and packs every publishable package, checks the tarballs (publint,
 * are-the-types-wrong) and installs the SDK with npm into a project outside the workspace. No
 * cluster; a few minutes, most of them tsup's type declarations.
 */
export default defineProject({
  test: {
    name: "packaging",
    include: ["packaging/**/*.test.ts"],
    // The build alone takes a minute or more on a busy 2-core machine; npm may download on a cold cache.
    hookTimeout: 900_000,
    testTimeout: 300_000,
  },
});
