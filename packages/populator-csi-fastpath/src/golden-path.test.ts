import { describe, expect, it } from "vitest";
import { GoldenNameError, locateGolden } from "./golden-path.ts";

describe("locateGolden", () => {
  it("places the tree and the image directly in the golden directory", () => {
    expect(locateGolden("/srv/golden/", "base")).toEqual({
      treeDir: "/srv/golden/base",
      imageFile: "/srv/golden/base.img",
    });
  });

  it.each(["..", "../x", "a/b", "", ".x"])("refuses the name %j whoever passed it", (name) => {
    expect(() => locateGolden("/srv/golden", name)).toThrow(GoldenNameError);
  });
});
