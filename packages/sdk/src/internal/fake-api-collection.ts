import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig, type V1PersistentVolumeClaim } from "@kubernetes/client-node";

/** A stand-in API server for one collection: lists fail until `serving`, watches stay open. */
export class FakeCollection {
  serving = false;
  lists = 0;
  /** The `limit` and `continue` of each list request. */
  readonly pages: string[] = [];
  /** Answer a list that continues with 410 Gone, as the API server does once a token expired. */
  expireContinue = false;
  /** The resourceVersion each watch request asked to start from. */
  readonly watchedFrom: string[] = [];
  readonly items: V1PersistentVolumeClaim[] = [];
  readonly #watches = new Set<ServerResponse>();
  readonly server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.searchParams.get("watch") === "true") {
      this.watchedFrom.push(url.searchParams.get("resourceVersion") ?? "");
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      this.#watches.add(res);
      res.on("close", () => this.#watches.delete(res));
      return;
    }
    this.lists++;
    if (!this.serving) {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "NotFound",
          code: 404,
        }),
      );
      return;
    }
    const limit = Number(url.searchParams.get("limit") ?? 0);
    const from = Number(url.searchParams.get("continue") ?? 0);
    this.pages.push(`${limit}/${url.searchParams.get("continue") ?? ""}`);
    if (from > 0 && this.expireContinue) {
      res.writeHead(410, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Expired", code: 410 }),
      );
      return;
    }
    const end = limit > 0 ? Math.min(from + limit, this.items.length) : this.items.length;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(
      JSON.stringify({
        kind: "PersistentVolumeClaimList",
        apiVersion: "v1",
        metadata: { resourceVersion: "1", ...(end < this.items.length ? { continue: String(end) } : {}) },
        items: this.items.slice(from, end),
      }),
    );
  });

  async listen(): Promise<KubeConfig> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: "fake", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: "fake" }],
      contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
      currentContext: "fake",
    });
    return config;
  }

  /** Sends a watch event to every open watch. */
  send(type: "ADDED" | "MODIFIED" | "DELETED", object: V1PersistentVolumeClaim): void {
    for (const res of this.#watches) res.write(`${JSON.stringify({ type, object })}\n`);
  }

  /** Ends the open watches, as the API server does when a watch times out. */
  endWatches(): void {
    for (const res of this.#watches) res.end();
  }

  get watching(): number {
    return this.#watches.size;
  }

  async close(): Promise<void> {
    for (const res of this.#watches) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
