import {
  ApiException,
  type CoreV1Api,
  type CoreV1Event,
  type V1ConfigMap,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Secret,
} from "@kubernetes/client-node";
import { badInputCase, contained } from "@volpop/test-catalogue";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { TransientError } from "./errors.ts";
import { EventRecorder } from "./event-recorder.ts";
import { EventReason, REFUSED_BY_API_SERVER } from "./events.ts";
import { type ExecutorContext, execute, stepName } from "./executor.ts";
import { FakeClock } from "./internal/fake-clock.ts";
import {
  FASTPATH_ENDPOINT,
  NOW,
  ourPvc,
  POPULATOR_NAMESPACE,
  PREFIX,
  PRIME_UID,
  PVC_NAME,
  PVC_UID,
  pod,
  primePvc,
  USER_NAMESPACE,
} from "./internal/fixtures.ts";
import { createLogger } from "./logger.ts";
import { createPopulatorMetrics } from "./metrics.ts";
import {
  copiedObjectName,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  POPULATE_FOR_LABEL,
  populateProgressAnnotation,
  primePvcName,
  targetProtectionFinalizer,
} from "./names.ts";
import type { Step } from "./plan.ts";
import { FastPathOperations } from "./strategies/csi-fastpath/operations.ts";
import { FunctionRuntime } from "./strategies/function/runtime.ts";
import type { StrategyRuntime } from "./strategy.ts";

// Steps of the executor against a CoreV1Api that records what it is asked and keeps the Secrets and
// ConfigMaps it is given, answering as the API server does when one is missing or already there.

type Kind = "Secret" | "ConfigMap";

interface Write {
  readonly verb: "create" | "replace";
  readonly kind: Kind;
  readonly namespace: string;
  readonly body: V1Secret | V1ConfigMap;
}

interface Recorded {
  readonly patches: { name: string; namespace: string; body: unknown }[];
  readonly events: CoreV1Event[];
  /** Creates and replaces of Secrets and ConfigMaps, in order. */
  readonly writes: Write[];
  readonly performed: [unknown, string][];
  readonly registry: Registry;
  /** What `wrote` was told, as `kind resourceVersion`. */
  readonly wrote: string[];
}

interface SetupOptions {
  readonly runtime?: boolean;
  readonly strategyName?: string;
  /** Secrets and ConfigMaps the API server holds, each with its namespace. */
  readonly objects?: readonly StoredObject[];
  /** The user's PVC is gone: patches of it fail with NotFound. */
  readonly pvcGone?: boolean;
  /** What creating PVC' and the populator pod throws, as the API server (or the network) fails it. */
  readonly createFails?: { readonly primePvc?: unknown; readonly pod?: unknown };
}

type StoredObject = { readonly kind: Kind } & (V1Secret | V1ConfigMap);

function apiError(code: number, reason: string, message = reason): ApiException<unknown> {
  const body = { kind: "Status", apiVersion: "v1", status: "Failure", reason, code, message };
  return new ApiException(code, reason, body, {});
}

function setup(options: SetupOptions = {}): {
  context: ExecutorContext;
  recorded: Recorded;
} {
  const recorded: Recorded = {
    patches: [],
    events: [],
    writes: [],
    performed: [],
    registry: new Registry(),
    wrote: [],
  };
  const stored = new Map<string, V1Secret | V1ConfigMap>();
  const key = (kind: Kind, namespace: string, name: string | undefined) => `${kind} ${namespace}/${name}`;
  for (const { kind, ...object } of options.objects ?? []) {
    stored.set(key(kind, object.metadata?.namespace ?? "", object.metadata?.name), object);
  }
  const read = (kind: Kind) => async (request: { name: string; namespace: string }) => {
    const found = stored.get(key(kind, request.namespace, request.name));
    if (!found) throw apiError(404, "NotFound");
    return found;
  };
  const write =
    (verb: Write["verb"], kind: Kind) =>
    async (request: { namespace: string; body: V1Secret | V1ConfigMap }) => {
      const at = key(kind, request.namespace, request.body.metadata?.name);
      if (verb === "create" && stored.has(at)) throw apiError(409, "AlreadyExists");
      if (verb === "replace" && !stored.has(at)) throw apiError(404, "NotFound");
      stored.set(at, request.body);
      recorded.writes.push({ verb, kind, namespace: request.namespace, body: request.body });
      return request.body;
    };
  const core = {
    readNamespacedSecret: read("Secret"),
    readNamespacedConfigMap: read("ConfigMap"),
    createNamespacedSecret: write("create", "Secret"),
    createNamespacedConfigMap: write("create", "ConfigMap"),
    replaceNamespacedSecret: write("replace", "Secret"),
    replaceNamespacedConfigMap: write("replace", "ConfigMap"),
    patchNamespacedPersistentVolumeClaim: async (request: {
      name: string;
      namespace: string;
      body: unknown;
    }) => {
      if (options.pvcGone) throw apiError(404, "NotFound");
      recorded.patches.push({ name: request.name, namespace: request.namespace, body: request.body });
      return { metadata: { name: request.name, namespace: request.namespace, resourceVersion: "99" } };
    },
    createNamespacedPersistentVolumeClaim: async (request: { body: V1PersistentVolumeClaim }) => {
      if (options.createFails?.primePvc) throw options.createFails.primePvc;
      return { ...request.body, metadata: { ...request.body.metadata, resourceVersion: "100" } };
    },
    createNamespacedPod: async (request: { body: V1Pod }) => {
      if (options.createFails?.pod) throw options.createFails.pod;
      return { ...request.body, metadata: { ...request.body.metadata, resourceVersion: "101" } };
    },
    createNamespacedEvent: async (request: { body: CoreV1Event }) => {
      recorded.events.push(request.body);
      return request.body;
    },
  } as unknown as CoreV1Api;
  const logger = createLogger({ level: "silent", name: "test" });
  const runtime: StrategyRuntime = {
    start: async () => {},
    stop: async () => {},
    observe: () => ({ backends: [], operation: undefined }),
    perform: async (step, uid) => {
      recorded.performed.push([step, uid]);
    },
    health: () => [],
  };
  return {
    recorded,
    context: {
      core,
      events: new EventRecorder({
        core,
        component: "test",
        instance: "test-1",
        clock: new FakeClock(NOW),
        logger,
      }),
      metrics: createPopulatorMetrics(recorded.registry, { processMetrics: false }),
      prefix: PREFIX,
      namespace: POPULATOR_NAMESPACE,
      strategyName: options.strategyName ?? "csi-fastpath",
      ...(options.runtime === false ? {} : { runtime }),
      wrote: (kind, object) => recorded.wrote.push(`${kind} ${object.metadata?.resourceVersion}`),
    },
  };
}

const run = (steps: Step[], context: ExecutorContext) => execute(steps, ourPvc(), context);

describe("execute: finalizer and progress of the user's PVC", () => {
  const progressKey = populateProgressAnnotation(PREFIX);
  const finalizer = targetProtectionFinalizer(PREFIX);

  it("adds the finalizer and the progress in one patch that names only our finalizer and no resourceVersion", async () => {
    const { context, recorded } = setup();
    const fresh = ourPvc({ metadata: { finalizers: ["kubernetes.io/pvc-protection"] } });
    await execute(
      [{ kind: "addFinalizer" }, { kind: "setProgress", progress: "populating" }],
      fresh,
      context,
    );
    expect(recorded.patches).toEqual([
      {
        name: PVC_NAME,
        namespace: USER_NAMESPACE,
        body: { metadata: { finalizers: [finalizer], annotations: { [progressKey]: "populating" } } },
      },
    ]);
    expect(recorded.wrote).toEqual(["PersistentVolumeClaim 99"]);
  });

  it("removes the finalizer as a list item together with the last progress, after the steps before them", async () => {
    const { context, recorded } = setup();
    await execute(
      [
        { kind: "event", type: "Normal", reason: EventReason.Finished, message: "done" },
        { kind: "setProgress", progress: "complete" },
        { kind: "removeFinalizer" },
      ],
      ourPvc(),
      context,
    );
    expect(recorded.events.map((e) => e.reason)).toEqual([EventReason.Finished]);
    expect(recorded.patches.map((p) => p.body)).toEqual([
      {
        metadata: {
          annotations: { [progressKey]: "complete" },
          "$deleteFromPrimitiveList/finalizers": [finalizer],
        },
      },
    ]);
  });

  it("sends no patch for a progress the PVC already shows", async () => {
    const { context, recorded } = setup();
    const shown = ourPvc({ metadata: { annotations: { [progressKey]: "populating" } } });
    await execute([{ kind: "setProgress", progress: "populating" }], shown, context);
    expect(recorded.patches).toEqual([]);
  });

  it("ignores a PVC deleted meanwhile when only removing, but stops the plan when the finalizer cannot be added", async () => {
    const { context, recorded } = setup({ pvcGone: true });
    await execute(
      [{ kind: "setProgress", progress: "complete" }, { kind: "removeFinalizer" }],
      ourPvc(),
      context,
    );
    await expect(
      execute(
        [{ kind: "addFinalizer" }, { kind: "event", type: "Normal", reason: "Next", message: "never sent" }],
        ourPvc(),
        context,
      ),
    ).rejects.toMatchObject({ code: 404 });
    expect(recorded.events).toEqual([]);
  });
});

describe("execute: annotatePrimePvc", () => {
  it("tells the controller of its write, so that the next reconcile sees the decision or count it holds", async () => {
    const { context, recorded } = setup();
    await run(
      [{ kind: "annotatePrimePvc", annotations: { "hello.example.com/populate-attempts": "1" } }],
      context,
    );
    expect(recorded.patches).toEqual([
      {
        name: primePvcName(PVC_UID),
        namespace: POPULATOR_NAMESPACE,
        body: { metadata: { annotations: { "hello.example.com/populate-attempts": "1" } } },
      },
    ]);
    expect(recorded.wrote).toEqual(["PersistentVolumeClaim 99"]);
  });
});

describe("execute: runtime steps", () => {
  const populate: Step = { kind: "runtime", action: { kind: "populate", endpoint: FASTPATH_ENDPOINT } };
  const cancel: Step = { kind: "runtime", action: { kind: "cancel", endpoint: FASTPATH_ENDPOINT } };

  it("hands each action to the strategy runtime with the user's PVC uid, in order, and writes nothing itself", async () => {
    const { context, recorded } = setup();
    await run([populate, cancel], context);
    expect(recorded.performed).toEqual([
      [{ kind: "populate", endpoint: FASTPATH_ENDPOINT }, PVC_UID],
      [{ kind: "cancel", endpoint: FASTPATH_ENDPOINT }, PVC_UID],
    ]);
    expect(recorded.patches).toEqual([]);
    expect(recorded.events).toEqual([]);
  });

  it("fails a runtime step when the strategy has no runtime", async () => {
    const { context } = setup({ runtime: false });
    await expect(run([populate], context)).rejects.toThrow("a runtime step needs the strategy's runtime");
  });
});

describe("stepName: what failpoints call a step", () => {
  const unnamed: StrategyRuntime = {
    start: async () => {},
    stop: async () => {},
    observe: () => undefined,
    perform: async () => {},
    health: () => [],
  };
  const fastPath = new FastPathOperations({ backends: [] });
  const functions = new FunctionRuntime({ populate: async () => {} });
  const runtimeStep = (action: unknown): Step => ({ kind: "runtime", action });

  it.each<[string, Step, StrategyRuntime<unknown, never> | undefined, string]>([
    ["a step by its kind", { kind: "rebindPv", pvName: "pv-1" }, fastPath, "rebindPv"],
    [
      "a fast-path backend call by its action",
      runtimeStep({ kind: "populate", endpoint: FASTPATH_ENDPOINT }),
      fastPath,
      "runtime:populate",
    ],
    [
      "the fast path's cancel apart from its populate",
      runtimeStep({ kind: "cancel", endpoint: FASTPATH_ENDPOINT }),
      fastPath,
      "runtime:cancel",
    ],
    [
      "a function strategy's clean-up by its action",
      runtimeStep({ kind: "cleanup", population: {} }),
      functions,
      "runtime:cleanup",
    ],
    [
      "a runtime step plainly when its runtime names no actions",
      runtimeStep({ kind: "populate" }),
      unnamed,
      "runtime",
    ],
    [
      "a runtime step plainly when there is no runtime",
      runtimeStep({ kind: "populate" }),
      undefined,
      "runtime",
    ],
  ])("names %s", (_, step, runtime, expected) => {
    expect(stepName(step, runtime)).toBe(expected);
  });
});

describe("execute: finishOperation", () => {
  it.each<[string, Step, string]>([
    [
      "counts the population for the strategy that filled it",
      { kind: "finishOperation", result: "success", strategy: "pod" },
      'volpop_population_strategy_total{strategy="pod",outcome="success"} 1',
    ],
    [
      "counts it for the configured strategy when the step names none",
      { kind: "finishOperation", result: "failed" },
      'volpop_population_strategy_total{strategy="csi-fastpath",outcome="failed"} 1',
    ],
  ])("%s", async (_, step, counted) => {
    const { context, recorded } = setup();
    await run([{ kind: "startOperation" }, step], context);
    expect(await recorded.registry.metrics()).toContain(counted);
  });

  it("counts nothing for an operation that was not in flight (a second finish)", async () => {
    const { context, recorded } = setup();
    await run([{ kind: "finishOperation", result: "success", strategy: "pod" }], context);
    expect(await recorded.registry.metrics()).not.toContain(
      'volpop_population_strategy_total{strategy="pod"',
    );
  });
});

describe("execute: copyObject", () => {
  const COPY_NAME = copiedObjectName(PVC_UID, 0);
  /** What every copy carries: who manages it, whose population it serves, and PVC' as its owner. */
  const copyMetadata = {
    name: COPY_NAME,
    namespace: POPULATOR_NAMESPACE,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [POPULATE_FOR_LABEL]: PVC_UID },
    ownerReferences: [
      { apiVersion: "v1", kind: "PersistentVolumeClaim", name: primePvcName(PVC_UID), uid: PRIME_UID },
    ],
  };

  function copyStep(kind: Kind, name: string, secretTypes?: readonly string[]): Step {
    return {
      kind: "copyObject",
      object: { kind, namespace: USER_NAMESPACE, name, ...(secretTypes ? { secretTypes } : {}) },
      copyName: COPY_NAME,
      ownerUid: PRIME_UID,
    };
  }

  /** The user's Secret `apps/registry-creds`, with labels and annotations a copy must not take over. */
  function secret(data: Record<string, string> = { ".dockerconfigjson": "e30=" }): StoredObject {
    return {
      kind: "Secret",
      metadata: {
        name: "registry-creds",
        namespace: USER_NAMESPACE,
        labels: { team: "a" },
        annotations: { note: "mine" },
        resourceVersion: "41",
      },
      type: "kubernetes.io/dockerconfigjson",
      data,
    };
  }

  /** The user's ConfigMap `apps/registry-ca`, with text and binary data. */
  function configMap(
    data: Record<string, string> = { "ca.crt": "-----BEGIN CERTIFICATE-----" },
  ): StoredObject {
    return {
      kind: "ConfigMap",
      metadata: {
        name: "registry-ca",
        namespace: USER_NAMESPACE,
        labels: { team: "a" },
        resourceVersion: "7",
      },
      data,
      binaryData: { "extra.der": "AAEC" },
    };
  }

  it.each<[string, StoredObject, V1Secret | V1ConfigMap]>([
    [
      "copies a Secret with its type and data, labelled for volpop and owned by PVC'",
      secret(),
      {
        metadata: copyMetadata,
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": "e30=" },
      },
    ],
    [
      "copies a ConfigMap with its data and binaryData, labelled for volpop and owned by PVC'",
      configMap(),
      {
        metadata: copyMetadata,
        data: { "ca.crt": "-----BEGIN CERTIFICATE-----" },
        binaryData: { "extra.der": "AAEC" },
      },
    ],
  ])("%s", async (_, original, body) => {
    const { context, recorded } = setup({ objects: [original] });
    await run([copyStep(original.kind, original.metadata?.name ?? "")], context);
    expect(recorded.writes).toStrictEqual([
      { verb: "create", kind: original.kind, namespace: POPULATOR_NAMESPACE, body },
    ]);
    expect(recorded.events).toEqual([]);
  });

  it.each<[Kind, StoredObject, StoredObject]>([
    ["Secret", secret({ ".dockerconfigjson": "bmV3" }), secret()],
    ["ConfigMap", configMap({ "ca.crt": "new" }), configMap()],
  ])(
    "replaces a %s copy an earlier attempt left with the original's current contents",
    async (kind, original, stale) => {
      const leftOver: StoredObject = { ...stale, metadata: { ...copyMetadata, resourceVersion: "3" } };
      const { context, recorded } = setup({ objects: [original, leftOver] });
      await run([copyStep(kind, original.metadata?.name ?? "")], context);
      expect(recorded.writes).toMatchObject([
        {
          verb: "replace",
          kind,
          namespace: POPULATOR_NAMESPACE,
          body: { metadata: copyMetadata, data: original.data },
        },
      ]);
    },
  );

  badInputCase.each<[Kind, string]>([
    ["Secret", "registry-creds"],
    ["ConfigMap", "registry-ca"],
  ])(
    {
      id: "sdk-source-object-missing",
      component: "sdk",
      input:
        "a source naming a pull Secret or CA ConfigMap its namespace does not hold (one of another namespace)",
      expected:
        "Warning PopulatorDataSourceNotFound: Secret apps/registry-creds named by the data source not found; retried",
      checks: ["nothing-created"],
    },
    async ([kind, name]) => {
      const { context, recorded } = setup();
      const failure = run([copyStep(kind, name)], context);
      await expect(failure).rejects.toBeInstanceOf(TransientError);
      await expect(failure).rejects.toThrow(`${kind} ${USER_NAMESPACE}/${name}`);
      expect(recorded.events).toMatchObject([
        {
          type: "Warning",
          reason: EventReason.DataSourceNotFound,
          message: expect.stringContaining(`${kind} ${USER_NAMESPACE}/${name} named by the data source`),
          involvedObject: { kind: "PersistentVolumeClaim", namespace: USER_NAMESPACE, name: PVC_NAME },
        },
      ]);
      contained("nothing-created", () => expect(recorded.writes).toEqual([]));
    },
  );

  badInputCase(
    {
      id: "sdk-secret-forbidden-type",
      component: "sdk",
      input:
        "a source naming a kubernetes.io/tls Secret (a private key) where only pull secrets may be copied",
      expected:
        "Warning PopulatorDataSourceInvalid: Secret … is of type kubernetes.io/tls; only kubernetes.io/dockerconfigjson can be used",
      checks: ["nothing-created"],
    },
    async () => {
      const tls: StoredObject = { ...secret(), type: "kubernetes.io/tls", data: { "tls.key": "a2V5" } };
      const { context, recorded } = setup({ objects: [tls] });
      const failure = run(
        [copyStep("Secret", "registry-creds", ["kubernetes.io/dockerconfigjson"])],
        context,
      );
      await expect(failure).rejects.toBeInstanceOf(TransientError);
      expect(recorded.events).toMatchObject([
        {
          type: "Warning",
          reason: EventReason.DataSourceInvalid,
          message: `Secret ${USER_NAMESPACE}/registry-creds named by the data source is of type kubernetes.io/tls; only kubernetes.io/dockerconfigjson can be used`,
        },
      ]);
      contained("nothing-created", () => expect(recorded.writes).toEqual([]));
    },
  );

  it("copies a Secret of an allowed type", async () => {
    const { context, recorded } = setup({ objects: [secret()] });
    await run([copyStep("Secret", "registry-creds", ["kubernetes.io/dockerconfigjson"])], context);
    expect(recorded.writes).toMatchObject([{ verb: "create", kind: "Secret" }]);
  });
});

describe("execute: creates the API server refuses", () => {
  const quotaMessage = `persistentvolumeclaims "${primePvcName(PVC_UID)}" is forbidden: exceeded quota: no-room, requested: persistentvolumeclaims=1, used: persistentvolumeclaims=0, limited: persistentvolumeclaims=0`;
  const podSecurityMessage = `pods "populate-${PVC_UID}" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true (pod or container "populate" must set securityContext.runAsNonRoot=true)`;
  const createPrimePvc: Step = { kind: "createPrimePvc", pvc: primePvc() };
  const createPod: Step = {
    kind: "createPod",
    pod: pod(),
    announce: { reason: EventReason.Created, message: "never sent" },
  };

  it.each<[string, Step, NonNullable<SetupOptions["createFails"]>, string, string]>([
    [
      "says on the user's PVC that a quota refused PVC', in the API server's words",
      createPrimePvc,
      { primePvc: apiError(403, "Forbidden", quotaMessage) },
      EventReason.PvcPrimeCreationError,
      `PVC' ${POPULATOR_NAMESPACE}/${primePvcName(PVC_UID)} not created: ${REFUSED_BY_API_SERVER}: Kubernetes API 403 Forbidden: ${quotaMessage}`,
    ],
    [
      "says on the user's PVC that Pod Security admission refused the populator pod, in its words",
      createPod,
      { pod: apiError(403, "Forbidden", podSecurityMessage) },
      EventReason.CreationError,
      `Populator pod ${POPULATOR_NAMESPACE}/populate-${PVC_UID} not created: ${REFUSED_BY_API_SERVER}: Kubernetes API 403 Forbidden: ${podSecurityMessage}`,
    ],
    [
      "says so too when an admission webhook fails the create (a 500 from the API server)",
      createPod,
      {
        pod: apiError(
          500,
          "InternalError",
          'failed calling webhook "policy.example.com": connection refused',
        ),
      },
      EventReason.CreationError,
      `Populator pod ${POPULATOR_NAMESPACE}/populate-${PVC_UID} not created: ${REFUSED_BY_API_SERVER}: Kubernetes API 500 InternalError: failed calling webhook "policy.example.com": connection refused`,
    ],
  ])(
    "%s, and still fails the plan for the controller to retry",
    async (_, step, createFails, reason, message) => {
      const { context, recorded } = setup({ createFails });
      const thrown = createFails.primePvc ?? createFails.pod;
      await expect(run([step, { kind: "startOperation" }], context)).rejects.toBe(thrown);
      expect(recorded.events).toMatchObject([
        {
          type: "Warning",
          reason,
          message,
          involvedObject: {
            kind: "PersistentVolumeClaim",
            namespace: USER_NAMESPACE,
            name: PVC_NAME,
            uid: PVC_UID,
          },
        },
      ]);
      expect(recorded.wrote).toEqual([]);
    },
  );

  it.each([
    [429, "TooManyRequests", "the API server is busy: too many requests"],
    [409, "Conflict", "Operation cannot be fulfilled: the object has been modified"],
    [500, "InternalError", "etcdserver: request timed out"],
    [503, "ServiceUnavailable", "the server is currently unable to handle the request"],
    [504, "Timeout", "the server was unable to return a response in the time allotted"],
  ])("records nothing for a passing %d %s, which the controller retries", async (status, reason, text) => {
    const passing = apiError(status, reason, text);
    const { context, recorded } = setup({ createFails: { primePvc: passing } });
    await expect(run([createPrimePvc], context)).rejects.toBe(passing);
    expect(recorded.events).toEqual([]);
  });

  it("records nothing for a create that never reached the API server, which the controller retries", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:6443"), { code: "ECONNREFUSED" });
    const { context, recorded } = setup({ createFails: { primePvc: refused } });
    await expect(run([createPrimePvc], context)).rejects.toBe(refused);
    expect(recorded.events).toEqual([]);
  });

  it("takes PVC' or the pod an earlier reconcile created as created: no event, no error, no announcement", async () => {
    const { context, recorded } = setup({
      createFails: { primePvc: apiError(409, "AlreadyExists"), pod: apiError(409, "AlreadyExists") },
    });
    await run([createPrimePvc, createPod], context);
    expect(recorded.events).toEqual([]);
  });

  it("announces the pod it created, and reports nothing else", async () => {
    const { context, recorded } = setup();
    await run([createPrimePvc, createPod], context);
    expect(recorded.events.map((e) => [e.type, e.reason])).toEqual([["Normal", EventReason.Created]]);
    expect(recorded.wrote).toEqual(["PersistentVolumeClaim 100", "Pod 101"]);
  });
});
