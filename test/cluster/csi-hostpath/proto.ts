/** Loads the .proto files in proto/ at run time (no generated code) into gRPC service definitions. */

import { join } from "node:path";
import type { ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type Options, type PackageDefinition } from "@grpc/proto-loader";

/** How decoded messages look; messages.ts describes the resulting shapes. */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type Services = {
  identity: ServiceDefinition;
  controller: ServiceDefinition;
  node: ServiceDefinition;
  registration: ServiceDefinition;
};

function service(definitions: PackageDefinition, name: string): ServiceDefinition {
  const definition = definitions[name];
  if (!definition || "format" in definition) throw new Error(`${name} is not a service in the loaded protos`);
  return definition as ServiceDefinition;
}

export function loadServices(protoDir = join(import.meta.dirname, "proto")): Services {
  const csi = loadSync(join(protoDir, "csi.proto"), LOADER_OPTIONS);
  const registration = loadSync(join(protoDir, "pluginregistration.proto"), LOADER_OPTIONS);
  return {
    identity: service(csi, "csi.v1.Identity"),
    controller: service(csi, "csi.v1.Controller"),
    node: service(csi, "csi.v1.Node"),
    registration: service(registration, "pluginregistration.Registration"),
  };
}
