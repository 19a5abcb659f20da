/**
 * `@volpop/sdk/testing`: test doubles for populators, strategies and fast-path backends, never for
 * production code: a clock that moves only when told, builders of the objects a reconcile looks at
 * (`pvc()`, `pv()`, `pod()`, `observed()`...), and a fast-path backend that keeps operations in memory
 * (it and the fast-path fixtures load gRPC, as `@volpop/sdk/fastpath` does).
 *
 * @module @volpop/sdk/testing
 */
export { crdSpecSchema } from "./internal/crd-schema.ts";
export { FakeClock } from "./internal/fake-clock.ts";
export { FakeInformer } from "./internal/fake-informer.ts";
export {
  backendView,
  CSI_DRIVER,
  downBackend,
  FASTPATH_ENDPOINT,
  type FakePopulator,
  type FakeStrategy,
  FINALIZER,
  failedPod,
  fakePopulator,
  fakeStrategy,
  fillInput,
  type HelloSpec,
  NOW,
  type Overrides,
  observed,
  operationView,
  ourPvc,
  POPULATOR_NAMESPACE,
  PREFIX,
  PRIME_UID,
  PV_NAME,
  PVC_NAME,
  PVC_UID,
  pod,
  primePvc,
  pv,
  pvc,
  SOURCE_KIND,
  SOURCE_NAME,
  SOURCE_UID,
  STORAGE_CLASS,
  settings,
  source,
  sourceObject,
  storageClass,
  USER_NAMESPACE,
} from "./internal/fixtures.ts";
export { type BackendCall, MemoryBackend } from "./internal/memory-backend.ts";
