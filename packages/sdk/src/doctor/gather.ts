/**
 * Reads what `volpop doctor` judges from the API server, read-only, into a snapshot: every read that
 * fails is kept as `unreadable` (with why) rather than stopping the rest. Only reaching the API
 * server at all is required ({@link DoctorConnectionError} otherwise). docs/troubleshooting.md lists
 * the rights this needs; docs/doctor-rbac.yaml grants them.
 */
import {
  ApisApi,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  type KubeConfig,
  StorageV1Api,
  type V1PersistentVolumeClaim,
  type V1Pod,
  VersionApi,
} from "@kubernetes/client-node";
import { isNotFound, toVolpopError, VolpopError } from "../errors.ts";
import { populatorPodName, primePvcName, SELECTED_NODE_ANNOTATION } from "../names.ts";
import type { SourceObject } from "../observed.ts";
import { sourceNamespace } from "../reconcile.ts";
import type { ReferenceGrant } from "../reference-grant.ts";
import { withSignal } from "../request-signal.ts";
import {
  bestLease,
  byTime,
  eventComponent,
  isBuiltInDataSource,
  podNamesOf,
  prefixOnPvc,
} from "./kube-facts.ts";
import type {
  ClusterSnapshot,
  ControllerFacts,
  PopulationFacts,
  PopulatorNamespace,
  PvcSnapshot,
  Read,
  ServedKind,
  ServerFacts,
  ValidatorFacts,
  VolumePopulatorObject,
} from "./snapshot.ts";

/** The API server cannot be reached, or refuses doctor what it must read (the PVC itself). */
export class DoctorConnectionError extends VolpopError {
  override name = "DoctorConnectionError";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super("CONNECTION", message, options);
  }
}

/** What doctor may be told beyond the kubeconfig. */
export interface GatherOptions {
  /** The populator's prefix, when it is not its source kind's API group (`--prefix`). */
  readonly prefix?: string | undefined;
  /** Namespace of PVC' and populator pods, when doctor cannot find it (`--populator-namespace`). */
  readonly populatorNamespace?: string | undefined;
  /** Cancels every request (a deadline, Ctrl-C); what was not read by then is `unreadable`. */
  readonly signal?: AbortSignal | undefined;
  /** Time source (tests). Default: `Date.now`. */
  readonly now?: () => number;
}

const VOLUME_POPULATORS = {
  group: "populator.storage.k8s.io",
  version: "v1beta1",
  plural: "volumepopulators",
};
const REFERENCE_GRANTS = {
  group: "gateway.networking.k8s.io",
  version: "v1beta1",
  plural: "referencegrants",
};
/** The data-source validator's Deployment, ours and upstream's. */
const VALIDATOR_NAME = "volume-data-source-validator";

type Clients = ReturnType<typeof clients>;

function clients(kubeConfig: KubeConfig, signal: AbortSignal | undefined) {
  return {
    kubeConfig,
    /** Every call's options: they cancel it when the signal aborts. */
    options: signal ? withSignal(signal) : undefined,
    core: kubeConfig.makeApiClient(CoreV1Api),
    storage: kubeConfig.makeApiClient(StorageV1Api),
    coordination: kubeConfig.makeApiClient(CoordinationV1Api),
    custom: kubeConfig.makeApiClient(CustomObjectsApi),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    apis: kubeConfig.makeApiClient(ApisApi),
    version: kubeConfig.makeApiClient(VersionApi),
  };
}

/** One read: 404 is `absent`, any other failure `unreadable`, said in one line. */
async function read<T>(what: string, call: () => Promise<T>): Promise<Read<T>> {
  try {
    return { state: "found", value: await call() };
  } catch (error) {
    if (isNotFound(error)) return { state: "absent" };
    const message = toVolpopError(error).message;
    return {
      state: "unreadable",
      what,
      reason: message.length > 300 ? `${message.slice(0, 300)}…` : message,
    };
  }
}

/** The API server's version; the first call, so it also proves the connection. */
async function serverFacts(api: Clients): Promise<ServerFacts> {
  try {
    const info = await api.version.getCode({}, api.options);
    return {
      version: info.gitVersion,
      major: Number.parseInt(info.major, 10) || 1,
      minor: Number.parseInt(info.minor, 10) || 0,
    };
  } catch (error) {
    const server = api.kubeConfig.getCurrentCluster()?.server ?? "(no server in the kubeconfig)";
    throw new DoctorConnectionError(
      `cannot reach the API server at ${server}: ${toVolpopError(error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** Reads everything `doctor pvc` judges about PVC `namespace/name`. */
export async function gatherPvcSnapshot(
  kubeConfig: KubeConfig,
  target: { readonly namespace: string; readonly name: string },
  options: GatherOptions = {},
): Promise<PvcSnapshot> {
  const api = clients(kubeConfig, options.signal);
  const server = await serverFacts(api);
  const { namespace, name } = target;
  const pvcRead = await read(`PersistentVolumeClaim ${namespace}/${name}`, () =>
    api.core.readNamespacedPersistentVolumeClaim({ name, namespace }, api.options),
  );
  if (pvcRead.state === "unreadable") {
    // Nothing to diagnose without the PVC itself: like a connection refused, not a finding.
    throw new DoctorConnectionError(`cannot read ${pvcRead.what}: ${pvcRead.reason}`);
  }
  const now = (options.now ?? Date.now)();
  const none = { state: "found", value: [] } as const;
  if (pvcRead.state !== "found") {
    return { now, namespace, name, server, pvc: pvcRead, pvcEvents: none, quotas: none };
  }
  const pvc = pvcRead.value;
  const className = pvc.spec?.storageClassName;
  const volumeName = pvc.status?.phase === "Bound" ? pvc.spec?.volumeName : undefined;
  const [storageClass, pvcEvents, quotas, volume] = await Promise.all([
    className
      ? read(`StorageClass ${className}`, () =>
          api.storage.readStorageClass({ name: className }, api.options),
        )
      : undefined,
    eventsOf(api, namespace, "PersistentVolumeClaim", name, pvc.metadata?.uid),
    read(
      `ResourceQuotas in ${namespace}`,
      async () => (await api.core.listNamespacedResourceQuota({ namespace }, api.options)).items,
    ),
    volumeName
      ? read(`PersistentVolume ${volumeName}`, () =>
          api.core.readPersistentVolume({ name: volumeName }, api.options),
        )
      : undefined,
  ]);
  const waitsForConsumer =
    storageClass?.state === "found" &&
    storageClass.value.volumeBindingMode === "WaitForFirstConsumer" &&
    !pvc.metadata?.annotations?.[SELECTED_NODE_ANNOTATION];
  const consumers = waitsForConsumer
    ? await read(`Pods in ${namespace}`, async () =>
        (await api.core.listNamespacedPod({ namespace }, api.options)).items.filter((pod) =>
          pod.spec?.volumes?.some((v) => v.persistentVolumeClaim?.claimName === name),
        ),
      )
    : undefined;
  const ref = pvc.spec?.dataSourceRef;
  const populating = ref && !isBuiltInDataSource(ref) && !volumeName && !pvc.metadata?.deletionTimestamp;
  const population = populating ? await gatherPopulation(api, pvc, pvcEvents, options, now) : undefined;
  return {
    now,
    namespace,
    name,
    server,
    pvc: pvcRead,
    pvcEvents,
    quotas,
    ...(volume ? { volume } : {}),
    ...(storageClass ? { storageClass } : {}),
    ...(consumers ? { consumers } : {}),
    ...(population ? { population } : {}),
  };
}

async function gatherPopulation(
  api: Clients,
  pvc: V1PersistentVolumeClaim,
  pvcEvents: Read<readonly CoreV1Event[]>,
  options: GatherOptions,
  now: number,
): Promise<PopulationFacts> {
  const ref = pvc.spec?.dataSourceRef ?? { kind: "", name: "" };
  const group = ref.apiGroup ?? "";
  const sourceNs = sourceNamespace(pvc);
  const uid = pvc.metadata?.uid ?? "";
  const onPvc = prefixOnPvc(pvc);
  const prefix = options.prefix ?? onPvc?.prefix ?? group;
  const prefixFrom = options.prefix ? "flag" : (onPvc?.from ?? "group");
  const discovery = new Discovery(api);
  const [sourceKind, volumePopulators, leases, referenceGrants] = await Promise.all([
    discovery.servedKind(group, ref.kind),
    listVolumePopulators(api),
    leasesOf(api, prefix),
    sourceNs !== pvc.metadata?.namespace
      ? read(`ReferenceGrants in ${sourceNs}`, async () => {
          const list = (await api.custom.listNamespacedCustomObject(
            { ...REFERENCE_GRANTS, namespace: sourceNs },
            api.options,
          )) as {
            items?: ReferenceGrant[];
          };
          return list.items ?? [];
        })
      : undefined,
  ]);
  const source =
    sourceKind.state === "found"
      ? await read<SourceObject>(`${ref.kind} ${sourceNs}/${ref.name}`, async () =>
          sourceKind.value.namespaced
            ? ((await api.custom.getNamespacedCustomObject(
                {
                  group,
                  version: sourceKind.value.version,
                  plural: sourceKind.value.plural,
                  namespace: sourceNs,
                  name: ref.name,
                },
                api.options,
              )) as SourceObject)
            : ((await api.custom.getClusterCustomObject(
                {
                  group,
                  version: sourceKind.value.version,
                  plural: sourceKind.value.plural,
                  name: ref.name,
                },
                api.options,
              )) as SourceObject),
        )
      : undefined;
  const lease = leases.state === "found" ? bestLease(leases.value, now) : undefined;
  // Where PVC' lives: said on the command line, else wherever a PVC of its name is, else the
  // Lease's namespace (which defaults to the populator's).
  const known = options.populatorNamespace ?? lease?.namespace;
  const [primePvc, pod] = await Promise.all([
    findByName(
      `PersistentVolumeClaim ${primePvcName(uid)}`,
      options.populatorNamespace,
      known,
      (namespace, fieldSelector) =>
        namespace
          ? api.core.listNamespacedPersistentVolumeClaim({ namespace, fieldSelector }, api.options)
          : api.core.listPersistentVolumeClaimForAllNamespaces({ fieldSelector }, api.options),
    ),
    findByName(
      `Pod ${populatorPodName(uid)}`,
      options.populatorNamespace,
      known,
      (namespace, fieldSelector) =>
        namespace
          ? api.core.listNamespacedPod({ namespace, fieldSelector }, api.options)
          : api.core.listPodForAllNamespaces({ fieldSelector }, api.options),
    ),
  ]);
  const populatorNamespace = whereTheyLive(options, primePvc, pod, lease?.namespace);
  const prime = primePvc.state === "found" ? primePvc.value : undefined;
  const populatorPod = pod.state === "found" ? pod.value : undefined;
  const primeVolume = prime?.spec?.volumeName;
  const populatorEvents =
    pvcEvents.state === "found"
      ? byTime(pvcEvents.value.filter((e) => eventComponent(e) === `${prefix}-populator`))
      : [];
  const identity = lease?.holder || populatorEvents.at(-1)?.reportingInstance;
  const [primePv, populatorQuotas, primePvcEvents, podEvents, controllerPod, populatorNs] = await Promise.all(
    [
      primeVolume
        ? read(`PersistentVolume ${primeVolume}`, () =>
            api.core.readPersistentVolume({ name: primeVolume }, api.options),
          )
        : undefined,
      populatorNamespace
        ? read(
            `ResourceQuotas in ${populatorNamespace.name}`,
            async () =>
              (
                await api.core.listNamespacedResourceQuota(
                  { namespace: populatorNamespace.name },
                  api.options,
                )
              ).items,
          )
        : undefined,
      eventsAbout(api, "PersistentVolumeClaim", prime),
      eventsAbout(api, "Pod", populatorPod),
      identity ? podOf(api, identity, lease?.namespace) : undefined,
      populatorNamespace
        ? read(`Namespace ${populatorNamespace.name}`, () =>
            api.core.readNamespace({ name: populatorNamespace.name }, api.options),
          )
        : undefined,
    ],
  );
  const populatorNamespaceLabels =
    populatorNs?.state === "found" ? populatorNs.value.metadata?.labels : undefined;
  const controller: ControllerFacts = {
    prefix,
    prefixFrom,
    leases,
    ...(identity && controllerPod ? { pod: { identity, pod: controllerPod } } : {}),
  };
  return {
    sourceKind,
    source,
    volumePopulators,
    ...(referenceGrants ? { referenceGrants } : {}),
    controller,
    populatorNamespace,
    ...(populatorNamespaceLabels ? { populatorNamespaceLabels } : {}),
    primePvc,
    ...(primePv ? { primePv } : {}),
    pod,
    ...(populatorQuotas ? { populatorQuotas } : {}),
    primePvcEvents,
    podEvents,
  };
}

function whereTheyLive(
  options: GatherOptions,
  primePvc: Read<{ metadata?: { namespace?: string } }>,
  pod: Read<{ metadata?: { namespace?: string } }>,
  leaseNamespace: string | undefined,
): PopulatorNamespace | undefined {
  if (options.populatorNamespace) return { name: options.populatorNamespace, from: "flag" };
  const primeNs = primePvc.state === "found" ? primePvc.value.metadata?.namespace : undefined;
  if (primeNs) return { name: primeNs, from: "prime-pvc" };
  const podNs = pod.state === "found" ? pod.value.metadata?.namespace : undefined;
  if (podNs) return { name: podNs, from: "pod" };
  return leaseNamespace ? { name: leaseNamespace, from: "lease" } : undefined;
}

/**
 * The object named `name` (the part after the kind in `what`): in `namespace` when given, else in
 * any namespace; when the cluster-wide list is not allowed, in `fallback`.
 */
async function findByName<T>(
  what: string,
  namespace: string | undefined,
  fallback: string | undefined,
  list: (namespace: string | undefined, fieldSelector: string) => Promise<{ items: T[] }>,
): Promise<Read<T>> {
  const name = what.slice(what.indexOf(" ") + 1);
  const fieldSelector = `metadata.name=${name}`;
  const first = (items: T[]): Read<T> =>
    items[0] === undefined ? { state: "absent" } : { state: "found", value: items[0] };
  const everywhere = await read(`${what} ${namespace ? `in ${namespace}` : "in any namespace"}`, async () =>
    first((await list(namespace, fieldSelector)).items),
  );
  const result = everywhere.state === "found" ? everywhere.value : everywhere;
  if (result.state !== "unreadable" || namespace || !fallback) return result;
  const there = await read(`${what} in ${fallback}`, async () =>
    first((await list(fallback, fieldSelector)).items),
  );
  return there.state === "found" ? there.value : there;
}

/** Events about an object that may not exist (none then). */
function eventsAbout(
  api: Clients,
  kind: string,
  object: { metadata?: { namespace?: string; name?: string; uid?: string } } | undefined,
): Promise<Read<readonly CoreV1Event[]>> {
  const { namespace, name, uid } = object?.metadata ?? {};
  return namespace && name
    ? eventsOf(api, namespace, kind, name, uid)
    : Promise.resolve({ state: "found", value: [] });
}

/** Events about one object, oldest first; only those of this uid when it is known. */
function eventsOf(
  api: Clients,
  namespace: string,
  kind: string,
  name: string,
  uid: string | undefined,
): Promise<Read<readonly CoreV1Event[]>> {
  return read(`Events of ${kind} ${namespace}/${name}`, async () => {
    const list = await api.core.listNamespacedEvent(
      {
        namespace,
        fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}`,
      },
      api.options,
    );
    return byTime(list.items.filter((e) => !uid || !e.involvedObject?.uid || e.involvedObject.uid === uid));
  });
}

function leasesOf(api: Clients, prefix: string) {
  const name = `${prefix}-populator`;
  return read(
    `Leases named ${name}`,
    async () =>
      (
        await api.coordination.listLeaseForAllNamespaces(
          { fieldSelector: `metadata.name=${name}` },
          api.options,
        )
      ).items,
  );
}

function listVolumePopulators(api: Clients): Promise<Read<readonly VolumePopulatorObject[]>> {
  return read("VolumePopulators", async () => {
    const list = (await api.custom.listClusterCustomObject(VOLUME_POPULATORS, api.options)) as {
      items?: VolumePopulatorObject[];
    };
    return list.items ?? [];
  });
}

/**
 * The pod behind a controller's identity (`<host name>-<pid>` for volpop's): in `namespace` if it
 * is there, else anywhere.
 */
async function podOf(api: Clients, identity: string, namespace: string | undefined): Promise<Read<V1Pod>> {
  for (const candidate of podNamesOf(identity)) {
    const found = await read(
      `Pod ${candidate} in any namespace`,
      async () =>
        (await api.core.listPodForAllNamespaces({ fieldSelector: `metadata.name=${candidate}` }, api.options))
          .items,
    );
    if (found.state === "unreadable") return found;
    if (found.state !== "found") continue;
    const pod = found.value.find((p) => p.metadata?.namespace === namespace) ?? found.value[0];
    if (pod) return { state: "found", value: pod };
  }
  return { state: "absent" };
}

/** Which kinds the API serves, from discovery (`/apis`), read once. */
class Discovery {
  readonly #api: Clients;
  #groups: Promise<Read<Map<string, string[]>>> | undefined;

  constructor(api: Clients) {
    this.#api = api;
  }

  /** The kind's version and plural; absent when the API does not serve it. */
  async servedKind(group: string, kind: string): Promise<Read<ServedKind>> {
    if (group === "") {
      return read("the core API's kinds", async () => {
        const resource = (await this.#api.core.getAPIResources({}, this.#api.options)).resources.find(
          (r) => r.kind === kind && !r.name.includes("/"),
        );
        if (!resource) throw notFound();
        return { version: "v1", plural: resource.name, namespaced: resource.namespaced };
      });
    }
    this.#groups ??= read("API groups", async () => {
      const list = await this.#api.apis.getAPIVersions({}, this.#api.options);
      return new Map(
        list.groups.map((g) => [
          g.name,
          [g.preferredVersion?.version, ...g.versions.map((v) => v.version)].filter((v): v is string => !!v),
        ]),
      );
    });
    const groups = await this.#groups;
    if (groups.state !== "found") return groups.state === "absent" ? { state: "absent" } : groups;
    const versions = [...new Set(groups.value.get(group) ?? [])];
    for (const version of versions) {
      const resources = await read(`API resources of ${group}/${version}`, () =>
        this.#api.custom.getAPIResources({ group, version }, this.#api.options),
      );
      if (resources.state === "unreadable") return resources;
      const resource =
        resources.state === "found"
          ? resources.value.resources.find((r) => r.kind === kind && !r.name.includes("/"))
          : undefined;
      if (resource)
        return { state: "found", value: { version, plural: resource.name, namespaced: resource.namespaced } };
    }
    return { state: "absent" };
  }
}

// Read as a 404 by `read`.
function notFound(): Error {
  return Object.assign(new Error("not served"), {
    code: 404,
    body: { reason: "NotFound", message: "not served" },
  });
}

/** Reads everything `doctor cluster` judges. */
export async function gatherClusterSnapshot(
  kubeConfig: KubeConfig,
  options: GatherOptions = {},
): Promise<ClusterSnapshot> {
  const api = clients(kubeConfig, options.signal);
  const server = await serverFacts(api);
  const now = (options.now ?? Date.now)();
  const [volumePopulators, validators, populatedPvcs] = await Promise.all([
    listVolumePopulators(api),
    read("Deployments named volume-data-source-validator", async () => {
      const list = await api.apps.listDeploymentForAllNamespaces(
        { fieldSelector: `metadata.name=${VALIDATOR_NAME}` },
        api.options,
      );
      return Promise.all(
        list.items.map(async (deployment): Promise<ValidatorFacts> => {
          const namespace = deployment.metadata?.namespace ?? "";
          const labels = deployment.spec?.selector.matchLabels ?? {};
          const labelSelector = Object.entries(labels)
            .map(([key, value]) => `${key}=${value}`)
            .join(",");
          const pods = await read(
            `Pods of Deployment ${namespace}/${VALIDATOR_NAME}`,
            async () => (await api.core.listNamespacedPod({ namespace, labelSelector }, api.options)).items,
          );
          return { deployment, pods };
        }),
      );
    }),
    read("PersistentVolumeClaims in every namespace", async () =>
      (await api.core.listPersistentVolumeClaimForAllNamespaces({}, api.options)).items.filter((pvc) => {
        const ref = pvc.spec?.dataSourceRef;
        return ref !== undefined && !isBuiltInDataSource(ref);
      }),
    ),
  ]);
  const discovery = new Discovery(api);
  const registered = volumePopulators.state === "found" ? volumePopulators.value : [];
  const populators = await Promise.all(
    registered.map(async (registration) => {
      const group = registration.sourceKind?.group ?? "";
      const kind = registration.sourceKind?.kind ?? "";
      // volpop populators use their kind's group as prefix; others may differ (doctor cannot know).
      const prefix = options.prefix ?? group;
      const [sourceKind, leases, events] = await Promise.all([
        discovery.servedKind(group, kind),
        leasesOf(api, prefix),
        read(`Events from ${prefix}-populator`, async () =>
          byTime(
            (
              await api.core.listEventForAllNamespaces(
                { fieldSelector: `source=${prefix}-populator` },
                api.options,
              )
            ).items,
          ),
        ),
      ]);
      const lease = leases.state === "found" ? bestLease(leases.value, now) : undefined;
      const identity =
        lease?.holder || (events.state === "found" ? events.value.at(-1)?.reportingInstance : undefined);
      const pod = identity ? await podOf(api, identity, lease?.namespace) : undefined;
      return {
        name: registration.metadata?.name ?? "",
        group,
        kind,
        sourceKind,
        controller: {
          prefix,
          prefixFrom: options.prefix ? "flag" : "group",
          leases,
          events,
          ...(identity && pod ? { pod: { identity, pod } } : {}),
        } satisfies ControllerFacts,
      };
    }),
  );
  return { now, server, volumePopulators, validators, populators, populatedPvcs };
}
