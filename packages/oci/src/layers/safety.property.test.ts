import { guardedVolume, type TestEntry, tarOf } from "@volpop/oci-testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LayerApplier } from "./applier.ts";
import { LayerError } from "./errors.ts";

// Names and link targets are drawn from components that make escapes likely: `..`, empty and `.`
// components, the names of the files around the target, and real absolute paths outside it
// ($TMP and $ROOT, filled in per run). Symlinks aim no higher than $ROOT, never at the real `/`
// or $TMP: were the applier broken, the test must damage only its own sandbox (see
// guardedVolume). In names, `/` and $TMP are lexical only, and stay. $ROOT is deep, and writing
// through a link to it makes deep trees, so it is drawn rarely.
// In entry names `..` is rare: one that climbs out fails the whole apply at once, and the
// interesting cases are symlinks planted early and written through later. Symlink targets are
// data, so there it is common.
const plain = fc.constantFrom("evil", "a", "b", "sentinel.txt", "sibling", "file.txt", "target", "root");
const pathOf = (dotDotWeight: number, starts: fc.Arbitrary<string>): fc.Arbitrary<string> => {
  const component = fc.oneof(
    { weight: dotDotWeight, arbitrary: fc.constant("..") },
    { weight: 2, arbitrary: fc.constantFrom(".", "") },
    { weight: 40, arbitrary: plain },
  );
  const prefix = fc.oneof(
    { weight: dotDotWeight, arbitrary: fc.constant("../") },
    { weight: 40, arbitrary: starts },
  );
  return fc
    .tuple(prefix, fc.array(component, { minLength: 1, maxLength: 4 }))
    .map(([start, components]) => start + components.join("/"));
};
const namePath = pathOf(1, fc.constantFrom("", "", "/", "./", "$TMP/"));
// At most two `..` each, which bounds how high a chain of symlinks can climb (SANDBOX_DEPTH).
const symlinkTarget = pathOf(
  30,
  fc.oneof(
    { weight: 9, arbitrary: fc.constantFrom("", "./") },
    { weight: 1, arbitrary: fc.constant("$ROOT/") },
  ),
).filter((target) => target.split("..").length <= 3);
// Hard links mostly aim at names that earlier entries are likely to have created.
const linkTarget = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(plain, fc.option(plain)).map(([a, b]) => (b === null ? a : `${a}/${b}`)) },
  { weight: 1, arbitrary: namePath },
);
const entryName = fc.oneof(
  { weight: 8, arbitrary: namePath },
  { weight: 1, arbitrary: fc.tuple(namePath, plain).map(([dir, name]) => `${dir}/.wh.${name}`) },
  { weight: 1, arbitrary: namePath.map((dir) => `${dir}/.wh..wh..opq`) },
);
const mode = fc.constantFrom(0o644, 0o755, 0o700, 0o555, 0o4755, 0o777);

const entry: fc.Arbitrary<TestEntry> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ name: entryName, content: fc.constantFrom("", "pwned"), mode }) },
  { weight: 3, arbitrary: fc.record({ name: entryName, type: fc.constant("directory" as const), mode }) },
  {
    weight: 3,
    arbitrary: fc.record({ name: entryName, type: fc.constant("symlink" as const), linkname: symlinkTarget }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ name: entryName, type: fc.constant("link" as const), linkname: linkTarget }),
  },
);
// At most 18 entries: with two `..` per symlink, that bounds the climb SANDBOX_DEPTH allows for.
const layers = fc.array(fc.array(entry, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 });

describe("LayerApplier safety", () => {
  it("never touches anything outside the target, whatever the layers hold", {
    timeout: 120_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(layers, async (drawn) => {
        const volume = guardedVolume();
        try {
          const before = volume.outside();
          const fill = (value: string): string =>
            value.replaceAll("$ROOT", volume.root).replaceAll("$TMP", volume.tmp);
          const applier = new LayerApplier({ target: volume.target });
          try {
            for (const layer of drawn) {
              const filled = layer.map((e) => ({
                ...e,
                name: fill(e.name),
                ...(e.linkname === undefined ? {} : { linkname: fill(e.linkname) }),
              }));
              await applier.applyLayer(tarOf(filled));
            }
            await applier.finish();
          } catch (error) {
            // Refusing is fine; failing any other way means a case the applier does not understand.
            expect(error).toBeInstanceOf(LayerError);
          }
          expect(volume.outside()).toEqual(before);
        } finally {
          volume.remove();
        }
      }),
      { numRuns: 200 },
    );
  });
});
