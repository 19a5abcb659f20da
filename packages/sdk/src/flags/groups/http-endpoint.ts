import { parseListenAddress } from "../../listen-address.ts";
import { defineFlags } from "../declaration.ts";

/**
 * `--http-endpoint` (metrics and health; empty or unset: off) and `--metrics-path`, as in the CSI
 * sidecars and upstream's populator. An address `net.Listen` would refuse is a usage error.
 */
export function httpEndpointFlags() {
  return defineFlags({
    "http-endpoint": {
      type: "string",
      description: 'Address of the metrics and health server, e.g. ":8080"; empty turns it off',
      validate: (address) => {
        if (address !== "") parseListenAddress(address); // throws, naming the address
        return undefined;
      },
    },
    "metrics-path": {
      type: "string",
      default: "/metrics",
      description: "HTTP path of the metrics",
      validate: (path) => (path.startsWith("/") ? undefined : 'must start with "/"'),
    },
  });
}
