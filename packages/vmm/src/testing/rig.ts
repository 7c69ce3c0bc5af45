/**
 * A runnable system around one or more VMMs with stub serial peers: `serial_tx` drains each
 * VMM's TX queue (recording bytes and tags) and signals back when asked, as virt_tx does;
 * `serial_rx` enqueues typed bytes on an IRQ and notifies the VMM, as virt_rx does.
 */
import {
  type CostModelOverride,
  type GuestEntry,
  type GuestProgram,
  type PdProgram,
  System,
} from "@vmmux/microkit-pd";
import { describeSystem, type PdSpec, pdProgram } from "@vmmux/microkit-pd/testing";
import { ORIGIN_KEYBOARD, provenanceTag, SerialQueue } from "@vmmux/sddf-queues";
import type { Profile } from "@vmmux/virtio-core";
import type { LinuxGuest } from "../guest/linux-guest.js";
import { customMachine, type GuestSpec, type VirtualMachine, virtualMachine } from "../machine.js";
import type { BootRegisters, VmmConfig, VmmProgram } from "../vmm.js";

export const RIG_RAM_BASE = 0x4000_0000;
export const RIG_RX_IRQ = 90;
export const RIG_TX_TICK_IRQ = 91;
/** serial_tx's channel id of its tick IRQ. */
const TICK_CHANNEL = 62;
/** VMM-side channel ids. */
export const VMM_TX_CHANNEL = 1;
export const VMM_RX_CHANNEL = 2;

export interface RigVm {
  readonly name?: string;
  readonly profile?: Profile;
  readonly vmmPriority?: number;
  /** Default: the VMM's priority. */
  readonly vcpuPriority?: number;
  readonly vcpuBudgetUs?: number;
  readonly vcpuPeriodUs?: number;
  readonly ramSize?: number;
  readonly queueSize?: number;
  /** Map a zero-filled `<name>_canary` region into the VMM (nothing may ever write it). */
  readonly canary?: boolean;
  readonly vmm?: Partial<Omit<VmmConfig, "boot" | "ram" | "serial">>;
  /** The Linux guest model (origin defaults to the VM's index + 1). */
  readonly guest?: Partial<GuestSpec>;
  /**
   * Guest RAM backed by these bytes (a real guest's RAM, shared with its emulator); its size is
   * the RAM's size. With it, `ramGuestBase` says where RAM starts in guest-physical space.
   */
  readonly ramBacking?: Uint8Array;
  /** Guest-physical address of RAM; default {@link RIG_RAM_BASE}. */
  readonly ramGuestBase?: number;
  /** Another guest program instead of the Linux model. */
  readonly customGuest?: (boot: BootRegisters) => GuestProgram;
  /** Build the VMM program (planted variants). */
  readonly makeVmm?: (config: VmmConfig) => VmmProgram;
  /**
   * Make the VMM PD a child (`id`) of a parent PD `name` (priority default 150) whose program
   * is `extraPrograms[\`${name}.elf\`]`, e.g. a `RestartingParent`; its faults go there.
   */
  readonly parent?: { readonly name: string; readonly id: number; readonly priority?: number };
}

export interface RigOptions {
  readonly vms: readonly RigVm[];
  readonly seed?: number;
  readonly costModel?: CostModelOverride;
  readonly trapWfi?: boolean;
  /** The kernel's `fastForward` (default true). */
  readonly fastForward?: boolean;
  /** Extra PDs (and their programs) sharing the core. */
  readonly extraPds?: readonly PdSpec[];
  readonly extraPrograms?: Readonly<Record<string, PdProgram>>;
  readonly serialPriority?: number;
  /**
   * Drain like a UART at line rate instead of at once: serial_tx takes at most `bytesPerTick`
   * bytes of each queue per tick (an IRQ every `tickNs`), then signals a producer that asked.
   */
  readonly txDrain?: {
    readonly bytesPerTick: number;
    readonly tickNs: number;
    readonly untilNs: number;
  };
}

export interface RigMachine {
  readonly name: string;
  readonly machine: VirtualMachine<GuestProgram>;
  readonly vmm: VmmProgram;
  /** Bytes (and tags) serial_tx drained from this VMM's TX queue, with the time of each drain. */
  readonly tx: { bytes: number[]; tags: number[]; times: number[] };
  /** The Linux guest started last (undefined for a custom guest). */
  guest(): LinuxGuest | undefined;
}

export class VmRig {
  readonly sys: System;
  readonly machines: RigMachine[];
  private readonly pendingInput: { bytes: number[]; tags: number[] }[];
  private keySeq = 0;

  constructor(options: RigOptions) {
    const names = options.vms.map((vm, i) => vm.name ?? `guest${i}`);
    const serialPriority = options.serialPriority ?? 199;
    this.pendingInput = names.map(() => ({ bytes: [], tags: [] }));
    const regions = names.flatMap((name, i) => {
      const vm = options.vms[i]!;
      const q = vm.queueSize ?? 0x1_0000;
      return [
        { name: `${name}_ram`, size: vm.ramBacking?.byteLength ?? vm.ramSize ?? 0x40_0000 },
        { name: `${name}_tx_queue`, size: 0x1000 },
        { name: `${name}_tx_data`, size: q },
        { name: `${name}_rx_queue`, size: 0x1000 },
        { name: `${name}_rx_data`, size: q },
        ...(vm.canary === true ? [{ name: `${name}_canary`, size: 0x1000 }] : []),
      ];
    });
    const pds: PdSpec[] = names.map((name, i) => {
      const vm = options.vms[i]!;
      const priority = vm.vmmPriority ?? 100;
      return {
        name: `vmm_${name}`,
        image: `vmm_${name}.elf`,
        priority,
        maps: [
          { mr: `${name}_ram` },
          { mr: `${name}_tx_queue` },
          { mr: `${name}_tx_data` },
          { mr: `${name}_rx_queue` },
          { mr: `${name}_rx_data` },
          ...(vm.canary === true ? [{ mr: `${name}_canary` }] : []),
        ],
        vm: {
          name,
          priority: vm.vcpuPriority ?? priority,
          ...(vm.vcpuBudgetUs === undefined ? {} : { budget: vm.vcpuBudgetUs }),
          ...(vm.vcpuPeriodUs === undefined ? {} : { period: vm.vcpuPeriodUs }),
          maps: [{ mr: `${name}_ram`, vaddr: vm.ramGuestBase ?? RIG_RAM_BASE }],
        },
      };
    });
    // VMM PDs with a parent move into that parent's children (Microkit §1.4 nesting).
    for (let i = names.length - 1; i >= 0; i--) {
      const parent = options.vms[i]!.parent;
      if (parent === undefined) continue;
      const [child] = pds.splice(i, 1);
      const existing = pds.find((p) => p.name === parent.name);
      const entry = { ...child!, id: parent.id };
      if (existing === undefined) {
        pds.push({ name: parent.name, priority: parent.priority ?? 150, children: [entry] });
      } else {
        pds[pds.indexOf(existing)] = {
          ...existing,
          children: [...(existing.children ?? []), entry],
        };
      }
    }
    pds.push(
      {
        name: "serial_tx",
        priority: serialPriority,
        ...(options.txDrain === undefined
          ? {}
          : { irqs: [{ id: TICK_CHANNEL, irq: RIG_TX_TICK_IRQ, trigger: "edge" as const }] }),
        maps: names.flatMap((n) => [{ mr: `${n}_tx_queue` }, { mr: `${n}_tx_data` }]),
      },
      {
        name: "serial_rx",
        priority: serialPriority,
        irqs: [{ id: 0, irq: RIG_RX_IRQ, trigger: "edge" }],
        maps: names.flatMap((n) => [{ mr: `${n}_rx_queue` }, { mr: `${n}_rx_data` }]),
      },
      ...(options.extraPds ?? []),
    );
    const channels = names.flatMap((name, i) => [
      [
        { pd: `vmm_${name}`, id: VMM_TX_CHANNEL },
        { pd: "serial_tx", id: i },
      ] as const,
      [
        { pd: `vmm_${name}`, id: VMM_RX_CHANNEL },
        { pd: "serial_rx", id: i + 1 },
      ] as const,
    ]);
    const desc = describeSystem({ pds, regions, channels });

    this.machines = names.map((name, i) => {
      const vm = options.vms[i]!;
      const config: Omit<VmmConfig, "boot"> = {
        ...(vm.profile === undefined ? {} : { profile: vm.profile }),
        ...vm.vmm,
        ram: { region: `${name}_ram`, guestBase: vm.ramGuestBase ?? RIG_RAM_BASE },
        serial: {
          tx: {
            channel: VMM_TX_CHANNEL,
            queueRegion: `${name}_tx_queue`,
            dataRegion: `${name}_tx_data`,
          },
          rx: {
            channel: VMM_RX_CHANNEL,
            queueRegion: `${name}_rx_queue`,
            dataRegion: `${name}_rx_data`,
          },
        },
      };
      const machine: VirtualMachine<GuestProgram> =
        vm.customGuest !== undefined
          ? customMachine(config, vm.customGuest, vm.makeVmm)
          : virtualMachine(config, { origin: i + 1, ...vm.guest }, vm.makeVmm);
      return {
        name,
        machine,
        vmm: machine.vmm,
        tx: { bytes: [], tags: [], times: [] },
        guest: () =>
          vm.customGuest === undefined ? (machine.current() as LinuxGuest | undefined) : undefined,
      };
    });

    const programs: Record<string, PdProgram> = { ...options.extraPrograms };
    for (const m of this.machines) programs[`vmm_${m.name}.elf`] = m.vmm;
    const machines = this.machines;
    const drain = options.txDrain;
    programs["serial_tx.elf"] = pdProgram({
      *notified(ch, pd) {
        const drainOne = (i: number, limit: number) => {
          const m = machines[i]!;
          const q = SerialQueue.fromRegions(
            pd.memory(`${m.name}_tx_queue`),
            pd.memory(`${m.name}_tx_data`),
          );
          let moved = 0;
          for (let b = moved < limit ? q.dequeue() : undefined; b !== undefined; ) {
            m.tx.bytes.push(b);
            m.tx.tags.push(q.lastTag);
            m.tx.times.push(pd.now());
            moved++;
            b = moved < limit ? q.dequeue() : undefined;
          }
          // Consumer side of the signalling protocol (sddf-serial §3.2).
          if (moved > 0 && q.requireConsumerSignal()) {
            q.cancelConsumerSignal();
            pd.notify(i);
          }
        };
        if (drain === undefined) {
          if (machines[ch] !== undefined) drainOne(ch, Number.POSITIVE_INFINITY);
          return;
        }
        if (ch !== TICK_CHANNEL) return;
        pd.irqAck(TICK_CHANNEL);
        machines.forEach((_, i) => {
          drainOne(i, drain.bytesPerTick);
        });
      },
    });
    const pending = this.pendingInput;
    programs["serial_rx.elf"] = pdProgram({
      *notified(ch, pd) {
        if (ch !== 0) return;
        pd.irqAck(0);
        pending.forEach((input, i) => {
          if (input.bytes.length === 0) return;
          const m = machines[i]!;
          const q = SerialQueue.fromRegions(
            pd.memory(`${m.name}_rx_queue`),
            pd.memory(`${m.name}_rx_data`),
          );
          let moved = 0;
          while (moved < input.bytes.length && q.enqueue(input.bytes[moved]!, input.tags[moved]!))
            moved++;
          input.bytes.splice(0, moved);
          input.tags.splice(0, moved);
          if (moved > 0) pd.notify(i + 1);
        });
      },
    });
    const guests: Record<string, GuestEntry> = {};
    for (const m of this.machines) guests[m.name] = m.machine.guest;
    this.sys = new System(desc, {
      seed: options.seed ?? 1,
      programs,
      guests,
      ...(options.costModel === undefined ? {} : { costModel: options.costModel }),
      ...(options.trapWfi === undefined ? {} : { trapWfi: options.trapWfi }),
      ...(options.fastForward === undefined ? {} : { fastForward: options.fastForward }),
      regionBacking: Object.fromEntries(
        this.machines.flatMap((m, i) => {
          const backing = options.vms[i]?.ramBacking;
          return backing === undefined ? [] : [[`${m.name}_ram`, backing]];
        }),
      ),
    });
    if (drain !== undefined) {
      for (let t = drain.tickNs; t <= drain.untilNs; t += drain.tickNs) {
        this.sys.at(t, () => {
          this.sys.setIrqLevel(RIG_TX_TICK_IRQ, true);
          this.sys.setIrqLevel(RIG_TX_TICK_IRQ, false);
        });
      }
    }
  }

  /** Type `text` into VM `index` at virtual time `at` (keyboard provenance tags). */
  type(index: number, at: number, text: string | Uint8Array): void {
    const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
    const tags = Array.from(bytes, () => provenanceTag(ORIGIN_KEYBOARD, this.keySeq++));
    this.sys.at(at, () => {
      const input = this.pendingInput[index]!;
      input.bytes.push(...bytes);
      input.tags.push(...tags);
      this.sys.setIrqLevel(RIG_RX_IRQ, true);
      this.sys.setIrqLevel(RIG_RX_IRQ, false);
    });
  }

  machine(index: number): RigMachine {
    return this.machines[index]!;
  }
}

/** The text serial_tx drained from VM `index`. */
export function drainedText(rig: VmRig, index: number): string {
  return String.fromCharCode(...rig.machine(index).tx.bytes);
}
