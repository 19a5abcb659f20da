/**
 * The generated project's manifests: a kustomize base (deploy/) and a Helm chart (chart/) made from
 * the same object templates, the chart's names, namespace and image being Helm expressions where the
 * base has literals.
 */
import { lines, PROJECT_VERSION, type TemplateContext } from "./context.ts";
import { crdYaml } from "./spec.ts";

/** What differs between the kustomize base and the chart. */
interface Target {
  /** Name of every object (and the `app` label). */
  readonly name: string;
  readonly namespace: string;
  /** The container image. */
  readonly image: string;
  /** The controller's `--image-name` (populator pods run the same image). */
  readonly imageName: string;
  /** `imagePullPolicy`'s value. */
  readonly pullPolicy: string;
  /** Lines put under the controller's args (Helm: extra args from values). */
  readonly extraArgs: readonly string[];
  /** The hostPath of the storage's volumes (function, fast path). */
  readonly volumesHostPath: string;
  /** The backend's CSI driver name (fast path). */
  readonly driverName: string;
}

/** Where the CSI hostpath driver keeps its volumes by default: the example storage's folder. */
const HOSTPATH_DRIVER_STATE_DIR = "/var/lib/csi-hostpath-data";

function kustomizeTarget(ctx: TemplateContext): Target {
  return {
    name: ctx.name,
    namespace: ctx.name,
    image: ctx.image,
    // Kubernetes expands $(VAR) from the container's env; deploy/kustomization.yaml copies the
    // container's image into that env var, so both follow the `images:` entry.
    imageName: "$(POPULATOR_IMAGE)",
    pullPolicy: "IfNotPresent",
    extraArgs: [],
    volumesHostPath: HOSTPATH_DRIVER_STATE_DIR,
    driverName: "hostpath.csi.k8s.io",
  };
}

function chartTarget(): Target {
  const image = '"{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"';
  return {
    name: "{{ .Release.Name }}",
    namespace: "{{ .Release.Namespace }}",
    image,
    imageName: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}",
    pullPolicy: "{{ .Values.image.pullPolicy }}",
    extraArgs: [
      "            - --namespace={{ .Release.Namespace }}",
      "            {{- range .Values.extraArgs }}",
      "            - {{ . | quote }}",
      "            {{- end }}",
    ],
    volumesHostPath: "{{ .Values.storage.hostPath }}",
    driverName: "{{ .Values.backend.driverName }}",
  };
}

/** A container's resources and hardening: no privilege, no capability, a read-only root. */
const HARDENED_CONTAINER = [
  "          resources:",
  "            requests: { cpu: 10m, memory: 64Mi }",
  "            limits: { memory: 256Mi }",
  "          securityContext:",
  "            allowPrivilegeEscalation: false",
  "            readOnlyRootFilesystem: true",
  "            capabilities:",
  "              drop: [ALL]",
];

/** An object's first lines: its apiVersion, kind and name, and its namespace when it has one. */
function head(apiVersion: string, kind: string, name: string, namespace?: string): string[] {
  return [
    `apiVersion: ${apiVersion}`,
    `kind: ${kind}`,
    "metadata:",
    `  name: ${name}`,
    ...(namespace === undefined ? [] : [`  namespace: ${namespace}`]),
  ];
}

/** A binding's subject and role: the controller's ServiceAccount, given `role`. */
function binding(kind: "ClusterRole" | "Role", role: string, t: Target): string[] {
  return [
    "subjects:",
    "  - kind: ServiceAccount",
    `    name: ${t.name}`,
    `    namespace: ${t.namespace}`,
    "roleRef:",
    `  kind: ${kind}`,
    `  name: ${role}`,
    "  apiGroup: rbac.authorization.k8s.io",
  ];
}

/** A Deployment's or DaemonSet's head down to its pod spec, its pods labelled `app: <name>`. */
function workloadHead(kind: "Deployment" | "DaemonSet", name: string, t: Target): string[] {
  return [
    ...head("apps/v1", kind, name, t.namespace),
    "spec:",
    ...(kind === "Deployment" ? ["  replicas: 1"] : []),
    "  selector:",
    "    matchLabels:",
    `      app: ${name}`,
    "  template:",
    "    metadata:",
    "      labels:",
    `        app: ${name}`,
    "    spec:",
  ];
}

function socketDir(ctx: TemplateContext): string {
  return `/run/${ctx.name}`;
}

/** Runs with hostPath volumes (the storage's folder, the backend's socket), which baseline forbids. */
function usesHostPaths(ctx: TemplateContext): boolean {
  return ctx.strategy !== "pod";
}

function namespaceYaml(ctx: TemplateContext, t: Target): string {
  const level = usesHostPaths(ctx) ? "privileged" : ctx.filesystem ? "restricted" : "baseline";
  const why = usesHostPaths(ctx)
    ? "# privileged: the controller mounts hostPath volumes (the storage's folder or the backend's socket),\n    # which baseline forbids; none of its containers runs privileged or escalates."
    : ctx.filesystem
      ? "# The controller and the populator pods (Filesystem volumes) pass the restricted level."
      : "# Populator pods write Block volumes as root (a raw device belongs to root), which restricted\n    # forbids: hence baseline.";
  return lines(
    ...head("v1", "Namespace", t.namespace),
    "  labels:",
    `    ${why}`,
    `    pod-security.kubernetes.io/enforce: ${level}`,
    "    pod-security.kubernetes.io/warn: restricted",
  );
}

function rbacYaml(ctx: TemplateContext, t: Target): string {
  return lines(
    ...head("v1", "ServiceAccount", t.name, t.namespace),
    "---",
    "# Cluster-wide, only what a population needs outside the controller's namespace: read PVCs, PVs,",
    "# StorageClasses and the source kind; patch the user's PVC (finalizer, progress) and the PV (the",
    "# hand-over); events on the user's PVC; ReferenceGrants; registering its VolumePopulator.",
    ...head("rbac.authorization.k8s.io/v1", "ClusterRole", t.name),
    "rules:",
    '  - apiGroups: [""]',
    "    resources: [persistentvolumes]",
    "    verbs: [get, list, watch, patch]",
    '  - apiGroups: [""]',
    "    resources: [persistentvolumeclaims]",
    "    verbs: [get, list, watch, patch]",
    '  - apiGroups: [""]',
    "    resources: [events]",
    "    verbs: [create]",
    "  - apiGroups: [storage.k8s.io]",
    "    resources: [storageclasses]",
    "    verbs: [get, list, watch]",
    `  - apiGroups: [${ctx.group}]`,
    `    resources: [${ctx.plural}]`,
    "    verbs: [get, list, watch]",
    "  - apiGroups: [gateway.networking.k8s.io]",
    "    resources: [referencegrants]",
    "    verbs: [list]",
    "  - apiGroups: [populator.storage.k8s.io]",
    "    resources: [volumepopulators]",
    "    verbs: [list, create]",
    "---",
    ...head("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", t.name),
    ...binding("ClusterRole", t.name, t),
    "---",
    "# In the controller's namespace only, where PVC' and the populator pods live: PVC' create/delete,",
    "# the pods and their logs (progress), PVC' events (repeated on the user's PVC), the Lease.",
    ...head("rbac.authorization.k8s.io/v1", "Role", t.name, t.namespace),
    "rules:",
    '  - apiGroups: [""]',
    "    resources: [persistentvolumeclaims]",
    "    verbs: [create, delete]",
    '  - apiGroups: [""]',
    "    resources: [pods]",
    "    verbs: [get, list, watch, create, delete]",
    '  - apiGroups: [""]',
    "    resources: [pods/log]",
    "    verbs: [get]",
    '  - apiGroups: [""]',
    "    resources: [events]",
    "    verbs: [list, watch]",
    "  - apiGroups: [coordination.k8s.io]",
    "    resources: [leases]",
    "    verbs: [get, create, update]",
    "---",
    ...head("rbac.authorization.k8s.io/v1", "RoleBinding", t.name, t.namespace),
    ...binding("Role", t.name, t),
  );
}

function deploymentYaml(ctx: TemplateContext, t: Target): string {
  const root = usesHostPaths(ctx);
  const securityContext = root
    ? [
        "      securityContext:",
        ctx.strategy === "fastpath"
          ? "        # Root, to open the backend's socket (0600, root's). No capability, no escalation, read-only root."
          : "        # Root, to write into the storage's volumes (root's). No capability, no escalation, read-only root.",
        "        runAsUser: 0",
        "        runAsGroup: 0",
      ]
    : [
        "      securityContext:",
        "        runAsNonRoot: true",
        "        runAsUser: 65532",
        "        runAsGroup: 65532",
      ];
  const args = [
    "            - --mode=controller",
    ctx.strategy !== "function" && `            - --image-name=${t.imageName}`,
    "            - --http-endpoint=:8080",
    ctx.strategy === "fastpath" && `            - --fastpath-endpoint=unix://${socketDir(ctx)}/backend.sock`,
    ctx.strategy === "fastpath" && "            - --fastpath-fallback=pod",
    ...t.extraArgs,
  ];
  const mount =
    ctx.strategy === "fastpath"
      ? { name: "backend-socket", path: socketDir(ctx), hostPath: socketDir(ctx), type: "DirectoryOrCreate" }
      : ctx.strategy === "function"
        ? { name: "volumes", path: "/volumes", hostPath: t.volumesHostPath, type: "Directory" }
        : undefined;
  return lines(
    ...workloadHead("Deployment", t.name, t),
    `      serviceAccountName: ${t.name}`,
    ctx.strategy === "function" &&
      "      # The example storage is node-local: the controller reaches the volumes of its own node only.",
    ...securityContext,
    "        seccompProfile:",
    "          type: RuntimeDefault",
    "      containers:",
    "        - name: populator",
    `          image: ${t.image}`,
    `          imagePullPolicy: ${t.pullPolicy}`,
    "          args:",
    ...args.filter((a): a is string => typeof a === "string"),
    ctx.strategy !== "function" && "          env:",
    ctx.strategy !== "function" && "            - name: POPULATOR_IMAGE",
    ctx.strategy !== "function" && `              value: ${t.image}`,
    "          ports:",
    "            - name: http",
    "              containerPort: 8080",
    "          livenessProbe:",
    "            httpGet: { path: /healthz, port: http }",
    "          readinessProbe:",
    "            httpGet: { path: /readyz, port: http }",
    ...HARDENED_CONTAINER,
    mount && "          volumeMounts:",
    mount && `            - name: ${mount.name}`,
    mount && `              mountPath: ${mount.path}`,
    mount && "      volumes:",
    mount && `        - name: ${mount.name}`,
    mount && "          hostPath:",
    mount && `            path: ${mount.hostPath}`,
    mount && `            type: ${mount.type}`,
  );
}

function daemonsetYaml(ctx: TemplateContext, t: Target): string {
  return lines(
    "# The fast-path backend, one per node: fills the new volumes of its node in the storage (src/backend.ts),",
    "# serving the protocol on a unix socket only root on the node can open.",
    ...workloadHead("DaemonSet", `${t.name}-backend`, t),
    "      automountServiceAccountToken: false",
    "      tolerations:",
    "        - operator: Exists",
    "          effect: NoSchedule",
    "      securityContext:",
    "        # Root, to write into the storage's volumes (root's). No capability, no escalation, read-only root.",
    "        runAsUser: 0",
    "        runAsGroup: 0",
    "        seccompProfile:",
    "          type: RuntimeDefault",
    "      containers:",
    "        - name: backend",
    `          image: ${t.image}`,
    `          imagePullPolicy: ${t.pullPolicy}`,
    "          args:",
    "            - backend",
    `            - --endpoint=unix://${socketDir(ctx)}/backend.sock`,
    `            - --driver-name=${t.driverName}`,
    "          env:",
    "            - name: NODE_NAME",
    "              valueFrom:",
    "                fieldRef:",
    "                  fieldPath: spec.nodeName",
    ...HARDENED_CONTAINER,
    "          volumeMounts:",
    "            - name: volumes",
    "              mountPath: /volumes",
    "            - name: backend-socket",
    `              mountPath: ${socketDir(ctx)}`,
    "      volumes:",
    "        # Where the CSI driver keeps its volumes on the node (the hostpath driver's default here).",
    "        - name: volumes",
    "          hostPath:",
    `            path: ${t.volumesHostPath}`,
    "            type: Directory",
    "        - name: backend-socket",
    "          hostPath:",
    `            path: ${socketDir(ctx)}`,
    "            type: DirectoryOrCreate",
  );
}

function volumePopulatorYaml(ctx: TemplateContext, t: Target): string {
  return lines(
    `# Registers ${ctx.kind} with the data-source validator (the controller also does it when it may).`,
    ...head("populator.storage.k8s.io/v1beta1", "VolumePopulator", t.name),
    "sourceKind:",
    `  group: ${ctx.group}`,
    `  kind: ${ctx.kind}`,
  );
}

/** deploy/: the kustomize base. */
export function kustomizeBase(ctx: TemplateContext): Record<string, string> {
  const t = kustomizeTarget(ctx);
  const resources = [
    "namespace.yaml",
    "crd.yaml",
    "rbac.yaml",
    "deployment.yaml",
    ctx.strategy === "fastpath" && "daemonset.yaml",
    "volume-populator.yaml",
  ].filter((r): r is string => typeof r === "string");
  const replacement = [
    "# --image-name (the populator pods' image) follows the container's image.",
    "replacements:",
    "  - source:",
    "      kind: Deployment",
    `      name: ${ctx.name}`,
    "      fieldPath: spec.template.spec.containers.[name=populator].image",
    "    targets:",
    "      - select:",
    "          kind: Deployment",
    `          name: ${ctx.name}`,
    "        fieldPaths:",
    "          - spec.template.spec.containers.[name=populator].env.[name=POPULATOR_IMAGE].value",
  ];
  return {
    "deploy/kustomization.yaml": lines(
      `# kubectl apply -k deploy  (once the image is pushed: set it under images, below). The VolumePopulator`,
      "# kind comes with the data-source validator, which is installed first.",
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      "resources:",
      ...resources.map((r) => `  - ${r}`),
      "images:",
      `  - name: ${ctx.name}`,
      `    newName: ${ctx.name}`,
      `    newTag: ${PROJECT_VERSION}`,
      ...(ctx.strategy === "function" ? [] : replacement),
    ),
    "deploy/namespace.yaml": namespaceYaml(ctx, t),
    "deploy/crd.yaml": crdYaml(ctx),
    "deploy/rbac.yaml": rbacYaml(ctx, t),
    "deploy/deployment.yaml": deploymentYaml(ctx, t),
    ...(ctx.strategy === "fastpath" ? { "deploy/daemonset.yaml": daemonsetYaml(ctx, t) } : {}),
    "deploy/volume-populator.yaml": volumePopulatorYaml(ctx, t),
  };
}

/** chart/: the Helm chart, the same objects as deploy/ (the namespace is Helm's, the CRD in crds/). */
export function helmChart(ctx: TemplateContext): Record<string, string> {
  const t = chartTarget();
  return {
    "chart/Chart.yaml": lines(
      "apiVersion: v2",
      `name: ${ctx.name}`,
      `description: Volume populator for ${ctx.kind} (${ctx.group}), on @volpop/sdk`,
      "type: application",
      `version: ${PROJECT_VERSION}`,
      `appVersion: ${JSON.stringify(PROJECT_VERSION)}`,
    ),
    "chart/values.yaml": lines(
      "image:",
      "  # Where `npm run image:push` put the image.",
      `  repository: ${ctx.name}`,
      "  # Default: the chart's appVersion.",
      '  tag: ""',
      "  pullPolicy: IfNotPresent",
      "# More controller flags, e.g. [--workers=4].",
      "extraArgs: []",
      "# Registers the source kind with the data-source validator (its CRD must be installed).",
      "volumePopulator:",
      "  create: true",
      ...(ctx.strategy === "pod"
        ? []
        : [
            "storage:",
            "  # Where the CSI driver keeps its volumes on the nodes.",
            `  hostPath: ${HOSTPATH_DRIVER_STATE_DIR}`,
          ]),
      ...(ctx.strategy === "fastpath" ? ["backend:", "  driverName: hostpath.csi.k8s.io"] : []),
    ),
    [`chart/crds/${ctx.plural}.yaml`]: crdYaml(ctx),
    "chart/templates/rbac.yaml": rbacYaml(ctx, t),
    "chart/templates/deployment.yaml": deploymentYaml(ctx, t),
    ...(ctx.strategy === "fastpath" ? { "chart/templates/daemonset.yaml": daemonsetYaml(ctx, t) } : {}),
    "chart/templates/volume-populator.yaml": lines(
      "{{- if .Values.volumePopulator.create }}",
      volumePopulatorYaml(ctx, t).trimEnd(),
      "{{- end }}",
    ),
  };
}
