/**
 * The emulator worker: one v86 machine whose every clock and every slice of execution is
 * commanded by the simulation (reference real-guest.md §6). v86 reads all its clocks from one
 * `microtick` function taken from `performance.now` when its module loads, its RTC from
 * `Date.now`, RDRAND from `crypto.getRandomValues`, compiles JIT code asynchronously and
 * schedules its own main loop. Here:
 * - `performance.now` is replaced before v86 is imported, so `microtick` is the virtual clock:
 *   the time the simulation gave with the last command plus the instructions executed since,
 *   at a fixed rate; `Date.now` is a fixed epoch plus that clock; RDRAND is a seeded PRNG;
 * - JIT output is queued and installed synchronously at the end of each slice;
 * - v86's own scheduling is switched off; a slice is one `main_loop` call, run on command.
 * Memory-mapped accesses to the console window stop the emulated CPU inside the instruction
 * until the simulation replies (a vCPU exit answered by the VMM).
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  ANS_ERROR,
  ANS_MMIO_READ,
  ANS_MMIO_WRITE,
  ANS_OK,
  ANS_SLICE_DONE,
  ARG,
  CMD_LOWER_IRQ,
  CMD_MMIO_REPLY,
  CMD_RAISE_IRQ,
  CMD_RUN,
  CMD_STOP,
  F_ADDRESS,
  F_INSTRUCTIONS,
  F_NEXT_TIMER_MS,
  F_NOW_MS,
  FLOAT_OFFSET,
  HALTED,
  OP,
  SERIAL_WRITTEN,
  TEXT_CAPACITY,
  TEXT_LENGTH,
  TEXT_OFFSET,
  TURN,
  TURN_MAIN,
  TURN_WORKER,
  VALUE,
  type WorkerReady,
  type WorkerSetup,
} from "./protocol.js";
import { shareMemoryImport } from "./wasm-patch.js";

const setup = workerData as WorkerSetup;
const control = new Int32Array(setup.control, 0, FLOAT_OFFSET / 4);
const floats = new Float64Array(setup.control, FLOAT_OFFSET, (TEXT_OFFSET - FLOAT_OFFSET) / 8);
const text = new Uint8Array(setup.control, TEXT_OFFSET, TEXT_CAPACITY);

/** The subset of v86's CPU object this worker drives (property names survive v86's minifier). */
interface V86Cpu {
  main_loop(): number;
  instruction_counter: Uint32Array;
  in_hlt: Uint8Array;
  mem8: Uint8Array;
  wasm_memory: WebAssembly.Memory;
  jit_imports: WebAssembly.Imports[string];
  wm: { wasm_table: WebAssembly.Table };
  codegen_finalize(index: number, start: number, flags: number, ptr: number, len: number): void;
  codegen_finalize_finished(index: number, start: number, flags: number): void;
  device_raise_irq(line: number): void;
  device_lower_irq(line: number): void;
  io: {
    mmap_register(
      base: number,
      size: number,
      read8: (address: number) => number,
      write8: (address: number, value: number) => void,
      read32: (address: number) => number,
      write32: (address: number, value: number) => void,
    ): void;
  };
}

// --- The virtual clock, installed before v86 is loaded -------------------------------------
let clockBaseMs = 0;
let counterBase = 0;
let lastCounter = 0;
let totalInstructions = 0;
let cpu: V86Cpu | undefined;

/** Instructions executed so far, across wraps of v86's 32-bit counter. */
function instructions(): number {
  if (!cpu) return 0;
  const now = (cpu.instruction_counter[0] as number) >>> 0;
  totalInstructions += (now - lastCounter) >>> 0;
  lastCounter = now;
  return totalInstructions;
}

function virtualMs(): number {
  return clockBaseMs + (instructions() - counterBase) / setup.instructionsPerMs;
}

/** The simulation says what time it is: guest time continues from there. */
function rebase(nowMs: number): void {
  clockBaseMs = nowMs;
  counterBase = instructions();
}

let seed = setup.seed >>> 0 || 1;
function nextRandom(): number {
  // xorshift32: any fixed generator will do; what matters is that it is seeded.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

const realPerformanceNow = performance.now;
performance.now = () => virtualMs();
Date.now = () => setup.epochMs + Math.floor(virtualMs());
crypto.getRandomValues = <T extends ArrayBufferView | null>(array: T): T => {
  if (array) {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = nextRandom() & 0xff;
  }
  return array;
};

// --- Turn-based exchange with the simulation ------------------------------------------------
function answer(op: number): void {
  control[OP] = op;
  Atomics.store(control, TURN, TURN_MAIN);
  Atomics.notify(control, TURN);
}

function nextCommand(): number {
  while (Atomics.load(control, TURN) !== TURN_WORKER) Atomics.wait(control, TURN, TURN_MAIN);
  return control[OP] as number;
}

function fail(message: string): void {
  const bytes = new TextEncoder().encode(message).subarray(0, TEXT_CAPACITY);
  text.set(bytes);
  control[TEXT_LENGTH] = bytes.length;
  answer(ANS_ERROR);
}

/** A vCPU exit: report the access, wait for the reply; returns the value read. */
function exit(op: number, address: number, width: number, value: number): number {
  floats[F_ADDRESS] = address >>> 0;
  floats[F_INSTRUCTIONS] = instructions();
  control[ARG] = width;
  control[VALUE] = value | 0;
  answer(op);
  for (;;) {
    const command = nextCommand();
    if (command === CMD_MMIO_REPLY) {
      rebase(floats[F_NOW_MS] as number);
      return (control[VALUE] as number) >>> 0;
    }
    fail(
      `command ${command} while the CPU is stopped in an access to ${(address >>> 0).toString(16)}`,
    );
  }
}

// --- The machine ------------------------------------------------------------------------------
const pendingCode: [number, number, number, Uint8Array][] = [];

function installCompiledCode(machine: V86Cpu): void {
  for (const [index, start, flags, code] of pendingCode.splice(0)) {
    const module = new WebAssembly.Module(shareMemoryImport(code, setup.maximumPages));
    const instance = new WebAssembly.Instance(module, { e: machine.jit_imports });
    machine.wm.wasm_table.set(index + 1024, instance.exports.f as WebAssembly.ExportValue);
    machine.codegen_finalize_finished(index, start, flags);
  }
}

async function boot(): Promise<V86Cpu> {
  const { V86 } = (await import("v86")) as unknown as {
    V86: new (
      options: Record<string, unknown>,
    ) => {
      add_listener(event: string, listener: (...args: unknown[]) => void): void;
      v86: { cpu: V86Cpu; next_tick(t: number): void };
    };
  };
  performance.now = realPerformanceNow;
  // The main thread transferred each file in an ArrayBuffer of its own: v86 gets it uncopied.
  const buffer = (bytes: Uint8Array) => ({
    buffer:
      bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes.buffer
        : bytes.slice().buffer,
  });
  const emulator = new V86({
    wasm_fn: async (env: { env: Record<string, unknown> }) =>
      (await WebAssembly.instantiate(setup.wasm, { env: { ...env.env, memory: setup.memory } }))
        .instance.exports,
    memory_size: setup.memorySize,
    vga_memory_size: 2 * 1024 * 1024,
    bios: buffer(setup.bios),
    vga_bios: buffer(setup.vgaBios),
    bzimage: buffer(setup.bzImage),
    initrd: buffer(setup.initrd),
    cmdline: setup.cmdline,
    acpi: true,
    autostart: false,
  });
  const serial = new Uint8Array(setup.serial);
  emulator.add_listener("serial0-output-byte", (byte) => {
    const written = control[SERIAL_WRITTEN] as number;
    serial[written % serial.length] = byte as number;
    control[SERIAL_WRITTEN] = written + 1;
  });
  await new Promise<void>((resolve) => emulator.add_listener("emulator-loaded", () => resolve()));
  const machine = emulator.v86.cpu;
  // v86 would schedule its own main loop (setImmediate/setTimeout); the simulation does.
  emulator.v86.next_tick = () => {};
  machine.codegen_finalize = (index, start, flags, ptr, len) => {
    const code = new Uint8Array(machine.wasm_memory.buffer, ptr >>> 0, len >>> 0).slice();
    pendingCode.push([index, start, flags, code]);
  };
  const window = setup.window;
  const inWindow = (address: number) => address >>> 0;
  machine.io.mmap_register(
    window.base,
    0x20000,
    (address) => exit(ANS_MMIO_READ, inWindow(address), 1, 0) & 0xff,
    (address, value) => {
      exit(ANS_MMIO_WRITE, inWindow(address), 1, value & 0xff);
    },
    (address) => exit(ANS_MMIO_READ, inWindow(address), 4, 0),
    (address, value) => {
      exit(ANS_MMIO_WRITE, inWindow(address), 4, value);
    },
  );
  return machine;
}

function serve(machine: V86Cpu): never {
  for (;;) {
    const command = nextCommand();
    try {
      switch (command) {
        case CMD_RUN: {
          rebase(floats[F_NOW_MS] as number);
          const nextTimer = machine.main_loop();

          installCompiledCode(machine);
          const halted = (machine.in_hlt[0] as number) !== 0;
          control[HALTED] = halted ? 1 : 0;
          floats[F_NEXT_TIMER_MS] = halted ? nextTimer : 0;
          floats[F_INSTRUCTIONS] = instructions();
          answer(ANS_SLICE_DONE);
          break;
        }
        case CMD_RAISE_IRQ:
          machine.device_raise_irq(control[ARG] as number);
          answer(ANS_OK);
          break;
        case CMD_LOWER_IRQ:
          machine.device_lower_irq(control[ARG] as number);
          answer(ANS_OK);
          break;
        case CMD_STOP:
          answer(ANS_OK);
          process.exit(0);
          break;
        default:
          fail(`unknown command ${command}`);
      }
    } catch (error) {
      fail(error instanceof Error ? `${error.message}\n${error.stack ?? ""}` : String(error));
    }
  }
}

boot().then(
  (machine) => {
    cpu = machine;
    lastCounter = (machine.instruction_counter[0] as number) >>> 0;
    const ready: WorkerReady = {
      kind: "ready",
      ramOffset: machine.mem8.byteOffset,
      ramSize: machine.mem8.length,
    };
    parentPort?.postMessage(ready);
    serve(machine);
  },
  (error: unknown) => {
    parentPort?.postMessage({ kind: "error", message: String(error) });
  },
);
