import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { PREFIX, pvc } from "../internal/fixtures.ts";
import { diagnoseCluster } from "./cluster-rules.ts";
import { FindingCode } from "./findings.ts";
import {
  absent,
  clusterSnapshot,
  controllerFacts,
  crashLoopingPod,
  event,
  found,
  lease,
  unreadable,
} from "./fixtures.ts";
import type { ClusterSnapshot, PopulatorFacts } from "./snapshot.ts";

const helloFacts = (overrides: Partial<PopulatorFacts>): PopulatorFacts => ({
  ...(clusterSnapshot().populators[0] as PopulatorFacts),
  ...overrides,
});

function pending(namespace: string, name: string, group: string, kind: string): V1PersistentVolumeClaim {
  return pvc({
    metadata: { namespace, name },
    spec: { dataSourceRef: { apiGroup: group, kind, name: "src" } },
  });
}

interface Case {
  readonly name: string;
  readonly snapshot: ClusterSnapshot;
  /** Codes that must be among the findings, each with its severity. */
  readonly has: readonly (readonly [code: string, severity: string])[];
  readonly not?: readonly string[];
  readonly exit: 0 | 1;
  readonly says?: RegExp;
}

const cases: Case[] = [
  {
    name: "finds nothing wrong with a cluster whose populator leads and whose validator runs",
    snapshot: clusterSnapshot(),
    has: [
      [FindingCode.AnyVolumeDataSourceEnabled, "ok"],
      [FindingCode.ValidatorRunning, "ok"],
      [FindingCode.ControllerLeading, "ok"],
    ],
    exit: 0,
  },
  {
    name: "calls AnyVolumeDataSource off on an API server older than 1.24",
    snapshot: clusterSnapshot({ server: { version: "v1.23.4", major: 1, minor: 23 } }),
    has: [[FindingCode.AnyVolumeDataSourceDisabled, "error"]],
    exit: 1,
    says: /--feature-gates=AnyVolumeDataSource=true/,
  },
  {
    name: "calls AnyVolumeDataSource likely on in 1.24 to 1.32 without a PVC to prove it",
    snapshot: clusterSnapshot({ server: { version: "v1.28.1", major: 1, minor: 28 } }),
    has: [[FindingCode.AnyVolumeDataSourceUnknown, "info"]],
    exit: 0,
  },
  {
    name: "takes a PVC keeping a custom dataSourceRef as proof that AnyVolumeDataSource is on",
    snapshot: clusterSnapshot({
      server: { version: "v1.23.4", major: 1, minor: 23 },
      populatedPvcs: found([pvc({ spec: { volumeName: "pv" }, status: { phase: "Bound" } })]),
    }),
    has: [[FindingCode.AnyVolumeDataSourceEnabled, "ok"]],
    exit: 0,
  },
  {
    name: "says the validator is not installed when the VolumePopulator CRD is missing",
    snapshot: clusterSnapshot({ volumePopulators: absent, populators: [] }),
    has: [[FindingCode.ValidatorNotInstalled, "warning"]],
    exit: 1,
    says: /no VolumePopulator CRD/,
  },
  {
    name: "says no validator runs when no Deployment of it exists",
    snapshot: clusterSnapshot({ validators: found([]) }),
    has: [[FindingCode.ValidatorNotInstalled, "warning"]],
    exit: 1,
  },
  {
    name: "reports a validator without an available replica, with its pod's trouble",
    snapshot: clusterSnapshot({
      validators: found([
        {
          deployment: {
            metadata: { name: "volume-data-source-validator", namespace: "volpop-system" },
            spec: { replicas: 1, selector: {}, template: {} },
            status: { availableReplicas: 0 },
          },
          pods: found([crashLoopingPod("validator-abc", "volpop-system", "cannot list volumepopulators")]),
        },
      ]),
    }),
    has: [[FindingCode.ValidatorUnhealthy, "error"]],
    exit: 1,
    says: /CrashLoopBackOff.*cannot list volumepopulators/,
  },
  {
    name: "says no populator is registered",
    snapshot: clusterSnapshot({ volumePopulators: found([]), populators: [] }),
    has: [[FindingCode.NoVolumePopulators, "info"]],
    exit: 0,
  },
  {
    name: "reports a registration whose kind the API server does not serve",
    snapshot: clusterSnapshot({ populators: [helloFacts({ sourceKind: absent })] }),
    has: [[FindingCode.SourceKindNotServed, "error"]],
    exit: 1,
    says: /VolumePopulator hello registers Hello \(hello\.example\.com\)/,
  },
  {
    name: "says nobody leads a registered populator whose Lease lapsed",
    snapshot: clusterSnapshot({
      populators: [
        helloFacts({
          controller: controllerFacts({ leases: found([lease("gone-1", 3_600_000)]), events: found([]) }),
        }),
      ],
    }),
    has: [[FindingCode.NoLeader, "error"]],
    exit: 1,
    says: /renewed it 60m ago/,
  },
  {
    name: "shows the last event of a controller that keeps no Lease",
    snapshot: clusterSnapshot({
      populators: [
        helloFacts({
          controller: controllerFacts({
            leases: found([]),
            events: found([
              event("PopulatorFinished", "Populated from Hello apps/hello", {
                type: "Normal",
                agoMs: 120_000,
                instance: "hello-7d9f-1",
              }),
            ]),
          }),
        }),
      ],
    }),
    has: [[FindingCode.ControllerSeen, "ok"]],
    exit: 0,
    says: /acted 2m ago/,
  },
  {
    name: "cannot tell whether a controller without Lease or events runs",
    snapshot: clusterSnapshot({
      populators: [helloFacts({ controller: controllerFacts({ leases: found([]), events: found([]) }) })],
    }),
    has: [[FindingCode.ControllerUnknown, "info"]],
    exit: 0,
  },
  {
    name: "names the PVCs of a registered kind that are not Bound yet, and how to look at one",
    snapshot: clusterSnapshot({ populatedPvcs: found([pending("apps", "data", PREFIX, "Hello")]) }),
    has: [[FindingCode.PvcsWaiting, "info"]],
    exit: 0,
    says: /volpop doctor pvc data -n apps/,
  },
  {
    name: "warns about PVCs naming a kind no VolumePopulator registers",
    snapshot: clusterSnapshot({
      populatedPvcs: found([pending("apps", "x", "nobody.example.com", "Thing")]),
    }),
    has: [[FindingCode.KindNotRegistered, "warning"]],
    not: [FindingCode.PvcsWaiting],
    exit: 1,
    says: /nobody\.example\.com\/Thing/,
  },
  {
    name: "warns that its view is incomplete, listing what it could not read",
    snapshot: clusterSnapshot({ validators: unreadable("Deployments named volume-data-source-validator") }),
    has: [[FindingCode.CannotRead, "warning"]],
    not: [FindingCode.ValidatorNotInstalled],
    exit: 1,
    says: /Deployments named volume-data-source-validator: Kubernetes API 403 Forbidden/,
  },
];

describe("diagnoseCluster", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const report = diagnoseCluster(c.snapshot);
    const found = new Map(report.findings.map((f) => [f.code, f] as const));
    for (const [code, severity] of c.has) expect(found.get(code as never)?.severity, code).toBe(severity);
    for (const code of c.not ?? []) expect(found.has(code as never)).toBe(false);
    expect(report.exitCode).toBe(c.exit);
    if (c.says) {
      const first = found.get(c.has[0]?.[0] as never);
      expect([first?.what, first?.why, first?.fix, ...(first?.evidence ?? [])].join("\n")).toMatch(c.says);
    }
  });
});
