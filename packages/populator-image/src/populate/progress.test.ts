import type { Progress } from "@volpop/sdk";
import { describe, expect, it } from "vitest";
import { formatBytes, PopulateProgress } from "./progress.ts";

function tracker() {
  const reports: Progress[] = [];
  let now = 0;
  const progress = new PopulateProgress((p) => reports.push(p), { now: () => now });
  return { progress, reports, advance: (ms: number) => (now += ms) };
}

describe("PopulateProgress", () => {
  it("reports at once, then at most once a second", () => {
    const { progress, reports, advance } = tracker();
    progress.layer(0, 2);
    progress.downloaded(100, 1000);
    advance(999);
    progress.written(50);
    expect(reports).toEqual([{ percent: 0, message: "layer 1 of 2, 0 B written" }]);
    advance(1);
    progress.written(2048);
    expect(reports.at(-1)).toEqual({
      percent: 10,
      bytesDone: 100,
      bytesTotal: 1000,
      message: "layer 1 of 2, 2.0 KiB written",
    });
  });

  it("stops at 99% until finished, and then reports 100% whenever the last report was", () => {
    const { progress, reports, advance } = tracker();
    progress.downloaded(1000, 1000);
    expect(reports.at(-1)).toMatchObject({ percent: 99, bytesDone: 1000 });
    advance(10);
    progress.finished("done");
    expect(reports.at(-1)).toEqual({ percent: 100, bytesDone: 1000, bytesTotal: 1000, message: "done" });
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1536, "1.5 KiB"],
    [5 * 1024 ** 3, "5.0 GiB"],
  ])("writes %d as %s", (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });
});
