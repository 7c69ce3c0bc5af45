import { describe, expect, it } from "vitest";
import { importSharedMemory, shareMemoryImport, WasmPatchError } from "./wasm-patch.js";

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const str = (s: string) => [s.length, ...[...s].map((c) => c.charCodeAt(0))];
const section = (id: number, body: number[]) => [id, body.length, ...body];

/** (module (memory 2) (func (export "store") (i32.store (i32.const 8) (i32.const 42))) (export "memory" (memory 0))) */
function moduleDefiningMemory(): Uint8Array {
  return Uint8Array.from([
    ...HEADER,
    ...section(1, [1, 0x60, 0, 0]), // type: () -> ()
    ...section(3, [1, 0]), // func 0 has type 0
    ...section(5, [1, 0x00, 2]), // one memory, min 2 pages
    ...section(7, [2, ...str("store"), 0x00, 0, ...str("memory"), 0x02, 0]),
    ...section(10, [1, ...[9, 0, 0x41, 8, 0x41, 42, 0x36, 2, 0, 0x0b]]),
  ]);
}

/** (module (import "e" "m" (memory 1)) (func (export "load") (result i32) (i32.load (i32.const 8)))) */
function moduleImportingMemory(): Uint8Array {
  return Uint8Array.from([
    ...HEADER,
    ...section(1, [1, 0x60, 0, 1, 0x7f]),
    ...section(2, [1, ...str("e"), ...str("m"), 0x02, 0x00, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str("load"), 0x00, 0]),
    ...section(10, [1, ...[7, 0, 0x41, 8, 0x28, 2, 0, 0x0b]]),
  ]);
}

describe("wasm memory sharing", () => {
  it("turns a defined memory into an imported shared one that both modules use", () => {
    const { bytes, initialPages } = importSharedMemory(moduleDefiningMemory(), 16);
    expect(initialPages).toBe(2);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
    const first = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    expect(first.exports.memory).toBe(memory);
    (first.exports.store as () => void)();
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(new Int32Array(memory.buffer)[2]).toBe(42);
    // A second module (like v86's JIT output) imports the same shared memory once patched.
    const loader = shareMemoryImport(moduleImportingMemory(), 16);
    const second = new WebAssembly.Instance(new WebAssembly.Module(loader), { e: { m: memory } });
    expect((second.exports.load as () => number)()).toBe(42);
  });

  it("refuses the unpatched import of a shared memory, which is why the patch exists", () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    expect(
      () =>
        new WebAssembly.Instance(new WebAssembly.Module(moduleImportingMemory()), {
          e: { m: memory },
        }),
    ).toThrow();
  });

  it("says what is wrong with a module it cannot patch", () => {
    expect(() => importSharedMemory(Uint8Array.of(1, 2, 3), 16)).toThrow(WasmPatchError);
    expect(() => importSharedMemory(moduleImportingMemory(), 16)).toThrow(/defines no memory/);
    expect(() => importSharedMemory(moduleDefiningMemory(), 1)).toThrow(/above the maximum/);
  });

  it("leaves a module without a memory import unchanged", () => {
    const bytes = moduleDefiningMemory();
    expect(shareMemoryImport(bytes, 16)).toBe(bytes);
  });
});
