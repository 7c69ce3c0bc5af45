/**
 * The queue struct's three u32 words (`tail`, `head`, `producer_signalled`; sddf-serial §2.1)
 * as a handle reaches them. Over shared memory each access is an `Atomics` one (the memory
 * ordering of §2.6, see queue.ts); over an unshared buffer only this thread can reach the words,
 * so a plain access gives the same value, at a tenth of the cost on a path taken for every byte.
 */
export class SharedWords {
  private readonly words: Uint32Array;
  private readonly atomic: boolean;

  constructor(buffer: ArrayBufferLike, byteOffset: number) {
    this.words = new Uint32Array(buffer, byteOffset, 3);
    this.atomic = typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
  }

  load(word: number): number {
    return this.atomic ? Atomics.load(this.words, word) : this.words[word]!;
  }

  store(word: number, value: number): void {
    if (this.atomic) Atomics.store(this.words, word, value);
    else this.words[word] = value;
  }
}
