/**
 * The docs site (VitePress): `docs/` is its source, pages and navigation come from `site/pages.ts`
 * and `site/navigation.ts`, links written for GitHub are made right by `site/links.ts`. Dead links
 * between pages fail the build (VitePress's default; nothing here turns it off).
 */
import { defineConfig } from "vitepress";
import { cjkLineBreaks } from "../site/cjk-line-breaks.ts";
import { BUILD_DIR, REPO_ROOT, SITE_DIR } from "../site/layout.ts";
import { fileKind, repositoryLinks } from "../site/links.ts";
import { apiSidebars, chineseNav, chineseSidebar, mainNav, mainSidebar } from "../site/navigation.ts";
import { rewrites, sitePages } from "../site/pages.ts";
import { REPOSITORY_URL_VARIABLE, repositoryUrl } from "../site/repository.ts";

const pages = sitePages();
const repository = repositoryUrl();
// Each page is rendered more than once (client and server bundles): report each link once.
const unlinked = new Set<string>();

export default defineConfig({
  title: "volpop",
  description: "Kubernetes volume populators in TypeScript: an SDK, reference populators and a CSI fast path",
  outDir: SITE_DIR,
  cacheDir: `${BUILD_DIR}/cache`,
  srcExclude: ["build/**", "site/**"],
  rewrites: rewrites(pages),
  lastUpdated: false,
  // A volume being filled; browsers ask for an icon, and a 404 for it would be the site's only one.
  head: [["link", { rel: "icon", type: "image/svg+xml", href: "/favicon.svg" }]],
  // Site data and the page hash map in one cached chunk, not inlined into each of some 450 pages.
  metaChunk: true,
  // The local search index covers the API reference too (~1 MB); it loads only when the search opens.
  vite: { build: { chunkSizeWarningLimit: 2048 } },
  markdown: {
    config: (md) => {
      cjkLineBreaks(md);
      repositoryLinks(md, { pages, repositoryUrl: repository, kind: fileKind(REPO_ROOT) }, (page, target) => {
        const line = `  ${page}: ${target}`;
        if (unlinked.has(line)) return;
        if (unlinked.size === 0) {
          console.warn(
            `links to repository files left as text (set ${REPOSITORY_URL_VARIABLE} to link them):`,
          );
        }
        unlinked.add(line);
        console.warn(line);
      });
    },
  },
  themeConfig: {
    search: {
      provider: "local",
      options: {
        locales: {
          zh: {
            translations: {
              button: { buttonText: "搜索", buttonAriaLabel: "搜索" },
              modal: {
                noResultsText: "没有结果",
                resetButtonTitle: "清除",
                footer: { selectText: "选择", navigateText: "切换", closeText: "关闭" },
              },
            },
          },
        },
      },
    },
    // The language menu leads to the other locale's home: most pages have no translation.
    i18nRouting: false,
    outline: [2, 3],
    socialLinks: repository === undefined ? [] : [{ icon: "github", link: repository }],
  },
  locales: {
    root: {
      label: "English",
      lang: "en-US",
      themeConfig: {
        nav: mainNav(pages),
        sidebar: { ...apiSidebars(), "/": mainSidebar(pages) },
      },
    },
    zh: {
      label: "简体中文",
      lang: "zh-CN",
      link: "/zh/",
      description: "用 TypeScript 编写 Kubernetes 卷填充器：SDK、参考填充器与 CSI 快速路径",
      themeConfig: {
        nav: chineseNav(pages),
        sidebar: { "/zh/": chineseSidebar(pages) },
        outline: { label: "本页内容", level: [2, 3] },
        docFooter: { prev: "上一页", next: "下一页" },
        langMenuLabel: "语言",
        returnToTopLabel: "回到顶部",
        sidebarMenuLabel: "菜单",
        darkModeSwitchLabel: "外观",
      },
    },
  },
});
