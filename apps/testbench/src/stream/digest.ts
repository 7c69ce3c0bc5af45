/**
 * The determinism digest (DESIGN.md oracle 5), fed as the run goes: SHA-256 over the run's
 * observable outcome — every wire character with its tag and times, each guest's writes (with
 * their times where the guest kind records them) and received input, the loss counters, the
 * virtual time and the kernel's event count. Nothing of the kernel's log goes in, so the value
 * is the same whether the run kept a log, streamed a trace, or fast-forwarded idle loops.
 */
import { createHash, type Hash } from "node:crypto";

/** Wire records hashed per update (4 doubles each). */
const BATCH = 4096;

/** What a guest contributes at the end. */
export interface DigestGuest {
  readonly enqueued: Uint8Array;
  readonly enqueuedTags: Uint32Array;
  /** The tags in pieces; hashed instead of `enqueuedTags` when given (nothing kept). */
  readonly enqueuedTagChunks?: () => Iterable<Uint32Array>;
  readonly enqueueTimes: Float64Array;
  readonly received: readonly {
    readonly byte: number;
    readonly tag: number;
    readonly at: number;
  }[];
  readonly loss: unknown;
  readonly unpublished: number;
  readonly inputDropped: number;
}

export interface DigestEnd {
  readonly virtualTime: number;
  readonly events: number;
  readonly idle: boolean;
  readonly guests: readonly DigestGuest[];
  readonly loss: unknown;
}

function bytesOf(a: Float64Array | Uint32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class RunDigest {
  private readonly wireHash: Hash = createHash("sha256");
  private readonly batch = new Float64Array(BATCH * 4);
  private fill = 0;
  private count = 0;

  /** One character left the wire. */
  wire(byte: number, tag: number, start: number, end: number): void {
    const b = this.batch;
    const k = this.fill;
    b[k] = byte;
    b[k + 1] = tag;
    b[k + 2] = start;
    b[k + 3] = end;
    this.fill = k + 4;
    this.count++;
    if (this.fill === b.length) this.flush();
  }

  private flush(): void {
    if (this.fill === 0) return;
    this.wireHash.update(bytesOf(this.batch.subarray(0, this.fill)));
    this.fill = 0;
  }

  /** The digest, hex. */
  finish(end: DigestEnd): string {
    this.flush();
    const hash = createHash("sha256");
    hash.update(`vmmux-run-digest 2\n${end.virtualTime} ${end.events} ${end.idle}\n`);
    hash.update(`wire ${this.count} ${this.wireHash.digest("hex")}\n`);
    for (const [k, g] of end.guests.entries()) {
      hash.update(`guest ${k} ${g.enqueued.length} ${g.enqueueTimes.length}\n`);
      hash.update(g.enqueued);
      if (g.enqueuedTagChunks === undefined) hash.update(bytesOf(g.enqueuedTags));
      else for (const c of g.enqueuedTagChunks()) hash.update(bytesOf(c));
      hash.update(bytesOf(g.enqueueTimes));
      const received = new Float64Array(g.received.length * 3);
      for (const [i, r] of g.received.entries()) received.set([r.byte, r.tag, r.at], i * 3);
      hash.update(`received ${g.received.length}\n`);
      hash.update(bytesOf(received));
      hash.update(`${JSON.stringify([g.loss, g.unpublished, g.inputDropped])}\n`);
    }
    hash.update(JSON.stringify(end.loss));
    return hash.digest("hex");
  }
}
