import { describe, expect, it } from "vitest";
import { PREFIX, pvc, SOURCE_NAME, USER_NAMESPACE } from "./internal/fixtures.ts";
import { grantAllows, type ReferenceGrant } from "./reference-grant.ts";

/** The user's PVC in `apps`, naming `Hello data/hello`. */
const claim = pvc({
  spec: { dataSourceRef: { apiGroup: PREFIX, kind: "Hello", name: SOURCE_NAME, namespace: "data" } },
});
const fromApps = { group: "", kind: "PersistentVolumeClaim", namespace: USER_NAMESPACE };
const toHellos = { group: PREFIX, kind: "Hello" };

function grant(from: object[], to: object[]): ReferenceGrant {
  return { spec: { from, to } };
}

describe("grantAllows", () => {
  it.each<[string, ReferenceGrant[]]>([
    ["a grant from PVCs of the namespace to every source of the kind", [grant([fromApps], [toHellos])]],
    ["a grant naming the source", [grant([fromApps], [{ ...toHellos, name: SOURCE_NAME }])]],
    ["a grant with an empty name", [grant([fromApps], [{ ...toHellos, name: "" }])]],
    [
      "a grant leaving out the core group of PVCs",
      [grant([{ kind: "PersistentVolumeClaim", namespace: USER_NAMESPACE }], [toHellos])],
    ],
    [
      "one matching entry among others",
      [
        grant(
          [{ ...fromApps, namespace: "other" }, fromApps],
          [{ group: "x.example.com", kind: "Other" }, toHellos],
        ),
      ],
    ],
    [
      "one matching grant among others",
      [grant([fromApps], [{ group: PREFIX, kind: "Other" }]), grant([fromApps], [toHellos])],
    ],
  ])("allows the reference with %s", (_, grants) => {
    expect(grantAllows(grants, claim)).toBe(true);
  });

  it.each<[string, ReferenceGrant[]]>([
    ["no grants at all", []],
    ["a grant without a spec", [{}]],
    ["a grant with empty lists", [grant([], [])]],
    ["a grant from another namespace", [grant([{ ...fromApps, namespace: "elsewhere" }], [toHellos])]],
    ["a grant from another kind", [grant([{ ...fromApps, kind: "Gateway" }], [toHellos])]],
    [
      "a grant from the PVC kind of another group",
      [grant([{ ...fromApps, group: "gateway.networking.k8s.io" }], [toHellos])],
    ],
    ["a grant to another kind", [grant([fromApps], [{ group: PREFIX, kind: "Other" }])]],
    [
      "a grant to the kind in another group",
      [grant([fromApps], [{ group: "x.example.com", kind: "Hello" }])],
    ],
    ["a grant to another source of the kind", [grant([fromApps], [{ ...toHellos, name: "other" }])]],
    ["a grant to the core group", [grant([fromApps], [{ group: "", kind: "Hello" }])]],
    [
      "from and to split across two grants",
      [
        grant([fromApps], [{ group: PREFIX, kind: "Other" }]),
        grant([{ ...fromApps, namespace: "x" }], [toHellos]),
      ],
    ],
  ])("refuses the reference with %s", (_, grants) => {
    expect(grantAllows(grants, claim)).toBe(false);
  });

  it("matches a core-group source kind when dataSourceRef leaves apiGroup out", () => {
    const core = pvc({ spec: { dataSourceRef: { kind: "ConfigMap", name: "c", namespace: "data" } } });
    expect(grantAllows([grant([fromApps], [{ group: "", kind: "ConfigMap" }])], core)).toBe(true);
    expect(grantAllows([grant([fromApps], [{ kind: "ConfigMap", name: "c" }])], core)).toBe(true);
    expect(grantAllows([grant([fromApps], [toHellos])], core)).toBe(false);
  });
});
