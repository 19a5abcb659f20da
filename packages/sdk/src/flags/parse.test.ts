import { describe, expect, expectTypeOf, it, vi } from "vitest";
import type { FlagCommand } from "./command.ts";
import { defineFlags, type FlagDeclarations } from "./declaration.ts";
import { type FlagParseResult, parseFlags } from "./parse.ts";
import { CliUsageError } from "./usage-error.ts";

const flags = defineFlags({
  name: { type: "string", description: "A name" },
  label: { type: "string", default: "none", description: "A label" },
  verbose: { type: "boolean", default: false, description: "Say more" },
  count: { type: "int", min: 1, default: 3, description: "How many" },
  offset: { type: "int", description: "Any whole number" },
  timeout: { type: "duration", default: 30_000, description: "How long" },
  color: { type: "enum", values: ["red", "green"], description: "Which color" },
  path: {
    type: "string",
    default: "/",
    description: "A path",
    validate: (path) => (path.startsWith("/") ? undefined : 'must start with "/"'),
  },
  address: {
    type: "string",
    description: "An address",
    validate: (address) => {
      if (!address.includes(":")) throw new Error(`invalid address ${JSON.stringify(address)}`);
      return undefined;
    },
  },
  tag: { type: "string", multiple: true, description: "Tags" },
});

const command: FlagCommand<typeof flags> = {
  program: "tool",
  synopsis: "[flags]",
  about: "Does things.",
  version: "1.0.0",
  flags,
  checks: [
    (values) => (values.name === "bad" && values.verbose ? "--name bad cannot be verbose" : undefined),
  ],
};

function values(...argv: string[]) {
  const parsed = parseFlags(argv, command);
  if (parsed.action !== "run") throw new Error(`expected to run, got ${parsed.action}`);
  return parsed.values;
}

function problem<S extends FlagDeclarations>(argv: string[], spec: FlagCommand<S>): string {
  try {
    parseFlags(argv, spec);
  } catch (error) {
    if (error instanceof CliUsageError) return error.message;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be refused`);
}

describe("parseFlags", () => {
  it("gives every flag its default, or undefined, when none is given", () => {
    expect(values()).toEqual({
      name: undefined,
      label: "none",
      verbose: false,
      count: 3,
      offset: undefined,
      timeout: 30_000,
      color: undefined,
      path: "/",
      address: undefined,
      tag: undefined,
    });
  });

  it("types the values from the declarations", () => {
    expectTypeOf(parseFlags([], command)).toEqualTypeOf<FlagParseResult<typeof flags>>();
    expectTypeOf(values()).toEqualTypeOf<{
      readonly name: string | undefined;
      readonly label: string;
      readonly verbose: boolean;
      readonly count: number;
      readonly offset: number | undefined;
      readonly timeout: number;
      readonly color: "red" | "green" | undefined;
      readonly path: string;
      readonly address: string | undefined;
      readonly tag: string[] | undefined;
    }>();
  });

  describe("reads Go's flag syntax", () => {
    it.each([
      { form: "--flag=value", argv: ["--name=x"], name: "x" },
      { form: "--flag value", argv: ["--name", "x"], name: "x" },
      { form: "-flag=value", argv: ["-name=x"], name: "x" },
      { form: "-flag value", argv: ["-name", "x"], name: "x" },
      { form: "a value that starts with a dash", argv: ["--name", "-x"], name: "-x" },
      { form: "an empty value", argv: ["--name="], name: "" },
      { form: "a value with =", argv: ["--name=a=b"], name: "a=b" },
      { form: "the last of a repeated flag", argv: ["--name=a", "-name", "x"], name: "x" },
    ])("takes $form", ({ argv, name }) => {
      expect(values(...argv).name).toBe(name);
    });

    it.each([
      { argv: ["--verbose"], verbose: true },
      { argv: ["-verbose"], verbose: true },
      ...["1", "t", "T", "true", "TRUE", "True"].map((v) => ({ argv: [`--verbose=${v}`], verbose: true })),
      ...["0", "f", "F", "false", "FALSE", "False"].map((v) => ({
        argv: [`--verbose=${v}`],
        verbose: false,
      })),
      { argv: ["--verbose", "--verbose=false"], verbose: false },
    ])("reads the boolean $argv as strconv.ParseBool: $verbose", ({ argv, verbose }) => {
      expect(values(...argv).verbose).toBe(verbose);
    });

    it("never lets a boolean take the next argument as its value", () => {
      expect(() => values("--verbose", "false")).toThrow('unexpected argument "false"');
    });

    it("collects every value of a flag declared multiple", () => {
      expect(values("--tag=a", "-tag", "b", "--tag=a").tag).toEqual(["a", "b", "a"]);
    });

    it.each([
      { argv: ["--bogus"], message: 'unknown flag "--bogus"; see --help' },
      { argv: ["-bogus=1"], message: 'unknown flag "--bogus"; see --help' },
      { argv: ["--no-verbose"], message: 'unknown flag "--no-verbose"; see --help' },
      { argv: ["---name=x"], message: "bad flag syntax: ---name=x" },
      { argv: ["--=x"], message: "bad flag syntax: --=x" },
      { argv: ["--name"], message: "flag --name needs a value" },
      { argv: ["--verbose=yes"], message: "invalid boolean in --verbose=yes: use true or false" },
      { argv: ["word"], message: 'unexpected argument "word"' },
      { argv: ["-"], message: 'unexpected argument "-"' },
      { argv: ["--", "word"], message: 'unexpected argument "word"' },
    ])("refuses $argv as Go would: $message", ({ argv, message }) => {
      expect(problem(argv, command)).toBe(message);
    });
  });

  describe("answers help and version", () => {
    it.each([["-h"], ["--h"], ["-help"], ["--help"], ["--help=false"], ["--name=x", "-h", "--bogus"]])(
      "answers %j with the help text",
      (...argv) => {
        expect(parseFlags(argv, command)).toEqual({
          action: "help",
          text: expect.stringMatching(/^Usage: tool \[flags\]/),
        });
      },
    );

    it("reports a problem before a later -h, as Go reads in order", () => {
      expect(problem(["--bogus", "-h"], command)).toContain("unknown flag");
    });

    it.each([["--version"], ["-version", "--count=0"], ["--color=blue", "--version=true"]])(
      "answers %j with the version even when a value is bad",
      (...argv) => {
        expect(parseFlags(argv, command)).toEqual({ action: "version", text: "tool 1.0.0" });
      },
    );

    it("has no --version for a command without a version", () => {
      const { version: _, ...unversioned } = command;
      expect(problem(["--version"], unversioned)).toContain('unknown flag "--version"');
    });

    it("leaves the name version to a command without a version", () => {
      const { version: _, ...unversioned } = command;
      const own = defineFlags({ version: { type: "boolean", description: "Its own" } });
      expect(parseFlags(["--version"], { ...unversioned, flags: own, checks: [] })).toMatchObject({
        action: "run",
        values: { version: true },
      });
    });
  });

  describe("types and checks each value", () => {
    it.each([
      { argv: ["--count=7"], expected: { count: 7 } },
      { argv: ["--offset=-3"], expected: { offset: -3 } },
      { argv: ["--timeout=1m30s"], expected: { timeout: 90_000 } },
      { argv: ["--timeout=0"], expected: { timeout: 0 } },
      { argv: ["--color=green"], expected: { color: "green" } },
      { argv: ["--path=/a"], expected: { path: "/a" } },
      { argv: ["--address=:80"], expected: { address: ":80" } },
    ])("reads $argv", ({ argv, expected }) => {
      expect(values(...argv)).toMatchObject(expected);
    });

    it.each([
      { argv: ["--count=0"], message: 'invalid --count "0": must be a whole number of at least 1' },
      { argv: ["--count=2.5"], message: 'invalid --count "2.5": must be a whole number of at least 1' },
      { argv: ["--count=+2"], message: 'invalid --count "+2": must be a whole number of at least 1' },
      { argv: ["--offset=x"], message: 'invalid --offset "x": must be a whole number' },
      { argv: ["--timeout=15"], message: '--timeout: invalid duration "15": missing unit' },
      { argv: ["--color=blue"], message: 'invalid --color "blue": must be one of red, green' },
      { argv: ["--path=a"], message: 'invalid --path "a": must start with "/"' },
      { argv: ["--address=x"], message: '--address: invalid address "x"' },
      { argv: ["--count=x", "--count=2"], message: 'invalid --count "x"' },
    ])("refuses $argv: $message", ({ argv, message }) => {
      expect(problem(argv, command)).toContain(message);
    });

    it("says which choices a required flag has when it is missing", () => {
      const required = defineFlags({
        mode: { type: "enum", values: ["a", "b"], required: true, description: "Mode" },
      });
      expect(problem([], { ...command, flags: required, checks: [] })).toBe(
        "--mode is required: one of a, b",
      );
      expectTypeOf(parseFlags(["--mode=a"], { ...command, flags: required, checks: [] })).toEqualTypeOf<
        FlagParseResult<typeof required>
      >();
    });

    it("runs the checks across flags once every value is valid, and uses their sentence as it is", () => {
      expect(problem(["--name=bad", "--verbose"], command)).toBe("--name bad cannot be verbose");
      expect(problem(["--name=bad", "--verbose", "--count=0"], command)).toContain("invalid --count");
    });

    it("throws a usage error that carries the help text", () => {
      const error = (() => {
        try {
          parseFlags(["--bogus"], command);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(CliUsageError);
      expect(error).toMatchObject({ code: "USAGE", usage: expect.stringMatching(/^Usage: tool/) });
    });
  });

  describe("arguments after --", () => {
    const withArgs = { ...command, args: 'arguments for the tool go after "--"' };

    it("returns them untouched when the command takes them", () => {
      const parsed = parseFlags(["--name=x", "--", "--bogus", "-h", "word"], withArgs);
      expect(parsed).toMatchObject({ action: "run", rest: ["--bogus", "-h", "word"] });
    });

    it("says where they go when one stands before --", () => {
      expect(problem(["word"], withArgs)).toBe(
        'unexpected argument "word"; arguments for the tool go after "--"',
      );
    });

    it("accepts a lone -- when the command takes none", () => {
      expect(parseFlags(["--"], command)).toMatchObject({ action: "run", rest: [] });
    });
  });

  describe("operands", () => {
    const withName = { ...command, operands: ["NAME"] };

    it.each([[["pvc-1", "--name=x"]], [["--name=x", "pvc-1"]], [["--name", "x", "pvc-1", "--verbose"]]])(
      "takes the operand wherever it stands among the flags: %j",
      (argv) => {
        const parsed = parseFlags(argv, withName);
        expect(parsed).toMatchObject({ action: "run", operands: ["pvc-1"], values: { name: "x" } });
      },
    );

    it("does not take a flag's value for the operand", () => {
      expect(problem(["--name", "pvc-1"], withName)).toBe("missing NAME");
    });

    it("refuses a word beyond the operands", () => {
      expect(problem(["pvc-1", "pvc-2"], withName)).toBe('unexpected argument "pvc-2"');
    });

    it("answers -h with the help even without the operand", () => {
      expect(parseFlags(["-h"], withName)).toMatchObject({ action: "help" });
    });

    it("returns no operands for a command that takes none", () => {
      expect(parseFlags(["--name=x"], command)).toMatchObject({ action: "run", operands: [] });
    });
  });

  describe("one-letter aliases", () => {
    const aliased = defineFlags({
      verbose: { type: "boolean", short: "v", description: "Say more" },
      x: { type: "string", description: "A one-letter long name" },
    });
    const spec = { ...command, flags: aliased, checks: [] };

    it("reads an alias as its flag, with one dash or two", () => {
      expect(parseFlags(["-v"], spec)).toMatchObject({ values: { verbose: true } });
      expect(parseFlags(["--v=false"], spec)).toMatchObject({ values: { verbose: false } });
      expect(parseFlags(["-x", "1"], spec)).toMatchObject({ values: { x: "1" } });
    });

    it("names the flag as it was typed when it is unknown", () => {
      expect(problem(["-q"], spec)).toBe('unknown flag "--q"; see --help');
    });
  });

  describe("flags read from the environment", () => {
    const fromEnv = defineFlags({
      node: { type: "string", env: "NODE_NAME", description: "Node" },
      copies: { type: "int", min: 1, default: 2, env: "COPIES", description: "Copies" },
      dry: { type: "boolean", default: false, env: "DRY_RUN", description: "Dry run" },
      zone: { type: "string", required: true, env: "ZONE", description: "Zone" },
    });
    const spec = { ...command, flags: fromEnv, checks: [] };
    const read = (argv: string[], env: Record<string, string | undefined>) => {
      const parsed = parseFlags(argv, spec, env);
      if (parsed.action !== "run") throw new Error(`expected to run, got ${parsed.action}`);
      return parsed.values;
    };
    const refused = (argv: string[], env: Record<string, string>) => {
      try {
        parseFlags(argv, spec, env);
      } catch (error) {
        if (error instanceof CliUsageError) return error.message;
        throw error;
      }
      throw new Error("expected to be refused");
    };

    it("takes a flag the command line does not give from its variable, typed as the flag", () => {
      expect(read([], { NODE_NAME: "node-a", COPIES: "4", DRY_RUN: "true", ZONE: "z" })).toEqual({
        node: "node-a",
        copies: 4,
        dry: true,
        zone: "z",
      });
    });

    it("lets the command line win over the variable", () => {
      expect(
        read(["--node=node-b", "--copies=3", "--zone=y"], { NODE_NAME: "a", COPIES: "4", ZONE: "z" }),
      ).toMatchObject({ node: "node-b", copies: 3, zone: "y" });
    });

    it("falls back to the default for an unset or empty variable", () => {
      expect(read(["--zone=z"], { NODE_NAME: "", COPIES: undefined })).toMatchObject({
        node: undefined,
        copies: 2,
        dry: false,
      });
    });

    it("counts a variable as giving a required flag, and says which when none does", () => {
      expect(read([], { ZONE: "z" })).toMatchObject({ zone: "z" });
      expect(refused([], {})).toBe("--zone is required");
    });

    it("refuses a bad value from a variable, naming the variable", () => {
      expect(refused([], { ZONE: "z", COPIES: "0" })).toBe(
        'invalid --copies "0": must be a whole number of at least 1 (from $COPIES)',
      );
      expect(refused([], { ZONE: "z", DRY_RUN: "maybe" })).toBe(
        "invalid boolean in $DRY_RUN=maybe: use true or false",
      );
    });

    it("reads process.env when given no environment", () => {
      const zoneFromProcess = {
        ...spec,
        flags: { zone: { ...fromEnv.zone, env: "VOLPOP_FLAGS_TEST_ZONE" } },
      };
      vi.stubEnv("VOLPOP_FLAGS_TEST_ZONE", "from-process");
      try {
        expect(parseFlags([], zoneFromProcess)).toMatchObject({ values: { zone: "from-process" } });
      } finally {
        vi.unstubAllEnvs();
      }
    });
  });

  describe("declarations that cannot work", () => {
    it.each([
      { name: "a flag named help", flags: { help: { type: "boolean", description: "" } } },
      { name: "a flag named h", flags: { h: { type: "boolean", description: "" } } },
      { name: "a flag named version", flags: { version: { type: "boolean", description: "" } } },
      { name: "a name that starts with a dash", flags: { "-x": { type: "string", description: "" } } },
      { name: "a name with =", flags: { "a=b": { type: "string", description: "" } } },
      { name: "-h as an alias", flags: { host: { type: "string", short: "h", description: "" } } },
      {
        name: "an alias of two letters",
        flags: { verbose: { type: "boolean", short: "vv", description: "" } },
      },
      {
        name: "one alias for two flags",
        flags: {
          verbose: { type: "boolean", short: "v", description: "" },
          version2: { type: "boolean", short: "v", description: "" },
        },
      },
      {
        name: "an alias that shadows a one-letter flag",
        flags: {
          v: { type: "string", description: "" },
          verbose: { type: "boolean", short: "v", description: "" },
        },
      },
      {
        name: "an env name with a dash",
        flags: { node: { type: "string", env: "NODE-NAME", description: "" } },
      },
    ] as const)("throws a TypeError for $name", ({ flags: declared }) => {
      expect(() => parseFlags([], { ...command, flags: declared, checks: [] })).toThrow(TypeError);
    });
  });
});
