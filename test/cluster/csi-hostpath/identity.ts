/** The CSI Identity service: who the driver is and what it offers. */

import type {
  Empty,
  GetPluginCapabilitiesResponse,
  GetPluginInfoResponse,
  ProbeResponse,
} from "./messages.ts";

export const VENDOR_VERSION = "0.1.0";

export function createIdentityService(driverName: string) {
  return {
    async GetPluginInfo(_request: Empty): Promise<GetPluginInfoResponse> {
      return { name: driverName, vendor_version: VENDOR_VERSION, manifest: {} };
    },
    async GetPluginCapabilities(_request: Empty): Promise<GetPluginCapabilitiesResponse> {
      return {
        capabilities: [
          { service: { type: "CONTROLLER_SERVICE" } },
          { service: { type: "VOLUME_ACCESSIBILITY_CONSTRAINTS" } },
        ],
      };
    },
    async Probe(_request: Empty): Promise<ProbeResponse> {
      return { ready: { value: true } };
    },
  };
}
