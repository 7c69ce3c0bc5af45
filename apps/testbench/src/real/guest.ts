/**
 * A real Linux guest on its scenario's VMM PD (issue 10): the VMM is the same `VmmProgram` the
 * model guests use, configured as `@vmmux/v86-guest` needs (console window where the guest's
 * ACPI table declares it, RAM at guest-physical 0 backed by the emulator's memory, the DTB
 * where the PC's boot leaves RAM free); the vCPU program is a `V86Guest` on the prepared machine.
 */

import { provenanceTag } from "@vmmux/sddf-queues";
import type { GuestMemory } from "@vmmux/virtio-core";
import { customMachine, type VmmConfig, VmmProgram } from "@vmmux/vmm";
import {
  type BuiltGuest,
  type GuestBuildOptions,
  NeedsResetWatch,
  observe,
  vmmConfigOf,
} from "../guests.js";
import type { VmScenarioGuest } from "../scenario.js";
import type { ReceivedByte } from "../serial-client.js";
import type { GuestWiring } from "../wiring.js";
import { DEFAULT_REAL_MIPS } from "./schema.js";

/** The console's virtual IRQ (libvmm's example: SPI 42 = INTID 74). */
export const REAL_CONSOLE_VIRQ = 74;
/** The VMM's console window size (virtio-mmio registers and config space). */
const WINDOW_SIZE = 0x200;
/** Where the VMM writes the DTB: free RAM on the PC (the initrd is at the top, reference §1). */
const DTB_ADDRESS = 0x0600_0000;

/**
 * What the guest wrote to and read from its console. The emulated CPU writes guest RAM
 * without the provenance shadow, so the guest's bytes are tagged (its origin, their order) as
 * the console copies them into the sDDF TX queue: the wire oracles then follow them as they
 * follow a model guest's. Typed bytes are recorded as the console puts them in the guest's
 * receive buffers (with their keyboard tags).
 */
class ConsoleTranscript {
  readonly written: number[] = [];
  readonly writtenTags: number[] = [];
  readonly received: ReceivedByte[] = [];

  constructor(private readonly origin: number) {}

  /** Watch the guest memory the VMM creates in its `init` (its `memory` field). */
  attach(vmm: VmmProgram): void {
    let current: GuestMemory | undefined = vmm.memory;
    Object.defineProperty(vmm, "memory", {
      configurable: true,
      enumerable: true,
      get: () => current,
      set: (m: GuestMemory | undefined) => {
        current = m;
        if (m !== undefined) this.wrap(m);
      },
    });
  }

  private wrap(memory: GuestMemory): void {
    const readInto = memory.readInto.bind(memory);
    const write = memory.write.bind(memory);
    // The console device reads guest RAM with tags only to copy transmitted bytes (tx.ts).
    memory.readInto = (addr, dst, dstTags) => {
      readInto(addr, dst, dstTags);
      if (dstTags === undefined) return;
      for (let i = 0; i < dst.length; i++) {
        const tag = provenanceTag(this.origin, this.written.length);
        dstTags[i] = tag;
        this.written.push(dst[i]!);
        this.writtenTags.push(tag);
      }
    };
    // ... and writes it with an array of tags only to deliver received bytes (rx.ts).
    memory.write = (addr, src, tags) => {
      write(addr, src, tags);
      if (!(tags instanceof Uint32Array)) return;
      for (let i = 0; i < src.length; i++) {
        this.received.push({ byte: src[i]!, tag: tags[i] ?? 0, at: Number.NaN });
      }
    };
  }
}

export function buildRealGuest(
  g: VmScenarioGuest,
  w: GuestWiring,
  options: GuestBuildOptions,
): BuiltGuest {
  if (w.kind !== "vm") throw new Error(`wiring of ${g.name} is not a VMM PD`);
  const mips = g.real?.mips ?? DEFAULT_REAL_MIPS;
  const prepared = options.prepared?.machines.get(g.name);
  if (prepared === undefined) {
    throw new Error(
      `real guest ${g.name}: its emulator is not started (await prepareGuests before the run)`,
    );
  }
  const { machine, window } = prepared;
  const watch = new NeedsResetWatch();
  const transcript = new ConsoleTranscript(w.index + 1);
  const makeVmm = (config: VmmConfig) => {
    const vmm = options.makeVmm?.(config) ?? new VmmProgram(config);
    watch.attach(vmm);
    transcript.attach(vmm);
    return vmm;
  };
  const config: Omit<VmmConfig, "boot"> = {
    ...vmmConfigOf(w, options.profile),
    virtio: { base: window.base, size: WINDOW_SIZE, irq: REAL_CONSOLE_VIRQ },
    dtbAddress: DTB_ADDRESS,
  };
  const vm = customMachine(
    config,
    () =>
      prepared.newGuest({
        machine,
        window,
        consoleBase: window.base,
        consoleIrq: REAL_CONSOLE_VIRQ,
        ioApicLine: window.irq,
        instructionsPerMs: mips * 1000,
      }),
    makeVmm,
  );
  return {
    programs: { [w.programImage]: vm.vmm },
    devices: {},
    vms: { [w.vmName]: vm.guest },
    regionBacking: { [w.ramRegion]: machine.ram() },
    collect: () => {
      const console = vm.vmm.device?.counters(0);
      return {
        enqueued: Uint8Array.from(transcript.written),
        enqueuedTags: Uint32Array.from(transcript.writtenTags),
        enqueueTimes: new Float64Array(0),
        attempted: transcript.written.length,
        tracePrinted: 0,
        traceEvents: 0,
        traceStart: null,
        loss: { T1: 0, T2: 0 },
        inputDropped:
          console === undefined ? 0 : console.rxDiscardedNotReady + console.rxOverflowBeforeReady,
        unpublished: 0,
        received: [...transcript.received],
        findings: vm.vmm.findings.map((f) => `${(f.t / 1e9).toFixed(6)} s: ${f.message}`),
        hostile: false,
        vmm: observe(vm.vmm, watch, undefined),
      };
    },
  };
}
