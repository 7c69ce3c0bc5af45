/**
 * Rewrites a WebAssembly module so that its linear memory is shared (WebAssembly core spec §5:
 * binary format; threads proposal: the `shared` limits flag 0x03). v86 defines its own memory;
 * to let the VMM read the guest's virtqueues while the emulator runs in a worker thread, the
 * memory must be a SharedArrayBuffer both threads see. Two rewrites:
 * - the emulator module: its memory definition becomes an import `env.memory` of a shared memory;
 * - each module v86's JIT generates: its memory import is marked shared.
 * Everything else is copied byte for byte.
 */

const SECTION_IMPORT = 2;
const SECTION_MEMORY = 5;
const KIND_MEMORY = 0x02;
const LIMITS_SHARED = 0x03;

/** A malformed or unexpected module. */
export class WasmPatchError extends Error {
  readonly code = "WASM_PATCH";
  constructor(message: string) {
    super(message);
    this.name = "WasmPatchError";
  }
}

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  byte(): number {
    if (this.at >= this.bytes.length) throw new WasmPatchError(`unexpected end at byte ${this.at}`);
    return this.bytes[this.at++] as number;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new WasmPatchError(`LEB128 too long at byte ${this.at}`);
    }
  }
  skip(n: number): void {
    this.at += n;
    if (this.at > this.bytes.length) throw new WasmPatchError("section runs past the end");
  }
  name(): void {
    this.skip(this.u32());
  }
  /** limits: flags, min, and max when flags say so. */
  limits(): { flags: number; min: number; max: number | undefined } {
    const flags = this.byte();
    const min = this.u32();
    const max = flags & 1 ? this.u32() : undefined;
    return { flags, min, max };
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

function nameBytes(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...leb(bytes.length), ...bytes];
}

interface Section {
  readonly id: number;
  readonly body: Uint8Array;
}

function sections(module: Uint8Array): Section[] {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (!header.every((b, i) => module[i] === b))
    throw new WasmPatchError("not a WebAssembly 1.0 module");
  const r = new Reader(module);
  r.at = 8;
  const out: Section[] = [];
  while (r.at < module.length) {
    const id = r.byte();
    const size = r.u32();
    out.push({ id, body: module.subarray(r.at, r.at + size) });
    r.skip(size);
  }
  return out;
}

function assemble(parts: readonly Section[]): Uint8Array {
  const chunks: number[][] = [[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]];
  let total = 8;
  const encoded = parts.map((s) => {
    const head = [s.id, ...leb(s.body.length)];
    total += head.length + s.body.length;
    return { head, body: s.body };
  });
  const out = new Uint8Array(total);
  out.set(chunks[0] as number[], 0);
  let at = 8;
  for (const { head, body } of encoded) {
    out.set(head, at);
    at += head.length;
    out.set(body, at);
    at += body.length;
  }
  return out;
}

/** Walks an import section, calling `onMemory` with the offset of each memory import's limits. */
function walkImports(body: Uint8Array, onMemory: (limitsAt: number, end: number) => void): number {
  const r = new Reader(body);
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    r.name();
    r.name();
    const kind = r.byte();
    if (kind === 0x00) r.u32();
    else if (kind === 0x01) {
      r.byte();
      r.limits();
    } else if (kind === KIND_MEMORY) {
      const at = r.at;
      r.limits();
      onMemory(at, r.at);
    } else if (kind === 0x03) {
      r.byte();
      r.byte();
    } else throw new WasmPatchError(`import ${i}: unknown kind ${kind}`);
  }
  return count;
}

/**
 * The emulator module with its one defined memory turned into an import of a shared memory
 * `env.memory` of `maximumPages` pages at most. Returns the patched bytes and the memory's
 * initial size in pages (create the shared memory with it).
 */
export function importSharedMemory(
  module: Uint8Array,
  maximumPages: number,
): { bytes: Uint8Array; initialPages: number } {
  const parts = sections(module);
  const memory = parts.find((s) => s.id === SECTION_MEMORY);
  if (!memory) throw new WasmPatchError("the module defines no memory");
  const mr = new Reader(memory.body);
  if (mr.u32() !== 1) throw new WasmPatchError("expected exactly one memory definition");
  const { min } = mr.limits();
  if (min > maximumPages)
    throw new WasmPatchError(`memory needs ${min} pages, above the maximum ${maximumPages}`);
  const entry = [
    ...nameBytes("env"),
    ...nameBytes("memory"),
    KIND_MEMORY,
    LIMITS_SHARED,
    ...leb(min),
    ...leb(maximumPages),
  ];
  const imports = parts.find((s) => s.id === SECTION_IMPORT);
  let importBody: Uint8Array;
  if (imports) {
    const r = new Reader(imports.body);
    const count = r.u32();
    const rest = imports.body.subarray(r.at);
    importBody = Uint8Array.from([...leb(count + 1), ...rest, ...entry]);
  } else {
    importBody = Uint8Array.from([...leb(1), ...entry]);
  }
  const out: Section[] = [];
  let placed = false;
  for (const s of parts) {
    if (s.id === SECTION_MEMORY) continue;
    if (s.id === SECTION_IMPORT) {
      out.push({ id: SECTION_IMPORT, body: importBody });
      placed = true;
      continue;
    }
    // Custom sections (id 0) may stand anywhere; the import section precedes ids 3 and above.
    if (!placed && s.id > SECTION_IMPORT) {
      out.push({ id: SECTION_IMPORT, body: importBody });
      placed = true;
    }
    out.push(s);
  }
  if (!placed) out.push({ id: SECTION_IMPORT, body: importBody });
  return { bytes: assemble(out), initialPages: min };
}

/** A module whose memory import is marked shared with `maximumPages` (unchanged when it imports none). */
export function shareMemoryImport(module: Uint8Array, maximumPages: number): Uint8Array {
  const parts = sections(module);
  const imports = parts.find((s) => s.id === SECTION_IMPORT);
  if (!imports) return module;
  let patch: { at: number; end: number } | undefined;
  walkImports(imports.body, (at, end) => {
    patch = { at, end };
  });
  if (!patch) return module;
  const r = new Reader(imports.body);
  r.at = patch.at;
  const { min } = r.limits();
  const body = Uint8Array.from([
    ...imports.body.subarray(0, patch.at),
    LIMITS_SHARED,
    ...leb(min),
    ...leb(maximumPages),
    ...imports.body.subarray(patch.end),
  ]);
  return assemble(parts.map((s) => (s === imports ? { id: SECTION_IMPORT, body } : s)));
}
