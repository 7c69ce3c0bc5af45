/**
 * What `run.ts` reads of the system besides the wire: PD faults in the kernel's event stream,
 * the unread bytes of a serial queue, and region sizes from the description.
 */
import type { RuntimeEvent, System, SystemDescription } from "@vmmux/microkit-pd";
import type { SerialQueue } from "@vmmux/sddf-queues";

/** A fault IPC raised by a PD (not a vCPU exit), from the event log. */
export interface PdFault {
  readonly t: number;
  readonly thread: string;
  readonly handler: string;
  readonly what: string;
}

/** Fault IPCs raised by PD threads, found in the event stream (vCPU exits are not counted). */
export class FaultWatch {
  readonly found: PdFault[] = [];
  constructor(private readonly pds: ReadonlySet<string>) {}

  check(e: RuntimeEvent): void {
    if (e.type !== "fault" || !this.pds.has(e.thread)) return;
    this.found.push({
      t: e.t,
      thread: e.thread,
      handler: e.handler,
      what: JSON.stringify(e.fault),
    });
  }
}

/** A region's backing memory as the queue library takes it (provenance shadow included). */
export function regionOf(sys: System, name: string) {
  const bytes = sys.memory(name);
  return { buffer: bytes.buffer, byteOffset: bytes.byteOffset, size: bytes.byteLength };
}

/** The bytes between a queue's head and tail, with their tags. */
export function unread(q: SerialQueue): { byte: number; tag: number }[] {
  const out: { byte: number; tag: number }[] = [];
  // A client that corrupted its indices may leave tail - head above the capacity (§2.3): read
  // at most one ring's worth, never 2^32 entries.
  const length = Math.min((q.tail - q.head) >>> 0, q.capacity);
  for (let i = q.head, end = (q.head + length) >>> 0; i !== end; i = (i + 1) >>> 0)
    out.push({ byte: q.byteAt(i), tag: q.tagAt(i) });
  return out;
}

export function regionSize(desc: SystemDescription, name: string): number {
  return Number(desc.memoryRegions.find((r) => r.name === name)?.size ?? 0);
}

/**
 * `{ ...a, ...b, ...c }`, but an accessor stays an accessor: a transcript's tags made on first
 * read (`GuestTranscript.enqueuedTags`) are not made by building the result.
 */
export function joined<A extends object, B extends object, C extends object>(
  a: A,
  b: B,
  c: C,
): A & B & C {
  const out = {};
  for (const part of [a, b, c])
    Object.defineProperties(out, Object.getOwnPropertyDescriptors(part));
  return out as A & B & C;
}
