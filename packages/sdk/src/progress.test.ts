import { describe, expect, it } from "vitest";
import { describeProgress, formatProgressLine, lastProgress } from "./progress.ts";

describe("progress lines", () => {
  it("round-trips a report through the pod log", () => {
    const log = [
      "starting",
      formatProgressLine({ percent: 10 }),
      "noise",
      formatProgressLine({ bytesDone: 5, bytesTotal: 10 }),
    ].join("\n");
    expect(lastProgress(log)).toEqual({ bytesDone: 5, bytesTotal: 10 });
  });

  it("skips torn or foreign lines and out-of-range values", () => {
    expect(lastProgress(`${formatProgressLine({ percent: 20 })}\nvolpop-progress {"percent": 4`)).toEqual({
      percent: 20,
    });
    expect(lastProgress('volpop-progress {"percent": 400, "message": "x"}')).toEqual({ message: "x" });
    expect(lastProgress("nothing here")).toBeUndefined();
  });

  it.each([
    [{ percent: 42.7 }, "populating: 42%"],
    [{ bytesDone: 1288490189, bytesTotal: 3221225472 }, "populating: 40% (1.2 GiB of 3.0 GiB)"],
    [{ bytesDone: 512, message: "layer 2" }, "populating: (512 B) layer 2"],
  ])("describes %j as %j", (progress, text) => {
    expect(describeProgress(progress)).toBe(text);
  });
});
