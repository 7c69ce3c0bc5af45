/// <reference path="../webassembly.d.ts" preserve="true" />
/**
 * The simulation's handle on one emulated PC (reference real-guest.md): it starts the emulator
 * worker, then drives it synchronously, one command at a time. `run` lets the CPU execute one
 * slice (until about a millisecond of virtual time has passed at the configured rate, or HLT)
 * and returns either the end of the slice or a memory-mapped access to the console window that
 * stopped the CPU inside its instruction; `reply` completes such an access and continues.
 * The guest's RAM is shared memory, so the VMM reads the virtqueues where the guest wrote them.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import type { GuestAssetPaths } from "../assets/fetch.js";
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
  CONTROL_BYTES,
  F_ADDRESS,
  F_INSTRUCTIONS,
  F_NEXT_TIMER_MS,
  F_NOW_MS,
  FLOAT_OFFSET,
  HALTED,
  OP,
  SERIAL_WRITTEN,
  TEXT_LENGTH,
  TEXT_OFFSET,
  TURN,
  TURN_MAIN,
  TURN_WORKER,
  VALUE,
  type WorkerReady,
  type WorkerSetup,
} from "./protocol.js";
import { importSharedMemory } from "./wasm-patch.js";

/** Where the emulated CPU stopped. `instructions` counts every instruction since boot. */
export type MachineStop =
  | {
      readonly kind: "slice";
      readonly instructions: number;
      readonly halted: boolean;
      /** When halted: ms until v86's next hardware timer (PIT, RTC, APIC, ACPI PM). */
      readonly nextTimerMs: number;
    }
  | {
      readonly kind: "read";
      readonly instructions: number;
      readonly address: number;
      readonly width: 1 | 4;
    }
  | {
      readonly kind: "write";
      readonly instructions: number;
      readonly address: number;
      readonly width: 1 | 4;
      readonly value: number;
    };

export interface MachineOptions {
  readonly assets: GuestAssetPaths;
  readonly cmdline: string;
  /** Guest RAM in bytes (v86's `memory_size`). */
  readonly memorySize: number;
  /** Emulated instructions per virtual millisecond. */
  readonly instructionsPerMs: number;
  readonly window: { readonly base: number; readonly size: number };
  readonly epochMs: number;
  readonly seed: number;
  /** How long to wait for the worker before declaring it hung, ms of wall time. */
  readonly hangTimeoutMs?: number;
  /**
   * Let V8 recompile the emulator's hot WebAssembly (v86 and the code its JIT generates) with
   * its optimizing tier, TurboFan (default false: its baseline tier, Liftoff, only). The
   * emulation is the same either way (same stops after the same instruction counts); without
   * TurboFan a real-linux check peaks about 170 MB lower and takes less CPU, because TurboFan
   * compiles each of v86's large generated functions in tens of MB of scratch memory. V8's
   * flags belong to the process: this decides for every module compiled after `start`.
   */
  readonly optimizedWasm?: boolean;
}

/** The emulator failed: v86 threw, the worker died, or it stopped answering. */
export class MachineError extends Error {
  readonly code = "V86_MACHINE";
  constructor(message: string) {
    super(message);
    this.name = "MachineError";
  }
}

const SERIAL_RING_BYTES = 64 * 1024;

/** Shared memory may grow to 2 GiB (pages of 64 KiB); v86 grows it once, for guest RAM. */
const MAXIMUM_PAGES = 32768;

/**
 * The worker's young generation, MB: v86's JavaScript keeps little, so a small nursery does
 * (V8's default lets it grow to 32 MB of resident memory beside the guest's).
 */
const WORKER_YOUNG_GENERATION_MB = 4;

/** `bytes` in an ArrayBuffer of their own (copied if need be), so they can move to the worker. */
function owned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : new Uint8Array(bytes);
}

/** The worker: built JavaScript, or from sources (tests) the TypeScript file through tsx's loader. */
function startWorker(workerData: WorkerSetup): Worker {
  const here = new URL(import.meta.url);
  // The boot files move to the worker (transferred, not copied); the shared buffers are shared.
  const transferList = [
    workerData.wasm,
    workerData.bios,
    workerData.vgaBios,
    workerData.bzImage,
    workerData.initrd,
  ].map((bytes) => bytes.buffer as ArrayBuffer);
  const options = {
    workerData,
    transferList,
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  };
  if (!here.pathname.endsWith(".ts")) return new Worker(new URL("./worker.js", here), options);
  const entry = new URL("./worker.ts", here).href;
  const bootstrap = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

export class V86Machine {
  private readonly control: Int32Array;
  private readonly floats: Float64Array;
  private readonly textBytes: Uint8Array;
  private stopped = false;
  /** The emulator's memory, guest RAM in it; let go when stopped, so it can be freed. */
  private memory: WebAssembly.Memory | undefined;

  private constructor(
    private readonly worker: Worker,
    controlBuffer: SharedArrayBuffer,
    private readonly serialRing: SharedArrayBuffer,
    memory: WebAssembly.Memory,
    private readonly ready: WorkerReady,
    private readonly hangTimeoutMs: number,
  ) {
    this.memory = memory;
    this.control = new Int32Array(controlBuffer, 0, FLOAT_OFFSET / 4);
    this.floats = new Float64Array(controlBuffer, FLOAT_OFFSET, (TEXT_OFFSET - FLOAT_OFFSET) / 8);
    this.textBytes = new Uint8Array(controlBuffer, TEXT_OFFSET);
  }

  /** Starts the worker and loads the machine (asynchronous: do it before the simulation runs). */
  static async start(options: MachineOptions): Promise<V86Machine> {
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve("v86/build/v86.wasm");
    setFlagsFromString(options.optimizedWasm === true ? "--no-liftoff-only" : "--liftoff-only");
    const patched = importSharedMemory(readFileSync(wasmPath), MAXIMUM_PAGES);
    const memory = new WebAssembly.Memory({
      initial: patched.initialPages,
      maximum: MAXIMUM_PAGES,
      shared: true,
    });
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const serial = new SharedArrayBuffer(SERIAL_RING_BYTES);
    const setup: WorkerSetup = {
      control,
      memory,
      wasm: owned(patched.bytes),
      maximumPages: MAXIMUM_PAGES,
      bios: owned(readFileSync(options.assets.bios)),
      vgaBios: owned(readFileSync(options.assets.vgaBios)),
      bzImage: owned(readFileSync(options.assets.bzImage)),
      initrd: owned(readFileSync(options.assets.initrd)),
      cmdline: options.cmdline,
      memorySize: options.memorySize,
      instructionsPerMs: options.instructionsPerMs,
      window: options.window,
      epochMs: options.epochMs,
      seed: options.seed,
      serial,
    };
    const worker = startWorker(setup);
    const ready = await new Promise<WorkerReady>((resolve, reject) => {
      worker.once("message", (message: WorkerReady | { kind: "error"; message: string }) => {
        if (message.kind === "ready") resolve(message);
        else reject(new MachineError(`the emulator did not start: ${message.message}`));
      });
      worker.once("error", (error) =>
        reject(new MachineError(`the emulator worker failed: ${error.message}`)),
      );
    });
    return new V86Machine(worker, control, serial, memory, ready, options.hangTimeoutMs ?? 120_000);
  }

  /**
   * The last bytes (up to 64 KiB) the guest wrote to its serial port ttyS0: the kernel's own
   * console, not the board's UART (the guest's console on the board is the virtio one).
   */
  serialText(): string {
    const ring = new Uint8Array(this.serialRing);
    const written = this.control[SERIAL_WRITTEN] as number;
    const start = Math.max(0, written - ring.length);
    const bytes = new Uint8Array(written - start);
    for (let i = start; i < written; i++) bytes[i - start] = ring[i % ring.length] as number;
    return new TextDecoder("latin1").decode(bytes);
  }

  /** Guest-physical RAM, shared with the emulator: address 0 is index 0. */
  ram(): Uint8Array {
    if (this.memory === undefined) throw new MachineError("the emulator has been stopped");
    return new Uint8Array(this.memory.buffer, this.ready.ramOffset, this.ready.ramSize);
  }

  /** Executes one slice starting at virtual time `nowMs`. */
  run(nowMs: number): MachineStop {
    this.floats[F_NOW_MS] = nowMs;
    return this.command(CMD_RUN);
  }

  /** Completes the access the CPU stopped in (`value` is what a read returns) at `nowMs`. */
  reply(value: number, nowMs: number): MachineStop {
    this.control[VALUE] = value | 0;
    this.floats[F_NOW_MS] = nowMs;
    return this.command(CMD_MMIO_REPLY);
  }

  /** Drives an interrupt line of the emulated PC (I/O APIC input). Only between slices. */
  setIrq(line: number, asserted: boolean): void {
    this.control[ARG] = line;
    this.command(asserted ? CMD_RAISE_IRQ : CMD_LOWER_IRQ);
  }

  /** One edge on an interrupt line: lower, then raise (reference real-guest.md §4). */
  pulseIrq(line: number): void {
    this.setIrq(line, false);
    this.setIrq(line, true);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.memory = undefined;
    await this.worker.terminate();
  }

  private command(op: number): MachineStop {
    if (this.stopped) throw new MachineError("the emulator has been stopped");
    this.control[OP] = op;
    Atomics.store(this.control, TURN, TURN_WORKER);
    Atomics.notify(this.control, TURN);
    while (Atomics.load(this.control, TURN) !== TURN_MAIN) {
      if (Atomics.wait(this.control, TURN, TURN_WORKER, this.hangTimeoutMs) === "timed-out") {
        throw new MachineError(`the emulator did not answer within ${this.hangTimeoutMs} ms`);
      }
    }
    const answer = this.control[OP] as number;
    const instructions = this.floats[F_INSTRUCTIONS] as number;
    switch (answer) {
      case ANS_SLICE_DONE:
        return {
          kind: "slice",
          instructions,
          halted: this.control[HALTED] === 1,
          nextTimerMs: this.floats[F_NEXT_TIMER_MS] as number,
        };
      case ANS_MMIO_READ:
      case ANS_MMIO_WRITE: {
        const address = this.floats[F_ADDRESS] as number;
        const width = this.control[ARG] === 1 ? 1 : 4;
        if (answer === ANS_MMIO_READ) return { kind: "read", instructions, address, width };
        return {
          kind: "write",
          instructions,
          address,
          width,
          value: (this.control[VALUE] as number) >>> 0,
        };
      }
      case ANS_OK:
        return { kind: "slice", instructions, halted: false, nextTimerMs: 0 };
      case ANS_ERROR: {
        const length = this.control[TEXT_LENGTH] as number;
        const message = new TextDecoder().decode(this.textBytes.slice(0, length));
        throw new MachineError(`the emulator failed: ${message}`);
      }
      default:
        throw new MachineError(`the emulator answered ${answer}`);
    }
  }
}
