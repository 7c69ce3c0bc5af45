/**
 * What a run records (`runScenario`'s result): the wire, each guest's transcript, loss
 * counters, the threads' end states and the producers left waiting. Plain data the report and
 * the oracles read.
 */
import type { PerfettoTrace } from "@vmmux/microkit-pd";
import type { UartLossPoints } from "@vmmux/pl011-uart";
import type { VirtRxLoss, VirtTxLoss } from "@vmmux/sddf-serial";
import type { GuestTranscript } from "./guests.js";
import type { GuestFidelity } from "./oracles/fidelity-watch.js";
import type { GuestStarvation } from "./oracles/starvation-run.js";
import type { SchedulePerturbation } from "./schedule-perturbation.js";
import type { PdFault } from "./stream/run-state.js";
import type { WireRecord } from "./stream/wire-store.js";

/** A keyboard byte as sent towards the UART. */
export interface KeyByte {
  readonly byte: number;
  readonly tag: number;
  /** Requested start time, ns. */
  readonly at: number;
}

/** What one guest did in a run. */
export interface GuestRun extends GuestTranscript {
  readonly name: string;
  readonly pd: string;
  /** Client index in both virtualisers. */
  readonly index: number;
  /** Provenance origin of its bytes (`index + 1`). */
  readonly origin: number;
  readonly kind: "sddf-client" | "vm";
  /** Bytes virt_rx delivered to its RX queue that it had not read when the run stopped. */
  readonly rxPending: readonly { readonly byte: number; readonly tag: number }[];
  /** Capacity of its TX ring (bytes). */
  readonly txCapacity: number;
  /** The trace's output as a terminal showed it when recorded. */
  readonly traceText: string;
}

/**
 * A producer that waits for its consumer's signal when the run stopped (sddf-serial §3.1,
 * §3.2): virt_tx for a client it put on its pending list (the driver TX queue), or a VMM's
 * console whose transmit waits for space in its client TX queue. Read by the no-lost-wake-up
 * oracle (DESIGN.md oracle 7).
 */
export interface ProducerWait {
  /** Who waits, in words: `serial_virt_tx for guest1`, `vmm_guest2's console`. */
  readonly producer: string;
  /** The PD that a signal would wake. */
  readonly waiter: string;
  /** Its kernel state at the end (`running`, `runnable`, `blocked-recv`, ...). */
  readonly waiterState: string;
  /** The PD is inside an entry point at the end (its decision may not be final). */
  readonly waiterBusy: boolean;
  /** The byte ring it waits on. */
  readonly queue: string;
  /** Free bytes the producer needs before it moves again. */
  readonly need: number;
  readonly capacity: number;
  /** Unread bytes in the ring (what the consumer will still drain). */
  readonly length: number;
  readonly free: number;
  /** `producer_signalled == 0`: the consumer will signal after its next dequeue. */
  readonly signalRequested: boolean;
}

/** A thread at the end of the run. */
export interface ThreadEnd {
  readonly name: string;
  readonly kind: string;
  readonly state: string;
  /** Virtual ns it ran (absent in results made by hand). */
  readonly runTime?: number;
}

export interface RunLoss {
  readonly virtTx: VirtTxLoss;
  readonly virtRx: VirtRxLoss;
  readonly uart: UartLossPoints;
}

export interface RunResult {
  readonly scenarioFile: string;
  readonly seed: number;
  readonly profile: "reference" | "hardened";
  readonly colour: boolean;
  readonly lineAtomic: boolean;
  /** Capacity of the driver TX ring (bytes). */
  readonly driverTxCapacity: number;
  /** Virtual ns when the run stopped. */
  readonly virtualTime: number;
  /** Kernel events processed. */
  readonly events: number;
  /** True if nothing could happen any more; false if the duration limit stopped it. */
  readonly idle: boolean;
  /** Every character that left the TX wire (materialised on first read; empty unless kept). */
  readonly wire: readonly WireRecord[];
  /** False when the run was asked not to keep its wire (`RunOptions.keepWire`). */
  readonly wireKept?: boolean;
  readonly keyboard: readonly KeyByte[];
  readonly guests: readonly GuestRun[];
  readonly loss: RunLoss;
  /**
   * Peer faults contained (a corrupt shared queue index): each virtualiser's `corruptPeers`
   * (a client cut off, or its driver queue) and the driver's `peerFaults`. Not in the digest.
   */
  readonly peerFaults?: {
    readonly virtTx: number;
    readonly virtRx: number;
    readonly driver: number;
  };
  /** Keyboard bytes the UART lost (R1, R2) by provenance sequence number; null when the run kept no event log. */
  readonly keyboardLost?: readonly number[] | null;
  /** Typed bytes not yet past the driver when the run stopped (line, RX FIFO, driver RX queue). */
  readonly keyboardInFlight: number;
  readonly switchChar: number;
  readonly terminateNumChar: number;
  /** Every PD and vCPU thread and its state at the end. */
  readonly threads: readonly ThreadEnd[];
  /** Faults PDs raised, from the event log; null when the run kept no log. */
  readonly pdFaults: readonly PdFault[] | null;
  /** Faults the faulting PD's parent answered with a restart (faults/restart.ts), not in `pdFaults`. */
  readonly restartedFaults?: readonly PdFault[];
  /** Producers waiting for a signal at the end. */
  readonly waits: readonly ProducerWait[];
  /**
   * Tags of the bytes queued for the wire at the end: the driver TX queue's, each guest's client
   * TX queue's, and the last ones the driver moved into the UART (its TX FIFO and shift register,
   * read from the slots before the queue's head; the last may be on the wire already).
   */
  readonly txQueued?: () => {
    readonly uart: Uint32Array;
    readonly driver: Uint32Array;
    readonly clients: Uint32Array[];
  };
  /** Per guest, its longest wait with work due (`oracles/starvation.ts`); absent in results made by hand. */
  readonly starvation?: readonly GuestStarvation[];
  /** Per guest, its wire bytes and typing against its trace (`oracles/fidelity-watch.ts`). */
  readonly fidelity?: readonly GuestFidelity[];
  /** The schedule perturbation applied (`RunOptions.schedule`), if any. */
  readonly schedule: SchedulePerturbation | null;
  /**
   * SHA-256 over the observable outcome (`stream/digest.ts`): wire with tags and times, guest
   * writes and input, loss counters, virtual time and the kernel's event count.
   */
  readonly digest: string;
  /** PDs the model has no program for (roles.ts `idle`, serial clients with no guest): run idle. */
  readonly idlePds?: readonly string[];
  /** The event timeline (only when the run kept its whole log). */
  perfetto(): PerfettoTrace | undefined;
  /** Resolves when files streamed during the run (`perfettoFile`) are complete and in place. */
  readonly streamed: Promise<void>;
}
