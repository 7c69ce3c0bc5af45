/**
 * Device runs of the folded Perfetto export (perfetto-fold.ts): each device's records of one
 * name at a regular rhythm (a character per line time on the UART's TX, the next no later than
 * 1.5 times the first gap) become one slice with the count, the first and last arguments and,
 * when every record carries a `byte`, the bytes as text.
 */
import type { RuntimeEvent } from "./event-log.js";

/** Records a device run must hold to be folded, at a regular rhythm. */
export const MIN_DEVICE_RUN = 3;
/** Characters of a folded device run's bytes kept as its `text` argument. */
const TEXT_BYTES = 256;

/** A regular run of one device's records of one name. */
export interface DeviceRun {
  readonly device: string;
  readonly name: string;
  readonly count: number;
  readonly start: number;
  readonly end: number;
  readonly first: Readonly<Record<string, unknown>> | undefined;
  readonly last: Readonly<Record<string, unknown>> | undefined;
  /** The records' `byte` arguments decoded as UTF-8 (the first {@link TEXT_BYTES}), if all had one. */
  readonly text: string | undefined;
}

/** A device's run of records under way. */
interface OpenDeviceRun {
  readonly records: RuntimeEvent[];
  readonly device: string;
  readonly name: string;
  count: number;
  readonly start: number;
  end: number;
  gap: number;
  readonly first: Readonly<Record<string, unknown>> | undefined;
  last: Readonly<Record<string, unknown>> | undefined;
  bytes: number[] | null;
}

type DeviceRecord = Extract<RuntimeEvent, { type: "device" }>;

/** Folds each device's records into regular runs as they come. */
export class DeviceRunFolder {
  private readonly devices = new Map<string, OpenDeviceRun>();

  constructor(
    private readonly sink: {
      record(event: RuntimeEvent): void;
      deviceRun(run: DeviceRun): void;
    },
  ) {}

  /** Hand on every run under way (the end of the log). */
  flush(): void {
    for (const run of this.devices.values()) this.endDeviceRun(run);
    this.devices.clear();
  }

  add(e: DeviceRecord): void {
    const open = this.devices.get(e.device);
    if (open !== undefined) {
      const gap = e.t - open.end;
      const regular = open.name === e.name && (open.count === 1 || gap <= open.gap * 1.5);
      if (regular) {
        if (open.count === 1) open.gap = gap;
        open.count++;
        open.end = e.t;
        open.last = e.args;
        if (open.records.length < MIN_DEVICE_RUN) open.records.push(e);
        const byte = e.args?.byte;
        if (open.bytes !== null) {
          if (typeof byte !== "number") open.bytes = null;
          else if (open.bytes.length < TEXT_BYTES) open.bytes.push(byte);
        }
        return;
      }
      this.endDeviceRun(open);
    }
    const byte = e.args?.byte;
    this.devices.set(e.device, {
      records: [e],
      device: e.device,
      name: e.name,
      count: 1,
      start: e.t,
      end: e.t,
      gap: 0,
      first: e.args,
      last: e.args,
      bytes: typeof byte === "number" ? [byte] : null,
    });
  }

  private endDeviceRun(run: OpenDeviceRun): void {
    if (run.count < MIN_DEVICE_RUN) {
      for (const r of run.records) this.sink.record(r);
      return;
    }
    this.sink.deviceRun({
      device: run.device,
      name: run.name,
      count: run.count,
      start: run.start,
      end: run.end,
      first: run.first,
      last: run.last,
      text: run.bytes === null ? undefined : decoder.decode(Uint8Array.from(run.bytes)),
    });
  }
}

const decoder = new TextDecoder();
