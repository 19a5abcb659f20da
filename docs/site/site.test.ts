/**
 * The site as a reader gets it: built from scratch (TypeDoc, then VitePress, which fails on a dead
 * link), served, and opened in headless Chromium. Each page checked here must render its own
 * Markdown (title and heading read from the source), without console errors or failed requests; a
 * screenshot of each is kept under docs/build/screenshots/ (git-ignored test artefacts).
 */
import fs from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./browser.ts";
import { buildSite, type SiteServer, serveSite } from "./build.ts";
import { API_DIR, DOCS_DIR, REPO_ROOT, SCREENSHOTS_DIR, SITE_DIR } from "./layout.ts";
import { docsRoute, pageTitle, routeLink } from "./pages.ts";

let server: SiteServer;
let browser: Browser;

beforeAll(async () => {
  const started = Date.now();
  const times = await buildSite();
  console.log(
    `docs site built in ${((Date.now() - started) / 1000).toFixed(1)} s (API reference ${(times.apiMs / 1000).toFixed(1)} s, VitePress ${(times.vitepressMs / 1000).toFixed(1)} s)`,
  );
  server = await serveSite(SITE_DIR);
  browser = await launchChromium();
  fs.rmSync(SCREENSHOTS_DIR, { recursive: true, force: true });
  fs.mkdirSync(SCREENSHOTS_DIR, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** The `.html` path VitePress builds a `docs/` source at. */
function htmlPath(docsRelative: string): string {
  return `${routeLink(docsRoute(docsRelative))}.html`;
}

/** The first heading of a Markdown file, as the page must show it. */
function headingOf(file: string): string {
  return pageTitle(fs.readFileSync(file, "utf8"), "");
}

interface Visit {
  readonly page: Page;
  /** Console errors, uncaught exceptions and failed requests of the page's own origin. */
  readonly problems: readonly string[];
}

/** Opens `pathname`, waits for the network to settle, and keeps a screenshot named `name`. */
async function visit(pathname: string, name: string): Promise<Visit> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error")
      problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  page.on("response", (response) => {
    if (response.url().startsWith(server.url) && response.status() >= 400) {
      problems.push(`HTTP ${response.status()}: ${response.url()}`);
    }
  });
  const response = await page.goto(`${server.url}${pathname}`, { waitUntil: "networkidle" });
  expect(response?.status(), pathname).toBe(200);
  const screenshot = path.join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path: screenshot });
  console.log(`screenshot: ${path.relative(REPO_ROOT, screenshot)}`);
  return { page, problems };
}

/** The page's first heading as a reader sees it (without the header anchor's zero-width text). */
async function h1(page: Page): Promise<string> {
  return ((await page.locator(".vp-doc h1").first().textContent()) ?? "").replace(/\u200b/g, "").trim();
}

/** Same-origin links of the navigation bar and sidebar. */
async function navigationLinks(page: Page): Promise<string[]> {
  const hrefs = await page
    .locator(".VPNav a[href], .VPSidebar a[href]")
    .evaluateAll((links) => links.map((a) => (a as HTMLAnchorElement).href));
  return [
    ...new Set(hrefs.filter((href) => href.startsWith(server.url)).map((href) => href.split("#")[0] ?? href)),
  ];
}

describe("the docs site, built and opened in headless Chromium", () => {
  it("shows the home page: what volpop is, the quick start, and every section in the navigation bar", async () => {
    const { page, problems } = await visit("/", "home");
    expect(await page.title()).toBe("volpop");
    await expect(page.locator(".VPHero .name").textContent()).resolves.toBe("volpop");
    await expect(page.locator(".VPHero .text").textContent()).resolves.toBe(
      "Kubernetes volume populators in TypeScript",
    );
    await expect(page.locator(".vp-doc h2").allTextContents()).resolves.toEqual(
      expect.arrayContaining([expect.stringContaining("Quick start")]),
    );
    // Links, and the menu buttons' labels (not the menus' hidden items).
    const nav = (
      await page.locator(".VPNavBarMenuLink, .VPNavBarMenuGroup > button .text").allTextContents()
    ).map((t) => t.trim());
    for (const section of [
      "Guide",
      "Concepts",
      "Write a populator",
      "Vendors",
      "Image populator",
      "Operations",
      "API",
      "Benchmarks",
    ]) {
      expect(nav).toContain(section);
    }
    expect(problems).toEqual([]);
  });

  it("every link of the navigation bar and sidebar leads to a page (VitePress checks only links in Markdown)", async () => {
    const pages = ["/", htmlPath("write-a-populator.md"), htmlPath("walkthrough.zh.md")];
    const links = new Set<string>();
    for (const pathname of pages) {
      const page = await browser.newPage();
      await page.goto(`${server.url}${pathname}`, { waitUntil: "networkidle" });
      for (const link of await navigationLinks(page)) links.add(link);
      await page.close();
    }
    expect(links.size).toBeGreaterThan(15);
    const broken: string[] = [];
    for (const link of links) {
      const response = await fetch(link);
      if (response.status !== 200) broken.push(`${response.status} ${link}`);
    }
    expect(broken).toEqual([]);
  });

  it("renders the tutorial page from docs/write-a-populator.md", async () => {
    const { page, problems } = await visit(htmlPath("write-a-populator.md"), "tutorial");
    const heading = headingOf(path.join(DOCS_DIR, "write-a-populator.md"));
    await expect(h1(page)).resolves.toBe(heading);
    expect(await page.title()).toBe(`${heading} | volpop`);
    await expect(page.locator(".VPSidebar .is-active").first().textContent()).resolves.toBe("Tutorial");
    expect(problems).toEqual([]);
  });

  it("renders the Chinese walkthrough in the zh locale, its commands unchanged", async () => {
    const { page, problems } = await visit(htmlPath("walkthrough.zh.md"), "walkthrough-zh");
    await expect(page.locator("html").getAttribute("lang")).resolves.toBe("zh-CN");
    await expect(h1(page)).resolves.toBe(headingOf(path.join(DOCS_DIR, "walkthrough.zh.md")));
    await expect(page.locator(".vp-doc pre").first().textContent()).resolves.toContain(
      "kubectl apply -f packages/validator/deploy/",
    );
    // The link to the English page, written for GitHub as walkthrough.md, leads to it.
    const english = await page
      .locator(".vp-doc a", { hasText: "English" })
      .first()
      .evaluate((a) => (a as HTMLAnchorElement).href);
    expect(english).toBe(`${server.url}/walkthrough.html`);
    expect(problems).toEqual([]);
  });

  it("renders an API page generated by TypeDoc (runPopulator of @volpop/sdk/run)", async () => {
    const source = fs
      .readdirSync(API_DIR, { recursive: true })
      .map(String)
      .find((f) => f.endsWith(path.join("run", "functions", "runPopulator.md")));
    expect(source).toBeDefined();
    const { page, problems } = await visit(`${routeLink(`api/${source}`)}.html`, "api-runPopulator");
    await expect(h1(page)).resolves.toBe(headingOf(path.join(API_DIR, source as string)));
    await expect(page.locator(".vp-doc").textContent()).resolves.toContain("PopulatorProgram");
    await expect(page.locator(".VPSidebar").textContent()).resolves.toContain("@volpop/sdk/run");
    expect(problems).toEqual([]);
  });
});
