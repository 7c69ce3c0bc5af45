/**
 * A guest program whose vCPU is an emulated PC running an unmodified Linux kernel (DESIGN.md
 * "Guests": a real guest). Each step of the vCPU thread lets the emulator execute one slice and
 * charges the instructions it executed as guest compute, at a fixed rate (the MIPS figure).
 * A load or store to the console window stops the emulated CPU inside the instruction and
 * becomes the same vCPU exit the VMM handles for the model guest (address, width, value), answered
 * through the kernel model before the instruction completes. The VMM's virtual IRQ for the
 * console becomes an edge on the emulated I/O APIC; the guest's write to InterruptACK stands for
 * the end of its interrupt handler and is passed to the VMM as the EOI (vGIC maintenance exit).
 * HLT is the guest's idle: the vCPU waits (WFI, trapped or not as the VMM is configured) with its
 * timer armed at the emulated PC's next hardware timer.
 */
import type { GuestProgram, GuestStep, Nanoseconds, VcpuContext } from "@vmmux/microkit-pd";
import { work } from "@vmmux/microkit-pd";
import type { MachineStop, V86Machine } from "./emulator/machine.js";

/** Instructions in one pass of the guest's idle loop (see `V86Guest.idlePass`). */
const IDLE_PASS_INSTRUCTIONS = 100;

/** virtio-mmio InterruptACK (virtio 1.2 §4.2.2, offset 0x064). */
const INTERRUPT_ACK = 0x064;

export interface V86GuestOptions {
  /** The emulated PC, started before the simulation (see `V86Machine.start`). */
  readonly machine: V86Machine;
  /** The console window as the emulated PC sees it (the SSDT's Memory32Fixed). */
  readonly window: { readonly base: number; readonly size: number };
  /** Where the VMM's console window is in guest-physical space (exits are reported there). */
  readonly consoleBase: number;
  /** The virtual IRQ the VMM injects for the console. */
  readonly consoleIrq: number;
  /** The I/O APIC input the SSDT declares for the console. */
  readonly ioApicLine: number;
  /** Emulated instructions per virtual millisecond (the MIPS figure × 1000). */
  readonly instructionsPerMs: number;
  /** Record the first this many console accesses in {@link V86Guest.accesses} (default 0). */
  readonly recordAccesses?: number;
}

/** One access of the guest to its console window, as the VMM saw it. */
export interface ConsoleAccess {
  readonly op: "R" | "W";
  /** Offset in the window. */
  readonly offset: number;
  readonly width: 1 | 4;
  /** The value written, or the value the VMM answered to a read. */
  readonly value: number;
}

/** What the guest did, for reports and tests. */
export interface V86GuestCounters {
  slices: number;
  instructions: number;
  mmioReads: number;
  mmioWrites: number;
  interrupts: number;
  halts: number;
}

export class V86Guest implements GuestProgram {
  readonly counters: V86GuestCounters = {
    slices: 0,
    instructions: 0,
    mmioReads: 0,
    mmioWrites: 0,
    interrupts: 0,
    halts: 0,
  };
  /** The first console accesses (see {@link V86GuestOptions.recordAccesses}). */
  readonly accesses: ConsoleAccess[] = [];
  /** Console interrupts raised on the emulated PC and not yet acknowledged by the guest. */
  private readonly unacknowledged = new Set<number>();
  private charged = 0;
  /**
   * What one pass of the guest's idle loop costs between two trapped WFIs: Linux's
   * `default_idle` returning from HLT, finding nothing to run and halting again (about a hundred
   * instructions).
   */
  private readonly idlePass;

  constructor(private readonly options: V86GuestOptions) {
    this.idlePass = work(
      "compute",
      Math.max(1, Math.round((IDLE_PASS_INSTRUCTIONS * 1e6) / options.instructionsPerMs)),
    );
  }

  *run(vcpu: VcpuContext): GuestStep {
    const { machine } = this.options;
    for (;;) {
      yield* this.takeInterrupts(vcpu);
      let stop: MachineStop = machine.run(this.nowMs(vcpu));
      for (;;) {
        yield* this.charge(stop.instructions);
        if (stop.kind === "slice") break;
        stop = yield* this.exit(vcpu, stop);
      }
      this.counters.slices++;
      if (stop.halted && !vcpu.irqPending()) {
        // HLT: idle until a virtual IRQ or the emulated PC's next timer. Under libvmm a trapped
        // WFI is answered at once, so the vCPU loops here, as the model guest's idle loop does,
        // without asking the emulator again before anything could have changed; the loop is
        // declared so the kernel can fast-forward it.
        this.counters.halts++;
        const wake: Nanoseconds = vcpu.now() + Math.max(1_000, Math.ceil(stop.nextTimerMs * 1e6));
        vcpu.setTimer(wake);
        yield* vcpu.idle({ pass: this.idlePass, until: (now) => now >= wake });
      }
    }
  }

  private nowMs(vcpu: VcpuContext): number {
    return vcpu.now() / 1e6;
  }

  /** Charges the instructions executed since the last charge as guest compute. */
  private *charge(instructions: number): GuestStep {
    const executed = instructions - this.charged;
    this.charged = instructions;
    if (executed <= 0) return;
    this.counters.instructions += executed;
    yield work("compute", Math.round((executed * 1e6) / this.options.instructionsPerMs));
  }

  /** One access to the console window, answered by the VMM; returns where the CPU stops next. */
  private *exit(
    vcpu: VcpuContext,
    stop: MachineStop & { kind: "read" | "write" },
  ): GuestStep<MachineStop> {
    const { machine, window, consoleBase } = this.options;
    const offset = stop.address - window.base;
    const address = consoleBase + offset;
    if (stop.kind === "read") {
      this.counters.mmioReads++;
      const value = yield* vcpu.mmioRead(address, stop.width);
      this.record("R", offset, stop.width, value);
      return machine.reply(value, this.nowMs(vcpu));
    }
    this.counters.mmioWrites++;
    yield* vcpu.mmioWrite(address, stop.width, stop.value);
    this.record("W", offset, stop.width, stop.value);
    if (offset === INTERRUPT_ACK) {
      for (const irq of this.unacknowledged) yield* vcpu.eoi(irq);
      this.unacknowledged.clear();
    }
    return machine.reply(0, this.nowMs(vcpu));
  }

  private record(op: "R" | "W", offset: number, width: 1 | 4, value: number): void {
    if (this.accesses.length < (this.options.recordAccesses ?? 0)) {
      this.accesses.push({ op, offset, width, value: value >>> 0 });
    }
  }

  /** Virtual IRQs become edges on the emulated I/O APIC; the wake-up timer's PPI is just EOI'd. */
  private *takeInterrupts(vcpu: VcpuContext): GuestStep {
    for (let irq = vcpu.takeIrq(); irq !== undefined; irq = vcpu.takeIrq()) {
      if (irq === this.options.consoleIrq) {
        this.counters.interrupts++;
        this.unacknowledged.add(irq);
        this.options.machine.pulseIrq(this.options.ioApicLine);
      } else {
        yield* vcpu.eoi(irq);
      }
    }
    vcpu.setTimer(null);
  }
}
