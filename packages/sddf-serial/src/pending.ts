/**
 * virt_tx's pending list (sddf-serial reference §5.1): a FIFO ring of `MAX_CLIENTS + 1`
 * client indices with a per-client flag, so pushing a client that is already pending is a
 * no-op and the list never holds more than one entry per client.
 */
export class PendingList {
  private readonly ring: Uint32Array;
  private readonly pending: Uint8Array;
  private head = 0;
  private tail = 0;

  constructor(readonly numClients: number) {
    this.ring = new Uint32Array(numClients + 1);
    this.pending = new Uint8Array(numClients);
  }

  get length(): number {
    return (this.tail - this.head + this.ring.length) % this.ring.length;
  }

  has(k: number): boolean {
    return this.pending[k] === 1;
  }

  /** Append `k` unless it is already pending. */
  push(k: number): void {
    if (this.pending[k] === 1) return;
    this.pending[k] = 1;
    this.ring[this.tail] = k;
    this.tail = (this.tail + 1) % this.ring.length;
  }

  /** Remove and return the oldest pending client, clearing its flag. */
  pop(): number | undefined {
    if (this.head === this.tail) return undefined;
    const k = this.ring[this.head] as number;
    this.head = (this.head + 1) % this.ring.length;
    this.pending[k] = 0;
    return k;
  }

  /** The pending clients, oldest first. */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = this.head; i !== this.tail; i = (i + 1) % this.ring.length) {
      out.push(this.ring[i] as number);
    }
    return out;
  }
}
