import { describe, expect, it } from "vitest";
import { runConformanceCli } from "./conformance-cli.ts";

// Only the command line: running the suite itself needs a backend (conformance.test.ts in
// populator-csi-fastpath runs it against the reference one).
async function run(...argv: string[]): Promise<{ code: number; text: string }> {
  let text = "";
  const code = await runConformanceCli(argv, (line) => (text += `${line}\n`));
  return { code, text };
}

const volumeFlags = [
  "--csi-driver=csi.acme.example.com",
  "--volume-handle=vol-1",
  "--capacity=1Gi",
  "--source-group=acme.example.com",
  "--source-kind=Golden",
];

describe("volpop fastpath conformance's command line", () => {
  it.each([["--help"], ["-h"], ["-help"]])(
    "prints the generated help for %j and exits 0",
    async (...argv) => {
      const { code, text } = await run(...argv);
      expect(code).toBe(0);
      expect(text).toMatch(/^Usage: volpop fastpath conformance --endpoint=ADDRESS \[flags\]/);
      expect(text).toMatch(/--timeout value +How long one population may take \(default 5m0s\)/);
      expect(text).toMatch(
        /--volume-mode value +The volume's mode: Filesystem or Block \(default Filesystem\)/,
      );
    },
  );

  it.each([
    [[], "--endpoint is required"],
    [["--endpoint=nowhere"], '--endpoint: fast-path endpoint "nowhere" is neither'],
    [["--endpoint=unix:///x.sock", "--frobnicate"], 'unknown flag "--frobnicate"'],
    [["--endpoint=unix:///x.sock", "stray"], 'unexpected argument "stray"'],
    [["--endpoint=unix:///x.sock", "--timeout=soon"], '--timeout: invalid duration "soon"'],
    [["--endpoint=unix:///x.sock", "--timeout=0s"], 'invalid --timeout "0s": must be positive'],
    [["--endpoint=unix:///x.sock", "--capacity=lots"], 'invalid --capacity "lots": must be a quantity'],
    [
      ["--endpoint=unix:///x.sock", "--volume-mode=Raw"],
      'invalid --volume-mode "Raw": must be one of Filesystem, Block',
    ],
    [
      ["--endpoint=unix:///x.sock", "--volume-handle=vol-1"],
      "--volume-handle also needs --csi-driver, --capacity, --source-group, --source-kind, --source-json",
    ],
    [
      ["--endpoint=unix:///x.sock", ...volumeFlags, "--source-json="],
      "--volume-handle also needs --source-json",
    ],
  ])("refuses %j with exit 2 and the help", async (flags, message) => {
    const { code, text } = await run(...flags);
    expect(code).toBe(2);
    expect(text.split("\n")[0]).toContain(message);
    expect(text).toContain("Usage: volpop fastpath conformance");
  });

  it("refuses a --source-json file it cannot read, with exit 2", async () => {
    const { code, text } = await run(
      "--endpoint=unix:///x.sock",
      ...volumeFlags,
      "--source-json=@/nonexistent/source.json",
    );
    expect(code).toBe(2);
    expect(text).toMatch(/^--source-json: cannot read \/nonexistent\/source.json: /);
  });
});
