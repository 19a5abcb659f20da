import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDoctorCli } from "./cli.ts";

// The command lines alone, and a connection refused; what doctor concludes from a real cluster is
// test/e2e/doctor.e2e.ts's business.
async function run(...argv: string[]): Promise<{ code: number; text: string }> {
  let text = "";
  const code = await runDoctorCli(argv, { out: (line) => (text += `${line}\n`), color: false });
  return { code, text };
}

let dir: string;
let unreachable: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "volpop-doctor-"));
  unreachable = path.join(dir, "kubeconfig");
  // Port 1 on the loopback: nothing listens, the connection is refused at once.
  await writeFile(
    unreachable,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]",
      "users: [{name: u, user: {token: t}}]",
      "contexts: [{name: x, context: {cluster: c, user: u, namespace: apps}}]",
      "current-context: x",
    ].join("\n"),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("volpop doctor's command line", () => {
  it.each([
    [["--help"], /^Usage: volpop doctor pvc NAME/],
    [["pvc", "--help"], /^Usage: volpop doctor pvc NAME \[-n NAMESPACE\] \[flags\]/],
    [["cluster", "-h"], /^Usage: volpop doctor cluster \[flags\]/],
  ])("prints the help for %j and exits 0", async (argv, usage) => {
    const { code, text } = await run(...argv);
    expect(code).toBe(0);
    expect(text).toMatch(usage);
    expect(text).toContain(
      "Exit codes: 0 nothing wrong (or Bound), 1 a problem found, 2 a usage or connection error.",
    );
  });

  it("lists the flags of doctor pvc", async () => {
    const { text } = await run("pvc", "--help");
    for (const flag of [
      "-n, --namespace value",
      "-o, --output value",
      "--populator-namespace value",
      "--kubeconfig value",
      "--context value",
      "--as value",
      "--timeout value",
      "--prefix value",
    ]) {
      expect(text).toContain(flag);
    }
  });

  it.each([
    [[], "missing pvc or cluster"],
    [["pod", "x"], 'unknown doctor command "pod"'],
    [["pvc"], "missing NAME"],
    [["pvc", "a", "b"], 'unexpected argument "b"'],
    [["pvc", "a", "-o", "yaml"], 'invalid --output "yaml": must be one of text, json'],
    [["pvc", "a", "--timeout=0s"], 'invalid --timeout "0s": must be positive'],
    [["pvc", "a", "-n"], "flag --namespace needs a value"],
    [["cluster", "extra"], 'unexpected argument "extra"'],
  ])("refuses %j with exit 2", async (argv, message) => {
    const { code, text } = await run(...argv);
    expect(code).toBe(2);
    expect(text.split("\n")[0]).toContain(message);
  });

  it("refuses a kubeconfig it cannot read, with exit 2", async () => {
    const { code, text } = await run("pvc", "data", `--kubeconfig=${path.join(dir, "nonexistent")}`);
    expect(code).toBe(2);
    expect(text).toMatch(/^volpop doctor: .*nonexistent/);
  });

  it("refuses a context the kubeconfig does not have, with exit 2", async () => {
    const { code, text } = await run("cluster", `--kubeconfig=${unreachable}`, "--context=nope");
    expect(code).toBe(2);
    expect(text).toBe('volpop doctor: the kubeconfig has no context "nope"\n');
  });

  it.each([["pvc", "data"], ["cluster"]])(
    "says it cannot reach the API server (%s), with exit 2",
    async (...argv) => {
      const { code, text } = await run(...argv, `--kubeconfig=${unreachable}`, "-o", "json");
      expect(code).toBe(2);
      expect(text).toMatch(/^volpop doctor: cannot reach the API server at https:\/\/127\.0\.0\.1:1: /);
    },
  );
});

describe("volpop doctor's errors", () => {
  it("go to the error stream, so that -o json leaves standard output empty rather than not JSON", async () => {
    let out = "";
    let err = "";
    const code = await runDoctorCli(["cluster", "-o", "json", "--kubeconfig", unreachable], {
      out: (line) => (out += line),
      err: (line) => (err += line),
      color: false,
    });
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(/^volpop doctor: /);
  });
});
