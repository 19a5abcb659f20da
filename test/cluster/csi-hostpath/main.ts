/**
 * Entry point of the hostpath CSI driver of the volpop test cluster. Runs as root on the host:
 *
 *   node main.ts --endpoint /var/lib/volpop/kubelet/plugins/hostpath.csi.k8s.io/csi.sock \
 *     --nodeid volpop-node --statedir /var/lib/volpop/csi-hostpath \
 *     --registration-dir /var/lib/volpop/kubelet/plugins_registry
 *
 * Serves the CSI services on --endpoint and, with --registration-dir, registers itself with kubelet.
 * Stops on SIGTERM or SIGINT, removing its sockets.
 */

import { mkdir, realpath } from "node:fs/promises";
import { join } from "node:path";
import { type DriverConfig, parseConfig, USAGE } from "./config.ts";
import { createControllerService } from "./controller.ts";
import { createExec } from "./exec.ts";
import { createHost } from "./host.ts";
import { createIdentityService } from "./identity.ts";
import { KeyedMutex } from "./keyed-mutex.ts";
import { createLogger, type Logger } from "./log.ts";
import { createNodeService } from "./node.ts";
import { loadServices } from "./proto.ts";
import { createRegistrationService } from "./registration.ts";
import { type RunningServer, serve } from "./server.ts";
import { VolumeStore } from "./state.ts";

async function run(config: DriverConfig, log: Logger): Promise<void> {
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  // Canonical, so volume paths compare equal to what the mount table shows.
  const stateDir = await realpath(config.stateDir);
  const store = await VolumeStore.open(join(stateDir, "volumes.json"));
  const host = createHost(createExec());
  const locks = new KeyedMutex();
  const services = loadServices();

  const servers: RunningServer[] = [];
  const stop = async () => {
    // Registration socket first, so kubelet deregisters before the CSI socket disappears.
    for (const server of servers.reverse()) await server.close();
  };
  try {
    servers.push(
      await serve(
        config.endpoint,
        [
          { definition: services.identity, handlers: createIdentityService(config.driverName) },
          {
            definition: services.controller,
            handlers: createControllerService({
              nodeId: config.nodeId,
              ...(config.zone === undefined ? {} : { zone: config.zone }),
              stateDir,
              maxVolumeSize: config.maxVolumeSize,
              store,
              host,
              locks,
            }),
          },
          {
            definition: services.node,
            handlers: createNodeService({
              nodeId: config.nodeId,
              ...(config.zone === undefined ? {} : { zone: config.zone }),
              stateDir,
              store,
              host,
              locks,
            }),
          },
        ],
        log,
      ),
    );
    if (config.registrationSocket) {
      const registration = createRegistrationService({
        driverName: config.driverName,
        endpoint: config.endpoint,
        log,
      });
      servers.push(
        await serve(
          config.registrationSocket,
          [{ definition: services.registration, handlers: registration }],
          log,
        ),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  log.info("serving", {
    endpoint: config.endpoint,
    registration: config.registrationSocket,
    node_id: config.nodeId,
    state_dir: stateDir,
    volumes: store.list().length,
  });

  // Listeners are removed once they fire, so a second identical signal kills the process outright.
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    for (const name of ["SIGTERM", "SIGINT"] as const) process.once(name, () => resolve(name));
  });
  log.info("stopping", { signal });
  await stop();
  log.info("stopped");
}

let config: DriverConfig | "help";
try {
  config = parseConfig(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (config === "help") {
  process.stdout.write(USAGE);
  process.exit(0);
}
const log = createLogger({ fields: { component: "csi-hostpath" } });
run(config, log).then(
  () => process.exit(0),
  (error: unknown) => {
    log.error("driver failed", {
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    process.exit(1);
  },
);
