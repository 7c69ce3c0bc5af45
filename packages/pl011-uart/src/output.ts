/**
 * Where transmitted characters go: the counters, a device trace record, the optional
 * `transmitted` record and the `onTransmit` listeners, in that order.
 */
import type { WireByte } from "./device-types.js";
import type { RegisterFile } from "./regfile.js";

export class TransmitOutput {
  /** Every transmitted character in order (when recording). */
  readonly transmitted: WireByte[] = [];
  private readonly listeners: Array<(b: WireByte) => void> = [];

  constructor(
    private readonly regs: RegisterFile,
    private readonly record: boolean,
  ) {}

  listen(listener: (b: WireByte) => void): void {
    this.listeners.push(listener);
  }

  emit(b: WireByte): void {
    this.regs.counters.txEmitted++;
    this.regs.host.trace(`${this.regs.name}.tx`, { byte: b.byte, tag: b.tag, kind: b.kind });
    if (this.record) this.transmitted.push(b);
    for (const listener of this.listeners) listener(b);
  }
}
