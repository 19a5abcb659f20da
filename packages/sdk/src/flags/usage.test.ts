import { describe, expect, it } from "vitest";
import { defineFlags } from "./declaration.ts";
import { flagUsage } from "./usage.ts";

const flags = defineFlags({
  mode: { type: "enum", values: ["a", "b"], required: true, description: "What to run (required)" },
  workers: { type: "int", default: 10, description: "Workers" },
  timeout: { type: "duration", default: 90_000, description: "How long" },
  resync: { type: "duration", default: 0, description: "How often" },
  enabled: { type: "boolean", default: false, description: "Turn it on" },
  forced: { type: "boolean", default: true, description: "Force it" },
  empty: { type: "string", default: "", description: "Empty by default" },
  level: { type: "string", shownDefault: "info", description: "Level" },
  tags: { type: "string", multiple: true, default: ["a", "b"], description: "Tags" },
  "file-name": { type: "string", section: "Populator flags", description: "File to write" },
  verbose: { type: "boolean", short: "v", section: "Populator flags", description: "" },
});

const text = flagUsage({
  program: "tool",
  synopsis: "--mode=a|b [flags]",
  about: "Does things,\non two lines.",
  version: "1.0.0",
  flags,
});

describe("flagUsage", () => {
  it("lays out usage line, about and flags table, help and version last in the first table", () => {
    expect(text).toBe(`Usage: tool --mode=a|b [flags]

Does things,
on two lines.

Flags (also accepted as -flag, --flag=value or --flag value):
  --mode value       What to run (required)
  --workers value    Workers (default 10)
  --timeout value    How long (default 1m30s)
  --resync value     How often (default 0s)
  --enabled          Turn it on
  --forced           Force it (default true)
  --empty value      Empty by default
  --level value      Level (default info)
  --tags value       Tags (default a,b)
  --version          Print the version and exit
  -h, --help         Print this help and exit

Populator flags:
  --file-name value  File to write
  -v, --verbose
`);
  });

  it("names the variable a flag is read from before its default", () => {
    const env = flagUsage({
      program: "tool",
      synopsis: "",
      about: "",
      flags: defineFlags({
        node: { type: "string", env: "NODE_NAME", description: "Node" },
        copies: { type: "int", default: 2, env: "COPIES", description: "Copies" },
      }),
    });
    expect(env).toContain("Node (default $NODE_NAME)\n");
    expect(env).toContain("Copies (default $COPIES, else 2)\n");
  });

  it("leaves out --version for a command without a version", () => {
    expect(flagUsage({ program: "tool", synopsis: "", about: "", flags: {} })).not.toContain("--version");
  });
});
