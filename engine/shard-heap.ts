/**
 * The per-shard ready queue: an array-backed d-ary min-heap ordered by `(key, tie, seq)`.
 *
 * Layout is struct-of-arrays so the sift loops compare numbers in contiguous typed arrays
 * instead of chasing one object per entry:
 * - per heap position: `keys`, `ties`, `seqs` (Float64Array) and `slotAt` (Int32Array);
 * - per slot (a stable home for one entry while it is queued): `posOfSlot`, `genOfSlot` and
 *   the value itself. Values never move during a sift; only the numbers and the slot index do.
 *
 * A {@link HeapHandle} encodes `(generation, slot)` in one number, so `push` allocates no handle
 * object and a handle kept after its entry left the heap is recognised as stale even when the
 * slot has been reused (the generation no longer matches).
 */
import { SmartQueueError } from './errors.js';

declare const heapHandleBrand: unique symbol;

/**
 * Identifies one pushed entry for {@link DaryHeap.remove} and {@link DaryHeap.update}. Stays valid
 * while the entry moves inside the heap; becomes invalid once the entry is popped, removed or
 * cleared. Only meaningful to the heap that issued it.
 */
export type HeapHandle = number & { readonly [heapHandleBrand]: true };

/** Options of {@link DaryHeap}. */
export interface DaryHeapOptions {
  /**
   * Children per node. 4 is a good default: a shallower tree than a binary heap and the four
   * children of a node share a cache line of each key array.
   * @default 4
   */
  arity?: number;
  /**
   * Entries allocated up front; the heap doubles its arrays when full.
   * @default 64
   */
  initialCapacity?: number;
}

/** Handle = generation * SLOT_SPACE + slot, which must stay below 2^53 to be an exact integer. */
const SLOT_SPACE = 2 ** 26;
const MAX_GENERATION = 2 ** 27;

/**
 * `(t1, s1) < (t2, s2)`, the tie-breakers. Callers compare keys first and read ties and seqs only
 * when keys are equal, so with distinct keys a sift touches the key array alone.
 */
function tieBefore(t1: number, s1: number, t2: number, s2: number): boolean {
  return t1 < t2 || (t1 === t2 && s1 < s2);
}

function invalid(message: string, details: Record<string, unknown>): SmartQueueError {
  return new SmartQueueError('INVALID_ARGUMENT', message, { details });
}

/**
 * An array-backed d-ary min-heap of values ordered by a numeric `key` (e.g. latest start time),
 * then `tie` (smaller first; the engine passes `-priority`), then `seq` (arrival order).
 * push, pop, remove and update are O(log n); peek, has and size are O(1).
 *
 * @typeParam T - the queued value. `pop()` and `peek()` return `undefined` on an empty heap, so
 *   use `size` to tell an empty heap from a queued `undefined`.
 */
export class DaryHeap<T> implements Iterable<T> {
  /** Children per node. */
  readonly arity: number;

  #size = 0;
  #capacity: number;
  #keys: Float64Array;
  #ties: Float64Array;
  #seqs: Float64Array;
  #slotAt: Int32Array;

  #slotCapacity: number;
  #slotCount = 0;
  #posOfSlot: Int32Array;
  #genOfSlot: Uint32Array;
  #freeSlots: Int32Array;
  #freeCount = 0;
  #values: (T | undefined)[] = [];

  #nextSeq = 0;

  constructor(options: DaryHeapOptions = {}) {
    const arity = options.arity ?? 4;
    const capacity = options.initialCapacity ?? 64;
    if (!Number.isInteger(arity) || arity < 2) {
      throw invalid('DaryHeap arity must be an integer >= 2', { arity });
    }
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > SLOT_SPACE) {
      throw invalid(`DaryHeap initialCapacity must be an integer in 1..${SLOT_SPACE}`, { capacity });
    }
    this.arity = arity;
    this.#capacity = capacity;
    this.#keys = new Float64Array(capacity);
    this.#ties = new Float64Array(capacity);
    this.#seqs = new Float64Array(capacity);
    this.#slotAt = new Int32Array(capacity);
    this.#slotCapacity = capacity;
    this.#posOfSlot = new Int32Array(capacity);
    this.#genOfSlot = new Uint32Array(capacity);
    this.#freeSlots = new Int32Array(capacity);
  }

  /** Number of queued entries. */
  get size(): number {
    return this.#size;
  }

  /**
   * Queues `value`. Entries with equal `key` and `tie` leave in `seq` order; when `seq` is
   * omitted it is one more than the largest seq seen so far, i.e. arrival order.
   * @throws SmartQueueError `INVALID_ARGUMENT` when key, tie or seq is NaN (NaN has no order
   *   and would silently corrupt the heap).
   */
  push(value: T, key: number, tie = 0, seq?: number): HeapHandle {
    if (key !== key || tie !== tie) throw invalid('DaryHeap key and tie must not be NaN', { key, tie });
    let s: number;
    if (seq === undefined) {
      s = this.#nextSeq++;
    } else {
      if (seq !== seq) throw invalid('DaryHeap seq must not be NaN', { seq });
      s = seq;
      // Keeps omitted seqs after explicit ones, so mixing both still means "arrived later".
      if (seq >= this.#nextSeq) this.#nextSeq = Math.floor(seq) + 1;
    }
    if (this.#size === this.#capacity) this.#grow();
    const slot = this.#allocSlot();
    this.#values[slot] = value;
    this.#siftUp(this.#size++, key, tie, s, slot);
    return (this.#genOfSlot[slot]! * SLOT_SPACE + slot) as HeapHandle;
  }

  /** The first value without removing it, or undefined when empty. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#values[this.#slotAt[0]!];
  }

  /** The key of the first value, or undefined when empty. */
  peekKey(): number | undefined {
    return this.#size === 0 ? undefined : this.#keys[0];
  }

  /** The tie-breaker of the first value, or undefined when empty. */
  peekTie(): number | undefined {
    return this.#size === 0 ? undefined : this.#ties[0];
  }

  /** The sequence number of the first value, or undefined when empty. */
  peekSeq(): number | undefined {
    return this.#size === 0 ? undefined : this.#seqs[0];
  }

  /** Removes and returns the first value, or undefined when empty. Its handle becomes invalid. */
  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const slot = this.#slotAt[0]!;
    const value = this.#values[slot];
    const last = --this.#size;
    if (last > 0) {
      this.#siftDown(0, this.#keys[last]!, this.#ties[last]!, this.#seqs[last]!, this.#slotAt[last]!);
    }
    this.#releaseSlot(slot);
    return value;
  }

  /** Whether the handle still refers to a queued entry. */
  has(handle: HeapHandle): boolean {
    return this.#liveSlot(handle) >= 0;
  }

  /** The value behind a live handle, or undefined. */
  get(handle: HeapHandle): T | undefined {
    const slot = this.#liveSlot(handle);
    return slot < 0 ? undefined : this.#values[slot];
  }

  /** The current key behind a live handle, or undefined. */
  keyOf(handle: HeapHandle): number | undefined {
    const slot = this.#liveSlot(handle);
    return slot < 0 ? undefined : this.#keys[this.#posOfSlot[slot]!];
  }

  /**
   * Removes the entry behind `handle` (e.g. a cancelled task) in O(log n).
   * @returns false when the handle is stale (already popped, removed or cleared).
   */
  remove(handle: HeapHandle): boolean {
    const slot = this.#liveSlot(handle);
    if (slot < 0) return false;
    const pos = this.#posOfSlot[slot]!;
    const last = --this.#size;
    if (pos !== last) {
      // The last entry fills the hole; it may belong above or below it.
      this.#place(pos, this.#keys[last]!, this.#ties[last]!, this.#seqs[last]!, this.#slotAt[last]!);
    }
    this.#releaseSlot(slot);
    return true;
  }

  /**
   * Re-keys a queued entry in place (e.g. its deadline moved), keeping its seq so it keeps its
   * place among equal keys. `tie` keeps its current value when omitted.
   * @returns false when the handle is stale.
   * @throws SmartQueueError `INVALID_ARGUMENT` when key or tie is NaN.
   */
  update(handle: HeapHandle, key: number, tie?: number): boolean {
    if (key !== key || tie !== tie) throw invalid('DaryHeap key and tie must not be NaN', { key, tie });
    const slot = this.#liveSlot(handle);
    if (slot < 0) return false;
    const pos = this.#posOfSlot[slot]!;
    this.#place(pos, key, tie ?? this.#ties[pos]!, this.#seqs[pos]!, slot);
    return true;
  }

  /** Removes every entry and invalidates every handle. Keeps the allocated capacity. */
  clear(): void {
    for (let i = 0; i < this.#size; i++) this.#releaseSlot(this.#slotAt[i]!);
    this.#size = 0;
  }

  /** The queued values in heap (not priority) order. Do not modify the heap while iterating. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#values[this.#slotAt[i]!] as T;
  }

  /** Puts an entry at `pos` and restores heap order around it, in whichever direction it needs. */
  #place(pos: number, key: number, tie: number, seq: number, slot: number): void {
    if (pos > 0) {
      const p = ((pos - 1) / this.arity) | 0;
      const pk = this.#keys[p]!;
      if (key < pk || (key === pk && tieBefore(tie, seq, this.#ties[p]!, this.#seqs[p]!))) {
        this.#siftUp(pos, key, tie, seq, slot);
        return;
      }
    }
    this.#siftDown(pos, key, tie, seq, slot);
  }

  /**
   * Moves the hole at `pos` up while the entry belongs above its parent, then writes the entry
   * once (a hole instead of swaps halves the writes).
   */
  #siftUp(pos: number, key: number, tie: number, seq: number, slot: number): void {
    const d = this.arity;
    const keys = this.#keys;
    const ties = this.#ties;
    const seqs = this.#seqs;
    const slotAt = this.#slotAt;
    const posOfSlot = this.#posOfSlot;
    while (pos > 0) {
      const p = ((pos - 1) / d) | 0;
      const pk = keys[p]!;
      if (key > pk || (key === pk && !tieBefore(tie, seq, ties[p]!, seqs[p]!))) break;
      keys[pos] = pk;
      ties[pos] = ties[p]!;
      seqs[pos] = seqs[p]!;
      const moved = slotAt[p]!;
      slotAt[pos] = moved;
      posOfSlot[moved] = pos;
      pos = p;
    }
    keys[pos] = key;
    ties[pos] = tie;
    seqs[pos] = seq;
    slotAt[pos] = slot;
    posOfSlot[slot] = pos;
  }

  /** Moves the hole at `pos` down past smaller children, then writes the entry once. */
  #siftDown(pos: number, key: number, tie: number, seq: number, slot: number): void {
    const d = this.arity;
    const n = this.#size;
    const keys = this.#keys;
    const ties = this.#ties;
    const seqs = this.#seqs;
    const slotAt = this.#slotAt;
    const posOfSlot = this.#posOfSlot;
    for (;;) {
      const first = pos * d + 1;
      if (first >= n) break;
      const end = first + d < n ? first + d : n;
      let best = first;
      let bk = keys[first]!;
      for (let c = first + 1; c < end; c++) {
        const ck = keys[c]!;
        if (ck < bk || (ck === bk && tieBefore(ties[c]!, seqs[c]!, ties[best]!, seqs[best]!))) {
          best = c;
          bk = ck;
        }
      }
      if (bk > key || (bk === key && !tieBefore(ties[best]!, seqs[best]!, tie, seq))) break;
      keys[pos] = bk;
      ties[pos] = ties[best]!;
      seqs[pos] = seqs[best]!;
      const moved = slotAt[best]!;
      slotAt[pos] = moved;
      posOfSlot[moved] = pos;
      pos = best;
    }
    keys[pos] = key;
    ties[pos] = tie;
    seqs[pos] = seq;
    slotAt[pos] = slot;
    posOfSlot[slot] = pos;
  }

  /** The slot of a live handle, or -1. Rejects foreign numbers, stale generations and free slots. */
  #liveSlot(handle: HeapHandle): number {
    const slot = handle % SLOT_SPACE;
    if (!(slot >= 0 && slot < this.#slotCount)) return -1;
    const gen = (handle - slot) / SLOT_SPACE;
    return this.#genOfSlot[slot] === gen && this.#posOfSlot[slot]! >= 0 ? slot : -1;
  }

  #allocSlot(): number {
    if (this.#freeCount > 0) return this.#freeSlots[--this.#freeCount]!;
    if (this.#slotCount === SLOT_SPACE) {
      throw new SmartQueueError('RESOURCE_EXHAUSTED', `DaryHeap holds at most ${SLOT_SPACE} entries`);
    }
    if (this.#slotCount === this.#slotCapacity) this.#growSlots();
    return this.#slotCount++;
  }

  #releaseSlot(slot: number): void {
    this.#values[slot] = undefined; // drop the reference so a popped task can be collected
    this.#posOfSlot[slot] = -1;
    const gen = this.#genOfSlot[slot]! + 1;
    this.#genOfSlot[slot] = gen;
    // A slot whose generation would overflow the handle encoding is retired rather than wrapped,
    // so a stale handle can never match again (it costs one slot per 2^27 reuses).
    if (gen < MAX_GENERATION) this.#freeSlots[this.#freeCount++] = slot;
  }

  #grow(): void {
    const capacity = Math.min(this.#capacity * 2, SLOT_SPACE);
    this.#keys = grown(this.#keys, new Float64Array(capacity));
    this.#ties = grown(this.#ties, new Float64Array(capacity));
    this.#seqs = grown(this.#seqs, new Float64Array(capacity));
    this.#slotAt = grown(this.#slotAt, new Int32Array(capacity));
    this.#capacity = capacity;
  }

  #growSlots(): void {
    const capacity = Math.min(this.#slotCapacity * 2, SLOT_SPACE);
    this.#posOfSlot = grown(this.#posOfSlot, new Int32Array(capacity));
    this.#genOfSlot = grown(this.#genOfSlot, new Uint32Array(capacity));
    this.#freeSlots = grown(this.#freeSlots, new Int32Array(capacity));
    this.#slotCapacity = capacity;
  }
}

/** Copies `from` into the larger `to` with one bulk `set` (a memcpy, not a per-element loop). */
function grown<A extends Float64Array | Int32Array | Uint32Array>(from: A, to: A): A {
  to.set(from);
  return to;
}
