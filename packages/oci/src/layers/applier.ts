/**
 * Applies an image's layers, in order, to a volume (image-spec `layer.md` changesets): files,
 * directories, symlinks and hard links are written, whiteouts remove what lower layers put there,
 * and later entries replace earlier ones. Every entry is checked before it touches the disk, and
 * the first violation fails the whole apply: the caller clears the volume and reports the error.
 * Whatever the layers hold, nothing outside the target is ever created, changed or removed.
 */
import fs from "node:fs/promises";
import { DeferredDirectories } from "./deferred-directories.ts";
import { entryComponents, placeUnder } from "./entry-name.ts";
import {
  ApplyOptionsError,
  ExtractLimitError,
  type ExtractLimitName,
  MalformedLayerError,
  UnsafeEntryError,
} from "./errors.ts";
import type { ExtractLimits } from "./limits.ts";
import { clearLowerLayers, LayerPaths, removeFromLowerLayers } from "./lower-layers.ts";
import {
  type EntryHeader,
  IMPLICIT_DIRECTORY_MODE,
  type MetadataPolicy,
  ownershipOf,
  permissionBits,
  timesOf,
} from "./metadata.ts";
import { makeDirectory, setOwnership, writeHardLink, writeRegularFile, writeSymlink } from "./nodes.ts";
import {
  type ApplyOptions,
  type ApplyStats,
  type ApplyTotals,
  checkOptions,
  EMPTY_STATS,
} from "./options.ts";
import { ScopedRoot } from "./scoped-root.ts";
import { type LayerStream, readTarEntries, type TarEntry } from "./tar-entries.ts";
import { type WhiteoutMarker, whiteoutMarkerOf } from "./whiteout.ts";
import { writeXattrs } from "./xattrs.ts";

type Counters = { -readonly [K in keyof ApplyStats]: number };

/**
 * Writes layers into `options.target`. Call {@link applyLayer} once per layer, base layer first,
 * then {@link finish}. Limits and counts accumulate across layers. After an error the applier is
 * spent, and the target holds a partial, but contained, result.
 *
 * @example
 * const applier = new LayerApplier({ target: "/populate", limits: { maxBytes: capacityBytes } });
 * for (const layer of manifest.layers) {
 *   await applier.applyLayer(await openVerifiedUncompressed(layer)); // e.g. a gunzip stream
 * }
 * const totals = await applier.finish();
 */
export class LayerApplier {
  readonly #limits: ExtractLimits;
  readonly #subPath: readonly string[];
  readonly #policy: MetadataPolicy;
  readonly #options: ApplyOptions;
  readonly #root: ScopedRoot;
  readonly #deferred = new DeferredDirectories();
  readonly #layerPaths = new LayerPaths();
  readonly #totals: Counters = { ...EMPTY_STATS };
  #layer: Counters = { ...EMPTY_STATS };
  #layers = 0;
  #state: "ready" | "applying" | "failed" | "finished" = "ready";

  /**
   * Checks the options, throwing an {@link ApplyOptionsError}; the target itself is checked when
   * the first layer is applied.
   */
  constructor(options: ApplyOptions) {
    const checked = checkOptions(options);
    this.#options = options;
    this.#limits = checked.limits;
    this.#subPath = checked.subPath;
    this.#policy = checked.policy;
    this.#root = new ScopedRoot(checked.target, {
      creatingDirectory: (entry) => this.#countImplicitDirectory(entry),
      directoryCreated: (physical) => this.#implicitDirectory(physical),
      directoryRemoved: (key) => this.#deferred.forgetBelow(key),
    });
  }

  /**
   * Applies one uncompressed layer tar, as it is decompressed from a blob that is verified as it
   * streams. Resolves with what this layer did once the stream has ended, never before: what
   * follows the end of the archive is read too (and counts against maxBytes), so a stream that
   * fails at its end, as a blob whose digest does not match does, fails the layer. Rejects with
   * the first problem, an {@link UnsafeEntryError}, {@link ExtractLimitError} or
   * {@link MalformedLayerError}, or the stream's own error. `tar` is destroyed if applying stops early.
   */
  async applyLayer(tar: LayerStream): Promise<ApplyStats> {
    this.#enter("applyLayer");
    this.#layer = { ...EMPTY_STATS };
    // Reading starts here, before any await: a stream that fails at once fails this call, and
    // never goes unheard (an unhandled 'error' would end the process).
    const entries = readTarEntries(tar, { onBytes: (bytes, entry) => this.#countRead(bytes, entry) });
    try {
      if (this.#layers === 0) await this.#checkTarget();
      for await (const entry of entries) await this.#applyEntry(entry);
    } catch (error) {
      this.#state = "failed";
      await entries.return();
      throw error;
    } finally {
      this.#layerPaths.clear();
    }
    this.#layers++;
    this.#state = "ready";
    return { ...this.#layer };
  }

  /** Sets directory modes and times, which wait for the last layer; returns the totals. */
  async finish(): Promise<ApplyTotals> {
    this.#enter("finish");
    try {
      await this.#deferred.apply(this.#root);
    } catch (error) {
      this.#state = "failed";
      throw error;
    }
    this.#state = "finished";
    return { ...this.#totals, layers: this.#layers };
  }

  #enter(method: string): void {
    if (this.#state !== "ready") {
      throw new Error(`LayerApplier.${method}() called while the applier is ${this.#state}`);
    }
    this.#state = "applying";
  }

  async #checkTarget(): Promise<void> {
    const stats = await fs.stat(this.#root.path).catch(() => undefined);
    if (!stats?.isDirectory()) throw new ApplyOptionsError(`target ${this.#root.path} is not a directory`);
  }

  #count(counter: keyof Counters, amount = 1): void {
    this.#layer[counter] += amount;
    this.#totals[counter] += amount;
  }

  #limitError(entry: string | undefined, limit: ExtractLimitName, detail: string): ExtractLimitError {
    return new ExtractLimitError(entry, limit, this.#limits[limit], detail);
  }

  /** Every byte of the uncompressed layers counts, whatever it belongs to: a bomb of zeros too. */
  #countRead(bytes: number, entry: string | undefined): void {
    this.#count("layerBytes", bytes);
    if (this.#totals.layerBytes > this.#limits.maxBytes) {
      throw this.#limitError(
        entry,
        "maxBytes",
        `the layers hold more than ${this.#limits.maxBytes} bytes once decompressed`,
      );
    }
  }

  /** Entries and the directories made for them: together they bound the inodes a volume gets. */
  #inodes(): number {
    return this.#totals.entries + this.#totals.implicitDirectories;
  }

  #countImplicitDirectory(entry: string): void {
    if (this.#inodes() + 1 > this.#limits.maxEntries) {
      throw this.#limitError(
        entry,
        "maxEntries",
        `the directories it needs take the layers past ${this.#limits.maxEntries} entries`,
      );
    }
    this.#count("implicitDirectories");
  }

  #checkPathLength(entry: string, value: string, what: string): void {
    const length = Buffer.byteLength(value);
    if (length > this.#limits.maxPathLength) {
      throw this.#limitError(entry, "maxPathLength", `its ${what} is ${length} bytes long`);
    }
  }

  async #applyEntry({ header, body }: TarEntry): Promise<void> {
    const name = header.name;
    this.#count("entries");
    if (this.#inodes() > this.#limits.maxEntries) {
      throw this.#limitError(
        name,
        "maxEntries",
        `the layers hold more than ${this.#limits.maxEntries} entries`,
      );
    }
    // Go's reader hands a global PAX header over as an entry; it applies to nothing.
    if (header.type === "pax-global-header") return this.#count("skipped");
    this.#checkPathLength(name, name, "name");
    switch (header.type) {
      case "character-device":
      case "block-device":
        throw new UnsafeEntryError(name, "device nodes are never created in a volume");
      case "fifo":
        throw new UnsafeEntryError(name, "FIFOs are never created in a volume");
    }
    const components = entryComponents(name);
    if (components.length > this.#limits.maxDepth) {
      throw this.#limitError(name, "maxDepth", `it is ${components.length} levels deep`);
    }
    const marker = whiteoutMarkerOf(components);
    if (marker !== undefined) return this.#applyWhiteout(name, components.slice(0, -1), marker);

    const placement = placeUnder(components, this.#subPath);
    if (placement.kind === "outside") return this.#count("skipped");
    if (placement.kind === "above" || placement.relative.length === 0) {
      return this.#replaceExtractedRoot(name, header);
    }
    const relative = placement.relative;
    switch (header.type) {
      case "file":
      case "contiguous-file":
        return this.#writeFile(name, header, body, relative);
      case "directory":
        return this.#writeDirectory(name, header, relative);
      case "symlink":
        return this.#writeSymlink(name, header, relative);
      case "link":
        return this.#writeHardLink(name, header, relative);
      default:
        throw new MalformedLayerError(
          name,
          `has an unsupported entry type (${header.type ?? `typeflag ${JSON.stringify(header.typeflag ?? "")}`})`,
        );
    }
  }

  /**
   * An entry naming the extracted root (the image root, or `subPath` or one of its ancestors). A
   * directory changes nothing: the volume root keeps the mode and owner the cluster gave it. A
   * non-directory replaces the subPath, so what lower layers put there goes; without a subPath
   * it would replace the volume root itself, which no image can mean.
   */
  async #replaceExtractedRoot(name: string, header: EntryHeader): Promise<void> {
    if (header.type === "directory") return this.#count("skipped");
    if (this.#subPath.length === 0) throw new UnsafeEntryError(name, "it would replace the volume root");
    await clearLowerLayers(this.#root, this.#layerPaths, []);
    this.#count("skipped");
  }

  async #applyWhiteout(name: string, directory: readonly string[], marker: WhiteoutMarker): Promise<void> {
    if (marker.kind === "aufs-metadata") return this.#count("skipped");
    this.#count("whiteouts");
    if (marker.kind === "opaque") {
      const placement = placeUnder(directory, this.#subPath);
      if (placement.kind === "outside") return;
      const physical =
        placement.kind === "above" ? [] : await this.#root.resolveDirectory(placement.relative, name, false);
      if (physical !== undefined) await clearLowerLayers(this.#root, this.#layerPaths, physical);
      return;
    }
    if (marker.name === "..") throw new UnsafeEntryError(name, "escapes the volume");
    if (marker.name === "" || marker.name === ".") {
      throw new MalformedLayerError(name, "is a whiteout that names no file");
    }
    const placement = placeUnder([...directory, marker.name], this.#subPath);
    if (placement.kind === "outside") return;
    if (placement.kind === "above" || placement.relative.length === 0) {
      await clearLowerLayers(this.#root, this.#layerPaths, []);
      return;
    }
    const parent = await this.#root.resolveDirectory(placement.relative.slice(0, -1), name, false);
    if (parent === undefined) return;
    await removeFromLowerLayers(this.#root, this.#layerPaths, [...parent, lastOf(placement.relative)]);
  }

  async #writeFile(
    name: string,
    header: EntryHeader,
    body: AsyncIterable<Buffer>,
    relative: readonly string[],
  ): Promise<void> {
    // Checked against the header before anything is written: a tar bomb fails at once.
    const size = header.size ?? 0;
    const remaining = this.#limits.maxBytes - this.#totals.layerBytes;
    if (size > remaining) {
      throw this.#limitError(name, "maxBytes", `it declares ${size} bytes and only ${remaining} remain`);
    }
    const { mode, setidDropped } = permissionBits(
      header.mode,
      this.#policy.fileMode,
      this.#policy.keepPrivileges,
    );
    const ownership = ownershipOf(header, this.#policy);
    const physical = await this.#slot(name, relative);
    await this.#clear(physical, false);
    const absolute = this.#root.absolute(physical);
    let received = 0;
    await writeRegularFile(absolute, body, { ownership, mode, times: timesOf(header) }, (bytes) => {
      received += bytes;
      if (received > size) throw this.#limitError(name, "maxBytes", "it holds more bytes than it declares");
      this.#count("bytes", bytes);
      this.#options.onProgress?.(this.#totals.bytes);
    });
    await this.#writeXattrs(absolute, header);
    this.#count("files");
    if (setidDropped) this.#count("setidDropped");
  }

  async #writeDirectory(name: string, header: EntryHeader, relative: readonly string[]): Promise<void> {
    const { mode, setidDropped } = permissionBits(
      header.mode,
      this.#policy.dirMode,
      this.#policy.keepPrivileges,
    );
    const ownership = ownershipOf(header, this.#policy);
    const physical = await this.#slot(name, relative);
    const existing = await this.#clear(physical, true);
    const absolute = this.#root.absolute(physical);
    if (!existing) await makeDirectory(absolute);
    this.#root.markDirectory(physical);
    await setOwnership(absolute, ownership);
    await this.#writeXattrs(absolute, header);
    this.#deferred.set(physical, { mode, times: timesOf(header) });
    this.#count("directories");
    if (setidDropped) this.#count("setidDropped");
  }

  async #writeSymlink(name: string, header: EntryHeader, relative: readonly string[]): Promise<void> {
    const target = this.#linkTarget(name, header);
    const ownership = ownershipOf(header, this.#policy);
    const physical = await this.#slot(name, relative);
    await this.#clear(physical, false);
    const absolute = this.#root.absolute(physical);
    await writeSymlink(absolute, target, ownership, timesOf(header));
    await this.#writeXattrs(absolute, header);
    this.#count("symlinks");
  }

  /**
   * A hard link's target must be a regular file already in the volume, found by the same scoped
   * resolution as any entry: linking a directory or a symlink is refused, and so the link can
   * never give a path into anything outside. Its header's mode and owner are not applied: they
   * would change the shared inode, as tar also leaves them.
   */
  async #writeHardLink(name: string, header: EntryHeader, relative: readonly string[]): Promise<void> {
    const linkname = this.#linkTarget(name, header);
    const target = await this.#hardLinkTarget(name, linkname);
    const physical = await this.#slot(name, relative);
    if (physical.join("/") !== target.join("/")) {
      await this.#clear(physical, false);
      try {
        await writeHardLink(this.#root.absolute(target), this.#root.absolute(physical));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        throw new MalformedLayerError(
          name,
          `its hard link target ${JSON.stringify(linkname)} was removed to make room for it`,
          { cause: error },
        );
      }
    }
    this.#count("hardLinks");
  }

  async #hardLinkTarget(name: string, linkname: string): Promise<string[]> {
    const quoted = `hard link target ${JSON.stringify(linkname)}`;
    let components: string[];
    try {
      components = entryComponents(linkname, name);
    } catch (error) {
      if (error instanceof UnsafeEntryError) throw new UnsafeEntryError(name, `${quoted} ${error.reason}`);
      throw error;
    }
    const placement = placeUnder(components, this.#subPath);
    if (placement.kind !== "inside" || placement.relative.length === 0) {
      if (placement.kind === "outside")
        throw new MalformedLayerError(name, `${quoted} is outside the extracted subPath`);
      throw new UnsafeEntryError(name, `${quoted} is a directory`);
    }
    const parent = await this.#root.resolveDirectory(placement.relative.slice(0, -1), name, false);
    const target = parent === undefined ? undefined : [...parent, lastOf(placement.relative)];
    const stats = target === undefined ? undefined : await this.#root.lstat(target);
    if (target === undefined || stats === undefined) {
      throw new MalformedLayerError(name, `${quoted} does not exist`);
    }
    if (stats.isSymbolicLink()) throw new UnsafeEntryError(name, `${quoted} is a symlink`);
    if (stats.isDirectory()) throw new UnsafeEntryError(name, `${quoted} is a directory`);
    if (!stats.isFile()) throw new UnsafeEntryError(name, `${quoted} is not a regular file`);
    return target;
  }

  #linkTarget(name: string, header: EntryHeader): string {
    const target = header.linkname ?? "";
    if (target === "") throw new MalformedLayerError(name, "is a link with no target");
    if (target.includes("\0")) throw new UnsafeEntryError(name, "its link target contains a NUL byte");
    this.#checkPathLength(name, target, "link target");
    return target;
  }

  /** The physical path where the entry at `relative` goes; implicit parents are created. */
  async #slot(name: string, relative: readonly string[]): Promise<string[]> {
    const parent = await this.#root.resolveDirectory(relative.slice(0, -1), name, true);
    if (parent === undefined) throw new MalformedLayerError(name, "its parent could not be created");
    const physical = [...parent, lastOf(relative)];
    this.#layerPaths.add(physical);
    return physical;
  }

  /** Removes what is at `physical` (a directory stays if `keepDirectory`); true if a directory stayed. */
  async #clear(physical: readonly string[], keepDirectory: boolean): Promise<boolean> {
    const stats = await this.#root.lstat(physical);
    if (stats === undefined) return false;
    if (keepDirectory && stats.isDirectory()) return true;
    await this.#root.remove(physical);
    return false;
  }

  async #writeXattrs(absolute: string, header: EntryHeader): Promise<void> {
    const { written, skipped } = await writeXattrs(
      absolute,
      header,
      this.#options.xattrWriter,
      this.#policy.keepPrivileges,
    );
    this.#count("xattrs", written);
    this.#count("xattrsSkipped", skipped);
  }

  async #implicitDirectory(physical: readonly string[]): Promise<void> {
    const absolute = this.#root.absolute(physical);
    await setOwnership(absolute, this.#policy.owner);
    this.#deferred.set(physical, { mode: this.#policy.dirMode ?? IMPLICIT_DIRECTORY_MODE, times: undefined });
  }
}

function lastOf(components: readonly string[]): string {
  const last = components.at(-1);
  if (last === undefined) throw new Error("a path with no components has no last one");
  return last;
}
