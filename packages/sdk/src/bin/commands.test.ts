import { describe, expect, it } from "vitest";
import { colorWanted, runVolpopCli } from "./commands.ts";

async function run(...argv: string[]): Promise<{ code: number; text: string }> {
  let text = "";
  const code = await runVolpopCli(argv, { out: (line) => (text += `${line}\n`) });
  return { code, text };
}

describe("the volpop command", () => {
  it.each([["--help"], ["-h"], ["-help"]])("lists its commands for %s and exits 0", async (flag) => {
    const { code, text } = await run(flag);
    expect(code).toBe(0);
    expect(text).toMatch(/^Usage: volpop <command> \[flags\]/);
    for (const command of ["doctor pvc NAME [-n NAMESPACE]", "doctor cluster", "fastpath conformance"]) {
      expect(text).toContain(command);
    }
  });

  it.each([
    [[], "no command"],
    [["fastpath"], 'unknown command "fastpath"'],
    [["image", "conformance"], 'unknown command "image conformance"'],
  ])("refuses %j with exit 2 and the list of commands", async (argv, message) => {
    const { code, text } = await run(...argv);
    expect(code).toBe(2);
    expect(text.split("\n")[0]).toBe(message);
    expect(text).toContain("Usage: volpop <command> [flags]");
  });

  it.each([
    [["fastpath", "conformance", "--help"], "Usage: volpop fastpath conformance"],
    [["doctor", "--help"], "Usage: volpop doctor pvc NAME"],
    [["doctor", "cluster", "--help"], "Usage: volpop doctor cluster"],
  ])("hands %j to its command", async (argv, usage) => {
    const { code, text } = await run(...argv);
    expect(code).toBe(0);
    expect(text).toContain(usage);
  });
});

describe("colorWanted", () => {
  it.each([
    ["a pipe or a file", { isTTY: undefined, hasColors: undefined }, false],
    ["a terminal that wants no colour (NO_COLOR, TERM=dumb)", { isTTY: true, hasColors: () => false }, false],
    ["a terminal with colours", { isTTY: true, hasColors: () => true }, true],
  ])("is %s → %s", (_what, stream, wanted) => {
    expect(colorWanted(stream as never)).toBe(wanted);
  });
});
