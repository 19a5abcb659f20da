import { deleteNamespace, type Kube, waitForNamespaceGone } from "../../support/kube.ts";
import {
  type ControllerProcess,
  type ControllerProgram,
  startControllerProcess,
} from "./controller-process.ts";

/**
 * The controller processes a chaos suite starts one after another against one cluster and populator
 * namespace: it kills one, starts the next, and ends whatever still runs when the suite does.
 */
export class ControllerSeries {
  readonly #running = new Set<ControllerProcess>();
  readonly #kubeconfig: string;
  readonly #namespace: string;

  constructor(options: { readonly kubeconfig: string; readonly namespace: string }) {
    this.#kubeconfig = options.kubeconfig;
    this.#namespace = options.namespace;
  }

  /** A controller running `program` (default: the test populator, Pod strategy), armed at `failpoints`. */
  start(failpoints: readonly string[] = [], program?: ControllerProgram): ControllerProcess {
    const controller = startControllerProcess({
      kubeconfig: this.#kubeconfig,
      namespace: this.#namespace,
      failpoints,
      ...(program ? { program } : {}),
    });
    this.#running.add(controller);
    return controller;
  }

  /** Kills `controller` (SIGKILL unless told otherwise) and waits until it is gone. */
  async kill(controller: ControllerProcess, signal?: NodeJS.Signals): Promise<void> {
    await controller.kill(signal);
    this.#running.delete(controller);
  }

  async killAll(): Promise<void> {
    for (const controller of [...this.#running]) await this.kill(controller);
  }

  /**
   * Deletes the user namespace and waits until it is gone, with a controller of `program` running:
   * populations a failed test left keep their finalizer until a controller cleans them up.
   */
  async deleteUserNamespace(api: Kube, namespace: string, program?: ControllerProgram): Promise<void> {
    await this.killAll();
    const cleaner = this.start([], program);
    await deleteNamespace(api, namespace);
    await waitForNamespaceGone(api, namespace).catch(() => undefined);
    await this.kill(cleaner, "SIGTERM");
  }
}
