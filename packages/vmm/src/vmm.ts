/**
 * The VMM protection domain: libvmm's `client_vmm.c` shape (reference virtio §4.1, sddf-serial
 * §9, microkit §2.8/§2.10). `init` maps guest RAM, builds the console device on its
 * virtio-mmio transport, writes the device tree into guest RAM and starts vCPU 0; `fault`
 * dispatches guest exits; `notified` routes the serial channels to the console.
 */
import {
  type FaultMessage,
  type FaultReply,
  type GuestExit,
  type MappedRegion,
  type PdContext,
  type PdProgram,
  type PdStep,
  type RepeatableExit,
  work,
} from "@vmmux/microkit-pd";
import { provenanceTag, SerialQueue } from "@vmmux/sddf-queues";
import {
  type ConsoleWiring,
  type ConsoleWiringOptions,
  createVirtioConsole,
  type VirtioConsoleDevice,
} from "@vmmux/virtio-console";
import type {
  DefectFinding,
  GuestMemory,
  MmioReply,
  Profile,
  VirtioMmioTransport,
} from "@vmmux/virtio-core";
import { encodeDtb, guestDeviceTree } from "./device-tree.js";
import { VmmError, type VmmFinding, type VmmFindingKind } from "./errors.js";
import { sharedGuestMemory } from "./guest-ram.js";
import { VirqController } from "./virq.js";
import {
  DEFAULT_BOOTARGS,
  type Resolved,
  resolve,
  type SerialEndConfig,
  type VmmConfig as VmmBaseConfig,
} from "./vmm-config.js";

export {
  DEFAULT_BOOTARGS,
  DEFAULT_VIRTIO_BASE,
  DEFAULT_VIRTIO_IRQ,
  DEFAULT_VIRTIO_SIZE,
  type SerialEndConfig,
} from "./vmm-config.js";

export interface VmmConfig extends VmmBaseConfig {
  /**
   * Provenance origin of this VMM's serial client (its guest's bytes, DESIGN.md "Provenance").
   * What the VMM puts on its client TX queue for the guest without a tag of the guest's own
   * carries it, with sequence {@link UNSEQUENCED}: F_EMERG_WRITE bytes (virtio §3.2; the same
   * sDDF client queue as the guest's transmit buffers) and transmitted bytes the guest stored
   * untagged (raw stores, RAM it never wrote). Absent: such bytes stay untagged (0).
   */
  readonly origin?: number;
}

/** The sequence number of a guest's bytes that are outside its written stream. */
export const UNSEQUENCED = 0xff_ffff;

/** Registers libvmm's `guest_start` writes before resuming vCPU 0 (x0 = DTB address). */
export class BootRegisters {
  x0 = 0;
  /**
   * Virtual time of the last `guest_start`: the guest's virtual counter reads 0 here (its
   * CNTVOFF), so a vCPU that is started but not yet scheduled is already "running late".
   */
  startNs = 0;
  /** Times the VMM (re)started the vCPU. */
  starts = 0;
}

const DTB_RESERVE = 0x1_0000;

/** PSCI function ids the VMM answers (Arm DEN0022, SMC32 calling convention). */
const PSCI_VERSION = 0x8400_0000;
const PSCI_FEATURES = 0x8400_000a;
const PSCI_NOT_SUPPORTED = 0xffff_ffff;
const FINDING_LIMIT = 512;
/** The VMM's own step at an exit or a deferred-TX site, and an MMIO exit's: made once. */
const STEP = Object.freeze(work("default", 1));
const MMIO_STEP = Object.freeze(work("mmio", 1));

export interface VmmCounters {
  exits: number;
  mmioExits: number;
  wfiExits: number;
  hypercalls: number;
  eois: number;
  rxNotifications: number;
  txNotifications: number;
  /** Exits the VMM did not answer (the vCPU stays blocked, reference FAIL paths). */
  unanswered: number;
}

/**
 * A libvmm-style VMM as a Microkit PD program. One instance serves one PD; inspect
 * `device`, `transport`, `findings` and `counters` after a run.
 */
export class VmmProgram implements PdProgram {
  readonly config: VmmConfig;
  readonly boot: BootRegisters;
  readonly findings: VmmFinding[] = [];
  readonly findingCounts = new Map<VmmFindingKind, number>();
  readonly counters: VmmCounters = {
    exits: 0,
    mmioExits: 0,
    wfiExits: 0,
    hypercalls: 0,
    eois: 0,
    rxNotifications: 0,
    txNotifications: 0,
    unanswered: 0,
  };
  device: VirtioConsoleDevice | undefined;
  transport: VirtioMmioTransport | undefined;
  memory: GuestMemory | undefined;
  virq: VirqController | undefined;
  /** Guest-physical address the DTB was written to. */
  dtbAddress = 0;
  protected readonly r: Resolved;
  private pd: PdContext | undefined;
  /** The vCPU waits in a WFI this VMM left unanswered (`wfi: "block"`). */
  private inWfi = false;
  /**
   * What one more WFI exit answered at once does here: bump `exits` and `wfiExits`, nothing
   * else. Given with each such reply so the kernel may fast-forward an idle guest (microkit-pd
   * `FaultReply.repeatable`).
   */
  private readonly wfiRepeat: RepeatableExit = {
    repeat: (times) => {
      this.counters.exits += times;
      this.counters.wfiExits += times;
    },
  };

  constructor(config: VmmConfig) {
    this.config = config;
    this.r = resolve(config);
    this.boot = config.boot ?? new BootRegisters();
  }

  /**
   * Build the console device on its transport (libvmm's console init, reference virtio §4.1).
   * An extension point for any caller: a subclass may build a variant of the device.
   */
  protected createConsole(options: ConsoleWiringOptions): ConsoleWiring {
    return createVirtioConsole(options);
  }

  get profile(): Profile {
    return this.r.profile;
  }

  *init(pd: PdContext): PdStep {
    this.pd = pd;
    const config = this.config;
    const ramRegion = this.mapped(pd, config.ram.region);
    if (!ramRegion.perms.write)
      throw new VmmError(
        "VMM_BAD_CONFIG",
        `vmm config: guest ram '${ramRegion.name}' is not mapped rw`,
      );
    const memory = sharedGuestMemory(ramRegion, config.ram.guestBase);
    const ownTag =
      config.origin === undefined ? undefined : provenanceTag(config.origin, UNSEQUENCED);
    if (ownTag !== undefined) attributeUntagged(memory, ownTag);
    this.memory = memory;
    const queue = (end: SerialEndConfig) =>
      // A corrupt peer index stops the handle (`broken`), which the device tests after each
      // step where a throw used to stop it (sddf-serial §2.3).
      SerialQueue.fromRegions(this.mapped(pd, end.queueRegion), this.mapped(pd, end.dataRegion), {
        onCorruptIndex: "break",
        ...(end.capacity === undefined ? {} : { capacity: end.capacity }),
      });
    const tx = queue(config.serial.tx);
    const rx = queue(config.serial.rx);
    const virq = new VirqController(
      { inject: (irq) => this.injectVirq(irq) },
      config.virq ?? (this.r.profile === "reference" ? "edge" : "level"),
    );
    this.virq = virq;
    const { device, transport } = this.createConsole({
      memory,
      profile: this.r.profile,
      ...(config.build === undefined ? {} : { build: config.build }),
      ...(config.consoleDefects === undefined ? {} : { defects: config.consoleDefects }),
      ...(config.transportDefects === undefined
        ? {}
        : { transportDefects: config.transportDefects }),
      ...(config.features === undefined
        ? {}
        : {
            features: {
              eventIdx: config.features.eventIdx ?? false,
              indirectDesc: config.features.indirectDesc ?? false,
              ...(config.features.multiport === undefined
                ? {}
                : { multiport: config.features.multiport }),
            },
          }),
      ports: [{ tx, rx }],
      ...(ownTag === undefined ? {} : { emergencyTag: ownTag }),
      ...(config.devicePreemption === true ? { deferTx: true } : {}),
      windowSize: this.r.virtioSize,
      hooks: {
        notifyTx: () => this.pd?.notify(config.serial.tx.channel),
        notifyRx: () => this.pd?.notify(config.serial.rx.channel),
        injectIrq: () => virq.raise(this.r.irq),
      },
      onFinding: (f) => this.deviceFinding(f),
    });
    virq.connect(this.r.irq, () => transport.interruptAsserted);
    this.device = device;
    this.transport = transport;

    const ram = { base: config.ram.guestBase, size: ramRegion.size };
    const dtb = encodeDtb(
      guestDeviceTree({
        bootargs: config.bootargs ?? DEFAULT_BOOTARGS,
        ram,
        virtio: { base: this.r.virtioBase, size: this.r.virtioSize, irq: this.r.irq },
      }),
    );
    this.dtbAddress = config.dtbAddress ?? ram.base + ram.size - DTB_RESERVE;
    if (!memory.contains(this.dtbAddress, dtb.length))
      throw new VmmError(
        "VMM_BAD_CONFIG",
        `vmm config: dtb at 0x${this.dtbAddress.toString(16)} is not in guest ram`,
      );
    memory.write(this.dtbAddress, dtb);
    yield work("copy", dtb.length);
    // guest_start: boot registers, then resume vCPU 0.
    this.boot.x0 = this.dtbAddress;
    this.boot.startNs = pd.now();
    this.boot.starts++;
    virq.reset();
    this.inWfi = false;
    pd.vcpuRestart(this.r.vcpuId);
  }

  /** `microkit_vcpu_arm_inject_irq`; also ends a blocking WFI. */
  private injectVirq(irq: number): void {
    const pd = this.pd;
    if (pd === undefined) return;
    pd.vcpuInjectIrq(this.r.vcpuId, irq);
    if (this.inWfi) {
      this.inWfi = false;
      pd.vcpuResume(this.r.vcpuId);
    }
  }

  *notified(ch: number, pd: PdContext): PdStep {
    this.pd = pd;
    const device = this.device;
    if (device === undefined) return;
    const before = this.bytesMoved();
    if (ch === this.config.serial.rx.channel) {
      this.counters.rxNotifications++;
      device.serialRxSignalled(0);
    } else if (ch === this.config.serial.tx.channel) {
      // libvmm's example VMM ignores this channel; the device's `txSignalIgnored` switch models it.
      this.counters.txNotifications++;
      device.serialTxSignalled(0);
    } else {
      pd.debug(`vmm: notification on unexpected channel ${ch}`);
      return;
    }
    yield* this.charge(yield* this.deferredTx(before));
    this.checkCrash();
  }

  *fault(child: number, msg: FaultMessage, pd: PdContext): PdStep<FaultReply> {
    this.pd = pd;
    if (msg.kind !== "vcpu") {
      pd.debug(`vmm: fault of child ${child} (${msg.kind}) not handled`);
      return { resume: false };
    }
    this.counters.exits++;
    const reply = yield* this.exit(msg.exit, pd);
    if (!reply.resume && !this.inWfi) this.counters.unanswered++;
    return reply;
  }

  /** Whether `[address, address + width)` lies in the virtio-mmio window. */
  inWindow(address: number, width: number): boolean {
    const offset = address - this.r.virtioBase;
    return offset >= 0 && offset + width <= this.r.virtioSize;
  }

  private *exit(exit: GuestExit, pd: PdContext): PdStep<FaultReply> {
    switch (exit.kind) {
      case "mmio-read":
      case "mmio-write":
        return yield* this.mmio(exit, pd);
      case "wfi":
        // libvmm: nothing to do, resume at once (reference microkit §2.10).
        this.counters.wfiExits++;
        yield STEP;
        if (this.r.wfi === "block") {
          if (this.virq?.anyInFlight() === false) {
            this.inWfi = true;
            return { resume: false };
          }
          return { resume: true };
        }
        return { resume: true, repeatable: this.wfiRepeat };
      case "hypercall":
        this.counters.hypercalls++;
        yield STEP;
        return { resume: true, value: this.hypercall(exit.fn, exit.args, pd) };
      case "vgic-maintenance":
        this.counters.eois++;
        yield STEP;
        if (!this.virq?.eoi(exit.irq))
          this.record("spurious-eoi", true, pd, `eoi of virq ${exit.irq} that is not in flight`);
        return { resume: true };
    }
  }

  private *mmio(
    exit: Extract<GuestExit, { kind: "mmio-read" | "mmio-write" }>,
    pd: PdContext,
  ): PdStep<FaultReply> {
    this.counters.mmioExits++;
    yield MMIO_STEP;
    const transport = this.transport;
    if (transport === undefined || !this.inWindow(exit.address, exit.width))
      return this.unmapped(exit, pd);
    const offset = exit.address - this.r.virtioBase;
    const before = this.bytesMoved();
    let reply: MmioReply;
    if (exit.kind === "mmio-read") reply = transport.readAccess(offset, exit.width);
    else reply = transport.writeAccess(offset, exit.width, exit.value);
    yield* this.charge(yield* this.deferredTx(before));
    this.checkCrash();
    if (!reply.resume || reply.error !== undefined) {
      const what = exit.kind === "mmio-read" ? "read" : "write";
      this.record(
        "mmio-refused",
        reply.resume,
        pd,
        `${what} of virtio-mmio offset 0x${offset.toString(16)} width ${exit.width}: ${reply.error?.message ?? reply.finding?.message ?? "refused"}`,
      );
    }
    if (!reply.resume) return { resume: false };
    return { resume: true, value: reply.value };
  }

  /** Hook for a subclass: how an exit outside every window is answered. */
  protected unmapped(
    exit: Extract<GuestExit, { kind: "mmio-read" | "mmio-write" }>,
    pd: PdContext,
  ): FaultReply {
    const resume = this.r.unmapped !== "block";
    const what = exit.kind === "mmio-read" ? "read" : "write";
    this.record(
      "unmapped-access",
      resume,
      pd,
      `${what} at ${guestAddress(exit.address)} width ${exit.width} outside every device window`,
    );
    if (this.r.unmapped === "abort") return { resume: true, abort: true };
    return resume ? { resume: true, value: 0 } : { resume: false };
  }

  private hypercall(fn: number, args: readonly number[], pd: PdContext): number {
    if (fn === PSCI_VERSION) return 0x0001_0000;
    if (fn === PSCI_FEATURES) return args[0] === PSCI_VERSION ? 0 : PSCI_NOT_SUPPORTED;
    this.record("unknown-hypercall", true, pd, `hypercall ${guestAddress(fn)} not implemented`);
    return PSCI_NOT_SUPPORTED;
  }

  private bytesMoved(): number {
    const c = this.device?.counters(0);
    return c === undefined ? 0 : c.txBytes + c.rxBytes + c.rxDiscardedNotReady;
  }

  /**
   * The console's deferred TX (`devicePreemption`), run as steps: at each site, charge the copy
   * work done since `before` (a preemption point of this PD). Returns the new mark.
   */
  private *deferredTx(before: number): PdStep<number> {
    const device = this.device;
    if (device === undefined || !device.txPending) return before;
    const steps = device.runDeferredTx();
    let mark = before;
    for (let next = steps.next(); next.done !== true; next = steps.next()) {
      const moved = this.bytesMoved() - mark;
      mark += moved;
      if (moved > 0) yield work("copy", moved);
      // The VMM's own step at the site (the check, the flag, the publish): a preemption point.
      yield STEP;
    }
    return mark;
  }

  /** Charge the copy work the device did synchronously inside this entry point. */
  private *charge(before: number): PdStep {
    const moved = this.bytesMoved() - before;
    if (moved > 0) yield work("copy", moved);
  }

  /** A device defect that crashes the real VMM crashes this PD too (reference). */
  private checkCrash(): void {
    if (!this.r.crashOnDeviceTrap) return;
    const crashed = this.transport?.crashed ?? this.device?.crashed;
    if (crashed !== undefined)
      throw new VmmError(
        "VMM_CRASHED",
        `vmm: crashed by ${crashed.defect} (${crashed.ref}): ${crashed.message}`,
      );
  }

  private deviceFinding(f: DefectFinding): void {
    const pd = this.pd;
    this.record(
      "device-defect",
      f.impact !== "vcpu-blocked",
      pd,
      `${f.defect} (${f.ref}, ${f.impact}): ${f.message}`,
    );
  }

  private record(
    kind: VmmFindingKind,
    resumed: boolean,
    pd: PdContext | undefined,
    message: string,
  ): void {
    this.findingCounts.set(kind, (this.findingCounts.get(kind) ?? 0) + 1);
    if (this.findings.length < FINDING_LIMIT)
      this.findings.push({ t: pd?.now() ?? 0, kind, resumed, message });
  }

  private mapped(pd: PdContext, name: string): MappedRegion {
    try {
      return pd.memory(name);
    } catch (error) {
      throw new VmmError(
        "VMM_BAD_CONFIG",
        `vmm config: region '${name}' is not mapped into '${pd.name}': ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}

/**
 * Tagged reads of guest RAM (the console copying transmit buffers, virtio-console `tx.ts`) give
 * `tag` to each byte stored without one: every byte of its RAM is the guest's.
 */
function attributeUntagged(memory: GuestMemory, tag: number): void {
  const readInto = memory.readInto.bind(memory);
  memory.readInto = (addr, dst, dstTags) => {
    readInto(addr, dst, dstTags);
    if (dstTags === undefined) return;
    for (let i = 0; i < dst.length; i++) if (dstTags[i] === 0) dstTags[i] = tag;
  };
}

/** A guest-supplied number in hex; a value no register can hold (NaN, negative) as it is. */
function guestAddress(value: number): string {
  return Number.isSafeInteger(value) && value >= 0 ? `0x${value.toString(16)}` : String(value);
}

/** A fresh VMM program for a PD (use as a `programs` entry factory). */
export function vmmProgram(config: VmmConfig): VmmProgram {
  return new VmmProgram(config);
}
