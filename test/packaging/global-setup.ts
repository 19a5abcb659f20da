import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { type Packs, packWorkspace } from "./pack.ts";
import { Transcript } from "./packages.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The packaging project's scratch folder (outside the workspace), its packed packages, and how they were made. */
    packaging: Packs & { readonly work: string; readonly transcript: string };
  }
}

let work: string | undefined;

/** Builds and packs once for every packaging test file (a minute or more): they only read the tarballs. */
export async function setup(project: TestProject): Promise<void> {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "volpop-packaging-"));
  const transcript = new Transcript({ $WORK: work });
  const packs = await packWorkspace(work, transcript);
  project.provide("packaging", { ...packs, work, transcript: transcript.toString() });
}

export async function teardown(): Promise<void> {
  if (work) fs.rmSync(work, { recursive: true, force: true });
}
