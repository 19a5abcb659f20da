import type { V1TypedObjectReference } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { admissionReview, pvc, ref, registration } from "../internal/fixtures.ts";
import {
  type AdmissionResult,
  admissionWarning,
  InvalidAdmissionReviewError,
  MAX_WARNING_LENGTH,
  reviewPvcAdmission,
} from "./admission.ts";

const registered = [registration("hello-populator", "hello.example.com", "Hello")];
const unknownWarning =
  'The datasource for this PVC does not match any registered VolumePopulator (apiGroup "nobody.example.com", kind "Thing")';

describe("reviewPvcAdmission", () => {
  it.each<[string, V1TypedObjectReference | undefined, AdmissionResult, string[] | undefined]>([
    ["a PVC naming a kind nobody registers", ref("nobody.example.com", "Thing"), "invalid", [unknownWarning]],
    ["a PVC of a registered kind", ref("hello.example.com", "Hello"), "populator", undefined],
    ["a PVC clone", ref("", "PersistentVolumeClaim"), "pvc", undefined],
    ["a PVC from a snapshot", ref("snapshot.storage.k8s.io", "VolumeSnapshot"), "snapshot", undefined],
    ["a PVC without a data source", undefined, "empty", undefined],
    [
      "a PVC of a registered kind under another group",
      ref("other.example.com", "Hello"),
      "invalid",
      [
        'The datasource for this PVC does not match any registered VolumePopulator (apiGroup "other.example.com", kind "Hello")',
      ],
    ],
  ])("admits %s, warning only about an unregistered kind", (_title, dataSourceRef, result, warnings) => {
    const outcome = reviewPvcAdmission(
      admissionReview(pvc("p", dataSourceRef ? { dataSourceRef } : {}), { uid: "uid-1" }),
      registered,
    );
    expect(outcome.result).toBe(result);
    expect(outcome.review).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "uid-1", allowed: true, ...(warnings ? { warnings } : {}) },
    });
  });

  it("warns on updates too, so that re-applying the PVC shows the warning again", () => {
    const body = admissionReview(pvc("p", { dataSourceRef: ref("nobody.example.com", "Thing") }), {
      operation: "UPDATE",
    });
    expect(reviewPvcAdmission(body, registered).review.response?.warnings).toEqual([unknownWarning]);
  });

  it("says nothing while the VolumePopulators are not listed yet, rather than warn wrongly", () => {
    const body = admissionReview(pvc("p", { dataSourceRef: ref("hello.example.com", "Hello") }));
    const outcome = reviewPvcAdmission(body, undefined);
    expect(outcome.result).toBe("unchecked");
    expect(outcome.review.response).toEqual({ uid: expect.any(String), allowed: true });
  });

  it.each<[string, unknown]>([
    [
      "a PVC being deleted",
      admissionReview(pvc("p", { deleting: true, dataSourceRef: ref("x.io", "X") }), { operation: "UPDATE" }),
    ],
    ["a DELETE", admissionReview(pvc("p", { dataSourceRef: ref("x.io", "X") }), { operation: "DELETE" })],
    [
      "the status subresource",
      admissionReview(pvc("p", { dataSourceRef: ref("x.io", "X") }), {
        operation: "UPDATE",
        subResource: "status",
      }),
    ],
    [
      "another resource",
      admissionReview(
        { metadata: { name: "c" }, spec: { dataSourceRef: ref("x.io", "X") } },
        {
          resource: { group: "apps", version: "v1", resource: "deployments" },
        },
      ),
    ],
    ["a request without an object", admissionReview(null)],
  ])("admits %s without looking", (_title, body) => {
    const outcome = reviewPvcAdmission(body, registered);
    expect(outcome.result).toBe("skipped");
    expect(outcome.review.response?.allowed).toBe(true);
    expect(outcome.review.response?.warnings).toBeUndefined();
  });

  it.each<[string, unknown, string]>([
    ["not an object", "hello", "not a JSON object"],
    ["another kind", { apiVersion: "admission.k8s.io/v1", kind: "Pod" }, 'got "admission.k8s.io/v1" "Pod"'],
    [
      "a v1beta1 review",
      { apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview" },
      "expected an admission.k8s.io/v1",
    ],
    [
      "a review without a request",
      { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" },
      "no request",
    ],
    [
      "a request without a uid",
      { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { operation: "CREATE" } },
      "no request with a uid",
    ],
  ])("refuses %s", (_title, body, message) => {
    expect(() => reviewPvcAdmission(body, registered)).toThrow(InvalidAdmissionReviewError);
    expect(() => reviewPvcAdmission(body, registered)).toThrow(message);
  });
});

describe("admissionWarning", () => {
  it("says what the event says", () => {
    expect(admissionWarning({ apiGroup: "nobody.example.com", kind: "Thing" })).toBe(unknownWarning);
    expect(admissionWarning({ kind: "ConfigMap" })).toBe(
      'The datasource for this PVC does not match any registered VolumePopulator (core apiGroup, kind "ConfigMap")',
    );
  });

  it("keeps within the 256 characters the API server passes on", () => {
    const warning = admissionWarning({ apiGroup: `${"a".repeat(300)}.example.com`, kind: "Thing" });
    expect(warning).toHaveLength(MAX_WARNING_LENGTH);
    expect(warning.endsWith("…")).toBe(true);
  });
});
