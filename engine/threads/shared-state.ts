/**
 * The pool's shared memory: one deque of task slots per thread (or one shared deque), the state
 * of every slot, and per-thread counters, all in one SharedArrayBuffer read and written with
 * Atomics by the main thread and every pool thread. A steal decision reads the queue lengths
 * here, with no message round trip.
 *
 * Each deque is a ring of slot numbers guarded by its own tiny spin lock (critical sections
 * are a few loads and stores; the lock is never held across anything that can block). New
 * tasks are pushed at the bottom by the main thread. The owner pops from the top, the oldest
 * first (this is a task queue: a LIFO owner starves old tasks under a steady stream), and
 * thieves take a batch from the bottom, the other end, so owner and thieves rarely meet.
 *
 * A task itself travels in the payload arena (a second SharedArrayBuffer, one fixed-size region
 * per slot) as JSON, so a thread never waits for the main thread to start a task; a task too big
 * for its region (or not plain JSON) is fetched from the main thread instead.
 */

/** Atomics.waitAsync (Node 16+; not in this TypeScript lib yet). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      i: number,
      v: number,
      ms: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** Slot states. */
export const SLOT_FREE = 0;
export const SLOT_QUEUED = 1;
export const SLOT_TAKEN = 2;
export const SLOT_CANCELLED = 3;

/** Per-thread counters (Int32 words from the thread's counter base). */
export const C_BUSY = 0;
/** Futex word: bumped (and notified) when work arrives or the pool stops. */
export const C_SIGNAL = 1;
export const C_COMPLETED = 2;
export const C_STEALS_ATTEMPTED = 3;
export const C_STEALS_SUCCEEDED = 4;
export const C_STOLEN_TASKS = 5;
/** Completions per second (EWMA, ×1000), written by the thread: thieves size their window with it. */
export const C_RATE_MILLI = 6;
/** When the thread last finished a task (ms since the pool started). */
export const C_LAST_DONE = 7;
/** Estimated run time of the tasks waiting in the thread's deque (µs). */
export const C_QUEUED_WORK_US = 8;
/** Estimated run time of the task the thread runs (µs), and when it started (ms since the pool started). */
export const C_RUNNING_EST_US = 9;
export const C_RUNNING_SINCE = 10;
const COUNTERS = 12;

/** Deque header words. */
const D_LOCK = 0;
const D_TOP = 1;
const D_BOTTOM = 2;
const HEADER = 4;

/** Global words. */
const G_STOPPING = 0;
const GLOBALS = 4;

export interface SharedLayout {
  threads: number;
  deques: number;
  capacity: number;
  slots: number;
  /** Bytes of each slot's payload region. */
  slotBytes: number;
}

/** A view of the pool's shared memory (the same buffer in every thread). */
export class SharedState {
  readonly words: Int32Array;
  readonly layout: SharedLayout;
  private readonly dequeBase: number;
  private readonly slotBase: number;
  private readonly ownerBase: number;
  private readonly counterBase: number;
  private readonly lengthBase: number;
  private readonly estimateBase: number;
  readonly arena: SharedArrayBuffer;

  constructor(buffer: SharedArrayBuffer, layout: SharedLayout, arena: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.layout = layout;
    this.arena = arena;
    this.dequeBase = GLOBALS;
    this.slotBase = this.dequeBase + layout.deques * (HEADER + layout.capacity);
    this.ownerBase = this.slotBase + layout.slots;
    this.counterBase = this.ownerBase + layout.slots;
    this.lengthBase = this.counterBase + layout.threads * COUNTERS;
    this.estimateBase = this.lengthBase + layout.slots;
  }

  /** Bytes needed for a layout. */
  static bytes(layout: SharedLayout): number {
    const words =
      GLOBALS + layout.deques * (HEADER + layout.capacity) + 4 * layout.slots + layout.threads * COUNTERS;
    return words * Int32Array.BYTES_PER_ELEMENT;
  }

  static create(layout: SharedLayout): SharedState {
    return new SharedState(
      new SharedArrayBuffer(SharedState.bytes(layout)),
      layout,
      new SharedArrayBuffer(layout.slots * layout.slotBytes),
    );
  }

  // ---- payloads ------------------------------------------------------------------------------

  /** Stores a slot's task as JSON in its region; false (fetch it instead) when it does not fit. */
  writePayload(slot: number, json: string): boolean {
    const region = Buffer.from(this.arena, slot * this.layout.slotBytes, this.layout.slotBytes);
    const n = Buffer.byteLength(json);
    const fits = n <= region.length;
    if (fits) region.write(json, 0, 'utf8');
    Atomics.store(this.words, this.lengthBase + slot, fits ? n : -1);
    return fits;
  }

  /** The slot's task is fetched from the main thread (too big, or not plain JSON). */
  clearPayload(slot: number): void {
    Atomics.store(this.words, this.lengthBase + slot, -1);
  }

  /** A slot's task JSON, or undefined when it has to be fetched from the main thread. */
  readPayload(slot: number): string | undefined {
    const n = Atomics.load(this.words, this.lengthBase + slot);
    if (n < 0) return undefined;
    return Buffer.from(this.arena, slot * this.layout.slotBytes, n).toString('utf8');
  }

  // ---- locking -------------------------------------------------------------------------------

  private lock(d: number): number {
    const at = this.dequeBase + d * (HEADER + this.layout.capacity);
    while (Atomics.compareExchange(this.words, at + D_LOCK, 0, 1) !== 0) {
      // Held for a handful of instructions by another thread: spin.
    }
    return at;
  }

  private unlock(at: number): void {
    Atomics.store(this.words, at + D_LOCK, 0);
  }

  // ---- deques --------------------------------------------------------------------------------

  /** Tasks waiting in deque `d` (a racy read, good for decisions). */
  length(d: number): number {
    const at = this.dequeBase + d * (HEADER + this.layout.capacity);
    return Math.max(0, Atomics.load(this.words, at + D_BOTTOM) - Atomics.load(this.words, at + D_TOP));
  }

  /** Tasks waiting in every deque. */
  queued(): number {
    let n = 0;
    for (let d = 0; d < this.layout.deques; d++) n += this.length(d);
    return n;
  }

  /** Pushes a slot at the bottom; false when the deque is full. */
  push(d: number, slot: number): boolean {
    const at = this.lock(d);
    try {
      const top = this.words[at + D_TOP]!;
      const bottom = this.words[at + D_BOTTOM]!;
      if (bottom - top >= this.layout.capacity) return false;
      this.words[at + HEADER + (bottom % this.layout.capacity)] = slot;
      this.words[at + D_BOTTOM] = bottom + 1;
      return true;
    } finally {
      this.unlock(at);
    }
  }

  /** The owner's pop: the oldest slot, or -1. */
  popTop(d: number): number {
    const at = this.lock(d);
    try {
      const top = this.words[at + D_TOP]!;
      const bottom = this.words[at + D_BOTTOM]!;
      if (bottom <= top) return -1;
      const slot = this.words[at + HEADER + (top % this.layout.capacity)]!;
      this.rewind(at, top + 1, bottom);
      return slot;
    } finally {
      this.unlock(at);
    }
  }

  /** A thief's take: up to `max` of the newest slots (possibly none), oldest of them first. */
  stealBottom(d: number, max: number): number[] {
    const at = this.lock(d);
    try {
      const top = this.words[at + D_TOP]!;
      const bottom = this.words[at + D_BOTTOM]!;
      const n = Math.min(max, bottom - top);
      const out: number[] = [];
      for (let i = bottom - n; i < bottom; i++)
        out.push(this.words[at + HEADER + (i % this.layout.capacity)]!);
      if (n > 0) this.rewind(at, top, bottom - n);
      return out;
    } finally {
      this.unlock(at);
    }
  }

  /** Stores new ends; an empty deque goes back to 0/0 so the counters stay small. */
  private rewind(at: number, top: number, bottom: number): void {
    this.words[at + D_TOP] = top === bottom ? 0 : top;
    this.words[at + D_BOTTOM] = top === bottom ? 0 : bottom;
  }

  // ---- slots ---------------------------------------------------------------------------------

  slotState(slot: number): number {
    return Atomics.load(this.words, this.slotBase + slot);
  }

  setSlotState(slot: number, state: number): void {
    Atomics.store(this.words, this.slotBase + slot, state);
  }

  /** Moves a slot from one state to another; false when it was in another state. */
  transition(slot: number, from: number, to: number): boolean {
    return Atomics.compareExchange(this.words, this.slotBase + slot, from, to) === from;
  }

  /** The thread (index + 1) that took a slot; 0 when none. */
  slotOwner(slot: number): number {
    return Atomics.load(this.words, this.ownerBase + slot);
  }

  setSlotOwner(slot: number, thread: number): void {
    Atomics.store(this.words, this.ownerBase + slot, thread);
  }

  /** A slot's estimated run time (µs; 0 when unknown). */
  slotEstimate(slot: number): number {
    return Atomics.load(this.words, this.estimateBase + slot);
  }

  setSlotEstimate(slot: number, us: number): void {
    Atomics.store(this.words, this.estimateBase + slot, us);
  }

  /**
   * A thread's expected backlog (µs): the estimates of its waiting tasks plus what remains of
   * the running one's, with its task counts as tie-breakers (they decide when nothing is
   * estimated).
   */
  backlog(thread: number, nowMs: number): number {
    const busy = this.counter(thread, C_BUSY);
    const left = busy
      ? Math.max(
          0,
          this.counter(thread, C_RUNNING_EST_US) - (nowMs - this.counter(thread, C_RUNNING_SINCE)) * 1000,
        )
      : 0;
    return this.counter(thread, C_QUEUED_WORK_US) + left + this.length(thread) + busy;
  }

  // ---- counters ------------------------------------------------------------------------------

  counter(thread: number, which: number): number {
    return Atomics.load(this.words, this.counterBase + thread * COUNTERS + which);
  }

  setCounter(thread: number, which: number, value: number): void {
    Atomics.store(this.words, this.counterBase + thread * COUNTERS + which, value);
  }

  addCounter(thread: number, which: number, delta: number): void {
    Atomics.add(this.words, this.counterBase + thread * COUNTERS + which, delta);
  }

  /** Wakes a thread waiting on its signal word. */
  signal(thread: number): void {
    const i = this.counterBase + thread * COUNTERS + C_SIGNAL;
    Atomics.add(this.words, i, 1);
    Atomics.notify(this.words, i);
  }

  /** Resolves when the thread's signal word changes from `seen`, or after `ms`. */
  async waitSignal(thread: number, seen: number, ms: number): Promise<void> {
    const r = waitAsync(this.words, this.counterBase + thread * COUNTERS + C_SIGNAL, seen, ms);
    if (r.async) await r.value;
  }

  signalValue(thread: number): number {
    return this.counter(thread, C_SIGNAL);
  }

  get stopping(): boolean {
    return Atomics.load(this.words, G_STOPPING) === 1;
  }

  stop(): void {
    Atomics.store(this.words, G_STOPPING, 1);
    for (let t = 0; t < this.layout.threads; t++) this.signal(t);
  }
}
