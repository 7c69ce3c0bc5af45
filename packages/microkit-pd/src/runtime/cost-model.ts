/**
 * What virtual time a preemption point and a kernel operation cost (DESIGN.md "The simulation
 * kernel"; reference §4.4 leaves the values to the user). A preemption point `{ kind, units }`
 * charges `units × work[kind]` ns (`work.default` for kinds not listed).
 */
export interface CostModel {
  /** ns per unit, by preemption-point kind. */
  readonly work: Readonly<Record<string, number>>;
  /** `seL4_Signal` (notify, deferred notify). */
  readonly signal: number;
  /** `seL4_Call` of a PPC. */
  readonly call: number;
  /** `seL4_ReplyRecv`'s reply phase. */
  readonly reply: number;
  /** `seL4_Recv` / the receive phase of the event loop. */
  readonly recv: number;
  /** `seL4_IRQHandler_Ack`. */
  readonly irqAck: number;
  /** Fault IPC, from the faulting thread to its handler (includes the trap). */
  readonly faultIpc: number;
  /** Kernel entry for an interrupt, billed to the interrupted thread. */
  readonly irqEntry: number;
  /** Switching the core to a different thread, billed to the incoming thread. */
  readonly contextSwitch: number;
}

/** Plausible microcontroller-class numbers (ns); tests that follow the §3.5 traces use {@link zeroKernelCosts}. */
export const defaultCostModel: CostModel = {
  work: {
    default: 100,
    /** Guest or PD compute given directly in ns. */
    compute: 1,
    ns: 1,
    us: 1000,
    copy: 2,
    mmio: 40,
    memory: 5,
    ppcall: 0,
  },
  signal: 250,
  call: 400,
  reply: 400,
  recv: 200,
  irqAck: 200,
  faultIpc: 800,
  irqEntry: 300,
  contextSwitch: 300,
};

/** {@link defaultCostModel} with every kernel operation free, as the worked traces assume (§3.5). */
export const zeroKernelCosts: CostModel = {
  ...defaultCostModel,
  signal: 0,
  call: 0,
  reply: 0,
  recv: 0,
  irqAck: 0,
  faultIpc: 0,
  irqEntry: 0,
  contextSwitch: 0,
};

/** A partial override of a cost model; `work` entries merge with the base's. */
export interface CostModelOverride extends Partial<Omit<CostModel, "work">> {
  readonly work?: Readonly<Record<string, number>>;
}

export function mergeCostModel(
  base: CostModel,
  override: CostModelOverride | undefined,
): CostModel {
  if (!override) return base;
  const o = { ...base, ...override };
  // Every field in one literal: a spread's result took another hidden class once this code
  // was optimised, deoptimising every reader of `k.costs` a few runs into an exploration.
  return {
    work: { ...base.work, ...override.work },
    signal: o.signal,
    call: o.call,
    reply: o.reply,
    recv: o.recv,
    irqAck: o.irqAck,
    faultIpc: o.faultIpc,
    irqEntry: o.irqEntry,
    contextSwitch: o.contextSwitch,
  };
}

/** ns charged for a preemption point. */
export function pointCost(model: CostModel, kind: string, units: number | undefined): number {
  const price = model.work[kind] ?? model.work.default ?? 0;
  return Math.round(price * (units ?? 1));
}
