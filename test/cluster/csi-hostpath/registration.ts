/**
 * kubelet plugin registration, the node-driver-registrar's job: kubelet's plugin watcher finds the
 * registration socket, asks GetInfo, validates the answer, dials `endpoint` for NodeGetInfo and reports
 * the outcome through NotifyRegistrationStatus.
 */

import type { Logger } from "./log.ts";

/** CSI spec versions the driver speaks, as kubelet expects them. */
export const SUPPORTED_VERSIONS = ["1.0.0"];

export type PluginInfo = { type: string; name: string; endpoint: string; supported_versions: string[] };

export type RegistrationStatus = { plugin_registered: boolean; error: string };

export type RegistrationOptions = {
  driverName: string;
  /** The CSI socket path kubelet should use. */
  endpoint: string;
  log: Logger;
};

export function createRegistrationService(options: RegistrationOptions) {
  const { driverName, endpoint, log } = options;
  return {
    async GetInfo(_request: Record<string, never>): Promise<PluginInfo> {
      return { type: "CSIPlugin", name: driverName, endpoint, supported_versions: SUPPORTED_VERSIONS };
    },
    async NotifyRegistrationStatus(request: RegistrationStatus): Promise<Record<string, never>> {
      if (request.plugin_registered) log.info("registered with kubelet", { driver: driverName });
      else
        log.error("kubelet rejected the plugin registration", { driver: driverName, error: request.error });
      return {};
    },
  };
}
