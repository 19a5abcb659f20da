/**
 * Reads the catalogue from the test files themselves: every `badInputCase(meta, …)`,
 * `badInputCase.each(rows)(meta, …)` and `badInputCases([meta, …], …)` call, parsed with the
 * TypeScript compiler (nothing is run). A case is listed only where a test registers it, and its
 * words are the ones that test carries.
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { type BadInputMeta, type Check, COMPONENTS, ID_PATTERN, isCheck, isComponent } from "./vocabulary.ts";

/** Unit tests run anywhere; e2e cases need the embedded cluster or $KUBECONFIG. */
export type Tier = "unit" | "e2e";

/** A case as the catalogue lists it: its meta, and where the test that proves it lives. */
export interface CatalogueCase extends BadInputMeta {
  /** The test file, relative to the repository root, with `/` separators. */
  readonly file: string;
  readonly tier: Tier;
}

/** The test files of every tier, relative to the repository root. */
export const TEST_FILE_GLOBS = [
  "packages/*/src/**/*.test.ts",
  "test/e2e/**/*.e2e.ts",
  "test/reliability/**/*.chaos.ts",
];

/** What is wrong with the registered cases, every problem at once. */
export class CatalogueError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`the bad-input catalogue cannot be read:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "CatalogueError";
    this.problems = problems;
  }
}

/** Every case the repository's tests register, sorted by component, then file, then place. */
export function readCatalogue(repoRoot: string): CatalogueCase[] {
  const files = TEST_FILE_GLOBS.flatMap((pattern) => fs.globSync(pattern, { cwd: repoRoot }))
    .map((file) => file.split(path.sep).join("/"))
    .sort();
  const problems: string[] = [];
  const found: { readonly found: CatalogueCase; readonly at: number }[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(repoRoot, file), "utf8");
    // Most files register nothing: skip parsing them.
    if (!text.includes("badInputCase")) continue;
    found.push(...casesInSource(file, text, problems));
  }
  const seen = new Map<string, string>();
  for (const { found: c } of found) {
    const first = seen.get(c.id);
    if (first) problems.push(`${c.file}: case id ${c.id} is registered twice (also in ${first})`);
    seen.set(c.id, c.file);
  }
  if (problems.length > 0) throw new CatalogueError(problems);
  const order = (c: CatalogueCase) => COMPONENTS.indexOf(c.component);
  return found
    .sort(
      (a, b) => order(a.found) - order(b.found) || a.found.file.localeCompare(b.found.file) || a.at - b.at,
    )
    .map((entry) => entry.found);
}

/** The cases one file registers, with their offsets in it; appends what is wrong to `problems`. */
export function casesInSource(
  file: string,
  text: string,
  problems: string[],
): { readonly found: CatalogueCase; readonly at: number }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const tier: Tier = file.startsWith("test/") ? "e2e" : "unit";
  const cases: { found: CatalogueCase; at: number }[] = [];
  const where = (node: ts.Node) =>
    `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const add = (literal: ts.Expression | undefined, call: ts.CallExpression) => {
    const meta = metaOf(literal, where(literal ?? call), problems);
    if (meta) cases.push({ found: { ...meta, file, tier }, at: call.getStart() });
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const form = formOf(node);
      if (form) {
        const loop = enclosingLoop(node);
        if (loop) {
          problems.push(
            `${where(node)}: ${form} is called inside ${loop}, which would register its case once per turn: write a table with badInputCase.each or badInputCases instead`,
          );
        } else if (form === "badInputCases") {
          const [rows] = node.arguments;
          if (rows && ts.isArrayLiteralExpression(rows)) for (const row of rows.elements) add(row, node);
          else problems.push(`${where(node)}: badInputCases needs its rows written out as an array literal`);
        } else {
          add(node.arguments[0], node);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return cases;
}

type Form = "badInputCase" | "badInputCase.each" | "badInputCases";

function formOf(call: ts.CallExpression): Form | undefined {
  const callee = call.expression;
  if (ts.isIdentifier(callee) && (callee.text === "badInputCase" || callee.text === "badInputCases")) {
    return callee.text;
  }
  // badInputCase.each(rows)(meta, fn): the outer call carries the meta.
  if (
    ts.isCallExpression(callee) &&
    ts.isPropertyAccessExpression(callee.expression) &&
    ts.isIdentifier(callee.expression.expression) &&
    callee.expression.expression.text === "badInputCase" &&
    callee.expression.name.text === "each"
  ) {
    return "badInputCase.each";
  }
  return undefined;
}

const LOOP_METHODS = new Set(["forEach", "map", "flatMap", "each"]);

/** The loop a call sits in, as words, if any: a statement, or a callback handed to forEach/map/each. */
function enclosingLoop(node: ts.Node): string | undefined {
  for (let at = node.parent; at; at = at.parent) {
    if (ts.isIterationStatement(at, false)) return "a loop";
    if (
      (ts.isArrowFunction(at) || ts.isFunctionExpression(at)) &&
      ts.isCallExpression(at.parent) &&
      at.parent.arguments.includes(at) &&
      ts.isPropertyAccessExpression(at.parent.expression) &&
      LOOP_METHODS.has(at.parent.expression.name.text)
    ) {
      return `a callback of .${at.parent.expression.name.text}()`;
    }
  }
  return undefined;
}

const TEXT_FIELDS = ["id", "component", "input", "expected"] as const;

/** The meta written out in `literal`, or undefined after saying what is wrong with it. */
function metaOf(
  literal: ts.Expression | undefined,
  where: string,
  problems: string[],
): BadInputMeta | undefined {
  if (!literal || !ts.isObjectLiteralExpression(literal)) {
    problems.push(`${where}: a case's meta must be written out as an object literal`);
    return undefined;
  }
  const values = new Map<string, ts.Expression>();
  for (const property of literal.properties) {
    if (
      ts.isPropertyAssignment(property) &&
      (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name))
    ) {
      values.set(property.name.text, property.initializer);
    }
  }
  const before = problems.length;
  const text: Partial<Record<(typeof TEXT_FIELDS)[number], string>> = {};
  for (const field of TEXT_FIELDS) {
    const value = stringOf(values.get(field));
    if (value === undefined || value.trim() === "")
      problems.push(`${where}: ${field} must be a non-empty string literal`);
    else text[field] = value;
  }
  const checksLiteral = values.get("checks");
  const checks =
    checksLiteral && ts.isArrayLiteralExpression(checksLiteral)
      ? checksLiteral.elements.map(stringOf)
      : undefined;
  if (!checks || checks.length === 0 || checks.some((c) => c === undefined)) {
    problems.push(`${where}: checks must be a non-empty array of string literals`);
  }
  const { id = "", component = "", input = "", expected = "" } = text;
  const kebab = ID_PATTERN.test(id);
  if (id && !kebab) problems.push(`${where}: id ${JSON.stringify(id)} must be kebab-case`);
  if (component && !isComponent(component)) {
    problems.push(`${where}: component ${JSON.stringify(component)} is none of ${COMPONENTS.join(", ")}`);
  } else if (kebab && component && !id.startsWith(`${component}-`)) {
    problems.push(`${where}: id ${id} must start with its component, "${component}-"`);
  }
  for (const check of checks ?? []) {
    if (check !== undefined && !isCheck(check))
      problems.push(`${where}: ${JSON.stringify(check)} is not a known check`);
  }
  if (problems.length > before || !isComponent(component) || !checks) return undefined;
  return { id, component, input, expected, checks: checks as [Check, ...Check[]] };
}

function stringOf(node: ts.Expression | undefined): string | undefined {
  if (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))) return node.text;
  return undefined;
}
