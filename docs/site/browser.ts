/**
 * Headless Chromium for the site test: Debian's `chromium` package, driven by playwright-core (no
 * browser download; this machine reaches no browser host, and Debian's build is kept patched).
 */
import fs from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Where Debian's `chromium` package puts the browser; `VOLPOP_CHROMIUM` names another. */
export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

/** The browser to drive. Throws, saying how to install it, when it is not there. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const file = env.VOLPOP_CHROMIUM || DEFAULT_CHROMIUM;
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new Error(
      `no Chromium at ${file}: ./scripts/test installs Debian's chromium package (scripts/bootstrap.sh); or run apt-get install chromium, or set VOLPOP_CHROMIUM to a Chromium binary`,
    );
  }
  return file;
}

/** Launches headless Chromium. */
export function launchChromium(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(env),
    headless: true,
    // Chromium refuses to run as root (CI's user) with its sandbox; the pages are our own.
    args: ["--no-sandbox"],
  });
}
