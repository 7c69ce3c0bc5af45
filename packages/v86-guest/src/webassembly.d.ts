/**
 * The part of the WebAssembly JavaScript API this package uses (WebAssembly JS API §5). Node
 * provides it at run time; the Node type definitions in use do not declare it, and the DOM
 * library that does is not part of this project's configuration.
 */
declare namespace WebAssembly {
  type ExportValue = unknown;
  type Exports = Record<string, ExportValue>;
  type Imports = Record<string, Record<string, unknown>>;
  class Module {
    constructor(bytes: BufferSource);
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number): number;
  }
  class Table {
    get(index: number): unknown;
    set(index: number, value: unknown): void;
  }
  function instantiate(
    bytes: BufferSource,
    imports?: Imports,
  ): Promise<{ module: Module; instance: Instance }>;
}
type BufferSource = ArrayBufferView | ArrayBuffer;
