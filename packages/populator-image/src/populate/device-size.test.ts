import fs from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTempDir, removeTempDir } from "../layers/testing.ts";
import { deviceNumbers, deviceSize } from "./device-size.ts";

describe("deviceNumbers", () => {
  it.each([
    [2049n, 8n, 1n],
    [66304n, 259n, 0n],
    [0xabn | (259n << 8n) | ((0x12345abn & ~0xffn) << 12n), 259n, 0x12345abn],
  ])("splits dev_t %d into major %d and minor %d", (rdev, major, minor) => {
    expect(deviceNumbers(rdev)).toEqual({ major, minor });
  });
});

describe("deviceSize", () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir("volpop-device-");
  });
  afterEach(() => removeTempDir(dir));

  it("is a regular file's length, for a file standing in for the device", async () => {
    const file = path.join(dir, "device");
    await fs.writeFile(file, Buffer.alloc(12345));
    const handle = await fs.open(file, "r");
    try {
      expect(await deviceSize(handle)).toBe(12345);
    } finally {
      await handle.close();
    }
  });

  it("is unknown for anything else", async () => {
    const handle = await fs.open("/dev/null", "r");
    try {
      expect(await deviceSize(handle)).toBeUndefined();
    } finally {
      await handle.close();
    }
  });
});
