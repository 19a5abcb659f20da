/**
 * The optional admission webhook, assembled: it keeps a serving certificate in a Secret (see
 * `serving-secret.ts`), keeps the webhook configuration's `caBundle` pointing at its CA (see
 * `ca-bundle.ts`), and serves `AdmissionReview`s over HTTPS (see `server.ts`) with the decision of
 * `admission.ts`, against the `VolumePopulator`s the controller has cached.
 */
import { AdmissionregistrationV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { createLogger, type Logger, toVolpopError } from "@volpop/sdk";
import { type Clock, type HealthResult, systemClock } from "@volpop/sdk/runtime";
import { Counter, Registry } from "prom-client";
import { EVENT_COMPONENT } from "../events.ts";
import type { Registration } from "../volume-populator.ts";
import { ADMISSION_RESULTS, type AdmissionResult, reviewPvcAdmission } from "./admission.ts";
import { type CaBundleState, ensureCaBundle } from "./ca-bundle.ts";
import { type ServingCertificate, servingDnsNames } from "./certificates.ts";
import { startWebhookServer, type WebhookServer } from "./server.ts";
import { ensureServingCertificate } from "./serving-secret.ts";

/** Default name of the webhook's Service (`--webhook-service`). */
export const DEFAULT_WEBHOOK_SERVICE = "volume-data-source-validator-webhook";
/** Default name of the ValidatingWebhookConfiguration (`--webhook-configuration-name`). */
export const DEFAULT_WEBHOOK_CONFIGURATION = "volume-data-source-validator";
/** Default name of the Secret holding the certificate (`--webhook-secret`). */
export const DEFAULT_WEBHOOK_SECRET = "volume-data-source-validator-webhook-tls";
/** How often the Secret and the `caBundle` are checked again by default. */
export const DEFAULT_WEBHOOK_RESYNC_MS = 60_000;

/** The webhook's counter. */
export const ADMISSION_REVIEW_COUNT_NAME = "volume_data_source_validator_admission_review_count";

/**
 * Creates and registers {@link ADMISSION_REVIEW_COUNT_NAME} on `registry`, every result at 0 so that
 * `rate()` works before the first review. Also read by the docs site's metrics reference.
 */
export function admissionReviewCounter(registry: Registry): Counter<"result"> {
  const reviews = new Counter({
    name: ADMISSION_REVIEW_COUNT_NAME,
    help: "Admission requests answered by the webhook, by what the PVC's dataSourceRef names (invalid: warned)",
    labelNames: ["result"],
    registers: [registry],
  });
  for (const result of ADMISSION_RESULTS) reviews.inc({ result }, 0);
  return reviews;
}

/** Everything the webhook needs. */
export interface AdmissionWebhookConfig {
  /**
   * Cluster access. Needs get, create and update on the Secret `secretName` in `namespace`, and
   * get and patch on the ValidatingWebhookConfiguration `configurationName`.
   */
  readonly kubeConfig: KubeConfig;
  /** HTTPS port (`--webhook-port`); 0 picks a free one. */
  readonly port: number;
  /** Listen address. Default: every interface. */
  readonly host?: string;
  /** The Service the API server calls the webhook through (`--webhook-service`); names the certificate. */
  readonly service: string;
  /** Namespace of the Service and the Secret (`--webhook-namespace`). */
  readonly namespace: string;
  /** The ValidatingWebhookConfiguration whose `caBundle` is kept up to date (`--webhook-configuration-name`). */
  readonly configurationName: string;
  /** The `kubernetes.io/tls` Secret that holds the CA and serving certificate (`--webhook-secret`). */
  readonly secretName: string;
  /**
   * The registered `VolumePopulator`s, `undefined` while not known completely (then PVCs are
   * admitted without a word): the controller's `registrations`.
   */
  readonly registrations: () => readonly Registration[] | undefined;
  /**
   * How often the Secret and the `caBundle` are checked again: a certificate renewed by another
   * replica is picked up, one running out is renewed, a `caBundle` wiped by a re-applied manifest is
   * restored. Default 60 s. Failures are retried sooner, with backoff from 1 s.
   */
  readonly resyncPeriodMs?: number;
  /** Renew a certificate with less than this left. Default 30 days. */
  readonly renewBeforeMs?: number;
  /** Where the admission counter is registered. Default: a new registry. */
  readonly registry?: Registry;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

/** A running (or to be run) admission webhook; see {@link createAdmissionWebhook}. */
export interface AdmissionWebhook {
  /** `volume_data_source_validator_admission_review_count{result}`: admission requests answered, by result. */
  readonly reviews: Counter<"result">;
  /** Readiness: serving with a certificate from the Secret. */
  readyz(): HealthResult;
  /**
   * Gets the certificate, serves, and keeps certificate and `caBundle` current until `signal`
   * aborts; then stops serving and resolves. Failures are logged, shown by `readyz` and retried.
   */
  run(signal: AbortSignal): Promise<void>;
}

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

/** Creates the admission webhook; nothing happens until `run`. */
export function createAdmissionWebhook(config: AdmissionWebhookConfig): AdmissionWebhook {
  const logger = (config.logger ?? createLogger({ name: EVENT_COMPONENT, level: "info" })).child({
    component: "webhook",
  });
  const clock = config.clock ?? systemClock;
  const resyncPeriodMs = config.resyncPeriodMs ?? DEFAULT_WEBHOOK_RESYNC_MS;
  if (!(resyncPeriodMs > 0)) throw new RangeError(`resyncPeriodMs must be positive, not ${resyncPeriodMs}`);
  const core = config.kubeConfig.makeApiClient(CoreV1Api);
  const admission = config.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const dnsNames = servingDnsNames(config.service, config.namespace);
  const secret = `${config.namespace}/${config.secretName}`;

  const reviews = admissionReviewCounter(config.registry ?? new Registry());

  const review = (body: unknown) => {
    const outcome = reviewPvcAdmission(body, config.registrations());
    const result: AdmissionResult = outcome.result;
    reviews.inc({ result });
    const request = (body as { request?: { namespace?: string; name?: string; operation?: string } }).request;
    const fields = {
      namespace: request?.namespace,
      name: request?.name,
      operation: request?.operation,
      result,
    };
    if (result === "invalid") logger.info(fields, "warned about an unregistered data source kind");
    else if (result === "unchecked")
      logger.warn(fields, "admitted a PVC unchecked: VolumePopulators not listed yet");
    else logger.debug(fields, "admitted a PVC");
    return outcome;
  };

  let server: WebhookServer | undefined;
  let serving: ServingCertificate | undefined;
  let lastError: string | undefined;
  let caBundleState: CaBundleState | undefined;

  // One pass: the certificate from the Secret (renewed if need be), served; the caBundle set.
  async function sync(): Promise<void> {
    const { certificate } = await ensureServingCertificate({
      core,
      namespace: config.namespace,
      name: config.secretName,
      dnsNames,
      now: () => clock.now(),
      ...(config.renewBeforeMs === undefined ? {} : { renewBeforeMs: config.renewBeforeMs }),
      labels: {
        "app.kubernetes.io/name": EVENT_COMPONENT,
        "app.kubernetes.io/component": "webhook",
        "app.kubernetes.io/managed-by": EVENT_COMPONENT,
      },
      logger,
    });
    if (server === undefined) {
      server = await startWebhookServer({
        port: config.port,
        ...(config.host === undefined ? {} : { host: config.host }),
        tls: certificate,
        review,
        logger,
      });
    } else if (serving?.cert !== certificate.cert || serving.key !== certificate.key) {
      server.setCertificate(certificate);
      logger.info({ secret }, "serving the new certificate");
    }
    serving = certificate;
    const state = await ensureCaBundle(admission, config.configurationName, certificate.caCert);
    if (state !== caBundleState || state === "patched") {
      const configuration = config.configurationName;
      if (state === "missing") {
        logger.warn(
          { configuration },
          "no ValidatingWebhookConfiguration of that name: the API server will not call the webhook",
        );
      } else {
        logger.info(
          { configuration, caBundle: state },
          state === "patched" ? "set the webhook's caBundle" : "the webhook's caBundle is current",
        );
      }
    }
    caBundleState = state;
  }

  return {
    reviews,
    readyz: () => [
      server !== undefined
        ? { name: "webhook", ok: true }
        : { name: "webhook", ok: false, reason: lastError ?? "no serving certificate yet" },
    ],
    async run(signal) {
      logger.info(
        { port: config.port, dnsName: dnsNames[0], secret, configuration: config.configurationName },
        "starting the admission webhook",
      );
      let failures = 0;
      while (!signal.aborted) {
        try {
          await sync();
          failures = 0;
          lastError = undefined;
        } catch (error) {
          failures++;
          lastError = toVolpopError(error).message;
          logger.warn(
            { err: toVolpopError(error), failures },
            "setting up the admission webhook failed; retrying",
          );
        }
        const delay =
          failures === 0 ? resyncPeriodMs : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 1));
        await sleep(clock, Math.min(delay, resyncPeriodMs), signal);
      }
      await server?.close();
      server = undefined;
      logger.info("admission webhook stopped");
    },
  };
}

// Waits `ms` on `clock`, or less if `signal` aborts.
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clock.clearTimeout(timer);
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
