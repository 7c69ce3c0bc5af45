/**
 * `fc.commands` for the model-based suite: every queue operation (shared and local index
 * paths, batch, transfer with and without colour, signalling flag, queries) on two queues
 * A and B, each checked against `QueueModel` after it runs.
 */

import fc from "fast-check";
import { QueueAssertionError } from "../errors.js";
import type { LocalHead, LocalTail, SerialQueueOptions } from "../layout.js";
import { QUEUE_STRUCT_SIZE } from "../layout.js";
import type { SerialQueue } from "../queue.js";
import { transferAll, transferAllColour } from "../transfer.js";
import { arbCapacity, arbStartIndex, arbTag, arbTaggedBytes } from "./arbitraries.js";
import { type ModelByte, QueueModel } from "./model.js";

/** Builds a queue handle; tests pass planted variants here. */
export type QueueFactory = (
  queueRegion: Uint8Array,
  data: Uint8Array,
  options: SerialQueueOptions,
) => SerialQueue;

/** Bytes after the ring in each data region, which no operation may touch. */
const GUARD = 8;
const GUARD_BYTE = 0xa5;

export interface PairModel {
  q: [QueueModel, QueueModel];
  checked: boolean;
}

export interface PairReal {
  q: [SerialQueue, SerialQueue];
  localTail: [LocalTail, LocalTail];
  localHead: [LocalHead, LocalHead];
}

export interface PairSetup {
  capacity: [number, number];
  start: [number, number];
  tagged: [boolean, boolean];
  checked: boolean;
}

export function arbPairSetup(): fc.Arbitrary<PairSetup> {
  return fc.record({
    capacity: fc.tuple(arbCapacity(0, 6), arbCapacity(0, 6)),
    start: fc.tuple(arbStartIndex(), arbStartIndex()),
    tagged: fc.tuple(fc.boolean(), fc.boolean()),
    checked: fc.boolean(),
  });
}

/** Fresh zeroed regions with the indices set to `start` (as after `start` bytes moved). */
export function buildPair(
  setup: PairSetup,
  factory: QueueFactory,
): { model: PairModel; real: PairReal } {
  const make = (i: 0 | 1): SerialQueue => {
    const capacity = setup.capacity[i];
    const region = new Uint8Array(new SharedArrayBuffer(16));
    const words = new Uint32Array(region.buffer, 0, QUEUE_STRUCT_SIZE / 4);
    words[0] = setup.start[i];
    words[1] = setup.start[i];
    const data = new Uint8Array(capacity + GUARD).fill(GUARD_BYTE);
    const options: SerialQueueOptions = { capacity, checked: setup.checked };
    if (setup.tagged[i]) options.tags = new Uint32Array(capacity);
    return factory(region, data, options);
  };
  const a = make(0);
  const b = make(1);
  return {
    model: {
      q: [
        new QueueModel(setup.capacity[0], setup.start[0], setup.tagged[0]),
        new QueueModel(setup.capacity[1], setup.start[1], setup.tagged[1]),
      ],
      checked: setup.checked,
    },
    real: {
      q: [a, b],
      localTail: [{ tail: a.tail }, { tail: b.tail }],
      localHead: [{ head: a.head }, { head: b.head }],
    },
  };
}

function expectEq<T>(what: string, actual: T, expected: T): void {
  if (!Object.is(actual, expected)) {
    throw new Error(`${what}: got ${String(actual)}, model says ${String(expected)}`);
  }
}

type Side = 0 | 1;
type PairCommand = fc.Command<PairModel, PairReal>;

class Enqueue implements PairCommand {
  constructor(
    readonly side: Side,
    readonly byte: number,
    readonly tag: number,
  ) {}
  check(m: Readonly<PairModel>): boolean {
    return m.q[this.side].pending.length === 0;
  }
  run(m: PairModel, r: PairReal): void {
    const model = m.q[this.side];
    const ok = r.q[this.side].enqueue(this.byte, this.tag);
    expectEq("enqueue", ok, model.free > 0);
    if (ok) model.push([{ byte: this.byte, tag: this.tag }]);
    expectEq("tail after enqueue", r.q[this.side].tail, model.tail);
  }
  toString(): string {
    return `enqueue(${"AB"[this.side]}, ${this.byte}, ${this.tag})`;
  }
}

class EnqueueLocal implements PairCommand {
  constructor(
    readonly side: Side,
    readonly byte: number,
    readonly tag: number,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: PairModel, r: PairReal): void {
    const model = m.q[this.side];
    const local = r.localTail[this.side];
    if (model.pending.length === 0) local.tail = r.q[this.side].tail;
    const ok = r.q[this.side].enqueueLocal(local, this.byte, this.tag);
    expectEq("enqueueLocal", ok, model.items.length + model.pending.length < model.capacity);
    if (ok) model.pending.push({ byte: this.byte, tag: this.tag });
    expectEq("local tail", local.tail, model.localTail);
    expectEq("shared tail after enqueueLocal", r.q[this.side].tail, model.tail);
  }
  toString(): string {
    return `enqueueLocal(${"AB"[this.side]}, ${this.byte}, ${this.tag})`;
  }
}

class UpdateSharedTail implements PairCommand {
  constructor(readonly side: Side) {}
  check(m: Readonly<PairModel>): boolean {
    return m.q[this.side].pending.length > 0;
  }
  run(m: PairModel, r: PairReal): void {
    const model = m.q[this.side];
    r.q[this.side].updateSharedTail(r.localTail[this.side].tail);
    model.push(model.pending.splice(0));
    expectEq("tail after updateSharedTail", r.q[this.side].tail, model.tail);
  }
  toString(): string {
    return `updateSharedTail(${"AB"[this.side]})`;
  }
}

function expectByte(
  what: string,
  q: SerialQueue,
  model: QueueModel,
  got: number | undefined,
  want: ModelByte | undefined,
): void {
  expectEq(what, got, want?.byte);
  if (want !== undefined) expectEq(`${what} tag`, q.lastTag, model.seenTag(want.tag));
}

class Dequeue implements PairCommand {
  constructor(readonly side: Side) {}
  check(m: Readonly<PairModel>): boolean {
    return m.q[this.side].localConsumed === 0;
  }
  run(m: PairModel, r: PairReal): void {
    const model = m.q[this.side];
    const q = r.q[this.side];
    expectByte("dequeue", q, model, q.dequeue(), model.take(1)[0]);
    expectEq("head after dequeue", q.head, model.head);
  }
  toString(): string {
    return `dequeue(${"AB"[this.side]})`;
  }
}

class DequeueLocal implements PairCommand {
  constructor(readonly side: Side) {}
  check(): boolean {
    return true;
  }
  run(m: PairModel, r: PairReal): void {
    const model = m.q[this.side];
    const q = r.q[this.side];
    const local = r.localHead[this.side];
    if (model.localConsumed === 0) local.head = q.head;
    const want = model.items[model.localConsumed];
    expectByte("dequeueLocal", q, model, q.dequeueLocal(local), want);
    if (want !== undefined) model.localConsumed++;
    expectEq("local head", local.head, model.localHead);
    expectEq("shared head after dequeueLocal", q.head, model.head);
  }
  toString(): string {
    return `dequeueLocal(${"AB"[this.side]})`;
  }
}

class UpdateSharedHead implements PairCommand {
  constructor(readonly side: Side) {}
  check(m: Readonly<PairModel>): boolean {
    return m.q[this.side].localConsumed > 0;
  }
  run(m: PairModel, r: PairReal): void {
    const model = m.q[this.side];
    r.q[this.side].updateSharedHead(r.localHead[this.side].head);
    model.take(model.localConsumed);
    model.localConsumed = 0;
    expectEq("head after updateSharedHead", r.q[this.side].head, model.head);
  }
  toString(): string {
    return `updateSharedHead(${"AB"[this.side]})`;
  }
}

/** How a batch's tags are given: per byte, one for all, or not at all. */
type TagMode = "array" | "single" | "none";

class EnqueueBatch implements PairCommand {
  constructor(
    readonly side: Side,
    readonly bytes: number[],
    readonly tags: number[],
    readonly tagMode: TagMode,
  ) {}
  check(m: Readonly<PairModel>): boolean {
    return m.q[this.side].pending.length === 0;
  }
  run(m: PairModel, r: PairReal): void {
    const model = m.q[this.side];
    const single = this.tags[0] ?? 0;
    const srcTags =
      this.tagMode === "array"
        ? Uint32Array.from(this.tags)
        : this.tagMode === "single"
          ? single
          : undefined;
    const n = r.q[this.side].enqueueBatch(Uint8Array.from(this.bytes), srcTags);
    const entries = this.bytes.map((byte, i) => ({
      byte,
      tag: this.tagMode === "array" ? this.tags[i]! : this.tagMode === "single" ? single : 0,
    }));
    expectEq("enqueueBatch count", n, model.push(entries));
    expectEq("tail after enqueueBatch", r.q[this.side].tail, model.tail);
  }
  toString(): string {
    return `enqueueBatch(${"AB"[this.side]}, [${this.bytes}], ${this.tagMode})`;
  }
}

interface Colour {
  start: number[];
  end: number[];
  tag: number;
}

class Transfer implements PairCommand {
  constructor(
    readonly from: Side,
    readonly overflow: "drop" | "keep",
    readonly colour: Colour | undefined,
  ) {}
  check(m: Readonly<PairModel>): boolean {
    return m.q[this.from].localConsumed === 0 && m.q[1 - this.from]!.pending.length === 0;
  }
  run(m: PairModel, r: PairReal): void {
    const to = (1 - this.from) as Side;
    const src = m.q[this.from];
    const dst = m.q[to];
    const colourLength =
      this.colour === undefined ? 0 : this.colour.start.length + this.colour.end.length;
    const fits = src.length + colourLength <= dst.free;
    let result: { moved: number; dropped: number; colourDropped?: number };
    try {
      result =
        this.colour === undefined
          ? transferAll(r.q[to], r.q[this.from], { overflow: this.overflow })
          : transferAllColour(
              r.q[to],
              r.q[this.from],
              Uint8Array.from(this.colour.start),
              Uint8Array.from(this.colour.end),
              this.colour.tag,
              { overflow: this.overflow },
            );
    } catch (e) {
      if (m.checked && !fits && e instanceof QueueAssertionError) return;
      throw e;
    }
    if (m.checked && !fits) throw new Error("transfer: checked mode did not assert on overflow");
    const colourTag = this.colour?.tag ?? 0;
    const asColour = (bytes: number[]) => bytes.map((byte) => ({ byte, tag: colourTag }));
    let colourDropped = 0;
    if (this.colour !== undefined) {
      colourDropped += this.colour.start.length - dst.push(asColour(this.colour.start));
    }
    const available = src.length;
    const moved = Math.min(available, dst.free);
    // An untagged source hands UNTAGGED to a tagged destination.
    dst.push(src.take(moved).map(({ byte, tag }) => ({ byte, tag: src.seenTag(tag) })));
    const dropped = this.overflow === "drop" ? available - moved : 0;
    src.take(dropped);
    if (this.colour !== undefined) {
      colourDropped += this.colour.end.length - dst.push(asColour(this.colour.end));
    }
    expectEq("transfer moved", result.moved, moved);
    expectEq("transfer dropped", result.dropped, dropped);
    if (this.colour !== undefined) expectEq("colour dropped", result.colourDropped, colourDropped);
    expectEq("src head after transfer", r.q[this.from].head, src.head);
    expectEq("dst tail after transfer", r.q[to].tail, dst.tail);
  }
  toString(): string {
    const c =
      this.colour === undefined ? "" : `, colour [${this.colour.start}]/[${this.colour.end}]`;
    return `transfer(${"AB"[this.from]} -> ${"BA"[this.from]}, ${this.overflow}${c})`;
  }
}

type SignalOp = "request" | "cancel" | "require";

class Signal implements PairCommand {
  constructor(
    readonly side: Side,
    readonly op: SignalOp,
  ) {}
  check(): boolean {
    return true;
  }
  run(m: PairModel, r: PairReal): void {
    const model = m.q[this.side];
    const q = r.q[this.side];
    if (this.op === "request") {
      q.requestConsumerSignal();
      model.producerSignalled = 0;
    } else if (this.op === "cancel") {
      q.cancelConsumerSignal();
      model.producerSignalled = 1;
    } else {
      expectEq("requireConsumerSignal", q.requireConsumerSignal(), model.producerSignalled === 0);
    }
    expectEq("producerSignalled", q.producerSignalled, model.producerSignalled);
  }
  toString(): string {
    return `${this.op}ConsumerSignal(${"AB"[this.side]})`;
  }
}

/** Compares every query with the model and checks that the guard bytes are intact. */
class Query implements PairCommand {
  constructor(readonly side: Side) {}
  check(): boolean {
    return true;
  }
  run(m: PairModel, r: PairReal): void {
    const model = m.q[this.side];
    const q = r.q[this.side];
    expectEq("tail", q.tail, model.tail);
    expectEq("head", q.head, model.head);
    expectEq("lengthConsumer", q.lengthConsumer(), model.length);
    expectEq("lengthProducer", q.lengthProducer(), model.length);
    expectEq("empty()", q.empty(), model.length === 0);
    expectEq("full()", q.full(), model.free === 0);
    expectEq("empty(localHead)", q.empty(model.localHead), model.localConsumed === model.length);
    expectEq(
      "full(localTail)",
      q.full(model.localTail),
      model.length + model.pending.length === model.capacity,
    );
    expectEq("contiguousLength", q.contiguousLength(), model.contiguousLength());
    expectEq("free", q.free(), model.free);
    expectEq("contiguousFree", q.contiguousFree(), model.contiguousFree());
    for (let i = 0; i < model.length; i++) {
      const index = (model.head + i) >>> 0;
      expectEq(`byteAt(${index})`, q.byteAt(index), model.items[i]!.byte);
      expectEq(`tagAt(${index})`, q.tagAt(index), model.seenTag(model.items[i]!.tag));
    }
    for (let i = model.capacity; i < q.data.length; i++) {
      expectEq(`guard byte ${i}`, q.data[i], GUARD_BYTE);
    }
  }
  toString(): string {
    return `query(${"AB"[this.side]})`;
  }
}

/** Every command of the model-based suite. */
export function pairCommands(): fc.Arbitrary<PairCommand>[] {
  const side = fc.constantFrom<Side>(0, 1);
  const byte = fc.nat({ max: 255 });
  const colour: fc.Arbitrary<Colour | undefined> = fc.option(
    fc.record({
      start: fc.array(byte, { maxLength: 5 }),
      end: fc.array(byte, { maxLength: 4 }),
      tag: arbTag(),
    }),
    { nil: undefined },
  );
  return [
    fc.tuple(side, byte, arbTag()).map(([s, b, t]) => new Enqueue(s, b, t)),
    fc.tuple(side, byte, arbTag()).map(([s, b, t]) => new EnqueueLocal(s, b, t)),
    side.map((s) => new UpdateSharedTail(s)),
    side.map((s) => new Dequeue(s)),
    side.map((s) => new DequeueLocal(s)),
    side.map((s) => new UpdateSharedHead(s)),
    fc
      .tuple(side, arbTaggedBytes(80), fc.constantFrom<TagMode>("array", "single", "none"))
      .map(([s, t, mode]) => new EnqueueBatch(s, t.bytes, t.tags, mode)),
    fc
      .tuple(side, fc.constantFrom<"drop" | "keep">("drop", "keep"), colour)
      .map(([s, o, c]) => new Transfer(s, o, c)),
    fc
      .tuple(side, fc.constantFrom<SignalOp>("request", "cancel", "require"))
      .map(([s, op]) => new Signal(s, op)),
    side.map((s) => new Query(s)),
  ];
}

/** The model-based property over queues made by `factory`. */
export function queueModelProperty(factory: QueueFactory, maxCommands = 60) {
  return fc.property(
    arbPairSetup(),
    fc.commands(pairCommands(), { maxCommands, size: "max" }),
    (setup, cmds) => {
      fc.modelRun(() => buildPair(setup, factory), cmds);
    },
  );
}
