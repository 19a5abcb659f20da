/**
 * The repository's web URL, for links from the site to files that are not pages (sources, manifests)
 * and for the header's repository link. It comes from `VOLPOP_DOCS_REPOSITORY_URL`, else from the
 * root `package.json`'s `repository` (which names none: only the published packages' manifests do,
 * for npm), else nowhere (then such links stay plain text and the build says so).
 */
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./layout.ts";

/** The environment variable that overrides `package.json`'s `repository`. */
export const REPOSITORY_URL_VARIABLE = "VOLPOP_DOCS_REPOSITORY_URL";

/**
 * The web URL from an environment value or a `repository` field (`"https://…"`,
 * `"git+https://….git"`, or `{ url }`). Throws for one that is not an http(s) URL, naming its origin.
 */
export function repositoryWebUrl(
  fromEnvironment: string | undefined,
  repositoryField: unknown,
): string | undefined {
  const [origin, raw] =
    fromEnvironment !== undefined && fromEnvironment !== ""
      ? [`$${REPOSITORY_URL_VARIABLE}`, fromEnvironment]
      : [
          'package.json "repository"',
          typeof repositoryField === "string"
            ? repositoryField
            : (repositoryField as { url?: unknown } | undefined)?.url,
        ];
  if (raw === undefined) return undefined;
  const url =
    typeof raw === "string"
      ? raw
          .replace(/^git\+/, "")
          .replace(/\.git$/, "")
          .replace(/\/+$/, "")
      : "";
  if (!/^https?:\/\/[^/\s]+\/\S+$/.test(url)) {
    throw new Error(
      `${origin}: ${JSON.stringify(raw)} is not the web URL of a repository (https://host/owner/name)`,
    );
  }
  return url;
}

/** The repository's web URL for this checkout and environment. */
export function repositoryUrl(
  root: string = REPO_ROOT,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    repository?: unknown;
  };
  return repositoryWebUrl(env[REPOSITORY_URL_VARIABLE], manifest.repository);
}
