/**
 * The per-shard ready queue: an array-backed d-ary min-heap ordered by `(key, tie, seq)`.
 *
 * Layout is struct-of-arrays so the sift loops compare numbers in contiguous typed arrays
 * instead of chasing one object per entry:
 * - per heap position: `keys` (Float64Array) and `slotAt` (Int32Array), the only arrays a sift
 *   moves entries through;
 * - per slot (a stable home for one entry while it is queued): its tie and seq (read only when
 *   two keys are equal), `posOfSlot`, `genOfSlot` and the value itself. Values never move
 *   during a sift; only a key and a slot index do, and the slot's position is written back.
 *
 * Removing the first entry is bottom-up (Floyd), and with arity 4 the smallest child is picked
 * without data-dependent branches; see `#removeTop`.
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
  /** log2(arity) when the arity is a power of two (parent by shift), else -1 (by division). */
  readonly #shift: number;

  #size = 0;
  #capacity: number;
  /** Keys by position; positions from `size` on hold +Infinity (see {@link padded}). */
  #keys: Float64Array;
  #slotAt: Int32Array;

  #slotCapacity: number;
  /** Slots ever handed out; handles name slots below this. */
  #slotCount = 0;
  /** Slots below this were handed out since the heap was last empty; see `#allocSlot`. */
  #nextSlot = 0;
  #posOfSlot: Int32Array;
  #genOfSlot: Uint32Array;
  #tieOfSlot: Float64Array;
  #seqOfSlot: Float64Array;
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
    this.#shift = (arity & (arity - 1)) === 0 ? Math.log2(arity) : -1;
    this.#capacity = capacity;
    this.#keys = padded(capacity, arity);
    this.#slotAt = new Int32Array(capacity);
    this.#slotCapacity = capacity;
    this.#posOfSlot = new Int32Array(capacity).fill(-1);
    this.#genOfSlot = new Uint32Array(capacity);
    this.#tieOfSlot = new Float64Array(capacity);
    this.#seqOfSlot = new Float64Array(capacity);
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
    this.#tieOfSlot[slot] = tie;
    this.#seqOfSlot[slot] = s;
    this.#siftUp(this.#size++, key, slot);
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
    return this.#size === 0 ? undefined : this.#tieOfSlot[this.#slotAt[0]!];
  }

  /** The sequence number of the first value, or undefined when empty. */
  peekSeq(): number | undefined {
    return this.#size === 0 ? undefined : this.#seqOfSlot[this.#slotAt[0]!];
  }

  /** Removes and returns the first value, or undefined when empty. Its handle becomes invalid. */
  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const slot = this.#slotAt[0]!;
    const value = this.#values[slot];
    this.#removeTop();
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
    const keys = this.#keys;
    const key = keys[last]!;
    keys[last] = Infinity;
    // The last entry fills the hole; it may belong above or below it.
    if (pos !== last) this.#place(pos, key, this.#slotAt[last]!);
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
    if (tie !== undefined) this.#tieOfSlot[slot] = tie;
    this.#place(this.#posOfSlot[slot]!, key, slot);
    return true;
  }

  /** Removes every entry and invalidates every handle. Keeps the allocated capacity. */
  clear(): void {
    const n = this.#size;
    this.#size = 0;
    for (let i = 0; i < n; i++) this.#releaseSlot(this.#slotAt[i]!);
    this.#keys.fill(Infinity, 0, n);
  }

  /** The queued values in heap (not priority) order. Do not modify the heap while iterating. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#values[this.#slotAt[i]!] as T;
  }

  /** Whether the entry in slot `a` goes before the one in slot `b` when their keys are equal. */
  #tieBefore(a: number, b: number): boolean {
    const ties = this.#tieOfSlot;
    const ta = ties[a]!;
    const tb = ties[b]!;
    return ta < tb || (ta === tb && this.#seqOfSlot[a]! < this.#seqOfSlot[b]!);
  }

  /** Puts an entry at `pos` and restores heap order around it, in whichever direction it needs. */
  #place(pos: number, key: number, slot: number): void {
    if (pos > 0) {
      const p = this.#shift >= 0 ? (pos - 1) >> this.#shift : ((pos - 1) / this.arity) | 0;
      const pk = this.#keys[p]!;
      if (key < pk || (key === pk && this.#tieBefore(slot, this.#slotAt[p]!))) {
        this.#siftUp(pos, key, slot);
        return;
      }
    }
    this.#siftDown(pos, key, slot);
  }

  /**
   * Moves the hole at `pos` up while the entry belongs above its parent, then writes the entry
   * once (a hole instead of swaps halves the writes).
   */
  #siftUp(pos: number, key: number, slot: number): void {
    const keys = this.#keys;
    const slotAt = this.#slotAt;
    const posOfSlot = this.#posOfSlot;
    const shift = this.#shift;
    const d = this.arity;
    while (pos > 0) {
      const p = shift >= 0 ? (pos - 1) >> shift : ((pos - 1) / d) | 0;
      const pk = keys[p]!;
      if (key > pk || (key === pk && !this.#tieBefore(slot, slotAt[p]!))) break;
      keys[pos] = pk;
      const moved = slotAt[p]!;
      slotAt[pos] = moved;
      posOfSlot[moved] = pos;
      pos = p;
    }
    keys[pos] = key;
    slotAt[pos] = slot;
    posOfSlot[slot] = pos;
  }

  /** Moves the hole at `pos` down past smaller children, then writes the entry once. */
  #siftDown(pos: number, key: number, slot: number): void {
    const n = this.#size;
    const keys = this.#keys;
    const slotAt = this.#slotAt;
    const posOfSlot = this.#posOfSlot;
    const shift = this.#shift;
    const d = this.arity;
    for (;;) {
      const first = (shift >= 0 ? pos << shift : pos * d) + 1;
      if (first >= n) break;
      const best = this.#smallestChild(first, n);
      const bk = keys[best]!;
      if (bk > key || (bk === key && !this.#tieBefore(slotAt[best]!, slot))) break;
      keys[pos] = bk;
      const moved = slotAt[best]!;
      slotAt[pos] = moved;
      posOfSlot[moved] = pos;
      pos = best;
    }
    keys[pos] = key;
    slotAt[pos] = slot;
    posOfSlot[slot] = pos;
  }

  /**
   * Removes the entry at position 0 bottom-up (Floyd): the hole moves down to a leaf, taking
   * the smallest child at each level without comparing it with the entry that will refill the
   * hole; then the last entry goes into the hole and sifts up, rarely more than a level since
   * it is one of the largest. That saves a comparison per level over the usual sift-down.
   */
  #removeTop(): void {
    const n = --this.#size;
    const keys = this.#keys;
    const slotAt = this.#slotAt;
    const posOfSlot = this.#posOfSlot;
    const key = keys[n]!;
    keys[n] = Infinity;
    if (n === 0) return;
    const shift = this.#shift;
    const d = this.arity;
    let pos = 0;
    for (;;) {
      const first = (shift >= 0 ? pos << shift : pos * d) + 1;
      if (first >= n) break;
      const best = this.#smallestChild(first, n);
      keys[pos] = keys[best]!;
      const moved = slotAt[best]!;
      slotAt[pos] = moved;
      posOfSlot[moved] = pos;
      pos = best;
    }
    this.#siftUp(pos, key, slotAt[n]!);
  }

  /** The position of the first, by (key, tie, seq), of the children from `first` (below `n`). */
  #smallestChild(first: number, n: number): number {
    const keys = this.#keys;
    if (this.arity === 4) {
      // The smallest of four keys picked without data-dependent branches (random keys make
      // such branches mispredict about half the time), as a tournament of two pairs. The
      // +Infinity padding past the end keeps the four reads in bounds for the last family.
      const k0 = keys[first]!;
      const k1 = keys[first + 1]!;
      const k2 = keys[first + 2]!;
      const k3 = keys[first + 3]!;
      const a = first + +(k1 < k0);
      const b = first + 2 + +(k3 < k2);
      const ka = keys[a]!;
      const kb = keys[b]!;
      // A child whose key equals the smallest is the winner's partner or the other pair's
      // winner; then the tie-breakers decide, in the scan below. A short last family also
      // lands there (its padding compares equal).
      if ((+(k0 === k1) | +(k2 === k3) | +(ka === kb)) === 0) return a + +(kb < ka) * (b - a);
    }
    return this.#scanChildren(first, first + this.arity < n ? first + this.arity : n);
  }

  /** The first, by (key, tie, seq), of the positions in [from, to). Kept apart: the rare path. */
  #scanChildren(from: number, to: number): number {
    const keys = this.#keys;
    const slotAt = this.#slotAt;
    let best = from;
    let bk = keys[from]!;
    for (let c = from + 1; c < to; c++) {
      const ck = keys[c]!;
      if (ck < bk || (ck === bk && this.#tieBefore(slotAt[c]!, slotAt[best]!))) {
        best = c;
        bk = ck;
      }
    }
    return best;
  }

  /** The slot of a live handle, or -1. Rejects foreign numbers, stale generations and free slots. */
  #liveSlot(handle: HeapHandle): number {
    const slot = handle % SLOT_SPACE;
    if (!(slot >= 0 && slot < this.#slotCount)) return -1;
    const gen = (handle - slot) / SLOT_SPACE;
    return this.#genOfSlot[slot] === gen && this.#posOfSlot[slot]! >= 0 ? slot : -1;
  }

  /**
   * A free slot: from the free list, or else the next slot in order. Whenever the heap is empty
   * every slot is free, and handing them out in order again keeps the slots of the next entries
   * dense (neighbouring cache lines) instead of scattered in the order they were popped.
   */
  #allocSlot(): number {
    if (this.#size === 0) {
      this.#freeCount = 0;
      this.#nextSlot = 0;
    } else if (this.#freeCount > 0) {
      return this.#freeSlots[--this.#freeCount]!;
    }
    for (;;) {
      const slot = this.#nextSlot;
      if (slot === this.#slotCount) {
        if (slot === SLOT_SPACE) {
          throw new SmartQueueError('RESOURCE_EXHAUSTED', `DaryHeap holds at most ${SLOT_SPACE} entries`);
        }
        if (slot === this.#slotCapacity) this.#growSlots();
        this.#slotCount++;
      }
      this.#nextSlot++;
      // A slot whose generation would overflow the handle encoding is retired rather than
      // wrapped, so a stale handle can never match again (it costs one slot per 2^27 reuses).
      if (this.#genOfSlot[slot]! < MAX_GENERATION) return slot;
    }
  }

  #releaseSlot(slot: number): void {
    this.#values[slot] = undefined; // drop the reference so a popped task can be collected
    this.#posOfSlot[slot] = -1;
    const gen = this.#genOfSlot[slot]! + 1;
    this.#genOfSlot[slot] = gen;
    if (gen < MAX_GENERATION) this.#freeSlots[this.#freeCount++] = slot;
  }

  #grow(): void {
    const capacity = Math.min(this.#capacity * 2, SLOT_SPACE);
    const keys = new Float64Array(capacity + this.arity);
    keys.set(this.#keys);
    keys.fill(Infinity, this.#keys.length);
    this.#keys = keys;
    this.#slotAt = grown(this.#slotAt, new Int32Array(capacity));
    this.#capacity = capacity;
  }

  #growSlots(): void {
    const capacity = Math.min(this.#slotCapacity * 2, SLOT_SPACE);
    this.#posOfSlot = grown(this.#posOfSlot, new Int32Array(capacity).fill(-1));
    this.#genOfSlot = grown(this.#genOfSlot, new Uint32Array(capacity));
    this.#tieOfSlot = grown(this.#tieOfSlot, new Float64Array(capacity));
    this.#seqOfSlot = grown(this.#seqOfSlot, new Float64Array(capacity));
    this.#freeSlots = grown(this.#freeSlots, new Int32Array(capacity));
    this.#slotCapacity = capacity;
  }
}

/**
 * A key array of `capacity` positions plus one family of children past the end, all +Infinity,
 * so reading the four children of the last parent stays in bounds.
 */
function padded(capacity: number, arity: number): Float64Array {
  return new Float64Array(capacity + arity).fill(Infinity);
}

/** Copies `from` into the larger `to` with one bulk `set` (a memcpy, not a per-element loop). */
function grown<A extends Float64Array | Int32Array | Uint32Array>(from: A, to: A): A {
  to.set(from);
  return to;
}
