/**
 * A gzip file compressed synchronously as it is written, holding at most one chunk: node:zlib's
 * gzip stream works asynchronously, so during a synchronous run it keeps everything written
 * until the run ends (issue 12 item 2). The result is one gzip member (RFC 1952 §2.3, what
 * Perfetto reads): a header, one deflate stream (RFC 1951) made a chunk at a time, the trailer.
 */
import { Writable } from "node:stream";
import * as zlib from "node:zlib";

/** Deflate's window: a back-reference reaches at most 32 KiB back (RFC 1951 §2). */
const WINDOW = 0x8000;

/** Bytes compressed at a time unless told: within 0.1% of one whole-stream gzip's size. */
export const GZIP_CHUNK_BYTES = 0x10_0000;

/**
 * ID1 ID2, CM 8 (deflate), no flags, MTIME 0 (none, so equal input gives equal files), XFL 0,
 * OS 255 (unknown) (RFC 1952 §2.3.1).
 */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** Options of {@link GzipStream}. */
export interface GzipStreamOptions {
  /** Bytes gathered before they are compressed (default {@link GZIP_CHUNK_BYTES}). */
  readonly chunkBytes?: number;
  /** zlib's compression level, 0–9 (default zlib's, 6). */
  readonly level?: number;
}

/**
 * Writes to `out`, synchronously inside each `write`, the gzip of what it is given. Each full
 * chunk is deflated on its own with a sync flush (it ends on a byte boundary with no final
 * block, so the pieces join into one deflate stream, RFC 1951 §3.2.3) and with the previous
 * chunk's last 32 KiB as its preset dictionary: the decoder holds those bytes in its window, so
 * matches across the boundary are valid and the ratio stays that of one stream. `end()` deflates
 * the rest as the final block, appends CRC-32 and length (RFC 1952 §2.3.1) and ends `out`.
 * Memory stays bounded when `out` is itself synchronous (a file written with `writeSync`).
 * Failures of `out` are `out`'s to report.
 */
export class GzipStream extends Writable {
  private readonly chunk: Buffer;
  private filled = 0;
  /** The last bytes of the previous chunk (at most {@link WINDOW}), or none before the first. */
  private dictionary: Buffer | undefined;
  private crc = 0;
  private taken = 0;
  private given = 0;
  private peak = 0;

  constructor(
    private readonly out: Writable,
    private readonly options: GzipStreamOptions = {},
  ) {
    super();
    const size = options.chunkBytes ?? GZIP_CHUNK_BYTES;
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`gzip chunkBytes must be a positive integer, not ${size}`);
    }
    this.chunk = Buffer.allocUnsafe(size);
    this.give(HEADER);
  }

  /** Bytes taken and not yet compressed: never more than the chunk size. */
  get buffered(): number {
    return this.filled;
  }

  /** The most bytes ever held uncompressed at once. */
  get peakBuffered(): number {
    return this.peak;
  }

  /** Uncompressed bytes taken so far. */
  get bytesIn(): number {
    return this.taken;
  }

  /** Compressed bytes (header included) given to `out` so far. */
  get bytesOut(): number {
    return this.given;
  }

  override _write(data: Buffer, _encoding: BufferEncoding, done: (error?: Error) => void): void {
    try {
      this.crc = crc32(data, this.crc);
      this.taken += data.length;
      for (let at = 0; at < data.length; ) {
        const n = Math.min(data.length - at, this.chunk.length - this.filled);
        data.copy(this.chunk, this.filled, at, at + n);
        this.filled += n;
        at += n;
        this.peak = Math.max(this.peak, this.filled);
        if (this.filled === this.chunk.length) this.give(this.deflate(false));
      }
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _final(done: (error?: Error) => void): void {
    try {
      const last = this.deflate(true);
      const trailer = Buffer.allocUnsafe(8);
      trailer.writeUInt32LE(this.crc >>> 0, 0);
      trailer.writeUInt32LE(this.taken % 0x1_0000_0000, 4);
      this.given += last.length + trailer.length;
      this.out.end(Buffer.concat([last, trailer]));
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  /** Deflate the chunk gathered so far: the final block when `final`, else sync-flushed. */
  private deflate(final: boolean): Buffer {
    const data = this.chunk.subarray(0, this.filled);
    const options: zlib.ZlibOptions = {
      ...(this.options.level === undefined ? {} : { level: this.options.level }),
      ...(this.dictionary === undefined ? {} : { dictionary: this.dictionary }),
      ...(final ? {} : { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
    };
    const deflated = zlib.deflateRawSync(data, options);
    this.dictionary = this.windowAfter(this.dictionary, data);
    this.filled = 0;
    return deflated;
  }

  /**
   * The dictionary for the chunk after `data` (which followed `before`): what a decoder's window
   * holds then, the last 32 KiB of output, copied since the chunk buffer is reused. Protected:
   * the one place a variant may choose otherwise.
   */
  protected windowAfter(before: Buffer | undefined, data: Buffer): Buffer {
    const joined =
      data.length >= WINDOW || before === undefined ? data : Buffer.concat([before, data]);
    return Buffer.from(joined.subarray(Math.max(0, joined.length - WINDOW)));
  }

  private give(bytes: Buffer): void {
    this.given += bytes.length;
    this.out.write(bytes);
  }
}

/** CRC-32 of RFC 1952 §8 (zlib.crc32 where Node has it, 20.15 on; a table otherwise). */
export const crc32: (data: Uint8Array, value?: number) => number =
  typeof zlib.crc32 === "function" ? (data, value) => zlib.crc32(data, value) : tableCrc32;

let table: Uint32Array | undefined;

/** The bytewise table CRC-32 (RFC 1952 §8): for Node releases without zlib.crc32. */
export function tableCrc32(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~value >>> 0;
  for (const byte of data) c = table[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
