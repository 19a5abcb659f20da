/**
 * A line break inside a Chinese paragraph (the Markdown is wrapped at ~110 columns for GitHub's diff
 * view) must not show as a space between two characters, as a browser shows it between two words.
 * (markdown-it-cjk-breaks does this, but its 2.0.0 throws on empty text tokens, as VitePress makes.)
 */
import type { MarkdownItCore } from "./links.ts";

// CJK punctuation, kana, ideographs (with extension A and compatibility), Hangul, fullwidth forms.
const CJK = /[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/;

interface InlineToken {
  type: string;
  content: string;
}

/**
 * The character next to the break at `from`, reading in `step`'s direction through emphasis and link
 * marks: the edge of the nearest text, or `undefined` when code, an image or another break comes first.
 */
function neighbour(tokens: readonly InlineToken[], from: number, step: 1 | -1): string | undefined {
  for (let i = from + step; i >= 0 && i < tokens.length; i += step) {
    const token = tokens[i] as InlineToken;
    // Emphasis leaves an empty text token where its delimiter was.
    if (/_(open|close)$/.test(token.type) || (token.type === "text" && token.content === "")) continue;
    if (token.type !== "text") return undefined;
    return step === 1 ? token.content.slice(0, 1) : token.content.slice(-1);
  }
  return undefined;
}

/** The markdown-it rule: drops a soft line break between two CJK characters. */
export function cjkLineBreaks(md: MarkdownItCore): void {
  md.core.ruler.after("inline", "volpop-cjk-line-breaks", (state) => {
    for (const block of state.tokens) {
      const children = block.children ?? [];
      children.forEach((token, i) => {
        if (token.type !== "softbreak") return;
        if (CJK.test(neighbour(children, i, -1) ?? "") && CJK.test(neighbour(children, i, 1) ?? "")) {
          token.type = "text";
          token.content = "";
        }
      });
    }
  });
}
