/**
 * The guest operating system model on a vCPU (DESIGN.md "Guests"): it boots (compute
 * bursts), reads the device tree the VMM left in RAM at x0, finds `console=hvc0` and the
 * `virtio,mmio` node, probes the console with Linux's driver through real MMIO exits (reference
 * virtio §5.1), fills the receive queue, and then runs a tty and a workload: a recorded
 * stream's output at its timestamps, or a small shell. Idle is a WFI loop, which under
 * libvmm's trapped WFI keeps the vCPU runnable (reference microkit §2.10, §3.4).
 */
import {
  type GuestProgram,
  type GuestStep,
  type IdleLoop,
  type VcpuContext,
  work,
} from "@vmmux/microkit-pd";
import { provenanceTag } from "@vmmux/sddf-queues";
import { LinuxConsoleDriver, type ProbeOutcome } from "@vmmux/virtio-console";
import type { GuestMemory } from "@vmmux/virtio-core";
import { type ConsoleDiscovery, decodeDtb, discoverConsole, dtbSize } from "../device-tree.js";
import { sharedGuestMemory } from "../guest-ram.js";
import type { BootRegisters } from "../vmm.js";
import { Shell } from "./shell.js";
import { type JoinedLogs, TaggedLog } from "./tagged-log.js";
import { onlcrBytes, Tty } from "./tty.js";
import { VcpuMmio } from "./vcpu-mmio.js";

/** One piece of recorded output: `time` seconds after the guest's vCPU started. */
export interface OutputEvent {
  readonly time: number;
  readonly text: string;
}

/** A recorded terminal event as an asciicast v2 file keeps it; output has `code` "o". */
export interface CastEvent {
  readonly time: number;
  readonly code: string;
  readonly data: string;
}

export type GuestWorkload =
  /** Replay recorded output as it was (raw, no ONLCR); afterwards `thenShell` starts a shell. */
  | {
      readonly kind: "trace";
      readonly events: readonly OutputEvent[];
      readonly thenShell?: boolean;
    }
  /** As `trace`, read from a recording's events in place: its output (`code` "o") is replayed. */
  | {
      readonly kind: "cast";
      readonly events: readonly CastEvent[];
      readonly thenShell?: boolean;
    }
  | { readonly kind: "shell"; readonly hostname?: string }
  | { readonly kind: "idle" };

/** A workload's recorded output, read in place: the i-th output event's time and text. */
export interface RecordedOutput {
  readonly length: number;
  /** Seconds after the guest's vCPU started. */
  time(i: number): number;
  text(i: number): string;
}

/** The output a workload replays (none for a shell or an idle guest); nothing is copied. */
export function recordedOutput(workload: GuestWorkload | undefined): RecordedOutput {
  if (workload?.kind === "trace") {
    const events = workload.events;
    return { length: events.length, time: (i) => events[i]!.time, text: (i) => events[i]!.text };
  }
  if (workload?.kind === "cast") {
    const events = workload.events;
    let n = 0;
    for (const e of events) if (e.code === "o") n++;
    // Positions of the output events: four bytes each, not an object per event.
    const at = new Uint32Array(n);
    n = 0;
    for (const [i, e] of events.entries()) if (e.code === "o") at[n++] = i;
    return { length: n, time: (i) => events[at[i]!]!.time, text: (i) => events[at[i]!]!.data };
  }
  return { length: 0, time: () => Number.NaN, text: () => "" };
}

export interface LinuxGuestOptions {
  /** Registers the VMM sets at `guest_start` (x0 = DTB). */
  readonly boot: BootRegisters;
  /** The VM's RAM region name; its VM mapping `vaddr` is its guest-physical base. */
  readonly ramRegion: string;
  /** Provenance origin of this guest's output (1..0xef, `ORIGIN_CLIENT_FIRST`…). */
  readonly origin: number;
  /** Compute bursts before the console probe, ns (default one burst of 2 ms). */
  readonly bootBursts?: readonly number[];
  /** Kernel messages printed through the printk path once the console is up. */
  readonly bootLog?: readonly string[];
  readonly workload?: GuestWorkload;
  readonly echo?: boolean;
  /** Guest work per pass of the main loop, ns (default 200). */
  readonly loopCostNs?: number;
}

export type GuestPhase = "booting" | "probing" | "running" | "no-console" | "probe-failed";

const encoder = new TextEncoder();
/** Bytes of a DTB the guest is willing to read (libvmm reserves 64 KiB). */
const DTB_LIMIT = 0x1_0000;
const HEAP_OFFSET = 0x10_0000;
/** Initial room of the tty's pending output, bytes. */
const OUT_INITIAL = 4096;

/**
 * The idle loop a guest is in: WFI and a pass, again and again, until a virtual IRQ is pending
 * or the guest's own deadline. Each entry into a loop is a new `episode`.
 */
export interface IdleLoopState {
  readonly episode: number;
  /** The first virtual ns at which its deadline test can say true (Infinity: none). */
  readonly until: number;
}

/** What the guest wrote to its console, byte by byte with the tag of each byte (as JS arrays). */
export interface Transcript {
  readonly bytes: number[];
  readonly tags: number[];
}

export class LinuxGuest implements GuestProgram {
  readonly options: LinuxGuestOptions;
  phase: GuestPhase = "booting";
  probe: ProbeOutcome | undefined;
  console: ConsoleDiscovery | undefined;
  driver: LinuxConsoleDriver | undefined;
  /** Every byte handed to the console driver, in order, with its provenance tag. */
  readonly writtenLog = new TaggedLog();
  /** Input bytes the driver delivered, with the tags they arrived with. */
  readonly receivedLog = new TaggedLog();
  /** Completed input lines. */
  readonly lines: string[] = [];
  /** Zero of the guest's virtual counter: when its VMM started the vCPU. */
  startedAt = 0;
  consoleUpAt: number | undefined;
  /** When the trace workload wrote its last event. */
  traceDoneAt: number | undefined;
  /** Virtual time each trace event was handed to the driver (lag = this − start − time). */
  readonly eventTimes: number[] = [];
  /** {@link writtenLog} as JS arrays, made afresh at each read (16 bytes per byte: for tests). */
  get written(): Transcript {
    return transcriptOf(this.writtenLog);
  }

  /** {@link receivedLog} as JS arrays, made afresh at each read. */
  get received(): Transcript {
    return transcriptOf(this.receivedLog);
  }

  /** The idle loop the guest is in now (undefined: it is running its own code or booting). */
  idleLoop(): IdleLoopState | undefined {
    return this.idleUntil === null
      ? undefined
      : { episode: this.idleEpisode, until: this.idleUntil };
  }

  /** The transcripts of successive boots of one guest end to end, as typed arrays. */
  static joined(boots: readonly LinuxGuest[], which: "written" | "received"): JoinedLogs {
    return TaggedLog.joined(boots.map((g) => (which === "written" ? g.writtenLog : g.receivedLog)));
  }

  private readonly tty: Tty;
  /** The workload's recorded output. */
  private readonly output: RecordedOutput;
  private shell: Shell | undefined;
  private seq = 0;
  /** Output the tty holds for the driver: `outCount` bytes and their tags (grown by doubling). */
  private outBytes = new Uint8Array(OUT_INITIAL);
  private outTags = new Uint32Array(OUT_INITIAL);
  private outCount = 0;
  private nextEvent = 0;
  private idleEpisode = 0;
  private idleUntil: number | null = null;
  /** The console vIRQ the driver took at an interrupt window (its EOI's number). */
  private windowIrq = 0;
  /** Other vIRQs taken at an interrupt window, ended by the main loop. */
  private readonly heldIrqs: number[] = [];

  constructor(options: LinuxGuestOptions) {
    this.options = options;
    this.tty = new Tty({ echo: options.echo ?? true });
    this.output = recordedOutput(options.workload);
  }

  /**
   * Boot, then the main loop. The loop is this generator's own body (boot is delegated), so each
   * of the guest's steps while it runs, a busy-wait's every turn among them, resumes one frame
   * here rather than two.
   */
  *run(vcpu: VcpuContext): GuestStep {
    const driver = yield* this.boot(vcpu);
    if (driver === undefined) {
      yield* this.idleForever(vcpu);
      return;
    }
    const workload = this.options.workload ?? { kind: "idle" };
    if (workload.kind === "shell") this.startShell(workload.hostname);
    const pass = work("ns", this.options.loopCostNs ?? 200);
    // After an idle stretch the pass that ended it stands for this iteration's work step.
    let passDone = false;
    for (;;) {
      if (!passDone) yield pass;
      passDone = false;
      yield* this.serviceInterrupts(vcpu, driver);
      if (driver.pollPending) yield* driver.pollInput();
      if (this.outCount > 0) {
        // Copies: input echoed during the write queues behind it meanwhile.
        const bytes = this.outBytes.slice(0, this.outCount);
        const tags = this.outTags.slice(0, this.outCount);
        this.outCount = 0;
        yield* driver.ttyWrite(bytes, tags);
        continue;
      }
      const output = this.output;
      if (this.nextEvent < output.length) {
        const k = this.nextEvent;
        if (vcpu.now() - this.startedAt >= output.time(k) * 1e9) {
          this.nextEvent++;
          this.eventTimes.push(vcpu.now());
          this.emitRaw(encoder.encode(output.text(k)));
          if (this.nextEvent === output.length) {
            this.traceDoneAt = vcpu.now();
            if (
              (workload.kind === "trace" || workload.kind === "cast") &&
              workload.thenShell === true
            )
              this.startShell(undefined);
          }
          continue;
        }
      }
      const line = this.tty.readLine();
      if (line !== undefined) {
        this.lines.push(line);
        if (this.shell !== undefined) this.emit(`${this.shell.run(line)}${this.shell.prompt}`);
        continue;
      }
      // Nothing to do: WFI (trapped under libvmm, so this loop keeps the vCPU busy). Until an
      // IRQ or the next recorded output is due, each pass finds nothing again: declare the loop.
      if (vcpu.irqPending()) continue;
      if (driver.pollPending) {
        yield* vcpu.wfi();
        continue;
      }
      const deadline = this.nextDeadline();
      this.enterIdle(deadline.firstTrue);
      yield* vcpu.idle({
        pass,
        ...(deadline.until === undefined ? {} : { until: deadline.until }),
      });
      this.idleUntil = null;
      passDone = true;
    }
  }

  /**
   * Boot bursts, the device tree, the console probe and the boot log: the running console
   * driver, or undefined when there is no console or its probe failed.
   */
  private *boot(vcpu: VcpuContext): GuestStep<LinuxConsoleDriver | undefined> {
    this.startedAt = this.options.boot.starts > 0 ? this.options.boot.startNs : vcpu.now();
    for (const burst of this.options.bootBursts ?? [2_000_000]) yield work("ns", burst);
    const region = vcpu.memory(this.options.ramRegion);
    const memory = sharedGuestMemory(region, region.vaddr);
    const found = this.readDeviceTree(memory);
    if (found === undefined || !/(^|\s)console=hvc0(\s|$)/.test(found.bootargs)) {
      this.phase = "no-console";
      return undefined;
    }
    this.console = found;
    this.phase = "probing";
    const heapBase = found.memory.base + HEAP_OFFSET;
    const heapEnd = Math.min(this.options.boot.x0, found.memory.base + found.memory.size);
    const driver = new LinuxConsoleDriver({
      mmio: new VcpuMmio(vcpu),
      base: found.virtio.base,
      memory,
      heap: { base: heapBase, size: Math.max(0, heapEnd - heapBase) & ~0xfff },
      onInput: (bytes, tags) => this.onInput(bytes, tags),
      interruptPending: () => this.takeConsoleIrq(vcpu),
      endOfInterrupt: () => vcpu.eoi(this.windowIrq),
    });
    this.driver = driver;
    this.probe = yield* driver.probe();
    if (!this.probe.ok) {
      this.phase = "probe-failed";
      return undefined;
    }
    this.phase = "running";
    this.consoleUpAt = vcpu.now();
    for (const message of this.options.bootLog ?? []) {
      const bytes = encoder.encode(message);
      const tags = this.tagAll(bytes.length);
      this.note(bytes, tags);
      yield* driver.consolePrint(bytes, tags);
    }
    return driver;
  }

  /**
   * The trace workload's next output time as the main loop compares it, if any is left, and the
   * first integer ns at which that comparison holds (`now - startedAt` is an exact integer).
   */
  private nextDeadline(): Pick<IdleLoop, "until"> & { firstTrue: number } {
    if (this.nextEvent >= this.output.length) return { firstTrue: Number.POSITIVE_INFINITY };
    const due = this.output.time(this.nextEvent) * 1e9;
    const startedAt = this.startedAt;
    return { until: (now) => now - startedAt >= due, firstTrue: startedAt + Math.ceil(due) };
  }

  private enterIdle(until: number): void {
    this.idleEpisode++;
    this.idleUntil = until;
  }

  /**
   * The driver re-enables local interrupts (its interrupt windows around control kicks, as
   * Linux 6.1 does): take the pending vIRQ; true when it is the console's, which the driver then
   * handles and ends with `eoi(windowIrq)`. Another IRQ taken here waits for the main loop's EOI.
   */
  private takeConsoleIrq(vcpu: VcpuContext): boolean {
    const irq = vcpu.takeIrq();
    if (irq === undefined) return false;
    if (irq === this.console?.virtio.irq) {
      this.windowIrq = irq;
      return true;
    }
    this.heldIrqs.push(irq);
    return false;
  }

  /** Take pending virtual IRQs: the console's runs `vm_interrupt`, then EOI (a maintenance exit). */
  private *serviceInterrupts(vcpu: VcpuContext, driver: LinuxConsoleDriver): GuestStep {
    while (this.heldIrqs.length > 0) yield* vcpu.eoi(this.heldIrqs.shift()!);
    for (let irq = vcpu.takeIrq(); irq !== undefined; irq = vcpu.takeIrq()) {
      if (irq === this.console?.virtio.irq) yield* driver.handleInterrupt();
      yield* vcpu.eoi(irq);
    }
  }

  private *idleForever(vcpu: VcpuContext): GuestStep {
    const pass = work("ns", this.options.loopCostNs ?? 200);
    yield pass;
    for (;;) {
      for (let irq = vcpu.takeIrq(); irq !== undefined; irq = vcpu.takeIrq()) yield* vcpu.eoi(irq);
      // WFI, pass, and again while no IRQ is pending (the pass that ends it is this one's).
      this.enterIdle(Number.POSITIVE_INFINITY);
      yield* vcpu.idle({ pass });
      this.idleUntil = null;
    }
  }

  private readDeviceTree(memory: GuestMemory): ConsoleDiscovery | undefined {
    try {
      const x0 = this.options.boot.x0;
      const size = dtbSize(memory.read(x0, 40));
      if (size > DTB_LIMIT) return undefined;
      return discoverConsole(decodeDtb(memory.read(x0, size)));
    } catch {
      return undefined;
    }
  }

  private startShell(hostname: string | undefined): void {
    this.shell = new Shell({
      ...(hostname === undefined ? {} : { hostname }),
      cmdline: this.console?.bootargs ?? "",
    });
    this.emit(this.shell.prompt);
  }

  private onInput(bytes: Uint8Array, tags: Uint32Array): void {
    this.receivedLog.pushAll(bytes, tags);
    const echo = this.tty.input(bytes);
    if (echo.length > 0) this.queue(onlcrBytes(echo));
  }

  /** Text through OPOST/ONLCR, as a program writing to the tty. */
  private emit(text: string): void {
    this.queue(onlcrBytes(encoder.encode(text)));
  }

  /** Recorded terminal output is already post-processed: written as it is. */
  private emitRaw(bytes: Uint8Array): void {
    this.queue(bytes);
  }

  private queue(bytes: ArrayLike<number>): void {
    const n = bytes.length;
    if (this.outCount + n > this.outBytes.length) this.growOut(this.outCount + n);
    const out = this.outBytes;
    const tags = this.outTags;
    const origin = this.options.origin;
    let at = this.outCount;
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      const tag = provenanceTag(origin, this.seq++);
      out[at] = b;
      tags[at] = tag;
      at++;
      this.writtenLog.push(b, tag);
    }
    this.outCount = at;
  }

  private growOut(needed: number): void {
    let size = this.outBytes.length * 2;
    while (size < needed) size *= 2;
    const bytes = new Uint8Array(size);
    const tags = new Uint32Array(size);
    bytes.set(this.outBytes.subarray(0, this.outCount));
    tags.set(this.outTags.subarray(0, this.outCount));
    this.outBytes = bytes;
    this.outTags = tags;
  }

  private tagAll(length: number): Uint32Array {
    const tags = new Uint32Array(length);
    for (let i = 0; i < length; i++) tags[i] = provenanceTag(this.options.origin, this.seq++);
    return tags;
  }

  /** The printk path converts `\n` → `\r\n` and gives the CR its LF's tag. */
  private note(bytes: Uint8Array, tags: Uint32Array): void {
    bytes.forEach((b, i) => {
      if (b === 0x0a) this.writtenLog.push(0x0d, tags[i]!);
      this.writtenLog.push(b, tags[i]!);
    });
  }
}

function transcriptOf(log: TaggedLog): Transcript {
  const bytes: number[] = new Array(log.length);
  const tags: number[] = new Array(log.length);
  for (let i = 0; i < log.length; i++) {
    bytes[i] = log.byteAt(i);
    tags[i] = log.tagAt(i);
  }
  return { bytes, tags };
}

/** A guest program factory for `SystemOptions.guests` (a fresh guest per vCPU start). */
export function linuxGuest(options: LinuxGuestOptions): (vcpuId: number) => LinuxGuest {
  return () => new LinuxGuest(options);
}
