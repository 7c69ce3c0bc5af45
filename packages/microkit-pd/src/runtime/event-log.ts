/**
 * The runtime's event log (DESIGN.md "Event log"): every schedule decision, thread state change,
 * notification, IRQ, PPC, fault, reply, deferred operation, device trace and counter, stamped with
 * virtual time. Plain JSON-serialisable records, so a rerun can be compared byte for byte.
 */
import type { FaultMessage } from "../program.js";

/** Entry points of a PD (reference §2.2) and the guest program of a vCPU. */
export type EntryPoint = "init" | "notified" | "protected" | "fault" | "guest";

/** Kernel thread states (reference §4.1), as the log and inspection report them. */
export type ThreadStateName =
  | "inactive"
  | "runnable"
  | "blocked-recv"
  | "blocked-reply"
  | "blocked-send"
  | "blocked-wfi"
  | "dead";

export type RuntimeEvent =
  /** The core switched threads (`null` = idle). */
  | {
      readonly t: number;
      readonly type: "switch";
      readonly from: string | null;
      readonly to: string | null;
      /** Made by a step of a thread in its declared idle loop (kernel.ts `quietStep`; fold only). */
      readonly quiet?: true;
    }
  /** The domain schedule moved to another domain (reference §3.3). */
  | { readonly t: number; readonly type: "domain"; readonly domain: number }
  | {
      readonly t: number;
      readonly type: "state";
      readonly thread: string;
      readonly state: ThreadStateName;
    }
  | {
      readonly t: number;
      readonly type: "entry";
      readonly thread: string;
      readonly entry: EntryPoint;
      readonly ch?: number;
      /** Signal ids (see `signal.id`) whose bits this `notified` call consumes. */
      readonly flows?: readonly number[];
      /** Made by a step of a thread in its declared idle loop (kernel.ts `quietStep`; fold only). */
      readonly quiet?: true;
    }
  | {
      readonly t: number;
      readonly type: "entry-end";
      readonly thread: string;
      readonly entry: EntryPoint;
      /** Made by a step of a thread in its declared idle loop (kernel.ts `quietStep`; fold only). */
      readonly quiet?: true;
    }
  /** A preemption point was reached (the thread's code may interleave with others here). */
  | {
      readonly t: number;
      readonly type: "point";
      readonly thread: string;
      readonly kind: string;
      readonly ns: number;
    }
  | {
      readonly t: number;
      readonly type: "signal";
      readonly id: number;
      /** Sender thread, or `irq:<n>` for an interrupt. */
      readonly from: string;
      readonly to: string;
      readonly ch: number;
      /** `woken`: the receiver was waiting and gets this badge alone; else OR-ed into its word. */
      readonly outcome: "woken" | "pending" | "coalesced";
    }
  | {
      readonly t: number;
      readonly type: "irq";
      readonly irq: number;
      readonly thread: string;
      readonly ch: number;
      readonly outcome: "delivered" | "latched" | "ignored";
    }
  | {
      readonly t: number;
      readonly type: "irq-ack";
      readonly thread: string;
      readonly ch: number;
      readonly irq: number;
    }
  | {
      readonly t: number;
      readonly type: "ppcall";
      readonly from: string;
      readonly to: string;
      readonly ch: number;
    }
  | {
      readonly t: number;
      readonly type: "reply";
      readonly from: string;
      readonly to: string;
      /** Made by a step of a thread in its declared idle loop (kernel.ts `quietStep`; fold only). */
      readonly quiet?: true;
    }
  | {
      readonly t: number;
      readonly type: "fault";
      readonly thread: string;
      readonly handler: string;
      readonly fault: FaultMessage;
      /** Made by a step of a thread in its declared idle loop (kernel.ts `quietStep`; fold only). */
      readonly quiet?: true;
    }
  | {
      readonly t: number;
      readonly type: "deferred";
      readonly thread: string;
      readonly op: "notify" | "irq-ack";
      readonly ch: number;
      /** `set`: stored in the slot; `overwritten`: a previous op in the slot was lost; `performed`. */
      readonly phase: "set" | "overwritten" | "performed";
    }
  | {
      readonly t: number;
      readonly type: "budget";
      readonly thread: string;
      readonly sc: string;
      readonly action: "exhausted" | "throttled" | "released";
      /** Made by a step of a thread in its declared idle loop (kernel.ts `quietStep`; fold only). */
      readonly quiet?: true;
    }
  | {
      readonly t: number;
      readonly type: "device";
      readonly device: string;
      readonly name: string;
      readonly args?: Readonly<Record<string, unknown>>;
    }
  /**
   * `count` identical idle periods of `period` ns each, applied at once by fast-forward from `t`
   * to `until` (the log of those periods is this one record): `events` heap events and `ran`
   * ns of run time per thread that ran in them.
   */
  | {
      readonly t: number;
      readonly type: "idle";
      readonly thread: string;
      readonly until: number;
      readonly count: number;
      readonly period: number;
      readonly events: number;
      readonly ran: Readonly<Record<string, number>>;
    }
  | {
      readonly t: number;
      readonly type: "counter";
      readonly name: string;
      readonly value: number;
      readonly thread?: string;
    }
  | {
      readonly t: number;
      readonly type: "debug";
      readonly thread: string;
      readonly message: string;
    }
  | {
      readonly t: number;
      readonly type: "error";
      readonly thread: string;
      readonly code: string;
      readonly message: string;
    };

export type RuntimeEventType = RuntimeEvent["type"];

/** One line per event, for debugging and compact expected sequences in tests. */
export function formatEvent(event: RuntimeEvent): string {
  const at = `${event.t}`;
  switch (event.type) {
    case "switch":
      return `${at} switch ${event.from ?? "idle"} -> ${event.to ?? "idle"}`;
    case "domain":
      return `${at} domain ${event.domain}`;
    case "state":
      return `${at} state ${event.thread} ${event.state}`;
    case "entry":
      return `${at} ${event.thread} ${event.entry}${event.ch === undefined ? "" : `(${event.ch})`}`;
    case "entry-end":
      return `${at} ${event.thread} end ${event.entry}`;
    case "point":
      return `${at} point ${event.thread} ${event.kind} ${event.ns}`;
    case "signal":
      return `${at} signal ${event.from} -> ${event.to}[${event.ch}] ${event.outcome}`;
    case "irq":
      return `${at} irq ${event.irq} -> ${event.thread}[${event.ch}] ${event.outcome}`;
    case "irq-ack":
      return `${at} irq-ack ${event.thread}[${event.ch}]`;
    case "ppcall":
      return `${at} ppcall ${event.from} -> ${event.to}[${event.ch}]`;
    case "reply":
      return `${at} reply ${event.from} -> ${event.to}`;
    case "fault":
      return `${at} fault ${event.thread} -> ${event.handler} ${event.fault.kind}`;
    case "deferred":
      return `${at} deferred ${event.thread} ${event.op}(${event.ch}) ${event.phase}`;
    case "budget":
      return `${at} budget ${event.thread} ${event.action}`;
    case "device":
      return `${at} device ${event.device} ${event.name}`;
    case "idle":
      return `${at} idle ${event.thread} ${event.count} periods of ${event.period} ns until ${event.until}`;
    case "counter":
      return `${at} counter ${event.thread ? `${event.thread}.` : ""}${event.name}=${event.value}`;
    case "debug":
      return `${at} debug ${event.thread} ${event.message}`;
    case "error":
      return `${at} error ${event.thread} ${event.code} ${event.message}`;
  }
}
