import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLogger, type Logger, type LogLevel, reconcileLogger } from "./logger.ts";

// Collects what the logger writes, one parsed JSON object per line.
function capture() {
  const lines: string[] = [];
  return {
    destination: { write: (line: string) => lines.push(line) },
    records: () =>
      lines
        .join("")
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
  };
}

describe("createLogger", () => {
  it("writes one JSON object per line with level as a word, an ISO time, the logger name and the fields", () => {
    const out = capture();
    const logger = createLogger({ level: "info", name: "hello-populator", destination: out.destination });
    logger.info({ pvc: "ns/a" }, "population started");
    const [record] = out.records();
    expect(record).toMatchObject({
      level: "info",
      logger: "hello-populator",
      pvc: "ns/a",
      msg: "population started",
    });
    expect(new Date(record.time).toISOString()).toBe(record.time);
    expect(record).not.toHaveProperty("pid");
    expect(record).not.toHaveProperty("hostname");
  });

  it("accepts a bare message", () => {
    const out = capture();
    createLogger({ level: "info", name: "x", destination: out.destination }).warn("disk almost full");
    expect(out.records()).toMatchObject([{ level: "warn", msg: "disk almost full" }]);
  });

  it.each<{ level: LogLevel; written: string[] }>([
    { level: "debug", written: ["debug", "info", "warn", "error"] },
    { level: "info", written: ["info", "warn", "error"] },
    { level: "warn", written: ["warn", "error"] },
    { level: "error", written: ["error"] },
    { level: "silent", written: [] },
  ])("at level $level writes $written", ({ level, written }) => {
    const out = capture();
    const logger = createLogger({ level, name: "x", destination: out.destination });
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(out.records().map((r) => r.level)).toEqual(written);
  });

  it("serialises an error under err with its type, message and stack", () => {
    const out = capture();
    const logger = createLogger({ level: "info", name: "x", destination: out.destination });
    logger.error({ err: new TypeError("bad thing") }, "reconcile failed");
    const [record] = out.records();
    expect(record.err).toMatchObject({ type: "TypeError", message: "bad thing" });
    expect(record.err.stack).toContain("bad thing");
  });

  it("adds a child's bindings to every line it writes", () => {
    const out = capture();
    const child = createLogger({ level: "info", name: "x", destination: out.destination }).child({
      component: "informers",
    });
    child.info("synced");
    expect(out.records()).toMatchObject([{ component: "informers", msg: "synced", logger: "x" }]);
  });

  it("accepts a caller's own pino logger as a Logger", () => {
    const logger: Logger = pino({ level: "silent" });
    expect(() =>
      reconcileLogger(logger, { namespace: "a", name: "b", reconcileId: "c" }).info("ok"),
    ).not.toThrow();
  });
});

describe("reconcileLogger", () => {
  it("tags every line with the PVC's namespace and name and the reconcile id", () => {
    const out = capture();
    const base = createLogger({ level: "info", name: "hello-populator", destination: out.destination });
    const log = reconcileLogger(base, { namespace: "team-a", name: "data", reconcileId: "7f3c" });
    log.info({ step: "create-prime-pvc" }, "creating PVC'");
    log.child({ pod: "populate-1" }).warn("pod failed");
    expect(out.records()).toMatchObject([
      {
        logger: "hello-populator",
        namespace: "team-a",
        name: "data",
        reconcileId: "7f3c",
        step: "create-prime-pvc",
      },
      { namespace: "team-a", name: "data", reconcileId: "7f3c", pod: "populate-1", level: "warn" },
    ]);
  });
});
