export {
  classifyDataSourceRef,
  type DataSourceClass,
  type DataSourceRef,
  type SourceKind,
} from "./classify.ts";
export {
  PROGRAM_NAME,
  parseValidatorArgs,
  usageText,
  type ValidatorCliOptions,
  type ValidatorCliResult,
  type ValidatorLeaderElection,
  type ValidatorWebhookOptions,
} from "./cli.ts";
export {
  addValidator,
  createValidatorController,
  DEFAULT_RESYNC_PERIOD_MS,
  DEFAULT_WORKER_THREADS,
  type ValidatorController,
  type ValidatorControllerConfig,
  type ValidatorHandle,
  type ValidatorOptions,
  volumePopulatorKeyMapper,
} from "./controller.ts";
export {
  type ApiEventRecorderOptions,
  apiEventRecorder,
  EVENT_COMPONENT,
  EventReason,
  type RecordEvent,
} from "./events.ts";
export {
  createValidatorMetrics,
  OPERATION_COUNT_NAME,
  OPERATION_RESULTS,
  type OperationResult,
  type ValidatorMetrics,
} from "./metrics.ts";
export {
  createPvcReconciler,
  type PvcReconciler,
  type PvcReconcilerOptions,
  pvcKey,
  pvcKeysReferring,
} from "./reconciler.ts";
export { podNamespace, type RunValidatorOptions, runValidator } from "./run.ts";
export {
  isWaiting,
  type PvcValidation,
  UNRECOGNIZED_MESSAGE,
  unrecognizedMessage,
  type ValidatorEvent,
  validatePvc,
} from "./validate.ts";
export { VERSION } from "./version.ts";
export {
  formatSourceKind,
  type Registration,
  registrationOf,
  sameSourceKind,
  VOLUME_POPULATOR_GROUP,
  VOLUME_POPULATOR_KIND,
  VOLUME_POPULATOR_PLURAL,
  VOLUME_POPULATOR_VERSION,
  type VolumePopulator,
} from "./volume-populator.ts";
export {
  ADMISSION_RESULTS,
  ADMISSION_REVIEW_API_VERSION,
  type AdmissionOutcome,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionResult,
  type AdmissionReview,
  admissionWarning,
  InvalidAdmissionReviewError,
  MAX_WARNING_LENGTH,
  reviewPvcAdmission,
} from "./webhook/admission.ts";
export {
  type CaBundleState,
  caBundlePatch,
  ensureCaBundle,
  type JsonPatchOperation,
} from "./webhook/ca-bundle.ts";
export {
  CA_VALIDITY_MS,
  type CertificateDecision,
  type CertificateRequirements,
  decideCertificate,
  type IssueOptions,
  issueCertificate,
  RENEW_BEFORE_MS,
  SERVING_VALIDITY_MS,
  type ServingCertificate,
  servingDnsNames,
} from "./webhook/certificates.ts";
export {
  startWebhookServer,
  type TlsKeyPair,
  WEBHOOK_PATH,
  type WebhookServer,
  type WebhookServerOptions,
} from "./webhook/server.ts";
export {
  certificateFromSecret,
  type EnsuredCertificate,
  ensureServingCertificate,
  SECRET_KEYS,
  type ServingSecretOptions,
  secretData,
} from "./webhook/serving-secret.ts";
export {
  ADMISSION_REVIEW_COUNT_NAME,
  type AdmissionWebhook,
  type AdmissionWebhookConfig,
  createAdmissionWebhook,
  DEFAULT_WEBHOOK_CONFIGURATION,
  DEFAULT_WEBHOOK_RESYNC_MS,
  DEFAULT_WEBHOOK_SECRET,
  DEFAULT_WEBHOOK_SERVICE,
} from "./webhook/webhook.ts";
