/**
 * Keeps the last `limit` bytes of a stream. A command's result and its error message are at the
 * end of its output, so the tail is the part worth keeping when the output is too long.
 */
export class TailBuffer {
  #chunks: Buffer[] = [];
  #size = 0;
  #truncated = false;

  constructor(readonly limit: number) {}

  /** True once any byte was dropped. */
  get truncated(): boolean {
    return this.#truncated;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (chunk.length >= this.limit) {
      // One chunk fills the buffer on its own: drop everything before it in one step.
      if (chunk.length > this.limit || this.#size > 0) this.#truncated = true;
      this.#chunks = this.limit === 0 ? [] : [chunk.subarray(chunk.length - this.limit)];
      this.#size = this.limit;
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size > this.limit) {
      this.#truncated = true;
      const first = this.#chunks[0]!;
      const excess = this.#size - this.limit;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#size -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#size -= excess;
      }
    }
  }

  /** The kept bytes as UTF-8; a character cut in half at the start of the tail is dropped. */
  toString(): string {
    let bytes = Buffer.concat(this.#chunks, this.#size);
    if (this.#truncated) {
      let start = 0;
      // UTF-8 continuation bytes are 0b10xxxxxx; a character has at most 3 of them.
      while (start < 3 && start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
      bytes = bytes.subarray(start);
    }
    return bytes.toString('utf8');
  }
}
