/**
 * The admission webhook's decision, pure: an `AdmissionReview` in, an `AdmissionReview` out. The
 * answer always admits the PVC (`allowed: true`); a PVC whose `dataSourceRef` names a kind that no
 * `VolumePopulator` registers gets a warning, which `kubectl` prints as `Warning: …` at apply time.
 */
import { classifyDataSourceRef, type DataSourceClass, type DataSourceRef } from "../classify.ts";
import { unrecognizedMessage } from "../validate.ts";
import type { Registration } from "../volume-populator.ts";

/** The only `AdmissionReview` version the webhook speaks (its `admissionReviewVersions`). */
export const ADMISSION_REVIEW_API_VERSION = "admission.k8s.io/v1";

/**
 * The API server truncates longer warnings ("warnings over 256 characters … may be truncated");
 * the webhook shortens them itself so that the kind's closing quote is what goes, not the meaning.
 */
export const MAX_WARNING_LENGTH = 256;

/** The fields of an `admission.k8s.io/v1` `AdmissionRequest` the webhook reads. */
export interface AdmissionRequest {
  /** Echoed in the response; the API server matches the two by it. */
  readonly uid: string;
  readonly resource?: { readonly group?: string; readonly version?: string; readonly resource?: string };
  readonly subResource?: string;
  readonly operation?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** The PVC as it will be stored (`CREATE`, `UPDATE`). */
  readonly object?: unknown;
}

/** An `admission.k8s.io/v1` `AdmissionResponse` as the webhook writes it: always admitting. */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: true;
  /** Shown by kubectl as `Warning: …`; absent when there is nothing to say. */
  readonly warnings?: readonly string[];
}

/** An `AdmissionReview`: the API server sends `request`, the webhook answers with `response`. */
export interface AdmissionReview {
  readonly apiVersion: string;
  readonly kind: "AdmissionReview";
  readonly request?: AdmissionRequest;
  readonly response?: AdmissionResponse;
}

/**
 * What the webhook made of a request, for logs and the `result` label of its counter:
 * - a {@link DataSourceClass}: the PVC was checked (`invalid` is the one that is warned about);
 * - `unchecked`: the `VolumePopulator` cache is not complete yet, so nothing was said rather than
 *   something possibly wrong;
 * - `skipped`: not a PVC being created or updated (a rule broader than the webhook's own), or a PVC
 *   already being deleted.
 */
export type AdmissionResult = DataSourceClass | "unchecked" | "skipped";

/** Every {@link AdmissionResult}, in the order the metric exports them. */
export const ADMISSION_RESULTS: readonly AdmissionResult[] = [
  "empty",
  "pvc",
  "snapshot",
  "populator",
  "invalid",
  "unchecked",
  "skipped",
];

/** An `AdmissionReview` the webhook cannot answer: not JSON, not a review, or without a request uid. */
export class InvalidAdmissionReviewError extends Error {
  readonly code = "INVALID_ADMISSION_REVIEW";
}

/** The answer to one review, and what it was about. */
export interface AdmissionOutcome {
  readonly review: AdmissionReview;
  readonly result: AdmissionResult;
}

/**
 * Answers an `AdmissionReview` about a PVC. `registrations` are the `VolumePopulator`s known now,
 * or `undefined` while that list is incomplete. Throws {@link InvalidAdmissionReviewError} when
 * `body` is not an `AdmissionReview` with a request to answer.
 */
export function reviewPvcAdmission(
  body: unknown,
  registrations: readonly Registration[] | undefined,
): AdmissionOutcome {
  const request = admissionRequestOf(body);
  const admit = (result: AdmissionResult, warnings: readonly string[] = []): AdmissionOutcome => ({
    review: {
      apiVersion: ADMISSION_REVIEW_API_VERSION,
      kind: "AdmissionReview",
      response: { uid: request.uid, allowed: true, ...(warnings.length > 0 ? { warnings } : {}) },
    },
    result,
  });

  const pvc = pvcOf(request);
  if (pvc === undefined) return admit("skipped");
  if (registrations === undefined) return admit("unchecked");
  const ref = pvc.spec?.dataSourceRef;
  const result = classifyDataSourceRef(
    ref ?? undefined,
    registrations.map((r) => r.sourceKind),
  );
  return result === "invalid" ? admit(result, [admissionWarning(ref ?? undefined)]) : admit(result);
}

/** The warning for a PVC whose data source kind nobody registers: the event's text, at most 256 characters. */
export function admissionWarning(ref: DataSourceRef | undefined): string {
  const text = unrecognizedMessage(ref);
  return text.length <= MAX_WARNING_LENGTH ? text : `${text.slice(0, MAX_WARNING_LENGTH - 1)}…`;
}

interface PvcShape {
  readonly metadata?: { readonly deletionTimestamp?: unknown };
  readonly spec?: { readonly dataSourceRef?: DataSourceRef | null };
}

// The PVC a CREATE or UPDATE of `persistentvolumeclaims` (no subresource) carries; undefined for
// anything else, and for a PVC on its way out (finalizers being removed), which nobody should be
// warned about any more.
function pvcOf(request: AdmissionRequest): PvcShape | undefined {
  const { resource, operation } = request;
  if (resource?.resource !== "persistentvolumeclaims" || (resource.group ?? "") !== "") return undefined;
  if (request.subResource) return undefined;
  if (operation !== "CREATE" && operation !== "UPDATE") return undefined;
  const object = request.object as PvcShape | null | undefined;
  if (typeof object !== "object" || object === null) return undefined;
  if (object.metadata?.deletionTimestamp) return undefined;
  return object;
}

function admissionRequestOf(body: unknown): AdmissionRequest {
  if (typeof body !== "object" || body === null) {
    throw new InvalidAdmissionReviewError("the body is not a JSON object");
  }
  const review = body as { apiVersion?: unknown; kind?: unknown; request?: unknown };
  if (review.kind !== "AdmissionReview" || review.apiVersion !== ADMISSION_REVIEW_API_VERSION) {
    throw new InvalidAdmissionReviewError(
      `expected an ${ADMISSION_REVIEW_API_VERSION} AdmissionReview, got ${JSON.stringify(review.apiVersion)} ${JSON.stringify(review.kind)}`,
    );
  }
  const request = review.request as { uid?: unknown } | null | undefined;
  if (typeof request !== "object" || request === null || typeof request.uid !== "string" || !request.uid) {
    throw new InvalidAdmissionReviewError("the AdmissionReview has no request with a uid");
  }
  return request as AdmissionRequest;
}
