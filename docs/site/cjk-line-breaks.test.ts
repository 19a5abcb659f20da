import MarkdownIt from "markdown-it";
import { describe, expect, it } from "vitest";
import { cjkLineBreaks } from "./cjk-line-breaks.ts";

const md = new MarkdownIt();
cjkLineBreaks(md);

describe("line breaks in Chinese paragraphs", () => {
  it.each([
    ["between two characters", "填充\n器", "<p>填充器</p>\n"],
    [
      "after punctuation, before emphasis",
      "含义。\n**卷填充器**负责",
      "<p>含义。<strong>卷填充器</strong>负责</p>\n",
    ],
  ])("go %s", (_, markdown, html) => {
    expect(md.render(markdown)).toBe(html);
  });

  it.each([
    ["between English words", "two\nwords", "<p>two\nwords</p>\n"],
    ["between a character and a word", "使用\nvolpop", "<p>使用\nvolpop</p>\n"],
    ["next to code", "运行\n`kubectl`", "<p>运行\n<code>kubectl</code></p>\n"],
  ])("stay %s", (_, markdown, html) => {
    expect(md.render(markdown)).toBe(html);
  });
});
