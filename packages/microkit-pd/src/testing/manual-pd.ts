import type {
  AccessWidth,
  MappedRegion,
  MessageInfo,
  MmioDevice,
  MmioPort,
  Nanoseconds,
  PdContext,
  PdStep,
  Permissions,
  PreemptionPoint,
} from "../program.js";
import { CheckedRegion } from "../runtime/memory.js";

/** What a PD under test asked of the kernel, in order. */
export type ManualPdCall =
  | { readonly op: "notify"; readonly ch: number }
  | { readonly op: "irqAck"; readonly ch: number }
  | { readonly op: "deferredNotify"; readonly ch: number }
  | { readonly op: "deferredIrqAck"; readonly ch: number }
  | { readonly op: "ppcall"; readonly ch: number; readonly msg: MessageInfo }
  | { readonly op: "debug"; readonly message: string }
  | { readonly op: "counter"; readonly name: string; readonly value: number }
  | { readonly op: "vcpuRestart"; readonly vcpuId: number }
  | { readonly op: "pdRestart"; readonly childId: number }
  | { readonly op: "pdStop"; readonly childId: number }
  | { readonly op: "vcpuStop"; readonly vcpuId: number }
  | { readonly op: "vcpuResume"; readonly vcpuId: number }
  | { readonly op: "vcpuInjectIrq"; readonly vcpuId: number; readonly irq: number };

/** A region for {@link ManualPd}: fresh zeroed bytes of `size`, or an existing buffer to share. */
export interface ManualRegionSpec {
  readonly size?: number;
  readonly buffer?: ArrayBufferLike;
  readonly byteOffset?: number;
  readonly perms?: "r" | "rw" | "rwx" | "rx";
  readonly vaddr?: number;
}

export interface ManualPdOptions {
  readonly memory?: Readonly<Record<string, ManualRegionSpec>>;
  readonly mmio?: Readonly<Record<string, MmioDevice>>;
  /** Reply given to every `ppcall`. */
  readonly ppcallReply?: (ch: number, msg: MessageInfo) => MessageInfo;
  readonly seed?: number;
}

/** Raised when a PD under test stores through a mapping without write permission. */
export class ManualPdFault extends Error {
  readonly code = "PD_MEMORY_FAULT";
}

function parsePerms(text: string): Permissions {
  return { read: text.includes("r"), write: text.includes("w"), execute: text.includes("x") };
}

/** A {@link ManualPd} access the mapping does not allow: thrown to the test, not delivered. */
function raiseManualFault(region: string, offset: number, write: boolean): never {
  throw new ManualPdFault(
    `${write ? "store to" : "load from"} region '${region}' at offset ${offset} is not allowed ` +
      "by its mapping (read-only region, or outside it)",
  );
}

/**
 * A hand-driven PD context for unit tests of PD programs without the scheduler:
 * entry points run to completion with {@link ManualPd.run}, kernel calls are recorded
 * in {@link ManualPd.calls}, and virtual time advances only when the test sets it.
 */
export class ManualPd implements PdContext {
  readonly calls: ManualPdCall[] = [];
  /** Every preemption point the last runs yielded, in order. */
  readonly points: PreemptionPoint[] = [];
  time: Nanoseconds = 0;
  private readonly regions = new Map<string, CheckedRegion>();
  private readonly ports = new Map<string, MmioPort>();
  private readonly mrs = new Array<bigint>(120).fill(0n);
  private rngState: number;

  constructor(
    readonly name: string,
    private readonly options: ManualPdOptions = {},
  ) {
    this.rngState = (options.seed ?? 1) >>> 0 || 1;
    for (const [regionName, spec] of Object.entries(options.memory ?? {})) {
      const size =
        spec.size ?? (spec.buffer ? spec.buffer.byteLength - (spec.byteOffset ?? 0) : 0x1000);
      const buffer = spec.buffer ?? new ArrayBuffer(size);
      this.regions.set(
        regionName,
        new CheckedRegion(
          regionName,
          spec.vaddr ?? 0,
          size,
          parsePerms(spec.perms ?? "rw"),
          buffer,
          spec.byteOffset ?? 0,
          raiseManualFault,
        ),
      );
    }
    for (const [portName, device] of Object.entries(options.mmio ?? {})) {
      this.ports.set(portName, {
        name: portName,
        read: (offset: number, width: AccessWidth) => device.read(offset, width),
        write: (offset: number, width: AccessWidth, value: number, tag?: number) =>
          device.write(offset, width, value, tag),
        readTag: (offset: number) => device.readTag?.(offset) ?? 0,
      });
    }
  }

  /** Run an entry point to completion, recording its preemption points. */
  run<T>(step: PdStep<T>): T {
    for (;;) {
      const next = step.next();
      if (next.done) return next.value;
      this.points.push(next.value);
    }
  }

  /** The channels notified so far (immediate notifies only), in order. */
  notifiedChannels(): number[] {
    return this.calls.flatMap((call) => (call.op === "notify" ? [call.ch] : []));
  }

  notify(ch: number): void {
    this.calls.push({ op: "notify", ch });
  }
  irqAck(ch: number): void {
    this.calls.push({ op: "irqAck", ch });
  }
  deferredNotify(ch: number): void {
    this.calls.push({ op: "deferredNotify", ch });
  }
  deferredIrqAck(ch: number): void {
    this.calls.push({ op: "deferredIrqAck", ch });
  }
  *ppcall(ch: number, msg: MessageInfo): PdStep<MessageInfo> {
    this.calls.push({ op: "ppcall", ch, msg });
    yield { kind: "ppcall" };
    return this.options.ppcallReply?.(ch, msg) ?? { label: 0, count: 0 };
  }
  mrGet(index: number): bigint {
    return this.mrs[index] ?? 0n;
  }
  mrSet(index: number, value: bigint): void {
    if (index < 0 || index >= this.mrs.length) throw new RangeError(`message register ${index}`);
    this.mrs[index] = BigInt.asUintN(64, value);
  }
  memory(name: string): MappedRegion {
    const region = this.regions.get(name);
    if (!region) throw new Error(`ManualPd '${this.name}' has no memory region '${name}'`);
    return region;
  }
  mmio(name: string): MmioPort {
    const port = this.ports.get(name);
    if (!port) throw new Error(`ManualPd '${this.name}' has no device region '${name}'`);
    return port;
  }
  now(): Nanoseconds {
    return this.time;
  }
  /** xorshift32: deterministic per seed; good enough for tests. */
  random(): number {
    let x = this.rngState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rngState = x >>> 0;
    return this.rngState / 0x1_0000_0000;
  }
  debug(message: string): void {
    this.calls.push({ op: "debug", message });
  }
  counter(name: string, value: number): void {
    this.calls.push({ op: "counter", name, value });
  }
  pdRestart(childId: number): void {
    this.calls.push({ op: "pdRestart", childId });
  }

  pdStop(childId: number): void {
    this.calls.push({ op: "pdStop", childId });
  }

  vcpuRestart(vcpuId: number): void {
    this.calls.push({ op: "vcpuRestart", vcpuId });
  }
  vcpuStop(vcpuId: number): void {
    this.calls.push({ op: "vcpuStop", vcpuId });
  }
  vcpuResume(vcpuId: number): void {
    this.calls.push({ op: "vcpuResume", vcpuId });
  }
  vcpuInjectIrq(vcpuId: number, irq: number): void {
    this.calls.push({ op: "vcpuInjectIrq", vcpuId, irq });
  }
}
