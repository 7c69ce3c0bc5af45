/**
 * A small single-core schedule for virt_tx property suites: clients publish and notify,
 * the driver drains part of the driver queue when a command says so (a UART whose FIFO
 * paces it) and, because it outranks virt_tx, may run at any of virt_tx's preemption
 * points. The final liveness phase lets the driver drain everything, notifying only as
 * the protocol says; if that leaves work undone, something was lost or stranded. Notifications
 * to virt_tx coalesce into pending bits delivered in ascending channel order (§1.1).
 */
import type { VirtTxConfig, VirtTxConfigInput } from "../config.js";
import type { VirtTx } from "../virt-tx.js";
import { RIG_DRIVER_CHANNEL, runInterleaved, TxRig } from "./rig.js";

export type TxSimCommand =
  /** Client `k` publishes `bytes` (as far as they fit) and notifies virt_tx. */
  | { readonly kind: "write"; readonly k: number; readonly bytes: Uint8Array }
  /** The driver runs and takes up to `max` bytes. */
  | { readonly kind: "driver"; readonly max: number };

export interface TxSimOptions {
  readonly clients: number;
  readonly clientCapacity: number;
  readonly driverCapacity: number;
  readonly config?: Omit<Partial<VirtTxConfigInput>, "driver" | "clients">;
  readonly make?: (config: VirtTxConfig) => VirtTx;
  /** Bytes the driver takes at successive copy points of virt_tx (0 = it does not run). */
  readonly preemptions: readonly number[];
  /**
   * Bytes the driver takes at successive signalling points of virt_tx (between its "does
   * not fit" check, its request and its re-check: the window of §3.3).
   */
  readonly windowPreemptions?: readonly number[];
}

export interface TxSimResult {
  readonly rig: TxRig;
  /** Bytes each client actually enqueued, in order. */
  readonly published: number[][];
  /** Whether the final liveness phase reached a state with nothing left to do. */
  readonly quiescent: boolean;
  /**
   * Index of the first command after which virt_tx waited for the driver without a
   * wake-up being guaranteed (pending clients, yet no requested signal or no data for the
   * driver to drain): a lost wake-up (§3.3), or undefined if none happened.
   */
  readonly strandedAfter: number | undefined;
}

export function simulateTx(options: TxSimOptions, commands: readonly TxSimCommand[]): TxSimResult {
  const rig = new TxRig({
    clients: options.clients,
    clientCapacity: options.clientCapacity,
    driverCapacity: options.driverCapacity,
    ...(options.config ? { config: options.config } : {}),
    ...(options.make ? { make: options.make } : {}),
  });
  const published: number[][] = Array.from({ length: options.clients }, () => []);
  const bits = new Set<number>();
  let point = 0;
  let windowPoint = 0;
  const windowPlan = options.windowPreemptions ?? [];
  const driverRun = (max: number) => {
    const took = rig.take(max);
    if (took > 0 && rig.driver.requireConsumerSignal()) {
      rig.driver.cancelConsumerSignal();
      bits.add(RIG_DRIVER_CHANNEL);
    }
  };
  const runVirt = () => {
    while (bits.size > 0) {
      const ch = Math.min(...bits);
      bits.delete(ch);
      runInterleaved(rig.pd, rig.virt.notified(ch, rig.pd), ({ kind }) => {
        const plan = kind === "op" ? windowPlan : options.preemptions;
        const index = kind === "op" ? windowPoint++ : point++;
        const amount = plan.length ? (plan[index % plan.length] as number) : 0;
        if (amount > 0) driverRun(amount);
      });
    }
  };
  let strandedAfter: number | undefined;
  for (const [index, command] of commands.entries()) {
    if (command.kind === "write") {
      const n = rig.publish(command.k, command.bytes);
      published[command.k]?.push(...command.bytes.subarray(0, n));
      if (n > 0) {
        bits.add(command.k + 1);
        runVirt();
      }
    } else {
      driverRun(command.max);
      runVirt();
    }
    const wakeUpDue = rig.driver.requireConsumerSignal() && !rig.driver.empty();
    if (strandedAfter === undefined && rig.virt.pending.length > 0 && !wakeUpDue) {
      strandedAfter = index;
    }
  }
  let quiescent = false;
  for (let round = 0; round < 10_000 && !quiescent; round++) {
    driverRun(Number.POSITIVE_INFINITY);
    quiescent = bits.size === 0;
    runVirt();
  }
  return { rig, published, quiescent, strandedAfter };
}
