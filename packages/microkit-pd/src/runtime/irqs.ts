/**
 * The IRQ part (seL4 `interrupt.c`, reference §2.4): interrupt lines routed to PD channels,
 * masked from delivery until acked, level lines re-firing while asserted, one latched edge. A
 * delivery is a signal through the notification part, with the IRQ entry billed to whoever had
 * the core.
 */
import { RuntimeError } from "./errors.js";
import type { Kernel } from "./kernel.js";
import type { Thread } from "./tcb.js";

/** A hardware interrupt line routed to a PD channel (reference §2.4). */
export class IrqLine {
  masked = true;
  latched = false;
  asserted = false;
  constructor(
    readonly irq: number,
    readonly owner: Thread,
    readonly ch: number,
    readonly trigger: "level" | "edge",
  ) {}
}

export class Irqs {
  private readonly lines = new Map<number, IrqLine>();

  constructor(protected readonly k: Kernel) {}

  add(line: IrqLine): void {
    this.lines.set(line.irq, line);
  }

  line(irq: number): IrqLine | undefined {
    return this.lines.get(irq);
  }

  /** Fast-forward's fingerprint of the lines: mask, latch, level. */
  shapeInto(out: { push(v: number): void }): void {
    for (const line of this.lines.values()) {
      out.push(line.irq);
      out.push(line.masked ? 1 : 0);
      out.push(line.latched ? 1 : 0);
      out.push(line.asserted ? 1 : 0);
    }
  }

  /** A device drives an interrupt line. */
  setLevel(irq: number, asserted: boolean): void {
    const k = this.k;
    k.ff.taint();
    const line = this.lines.get(irq);
    if (!line)
      throw new RuntimeError("RT_UNKNOWN_IRQ", `irq ${irq} is not routed to any protection domain`);
    const rising = asserted && !line.asserted;
    line.asserted = asserted;
    if (!rising && !(asserted && line.trigger === "level")) return;
    if (!line.masked) {
      this.deliver(line);
    } else if (rising) {
      line.latched = line.trigger === "edge";
      if (k.recording)
        k.record({
          t: k.now,
          type: "irq",
          irq,
          thread: line.owner.name,
          ch: line.ch,
          outcome: "latched",
        });
    }
  }

  private deliver(line: IrqLine): void {
    const k = this.k;
    line.masked = true;
    line.latched = false;
    if (k.recording)
      k.record({
        t: k.now,
        type: "irq",
        irq: line.irq,
        thread: line.owner.name,
        ch: line.ch,
        outcome: "delivered",
      });
    k.chargeKernel(k.costs.irqEntry);
    k.ntfn.signal(`irq:${line.irq}`, line.owner, line.ch);
  }

  /** `seL4_IRQHandler_Ack`: unmask; a still-asserted level line or a latched edge fires again. */
  ack(line: IrqLine, by: Thread): void {
    const k = this.k;
    k.ff.taint();
    if (k.recording)
      k.record({ t: k.now, type: "irq-ack", thread: by.name, ch: line.ch, irq: line.irq });
    line.masked = false;
    if ((line.trigger === "level" && line.asserted) || (line.trigger === "edge" && line.latched)) {
      this.deliver(line);
    }
  }
}
