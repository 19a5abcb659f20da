/**
 * The driver's memory: a JSON file mapping each CreateVolume name to its volume record,
 * `{"pvc-…": {"id": "…", "capacity": 1073741824, "kind": "filesystem"}}`. Read once at start, kept in
 * memory, rewritten whole after every change (temp file, fsync, rename), so a crash leaves either the
 * old or the new file.
 */

import { randomUUID } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isVolumeId } from "./validate.ts";
import type { VolumeRecord } from "./volume.ts";

/** Parses the state file's text; throws with the offending entry named when it is malformed. */
export function parseState(text: string): Map<string, VolumeRecord> {
  const data: unknown = JSON.parse(text);
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new Error("state file must hold a JSON object mapping volume names to records");
  }
  const volumes = new Map<string, VolumeRecord>();
  for (const [name, value] of Object.entries(data)) {
    const record = value as Partial<VolumeRecord> | null;
    if (
      typeof record?.id !== "string" ||
      !isVolumeId(record.id) ||
      typeof record.capacity !== "number" ||
      !Number.isSafeInteger(record.capacity) ||
      (record.kind !== "filesystem" && record.kind !== "block")
    ) {
      throw new Error(
        `state file entry ${JSON.stringify(name)} is not a volume record: ${JSON.stringify(value)}`,
      );
    }
    volumes.set(name, { id: record.id, capacity: record.capacity, kind: record.kind });
  }
  return volumes;
}

/** Serialises the volumes for the state file, names sorted so the file diffs well. */
export function formatState(volumes: ReadonlyMap<string, VolumeRecord>): string {
  const sorted = [...volumes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${JSON.stringify(Object.fromEntries(sorted), null, 2)}\n`;
}

/** Writes `text` to `file` atomically: a temp file beside it, fsynced, then renamed over it. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomUUID()}.tmp`);
  try {
    const handle = await open(temp, "w", 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export class VolumeStore {
  readonly file: string;
  readonly #volumes: Map<string, VolumeRecord>;
  #writes: Promise<void> = Promise.resolve();

  private constructor(file: string, volumes: Map<string, VolumeRecord>) {
    this.file = file;
    this.#volumes = volumes;
  }

  /** Loads `file`; a missing file is an empty store, a malformed one an error. */
  static async open(file: string): Promise<VolumeStore> {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return new VolumeStore(file, new Map());
      throw error;
    }
    try {
      return new VolumeStore(file, parseState(text));
    } catch (error) {
      throw new Error(`cannot read volume state ${file}: ${(error as Error).message}`, { cause: error });
    }
  }

  byName(name: string): VolumeRecord | undefined {
    return this.#volumes.get(name);
  }

  byId(id: string): { name: string; record: VolumeRecord } | undefined {
    for (const [name, record] of this.#volumes) {
      if (record.id === id) return { name, record };
    }
    return undefined;
  }

  list(): Array<{ name: string; record: VolumeRecord }> {
    return [...this.#volumes].map(([name, record]) => ({ name, record }));
  }

  /** Records a volume under `name` and persists the store. */
  async put(name: string, record: VolumeRecord): Promise<void> {
    const previous = this.#volumes.get(name);
    this.#volumes.set(name, record);
    await this.#persist(() => {
      if (previous) this.#volumes.set(name, previous);
      else this.#volumes.delete(name);
    });
  }

  /** Forgets the volume under `name` and persists the store. */
  async remove(name: string): Promise<void> {
    const previous = this.#volumes.get(name);
    if (!previous) return;
    this.#volumes.delete(name);
    await this.#persist(() => this.#volumes.set(name, previous));
  }

  /** Writes one snapshot after the writes before it; `undo` restores memory when the write fails. */
  async #persist(undo: () => void): Promise<void> {
    const text = formatState(this.#volumes);
    const write = this.#writes.then(() => writeFileAtomic(this.file, text));
    this.#writes = write.catch(() => {});
    try {
      await write;
    } catch (error) {
      undo();
      throw error;
    }
  }
}
