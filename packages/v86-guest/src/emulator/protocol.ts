/// <reference path="../webassembly.d.ts" preserve="true" />
/**
 * The control block between the simulation (main thread) and the emulator worker: one
 * SharedArrayBuffer, strictly turn-based. The main thread writes a command and sets `TURN` to
 * `WORKER`; the worker answers and sets it to `MAIN`. Only one side runs at a time, as a vCPU
 * either runs or is stopped in an exit, so the emulator's progress depends on the commands alone.
 */

/** Int32 slots. */
export const TURN = 0;
export const OP = 1;
/** Access width in bytes (exits) or an IRQ line (commands). */
export const ARG = 2;
/** The 32-bit value of an MMIO write, or the value replying to a read. */
export const VALUE = 3;
/** 1 when the emulated CPU is halted (HLT) at the end of a slice. */
export const HALTED = 4;
/** Length of an error message in the text area. */
export const TEXT_LENGTH = 5;

/** Bytes the guest wrote to its first serial port (ttyS0, the kernel's early console) so far. */
export const SERIAL_WRITTEN = 6;

/** Float64 slots (at byte offset FLOAT_OFFSET). */
export const F_NOW_MS = 0;
export const F_INSTRUCTIONS = 1;
export const F_ADDRESS = 2;
export const F_NEXT_TIMER_MS = 3;

export const FLOAT_OFFSET = 64;
export const TEXT_OFFSET = 128;
export const TEXT_CAPACITY = 4096;
export const CONTROL_BYTES = TEXT_OFFSET + TEXT_CAPACITY;

export const TURN_MAIN = 0;
export const TURN_WORKER = 1;

/** Commands (main → worker). */
export const CMD_RUN = 1;
export const CMD_MMIO_REPLY = 2;
export const CMD_RAISE_IRQ = 3;
export const CMD_LOWER_IRQ = 4;
export const CMD_STOP = 5;

/** Answers (worker → main). */
export const ANS_SLICE_DONE = 101;
export const ANS_MMIO_READ = 102;
export const ANS_MMIO_WRITE = 103;
export const ANS_OK = 104;
export const ANS_ERROR = 105;

/** What the worker is started with (its `workerData`). */
export interface WorkerSetup {
  readonly control: SharedArrayBuffer;
  readonly memory: WebAssembly.Memory;
  /** The patched emulator module (memory imported, shared). */
  readonly wasm: Uint8Array;
  readonly maximumPages: number;
  readonly bios: Uint8Array;
  readonly vgaBios: Uint8Array;
  readonly bzImage: Uint8Array;
  readonly initrd: Uint8Array;
  readonly cmdline: string;
  readonly memorySize: number;
  /** Emulated instructions per virtual millisecond (the cost model's MIPS × 1000). */
  readonly instructionsPerMs: number;
  /** Guest-physical window the console's registers occupy, and its 128 KiB mapping block. */
  readonly window: { readonly base: number; readonly size: number };
  /** Wall-clock epoch the guest's RTC starts at (ms since 1970), fixed for reproducibility. */
  readonly epochMs: number;
  /** Seed of RDRAND/RDSEED. */
  readonly seed: number;
  /** A ring of the serial port's last bytes (index SERIAL_WRITTEN counts all of them). */
  readonly serial: SharedArrayBuffer;
}

/** What the worker reports once the emulator is loaded (posted as a message). */
export interface WorkerReady {
  readonly kind: "ready";
  /** Where guest-physical address 0 is in the shared memory, and how much RAM there is. */
  readonly ramOffset: number;
  readonly ramSize: number;
}
