/**
 * What a dynamically linked ELF program asks of the system (its interpreter and its DT_NEEDED
 * sonames), read from the file itself: `ldd` runs the program's loader, which only works for this
 * machine's CPU, while the arm64 node binary has to be read on an amd64 machine.
 */

/** The e_machine values of the CPUs images are built for. */
export const ELF_MACHINES: Readonly<Record<number, string>> = { 62: "x86-64", 183: "aarch64" };

/** A program's run-time needs, as its ELF headers say. */
export interface ElfDependencies {
  /** e_machine: 62 (x86-64), 183 (aarch64), … */
  readonly machine: number;
  /** PT_INTERP, e.g. `/lib/ld-linux-aarch64.so.1`; undefined for a static program or a library. */
  readonly interpreter: string | undefined;
  /** DT_NEEDED, in the file's order, e.g. `libstdc++.so.6`. */
  readonly needed: readonly string[];
}

export class ElfFormatError extends Error {
  readonly code = "ELF_FORMAT";
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

/**
 * Reads a 64-bit little-endian ELF file's interpreter and needed libraries (what `readelf -l` shows
 * as "Requesting program interpreter" and `readelf -d` as NEEDED). DT_STRTAB is an address: it is
 * turned into a file offset through the PT_LOAD segment that maps it.
 */
export function elfDependencies(file: Uint8Array): ElfDependencies {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const isElf =
    file.length >= 64 && file[0] === 0x7f && file[1] === 0x45 && file[2] === 0x4c && file[3] === 0x46;
  if (!isElf) throw new ElfFormatError("not an ELF file");
  if (file[4] !== 2 || file[5] !== 1) throw new ElfFormatError("not a 64-bit little-endian ELF file");
  const machine = view.getUint16(0x12, true);
  const phoff = Number(view.getBigUint64(0x20, true));
  const phentsize = view.getUint16(0x36, true);
  const phnum = view.getUint16(0x38, true);
  const segments = Array.from({ length: phnum }, (_, i) => {
    const at = phoff + i * phentsize;
    if (at + 56 > file.length) throw new ElfFormatError("program header past the end of the file");
    return {
      type: view.getUint32(at, true),
      offset: Number(view.getBigUint64(at + 8, true)),
      vaddr: Number(view.getBigUint64(at + 16, true)),
      filesz: Number(view.getBigUint64(at + 32, true)),
    };
  });
  const cString = (offset: number) => {
    const end = file.indexOf(0, offset);
    if (offset >= file.length || end < 0) throw new ElfFormatError("string past the end of the file");
    return Buffer.from(file.subarray(offset, end)).toString("utf8");
  };
  const interp = segments.find((s) => s.type === PT_INTERP);
  const dynamic = segments.find((s) => s.type === PT_DYNAMIC);
  if (dynamic === undefined) return { machine, interpreter: interp && cString(interp.offset), needed: [] };

  const entries: Array<{ tag: bigint; value: bigint }> = [];
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.filesz; at += 16) {
    const tag = view.getBigInt64(at, true);
    if (tag === DT_NULL) break;
    entries.push({ tag, value: view.getBigUint64(at + 8, true) });
  }
  const strtabAddress = entries.find((e) => e.tag === DT_STRTAB)?.value;
  if (strtabAddress === undefined) throw new ElfFormatError("dynamic section without DT_STRTAB");
  const load = segments.find(
    (s) => s.type === PT_LOAD && s.vaddr <= strtabAddress && strtabAddress < s.vaddr + s.filesz,
  );
  if (load === undefined) throw new ElfFormatError("DT_STRTAB is in no loaded segment");
  const strtab = Number(strtabAddress) - load.vaddr + load.offset;
  return {
    machine,
    interpreter: interp && cString(interp.offset),
    needed: entries.filter((e) => e.tag === DT_NEEDED).map((e) => cString(strtab + Number(e.value))),
  };
}
