/**
 * Helpers for the chunked gzip writer's tests (runtime/gzip-stream.ts): a synchronous sink, a
 * whole-file helper, and a defect the round-trip property (gzip-stream.prop.test.ts) must catch.
 */
import { Writable } from "node:stream";
import { GzipStream } from "../runtime/gzip-stream.js";

/** A synchronous sink that keeps what it is given. */
export function collector() {
  const chunks: Buffer[] = [];
  let ended = false;
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
    final(done) {
      ended = true;
      done();
    },
  });
  return { out, bytes: () => Buffer.concat(chunks), ended: () => ended };
}

/** Gzip `pieces` written one by one; resolves with the file once the sink has finished. */
export async function gzipOf(
  pieces: readonly (string | Uint8Array)[],
  chunkBytes: number,
  make = (out: Writable) => new GzipStream(out, { chunkBytes }),
): Promise<Buffer> {
  const sink = collector();
  const gz = make(sink.out);
  const finished = new Promise((resolve) => sink.out.once("finish", resolve));
  for (const piece of pieces) gz.write(piece);
  gz.end();
  await finished;
  return sink.bytes();
}

/**
 * Each chunk's preset dictionary is the previous chunk's first 32 KiB instead of its last:
 * matches found in it point at bytes the decoder's window does not hold there, so the file
 * inflates to other bytes (or fails its CRC) once chunks are longer than the window.
 */
export class StaleWindowGzip extends GzipStream {
  protected override windowAfter(_before: Buffer | undefined, data: Buffer): Buffer {
    return Buffer.from(data.subarray(0, 0x8000));
  }
}
