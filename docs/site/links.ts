/**
 * Relative links in the Markdown, written for GitHub (`../packages/sdk/README.md`,
 * `doctor-rbac.yaml`), made right for the site. A link is resolved against its page's *source*
 * file, then:
 * - to a page of the site: rewritten relative to the page's *route* (translations and READMEs
 *   outside `docs/` are built elsewhere than their source), and VitePress checks it like any other;
 * - to any other file or folder of the repository: rewritten to the repository's web URL, or, when
 *   no repository URL is configured, left as plain text (the build says which);
 * - to a path that does not exist in the repository: the build fails, naming page and link, as
 *   VitePress fails for a dead link between pages.
 */
import fs from "node:fs";
import path from "node:path";
import type { SitePage } from "./pages.ts";

/** What the rewriter knows. */
export interface LinkContext {
  readonly pages: readonly SitePage[];
  /** Web URL of the repository (`https://github.com/<owner>/<repo>`), if known. */
  readonly repositoryUrl: string | undefined;
  /** Whether a repo-relative path is a file, a folder, or nothing. */
  readonly kind: (repoPath: string) => "file" | "dir" | undefined;
}

/** What becomes of one link. */
export type LinkOutcome =
  | { readonly action: "keep" }
  | { readonly action: "rewrite"; readonly href: string }
  /** No web address to give: the link's text stays, without the link. */
  | { readonly action: "unlink"; readonly target: string };

/** The commit-ish repository links point at: the default branch, whatever its name. */
const REPOSITORY_REF = "HEAD";

/** Decides what becomes of `href` on the page built at `route`. Throws for a link to nothing. */
export function rewriteLink(href: string, route: string, context: LinkContext): LinkOutcome {
  if (href === "" || href.startsWith("#") || href.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(href)) {
    return { action: "keep" };
  }
  const page = context.pages.find((p) => p.route === route);
  if (page === undefined) return { action: "keep" };
  const split = /^([^?#]*)(.*)$/.exec(href);
  const linkPath = decodeURI(split?.[1] ?? "");
  const suffix = split?.[2] ?? "";
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(page.source), linkPath));
  if (target.startsWith("../")) {
    throw new Error(`${page.source}: link "${href}" leaves the repository`);
  }
  // As on GitHub, a link may leave out `.md`, and a folder's link shows its README.
  const bare = target.replace(/\/$/, "");
  const linked = context.pages.find((p) => [bare, `${bare}.md`, `${bare}/README.md`].includes(p.source));
  if (linked !== undefined) {
    const relative = path.posix.relative(path.posix.dirname(route), linked.route);
    return { action: "rewrite", href: `${relative.startsWith(".") ? "" : "./"}${relative}${suffix}` };
  }
  const kind = context.kind(bare);
  if (kind === undefined) {
    throw new Error(`${page.source}: link "${href}" names ${target}, which is not in the repository`);
  }
  if (context.repositoryUrl === undefined) return { action: "unlink", target };
  const view = kind === "dir" ? "tree" : "blob";
  return {
    action: "rewrite",
    href: `${context.repositoryUrl}/${view}/${REPOSITORY_REF}/${encodeURI(target)}${suffix}`,
  };
}

/** `kind` for {@link LinkContext}, from the work tree at `root`. */
export function fileKind(root: string): LinkContext["kind"] {
  return (repoPath) => {
    try {
      return fs.statSync(path.join(root, repoPath)).isDirectory() ? "dir" : "file";
    } catch {
      return undefined;
    }
  };
}

/** Environment of the markdown-it renderer as VitePress sets it. */
interface VitePressEnv {
  readonly relativePath?: string;
}

/** What the plugins use of a token. */
interface Token {
  type: string;
  content: string;
  attrGet(name: string): string | null;
  attrSet(name: string, value: string): void;
}

/**
 * What the site's plugins use of markdown-it: VitePress's renderer and markdown-it's own both fit,
 * though their type declarations differ in parts the plugins do not touch.
 */
export interface MarkdownItCore {
  readonly core: {
    readonly ruler: {
      after(
        afterName: string,
        ruleName: string,
        rule: (state: { env: unknown; tokens: { children: Token[] | null }[] }) => void,
      ): void;
    };
  };
}

/**
 * The markdown-it plugin: applies {@link rewriteLink} to every link before VitePress renders and
 * checks them. `onUnlinked` hears of each link left as text.
 */
export function repositoryLinks(
  md: MarkdownItCore,
  context: LinkContext,
  onUnlinked: (page: string, target: string) => void,
): void {
  md.core.ruler.after("inline", "volpop-repository-links", (state) => {
    const route = (state.env as VitePressEnv).relativePath;
    if (route === undefined) return;
    for (const block of state.tokens) {
      const children = block.children;
      if (children === null) continue;
      for (let i = 0; i < children.length; i++) {
        const token = children[i];
        if (token?.type !== "link_open") continue;
        const outcome = rewriteLink(token.attrGet("href") ?? "", route, context);
        if (outcome.action === "rewrite") token.attrSet("href", outcome.href);
        if (outcome.action === "unlink") {
          onUnlinked(route, outcome.target);
          const close = children.findIndex((t, j) => j > i && t.type === "link_close");
          children.splice(close, 1);
          children.splice(i, 1);
          i--;
        }
      }
    }
  });
}
