import type { V1ValidatingWebhookConfiguration } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { caBundlePatch } from "./ca-bundle.ts";

function configuration(...caBundles: (string | undefined)[]): V1ValidatingWebhookConfiguration {
  return {
    metadata: { name: "volume-data-source-validator" },
    webhooks: caBundles.map((caBundle, i) => ({
      name: `hook-${i}.volpop.dev`,
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      clientConfig: {
        service: { name: "svc", namespace: "ns", path: "/validate" },
        ...(caBundle === undefined ? {} : { caBundle }),
      },
    })),
  };
}

describe("caBundlePatch", () => {
  it("sets the caBundle of each webhook that lacks it, guarded by the webhook's name", () => {
    expect(caBundlePatch(configuration(undefined, "b2xk", "TkVX"), "TkVX")).toEqual([
      { op: "test", path: "/webhooks/0/name", value: "hook-0.volpop.dev" },
      { op: "add", path: "/webhooks/0/clientConfig/caBundle", value: "TkVX" },
      { op: "test", path: "/webhooks/1/name", value: "hook-1.volpop.dev" },
      { op: "add", path: "/webhooks/1/clientConfig/caBundle", value: "TkVX" },
    ]);
  });

  it("is empty when every webhook trusts the CA already, or there are none", () => {
    expect(caBundlePatch(configuration("TkVX", "TkVX"), "TkVX")).toEqual([]);
    expect(caBundlePatch({ metadata: { name: "empty" } }, "TkVX")).toEqual([]);
  });
});
