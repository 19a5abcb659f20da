import { CustomObjectsApi } from "@kubernetes/client-node";
import { createLogger, type PopulationSettings } from "@volpop/sdk";
import { createPopulatorController, type PopulatorController } from "@volpop/sdk/runtime";
import { Registry } from "prom-client";
import {
  installTestSourceCrd,
  TEST_GROUP,
  type TestSourceSpec,
  testPopulator,
} from "../../support/test-populator.ts";
import { createTestNamespace, type Kube } from "./kube.ts";

/** A test populator controller running inside the test process, against the real cluster. */
export interface RunningController {
  readonly controller: PopulatorController;
  readonly registry: Registry;
  stop(): Promise<void>;
}

export async function startController(
  api: Kube,
  namespace: string,
  settings: Partial<Omit<PopulationSettings, "namespace" | "imageName">> = {},
  identity = "e2e",
): Promise<RunningController> {
  const registry = new Registry();
  const controller = createPopulatorController({
    populator: testPopulator(),
    kubeConfig: api.config,
    namespace,
    settings,
    registry,
    identity,
    logger: createLogger({
      name: `e2e-${identity}`,
      level: (process.env.VOLPOP_E2E_LOG_LEVEL as "info") ?? "silent",
    }),
  });
  const abort = new AbortController();
  const running = controller.run(abort.signal);
  return {
    controller,
    registry,
    async stop() {
      abort.abort();
      await running;
    },
  };
}

/** The CRD and a namespace for PVC' and populator pods. */
export async function preparePopulator(api: Kube): Promise<string> {
  await installTestSourceCrd(api.config);
  return createTestNamespace(api, "populator");
}

/** A TestSource of `group` (default: the usual test populator's). */
export async function createTestSource(
  api: Kube,
  namespace: string,
  name: string,
  spec: TestSourceSpec,
  group = TEST_GROUP,
): Promise<void> {
  await api.config.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group,
    version: "v1alpha1",
    namespace,
    plural: "testsources",
    body: { apiVersion: `${group}/v1alpha1`, kind: "TestSource", metadata: { name }, spec },
  });
}

export function testSourceRef(name: string, group = TEST_GROUP) {
  return { apiGroup: group, kind: "TestSource", name };
}
