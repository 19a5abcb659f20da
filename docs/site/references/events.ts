/**
 * The events reference: every event reason volpop records, read from the constants that define them
 * (`export const EventReason = { Name: "Reason", … }`) with their doc comments as the meaning.
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "../layout.ts";
import { code, generatedBanner, table } from "./markdown.ts";

/** One object of event reasons, and who records them. */
export interface EventSource {
  /** Repo-relative path of the module that declares the constant. */
  readonly file: string;
  /** The exported constant, e.g. `EventReason`. */
  readonly constant: string;
  /** Section title: who records these. */
  readonly title: string;
  /** One sentence under the title. */
  readonly about: string;
}

export const EVENT_SOURCES: readonly EventSource[] = [
  {
    file: "packages/sdk/src/events.ts",
    constant: "EventReason",
    title: "Every populator",
    about:
      "Recorded on the user's PVC by every populator built on `@volpop/sdk` (constant `EventReason`). Reasons marked upstream's are spelled as lib-volume-populator spells them; volpop keeps the ones it never records so that code and alerts naming them keep working.",
  },
  {
    file: "packages/sdk/src/strategies/csi-fastpath/names.ts",
    constant: "FastPathEventReason",
    title: "The CSI fast path",
    about:
      "Recorded on the user's PVC by populators that turn the fast path on (constant `FastPathEventReason` of `@volpop/sdk/fastpath`), once per population, when the strategy is decided.",
  },
  {
    file: "packages/validator/src/events.ts",
    constant: "EventReason",
    title: "The data-source validator",
    about:
      "Recorded on PVCs by the validator (constant `EventReason` of `@volpop/validator`), as upstream's volume-data-source-validator does.",
  },
];

/** One reason: its constant's key, the reason string, the event type and what it means. */
export interface EventReasonDoc {
  readonly key: string;
  readonly reason: string;
  /** `Warning` or `Normal` from the comment's first word; `undefined` for reasons volpop never records. */
  readonly type: "Warning" | "Normal" | undefined;
  readonly meaning: string;
}

/**
 * Reads the reasons of `constant` from a module's source. Throws, naming the file and key, for a
 * constant that is missing, not an object of string literals, or has a reason without a doc comment.
 */
export function readEventReasons(fileName: string, sourceText: string, constant: string): EventReasonDoc[] {
  const source = ts.createSourceFile(fileName, sourceText, ts.ScriptTarget.Latest, true);
  const object = constantObject(source, constant);
  if (object === undefined) throw new Error(`${fileName}: no exported object constant ${constant}`);
  const reasons: Record<string, string> = {};
  const entries = object.properties.map((property) => {
    const key = property.name?.getText(source) ?? "";
    if (!ts.isPropertyAssignment(property) || !ts.isStringLiteral(property.initializer)) {
      throw new Error(`${fileName}: ${constant}.${key} is not a string literal`);
    }
    reasons[key] = property.initializer.text;
    const comment = ts
      .getJSDocCommentsAndTags(property)
      .filter(ts.isJSDoc)
      .map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? "")
      .join(" ")
      .trim();
    if (comment === "") {
      throw new Error(
        `${fileName}: ${constant}.${key} has no doc comment; say when it is recorded and its type ("Warning: …" or "Normal: …")`,
      );
    }
    return { key, reason: property.initializer.text, comment };
  });
  return entries.map(({ key, reason, comment }) => {
    const typed = /^(Warning|Normal):\s*/.exec(comment);
    const text = typed ? comment.slice(typed[0].length) : comment;
    return {
      key,
      reason,
      type: typed ? (typed[1] as "Warning" | "Normal") : undefined,
      meaning: resolveLinks(text, constant, reasons, fileName),
    };
  });
}

function constantObject(source: ts.SourceFile, constant: string): ts.ObjectLiteralExpression | undefined {
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (declaration.name.getText(source) !== constant || declaration.initializer === undefined) continue;
      let value: ts.Expression = declaration.initializer;
      while (ts.isAsExpression(value) || ts.isSatisfiesExpression(value)) value = value.expression;
      if (ts.isObjectLiteralExpression(value)) return value;
    }
  }
  return undefined;
}

// `{@link EventReason.Failed}` in a comment names another reason: shown as that reason's string.
function resolveLinks(
  text: string,
  constant: string,
  reasons: Readonly<Record<string, string>>,
  fileName: string,
): string {
  return text.replace(/\{@link\s+([\w.]+)\s*\}/g, (_, target: string) => {
    const key = target.startsWith(`${constant}.`) ? target.slice(constant.length + 1) : undefined;
    const reason = key === undefined ? undefined : reasons[key];
    if (reason === undefined)
      throw new Error(`${fileName}: {@link ${target}} names no reason of ${constant}`);
    return code(reason);
  });
}

/** The events reference page. */
export function renderEventsReference(
  sources: readonly EventSource[] = EVENT_SOURCES,
  read: (file: string) => string = (file) => fs.readFileSync(path.join(REPO_ROOT, file), "utf8"),
): string {
  const sections = sources.map((s) => {
    const reasons = readEventReasons(s.file, read(s.file), s.constant);
    const rows = reasons.map((r) => [code(r.reason), r.type ?? "not recorded", r.meaning]);
    return [`## ${s.title}`, "", s.about, "", table(["Reason", "Type", "When"], rows)].join("\n");
  });
  return [
    generatedBanner(sources.map((s) => `${s.file} (${s.constant})`)),
    "",
    "# Events reference",
    "",
    "The reasons of the Kubernetes events volpop records, as `kubectl describe pvc` and `kubectl get events`",
    "show them: alert on them, grep for them. Warnings say what is wrong and what the controller waits for;",
    "see [troubleshooting](../troubleshooting.md) for what to do about them.",
    "",
    ...sections.flatMap((section) => [section, ""]),
  ].join("\n");
}
