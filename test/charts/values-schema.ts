#!/usr/bin/env node
/**
 * The values.schema.json of every chart in charts/, written from one definition: the settings all
 * four charts share (image, replicas and leader election, the controller's pod, metrics) are defined
 * once here, each chart adds its own. Helm checks values against the schema before it renders, so a
 * wrong type, a misspelt key or `replicas: 0` fails with the key's path.
 *
 * Regenerate after a change: `node test/charts/values-schema.ts`; values-schema.test.ts fails while a
 * chart's file differs from what this writes.
 */
import fs from "node:fs";
import path from "node:path";

type Schema = Readonly<Record<string, unknown>>;

const string = (description: string, extra: Schema = {}): Schema => ({
  type: "string",
  description,
  ...extra,
});
const boolean = (description: string): Schema => ({ type: "boolean", description });
const integer = (description: string, minimum: number, maximum?: number): Schema => ({
  type: "integer",
  description,
  minimum,
  ...(maximum === undefined ? {} : { maximum }),
});
const stringMap = (description: string): Schema => ({
  type: "object",
  description,
  additionalProperties: { type: "string" },
});
const anyObject = (description: string): Schema => ({ type: "object", description });
const objectList = (description: string): Schema => ({
  type: "array",
  description,
  items: { type: "object" },
});
/** An object whose every property is listed and required: a misspelt key is an error, not a no-op. */
const object = (description: string, properties: Record<string, Schema>): Schema => ({
  type: "object",
  description,
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});

// Go's time.ParseDuration syntax, which the SDK's flag library reads (e.g. 15s, 1h30m); empty: the default.
const GO_DURATION = "^(([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)?$";
const duration = (description: string) =>
  string(`${description} (Go duration, e.g. 15s; empty: the default)`, { pattern: GO_DURATION });
const port = (description: string) => integer(description, 1, 65535);
const absolutePath = (description: string) => string(description, { pattern: "^/" });
// host or host:port, as image references name registries.
const HOST = "^[A-Za-z0-9.-]+(:[0-9]{1,5})?$";
const hosts = (description: string) => ({
  type: "array",
  description,
  items: { type: "string", pattern: HOST },
});

/** What every chart takes. */
function commonProperties(imageRepository: string): Record<string, Schema> {
  return {
    image: object("The controller's image", {
      repository: string(`Image repository, e.g. ${imageRepository}`, { minLength: 1 }),
      tag: string("Image tag; empty: the chart's appVersion"),
      digest: string("sha256:<64 hex>, pinning the image (the tag is then ignored); empty: none", {
        pattern: "^(sha256:[a-f0-9]{64})?$",
      }),
      pullPolicy: {
        type: "string",
        description: "imagePullPolicy",
        enum: ["Always", "IfNotPresent", "Never"],
      },
    }),
    imagePullSecrets: {
      type: "array",
      description: "Secrets of the release namespace to pull the image with",
      items: object("A Secret", { name: string("Its name", { minLength: 1 }) }),
    },
    replicas: integer("Controller replicas; more than one turns leader election on", 1),
    leaderElection: object("Leader election (--leader-election*)", {
      enabled: boolean("On with one replica too; always on with more"),
      leaseDuration: duration("--leader-election-lease-duration"),
      renewDeadline: duration("--leader-election-renew-deadline"),
      retryPeriod: duration("--leader-election-retry-period"),
    }),
    logLevel: {
      type: "string",
      description: "--log-level; empty: info",
      enum: ["", "fatal", "error", "warn", "info", "debug", "trace", "silent"],
    },
    extraArgs: {
      type: "array",
      description: "More flags for the controller, after the chart's",
      items: { type: "string", pattern: "^--?[A-Za-z]" },
    },
    resources: anyObject("The controller container's resources (requests, limits)"),
    nodeSelector: stringMap("The controller pod's nodeSelector"),
    tolerations: objectList("The controller pod's tolerations"),
    affinity: anyObject("The controller pod's affinity"),
    priorityClassName: string("The controller pod's priorityClassName"),
    podAnnotations: stringMap("Annotations of the controller pod"),
    podLabels: stringMap("Labels of the controller pod, besides the chart's"),
    podSecurityContext: anyObject("The controller pod's securityContext"),
    securityContext: anyObject("The controller container's securityContext"),
    metrics: object("Metrics, health and readiness", {
      port: port("Container port of metrics, /healthz and /readyz (--http-endpoint)"),
      path: string("HTTP path of the metrics (--metrics-path)", { pattern: "^/" }),
      service: object("The metrics Service", {
        enabled: boolean("Create it"),
        port: port("Its port"),
        annotations: stringMap("Its annotations"),
      }),
      serviceMonitor: object("The Prometheus Operator's ServiceMonitor (needs its CRD)", {
        enabled: boolean("Create it"),
        interval: duration("Scrape interval"),
        scrapeTimeout: duration("Scrape timeout"),
        labels: stringMap("Its labels, e.g. what your Prometheus selects by"),
      }),
    }),
  };
}

/** What every populator chart takes besides. */
const populatorProperties: Record<string, Schema> = {
  workers: integer("PVCs reconciled in parallel (--workers)", 1),
  populatorPod: object("The populator pods the controller creates", {
    image: string("--image-name: their image; empty: the controller's"),
  }),
  volumePopulator: object("The VolumePopulator registering the source kind with the validator", {
    create: boolean("Create it (the VolumePopulator CRD must exist: install volpop-validator first)"),
  }),
};

const validatorProperties: Record<string, Schema> = {
  workerThreads: integer("PVCs validated in parallel (--worker-threads)", 1),
  resyncPeriod: duration("--resync-period: how often every PVC is validated again; 0s turns it off"),
  watchNamespace: string("--watch-namespace: validate this namespace's PVCs only; empty: every namespace", {
    pattern: "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$",
  }),
  webhook: object("The admission webhook that warns at apply time (never rejects)", {
    enabled: boolean("Turn it on"),
    port: port("--webhook-port: its HTTPS container port"),
    timeoutSeconds: integer("How long the API server waits for it", 1, 30),
  }),
};

const imageProperties: Record<string, Schema> = {
  population: object("The image populator's own settings, handed on to its populator pods", {
    deadline: duration("--population-deadline: how long one population may take (default 1h)"),
    allowCredentialsOverHttp: hosts(
      "--allow-credentials-over-http: registries that may get credentials over plain HTTP",
    ),
    allowTokenRealm: {
      type: "array",
      description:
        "--allow-token-realm: registry=realm-host pairs whose token realm may get the registry's credentials",
      items: { type: "string", pattern: "^[A-Za-z0-9.:-]+=[A-Za-z0-9.:-]+$" },
    },
    allowCredentialsWithSourceCa: hosts(
      "--allow-credentials-with-source-ca: registries that may get credentials when the ImageSource brings its own CA",
    ),
  }),
};

const fastPathProperties: Record<string, Schema> = {
  goldenHostDir: absolutePath("Node directory of the golden content (backend and Pod fallback alike)"),
  socketHostDir: absolutePath("Node directory of the backend's unix socket"),
  fastpath: object("How the controller uses the backend", {
    fallback: {
      type: "string",
      description: "--fastpath-fallback: when no backend can take a population",
      enum: ["pod", "fail"],
    },
  }),
  backend: object("The fast-path backend DaemonSet", {
    csiStateDir: absolutePath("The hostpath CSI driver's --statedir on the nodes"),
    driverName: string("The CSI driver whose volumes it fills", { minLength: 1 }),
    shutdownGrace: duration("--shutdown-grace: how long running copies may finish after SIGTERM"),
    port: port("Container port of its metrics, /healthz and /readyz"),
    extraArgs: {
      type: "array",
      description: "More flags for the backend, after the chart's",
      items: { type: "string", pattern: "^--?[A-Za-z]" },
    },
    resources: anyObject("Its container's resources"),
    nodeSelector: stringMap("Its nodeSelector"),
    tolerations: objectList("Its tolerations"),
    podSecurityContext: anyObject("Its pod's securityContext"),
    securityContext: anyObject("Its container's securityContext"),
  }),
};

/** Each chart's folder under charts/, with the image its controller runs and its own settings. */
export const chartSchemaParts = {
  "volpop-validator": { image: "volpop/validator", own: validatorProperties },
  "volpop-populator-hello": { image: "volpop/populator-hello", own: populatorProperties },
  "volpop-populator-image": {
    image: "volpop/populator-image",
    own: { ...populatorProperties, ...imageProperties },
  },
  "volpop-populator-csi-fastpath": {
    image: "volpop/populator-csi-fastpath",
    own: { ...populatorProperties, ...fastPathProperties },
  },
} as const;

export type ChartName = keyof typeof chartSchemaParts;
export const chartNames = Object.keys(chartSchemaParts) as ChartName[];

export const chartsDir = path.resolve(import.meta.dirname, "../../charts");

/** The values.schema.json of `chart`. */
export function valuesSchema(chart: ChartName): Schema {
  const parts = chartSchemaParts[chart];
  const properties = { ...commonProperties(parts.image), ...parts.own };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: `Values of the ${chart} chart`,
    type: "object",
    properties: {
      ...properties,
      // Helm's own: values shared with subcharts, and the library chart's (empty) values.
      global: { type: "object" },
      "volpop-common": { type: "object" },
    },
    required: Object.keys(properties),
    additionalProperties: false,
  };
}

export const schemaPath = (chart: ChartName) => path.join(chartsDir, chart, "values.schema.json");
export const schemaText = (chart: ChartName) => `${JSON.stringify(valuesSchema(chart), null, 2)}\n`;

if (import.meta.main) {
  for (const chart of chartNames) {
    fs.writeFileSync(schemaPath(chart), schemaText(chart));
    process.stdout.write(`wrote ${path.relative(process.cwd(), schemaPath(chart))}\n`);
  }
}
