import { mkdtempSync } from "node:fs";
import fs from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { blockTargetSize, deviceNumbers } from "./block-size.ts";

describe("deviceNumbers", () => {
  it.each([
    [2049n, 8n, 1n],
    [66304n, 259n, 0n],
    [0xabn | (259n << 8n) | ((0x12345abn & ~0xffn) << 12n), 259n, 0x12345abn],
  ])("splits dev_t %d into major %d and minor %d", (rdev, major, minor) => {
    expect(deviceNumbers(rdev)).toEqual({ major, minor });
  });
});

describe("blockTargetSize", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "block-size-"));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it("is a regular file's length (the hostpath driver's .img)", async () => {
    const file = path.join(dir, "vol.img");
    await fs.writeFile(file, Buffer.alloc(12345));
    const handle = await fs.open(file, "r");
    try {
      expect(await blockTargetSize(handle)).toBe(12345);
    } finally {
      await handle.close();
    }
  });

  it("is unknown for anything else", async () => {
    const handle = await fs.open("/dev/null", "r");
    try {
      expect(await blockTargetSize(handle)).toBeUndefined();
    } finally {
      await handle.close();
    }
  });
});
