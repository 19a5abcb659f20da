/**
 * Builds the site as `pnpm docs:build` does (the API reference, then VitePress), each step a child
 * process, timed; and serves a built site over HTTP on the loopback interface.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import sirv from "sirv";
import { DOCS_DIR } from "./layout.ts";

/** How long each step of a build took, in milliseconds. */
export interface BuildTimes {
  readonly apiMs: number;
  readonly vitepressMs: number;
}

// Runs `node args…` in docs/, keeping its output to show if it fails.
async function node(args: readonly string[]): Promise<number> {
  const started = Date.now();
  const child = spawn(process.execPath, args, { cwd: DOCS_DIR, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0) throw new Error(`node ${args.join(" ")} (in docs/) exited with ${code}:\n${output}`);
  return Date.now() - started;
}

/** Builds the whole site into `docs/build/site`. Rejects with the failing step's output. */
export async function buildSite(): Promise<BuildTimes> {
  const apiMs = await node(["--conditions=volpop-source", path.join("site", "api.ts")]);
  const manifest = createRequire(path.join(DOCS_DIR, "package.json")).resolve("vitepress/package.json");
  const { bin } = JSON.parse(fs.readFileSync(manifest, "utf8")) as { bin: { vitepress: string } };
  const vitepressMs = await node([path.join(path.dirname(manifest), bin.vitepress), "build"]);
  return { apiMs, vitepressMs };
}

/** A static server of a built site. */
export interface SiteServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `dir` on 127.0.0.1 at a free port, `.html` optional as VitePress's preview does. */
export async function serveSite(dir: string): Promise<SiteServer> {
  const files = sirv(dir, { dev: true, extensions: ["html"] });
  const server = http.createServer((request, response) =>
    files(request, response, () => {
      response.statusCode = 404;
      response.end("not found");
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
