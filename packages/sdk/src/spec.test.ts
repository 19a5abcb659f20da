import { describe, expect, it } from "vitest";
import { defineSpec, refine, Type } from "./spec.ts";
import { readSpec, SPEC_ENV } from "./spec-env.ts";

const plain = (name: string) =>
  /[/\0]/.test(name) || name === ".." ? "must be a plain file name" : undefined;

const fileSpec = defineSpec(
  Type.Object(
    {
      fileName: refine(
        Type.String({
          minLength: 1,
          maxLength: 8,
          "x-kubernetes-validations": [{ rule: "!self.contains('/')" }],
        }),
        plain,
      ),
      mode: Type.Optional(Type.Integer({ minimum: 0, maximum: 511, default: 420 })),
      size: Type.Optional(
        Type.Union([Type.Integer(), Type.String()], { "x-kubernetes-int-or-string": true }),
      ),
      tags: Type.Optional(Type.Array(Type.Object({ name: Type.String() }), { maxItems: 2 })),
    },
    { description: "A file." },
  ),
  { normalise: (spec) => ({ ...spec, tags: spec.tags ?? [] }) },
);

describe("defineSpec's validate", () => {
  it("gives the typed spec, defaults filled in and normalised", () => {
    expect(fileSpec.validate({ fileName: "a.txt" })).toEqual({
      ok: true,
      spec: { fileName: "a.txt", mode: 420, tags: [] },
    });
  });

  it("treats null fields as absent and drops unknown ones, as the API server does", () => {
    expect(fileSpec.validate({ fileName: "a", size: null, colour: "red" })).toEqual({
      ok: true,
      spec: { fileName: "a", mode: 420, tags: [] },
    });
  });

  it.each([
    { spec: null, problems: ["spec must be an object"] },
    { spec: {}, problems: ["spec.fileName is required"] },
    { spec: { fileName: "" }, problems: ["spec.fileName is required"] },
    { spec: { fileName: 7 }, problems: ["spec.fileName must be a string"] },
    { spec: { fileName: "a/b" }, problems: ["spec.fileName must be a plain file name"] },
    { spec: { fileName: "123456789" }, problems: ["spec.fileName must be at most 8 characters long"] },
    { spec: { fileName: "a", mode: 512 }, problems: ["spec.mode must be at most 511"] },
    { spec: { fileName: "a", size: true }, problems: ["spec.size must be an integer or a string"] },
    {
      spec: { fileName: "a", tags: [{}, { name: 1 }] },
      problems: ["spec.tags[0].name is required", "spec.tags[1].name must be a string"],
    },
    {
      spec: { fileName: "..", mode: -1 },
      problems: ["spec.fileName must be a plain file name", "spec.mode must be at least 0"],
    },
  ])("refuses $spec with one sentence per field: $problems", ({ spec, problems }) => {
    expect(fileSpec.validate(spec)).toEqual({ ok: false, problems });
  });

  it("leaves the caller's object as it was", () => {
    const spec = { fileName: "a", extra: null };
    fileSpec.validate(spec);
    expect(spec).toEqual({ fileName: "a", extra: null });
  });
});

describe("defineSpec's openApiSchema", () => {
  it("is the schema without TypeBox's markers or refinements, the CRD's own rules kept", () => {
    expect(fileSpec.openApiSchema()).toEqual({
      type: "object",
      description: "A file.",
      required: ["fileName"],
      properties: {
        fileName: {
          type: "string",
          minLength: 1,
          maxLength: 8,
          "x-kubernetes-validations": [{ rule: "!self.contains('/')" }],
        },
        mode: { type: "integer", minimum: 0, maximum: 511, default: 420 },
        size: { anyOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true },
        tags: {
          type: "array",
          maxItems: 2,
          items: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
        },
      },
    });
  });

  it.each([
    {
      what: "a keyword Kubernetes does not take",
      schema: Type.Object({ a: Type.Literal("x") }),
      error: /spec\.a: a CRD's schema cannot say "const"/,
    },
    {
      what: "a union other than int-or-string",
      schema: Type.Object({ a: Type.Union([Type.String(), Type.Boolean()]) }),
      error: /spec\.a: .* anyOf only as x-kubernetes-int-or-string/,
    },
    {
      what: "a field without a type",
      schema: Type.Object({ a: Type.Unknown() }),
      error: /spec\.a: .* needs a type/,
    },
  ])("refuses, when defined, a schema with $what", ({ schema, error }) => {
    expect(() => defineSpec(schema)).toThrow(error);
  });
});

describe("readSpec", () => {
  it("gives populate mode the spec in VOLPOP_SPEC, checked again", () => {
    expect(readSpec(fileSpec.validate, { [SPEC_ENV]: '{"fileName":"a","mode":384}' })).toEqual({
      fileName: "a",
      mode: 384,
      tags: [],
    });
  });

  it.each([
    { env: {}, message: "refusing to populate: VOLPOP_SPEC is not set" },
    { env: { [SPEC_ENV]: "{" }, message: "refusing to populate: VOLPOP_SPEC is not JSON" },
    {
      env: { [SPEC_ENV]: '{"fileName":"../x"}' },
      message: "refusing to populate: spec.fileName must be a plain file name",
    },
  ])("refuses to populate with $env", ({ env, message }) => {
    expect(() => readSpec(fileSpec.validate, env)).toThrow(message);
  });
});
