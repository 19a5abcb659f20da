/** The driver's command line, parsed into one documented config object. */

import { isAbsolute, join } from "node:path";
import { parseArgs } from "node:util";
import { parseQuantity } from "./quantity.ts";

export type DriverConfig = {
  /** Unix socket serving the CSI Identity, Controller and Node services (`--endpoint`). */
  endpoint: string;
  /** CSI driver name, as StorageClasses and CSIDriver objects spell it (`--drivername`). */
  driverName: string;
  /** This node's name: the NodeGetInfo node id and the `topology.hostpath.csi/node` value (`--nodeid`). */
  nodeId: string;
  /**
   * `topology.kubernetes.io/zone` of this node (`--zone`), a second topology segment so that
   * StorageClasses can name zones in `allowedTopologies`; undefined: no zone segment.
   */
  zone: string | undefined;
  /** Directory holding volume data and volumes.json (`--statedir`). */
  stateDir: string;
  /**
   * Socket for kubelet's plugin registration, `<--registration-dir>/<driverName>-reg.sock`; undefined
   * when `--registration-dir` is not given (nothing registers the driver with kubelet).
   */
  registrationSocket: string | undefined;
  /** Largest volume CreateVolume makes, in bytes (`--max-volume-size`, e.g. 10Gi). */
  maxVolumeSize: number;
};

export const USAGE = `Usage: node main.ts --endpoint PATH --nodeid NAME --statedir DIR [options]

A hostpath CSI driver for the volpop test cluster (Identity, Controller and Node services).

  --endpoint PATH          unix socket for the CSI services (a "unix://" prefix is accepted)
  --nodeid NAME            this node's name (node id and topology.hostpath.csi/node value)
  --statedir DIR           where volumes and volumes.json live
  --drivername NAME        CSI driver name (default hostpath.csi.k8s.io)
  --zone ZONE              also report topology.kubernetes.io/zone=ZONE
  --registration-dir DIR   kubelet's plugins_registry dir; serve <DIR>/<drivername>-reg.sock there
  --max-volume-size SIZE   largest volume to create (default 10Gi)
  --help                   show this text
`;

/** Longest path a unix socket address holds on Linux (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;

/** CSI driver names: domain-name notation, at most 63 characters. */
const DRIVER_NAME = /^[a-zA-Z0-9](?:[-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9])?$/;

/** Kubernetes label values (the node id becomes one through the topology segment). */
const LABEL_VALUE = /^[a-zA-Z0-9](?:[-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9])?$/;

function socketPath(value: string, flag: string): string {
  const path = value.startsWith("unix://") ? value.slice("unix://".length) : value;
  if (!isAbsolute(path)) throw new Error(`${flag} must be an absolute path (got ${JSON.stringify(value)})`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new Error(
      `${flag} ${path} is longer than the ${MAX_SOCKET_PATH} bytes a unix socket path may have`,
    );
  }
  return path;
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new Error(`${flag} is required`);
  return value;
}

/** Parses the arguments after `node main.ts`; returns "help" for --help, throws on bad input. */
export function parseConfig(args: readonly string[]): DriverConfig | "help" {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      endpoint: { type: "string" },
      drivername: { type: "string", default: "hostpath.csi.k8s.io" },
      nodeid: { type: "string" },
      zone: { type: "string" },
      statedir: { type: "string" },
      "registration-dir": { type: "string" },
      "max-volume-size": { type: "string", default: "10Gi" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const endpoint = socketPath(required(values.endpoint, "--endpoint"), "--endpoint");
  const driverName = values.drivername;
  if (!DRIVER_NAME.test(driverName)) {
    throw new Error(`--drivername ${JSON.stringify(driverName)} is not a valid CSI driver name`);
  }
  const nodeId = required(values.nodeid, "--nodeid");
  if (!LABEL_VALUE.test(nodeId)) {
    throw new Error(`--nodeid ${JSON.stringify(nodeId)} cannot be a label value (at most 63 characters)`);
  }
  const zone = values.zone;
  if (zone !== undefined && !LABEL_VALUE.test(zone)) {
    throw new Error(`--zone ${JSON.stringify(zone)} cannot be a label value`);
  }
  const stateDir = required(values.statedir, "--statedir");
  if (!isAbsolute(stateDir))
    throw new Error(`--statedir must be an absolute path (got ${JSON.stringify(stateDir)})`);
  const registrationDir = values["registration-dir"];
  if (registrationDir !== undefined && !isAbsolute(registrationDir)) {
    throw new Error(`--registration-dir must be an absolute path (got ${JSON.stringify(registrationDir)})`);
  }
  const registrationSocket =
    registrationDir === undefined
      ? undefined
      : socketPath(join(registrationDir, `${driverName}-reg.sock`), "--registration-dir");
  const maxVolumeSize = parseQuantity(values["max-volume-size"]);
  return { endpoint, driverName, nodeId, zone, stateDir, registrationSocket, maxVolumeSize };
}
