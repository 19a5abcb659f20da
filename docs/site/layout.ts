/** Where the docs site's sources, generated pages and build output live. */
import path from "node:path";

/** The repository's root. */
export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..");
/** `docs/`: VitePress's project root and source folder; `docs/*.md` stay readable on GitHub as they are. */
export const DOCS_DIR = path.join(REPO_ROOT, "docs");
/** Generated from the code and committed (readable on GitHub, reviewed in diffs); checked for drift. */
export const REFERENCE_DIR = path.join(DOCS_DIR, "reference");
/** Generated at build time by TypeDoc, ignored by git. */
export const API_DIR = path.join(DOCS_DIR, "api");
/** Everything a build writes besides the API pages, ignored by git. */
export const BUILD_DIR = path.join(DOCS_DIR, "build");
/** The built site. */
export const SITE_DIR = path.join(BUILD_DIR, "site");
/** The browser test's screenshots (test artefacts). */
export const SCREENSHOTS_DIR = path.join(BUILD_DIR, "screenshots");
