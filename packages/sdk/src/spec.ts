/**
 * Schema-first specs: one TypeBox schema gives a source's TypeScript type, its validator (the
 * controller's, and populate mode's again inside the pod) and the CRD's `openAPIV3Schema`, so that
 * the CRD and the code cannot drift apart. TypeBox because it is JSON Schema to begin with (nothing
 * to translate for the CRD), small, dependency-free and kept.
 */
import { type Static, type TSchema, Type } from "typebox";
import { Value } from "typebox/value";
import type { SourceCheck } from "./populator.ts";

export { type Static, type TSchema, Type };

/** A source's spec, defined once; see {@link defineSpec}. */
export interface SpecDefinition<Spec, S extends TSchema = TSchema> {
  /** The schema as written (TypeBox refinements included): `Static<typeof def.schema>` is what it accepts. */
  readonly schema: S;
  /**
   * Checks an untrusted `spec`: the typed spec, or one sentence per problem naming its field
   * (`spec.fileName is required`). A function of its own, so `validate: helloSpec.validate` works.
   */
  readonly validate: (spec: unknown) => SourceCheck<Spec>;
  /** The schema as a CRD's `openAPIV3Schema.properties.spec`: structural, only keywords Kubernetes takes. */
  openApiSchema(): Record<string, unknown>;
}

export interface SpecOptions<Written, Spec> {
  /**
   * What the populator's code reads, from a spec the schema accepted: defaults filled in, quantities
   * as numbers. What it returns travels to the pod as JSON and is checked there again, so it must
   * pass this same schema and come back unchanged.
   */
  readonly normalise?: (spec: Written) => Spec;
}

/**
 * Defines a source's spec from a TypeBox schema. Checks of one field that JSON Schema cannot say
 * (a parsed image reference, no `..`) are {@link refine}s of that field, and every field's problem is
 * reported at once. The
 * CRD's own rules (`x-kubernetes-validations`, `x-kubernetes-list-type`...) go in the field's options.
 *
 * Like the API server, `validate` treats a `null` field as absent and drops fields the schema does not
 * know.
 *
 * @example
 * export const helloSpec = defineSpec(
 *   Type.Object({ fileName: Type.String({ minLength: 1 }), fileContents: Type.String() }),
 * );
 * export type HelloSpec = Static<typeof helloSpec.schema>;
 */
export function defineSpec<S extends TSchema, Spec = Static<S>>(
  schema: S,
  options: SpecOptions<Static<S>, Spec> = {},
): SpecDefinition<Spec, S> {
  // Checked now, so that a schema Kubernetes would refuse fails the populator's own tests.
  const openApi = toOpenApi(schema, "spec");
  return {
    schema,
    validate(spec) {
      // Defaults fill a copy: the caller's object is left as it was.
      const value = Value.Default(schema, withoutNulls(spec));
      const errors = Value.Errors(schema, value);
      if (errors.length > 0) return { ok: false, problems: problemsOf(schema, errors) };
      const checked = Value.Clean(schema, value) as Static<S>;
      return { ok: true, spec: options.normalise ? options.normalise(checked) : (checked as Spec) };
    },
    openApiSchema: () => structuredClone(openApi),
  };
}

/**
 * `Type.Refine` with one function, for a check JSON Schema cannot say: `problem` returns what is wrong
 * with the value as the end of a sentence (`must be a plain file name`), or `undefined`. Runs only on
 * a value the schema itself accepted; the CRD does not see it (give it an `x-kubernetes-validations`
 * rule where one can say the same).
 */
export function refine<S extends TSchema>(schema: S, problem: (value: Static<S>) => string | undefined) {
  return Type.Refine(
    schema,
    (value: Static<S>) => problem(value) === undefined,
    (value: Static<S>) => problem(value) ?? "",
  );
}

// --- Problems as sentences -------------------------------------------------------------------

interface SchemaError {
  readonly keyword: string;
  readonly schemaPath: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message: string;
}

/** One sentence per field, the outermost schema's complaint first (a union's, not its branches'). */
function problemsOf(schema: TSchema, errors: readonly SchemaError[]): string[] {
  const byField = new Map<string, { depth: number; sentence: string }>();
  const add = (field: string, depth: number, sentence: string) => {
    const known = byField.get(field);
    if (!known || depth < known.depth) byField.set(field, { depth, sentence });
  };
  for (const error of errors) {
    const depth = error.schemaPath.split("/").length;
    if (error.keyword === "required") {
      for (const name of error.params.requiredProperties as string[])
        add(fieldName(`${error.instancePath}/${name}`), depth, "is required");
      continue;
    }
    add(fieldName(error.instancePath), depth, sentenceFor(error, nodeAt(schema, error.schemaPath)));
  }
  return [...byField].map(([field, { sentence }]) => `${field} ${sentence}`);
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
};

function sentenceFor(error: SchemaError, node: Record<string, unknown> | undefined): string {
  const limit = error.params.limit;
  switch (error.keyword) {
    case "~refine":
      return String(error.params.message);
    case "type":
      return `must be ${TYPE_NAMES[String(error.params.type)] ?? error.params.type}`;
    case "minLength":
      // An empty string is how YAML says "nothing here" most often.
      return limit === 1 ? "is required" : `must be at least ${limit} characters long`;
    case "maxLength":
      return `must be at most ${limit} characters long`;
    case "minimum":
      return `must be at least ${limit}`;
    case "maximum":
      return `must be at most ${limit}`;
    case "minItems":
      return `must list at least ${limit} items`;
    case "maxItems":
      return `must list at most ${limit} items`;
    case "pattern":
      return `must match ${node?.pattern}`;
    case "enum":
      return `must be one of ${((node?.enum ?? []) as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "anyOf":
      return node?.["x-kubernetes-int-or-string"]
        ? "must be an integer or a string"
        : "has none of the allowed forms";
    default:
      return error.message;
  }
}

/** `/pullSecrets/0/name` → `spec.pullSecrets[0].name` */
function fieldName(instancePath: string): string {
  let name = "spec";
  for (const raw of instancePath.split("/").slice(1)) {
    const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    name += /^[0-9]+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  }
  return name;
}

function nodeAt(schema: TSchema, schemaPath: string): Record<string, unknown> | undefined {
  let node: unknown = schema;
  for (const segment of schemaPath.split("/").slice(1)) node = (node as Record<string, unknown>)?.[segment];
  return typeof node === "object" && node !== null ? (node as Record<string, unknown>) : undefined;
}

// The API server prunes a null field of a non-nullable schema: a source it stored never has one, but a
// source it did not check (an older CRD) may.
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== null)
      .map(([key, item]) => [key, withoutNulls(item)]),
  );
}

// --- The CRD's schema ------------------------------------------------------------------------

/** JSON Schema keywords a CRD's structural schema takes (apiextensions.k8s.io/v1 JSONSchemaProps). */
const OPENAPI_KEYWORDS = new Set([
  "type",
  "format",
  "description",
  "title",
  "default",
  "example",
  "enum",
  "minimum",
  "maximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "required",
  "properties",
  "items",
  "additionalProperties",
  "anyOf",
  "allOf",
  "oneOf",
  "not",
  "nullable",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-int-or-string",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-list-type",
  "x-kubernetes-map-type",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-validations",
]);

/** JSON Schema's bookkeeping, meaningless to Kubernetes and refused by it. */
const DROPPED_KEYWORDS = new Set(["$id", "$schema", "$comment"]);

/**
 * The enumerable JSON of `schema` (TypeBox's own markers and refinements are not), checked against
 * the structural schema rules: a type everywhere, keywords Kubernetes knows. Throws naming the field,
 * so that what the CRD cannot say is found when the populator is written, not when it is installed.
 */
function toOpenApi(schema: unknown, at: string): Record<string, unknown> {
  const node = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  return structural(node, at, false);
}

function structural(
  node: Record<string, unknown>,
  at: string,
  inIntOrString: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(node)) {
    if (DROPPED_KEYWORDS.has(keyword)) continue;
    if (!OPENAPI_KEYWORDS.has(keyword))
      throw new TypeError(`${at}: a CRD's schema cannot say "${keyword}"; check it with Type.Refine instead`);
    out[keyword] = value;
  }
  const intOrString = out["x-kubernetes-int-or-string"] === true;
  const typeless = intOrString || out["x-kubernetes-preserve-unknown-fields"] === true || inIntOrString;
  for (const union of ["anyOf", "oneOf", "allOf", "not"] as const) {
    if (out[union] !== undefined && !intOrString)
      throw new TypeError(`${at}: a CRD's schema takes ${union} only as x-kubernetes-int-or-string`);
  }
  if (out.type === undefined && !typeless)
    throw new TypeError(`${at}: a CRD's structural schema needs a type here`);
  if (out.anyOf) out.anyOf = (out.anyOf as Record<string, unknown>[]).map((b) => structural(b, at, true));
  if (out.items) out.items = structural(out.items as Record<string, unknown>, `${at}[]`, false);
  if (out.properties) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Record<string, Record<string, unknown>>).map(([name, property]) => [
        name,
        structural(property, `${at}.${name}`, false),
      ]),
    );
  }
  if (typeof out.additionalProperties === "object")
    out.additionalProperties = structural(
      out.additionalProperties as Record<string, unknown>,
      `${at}.*`,
      false,
    );
  return out;
}
