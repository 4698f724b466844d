/**
 * A pool of worker_threads for CPU-bound handlers, with work stealing.
 *
 * Every thread owns a deque of task slots in shared memory (shared-state.ts). `run` puts a new
 * task in the deque of the least loaded thread (queued + busy, read from shared counters) and
 * wakes it; the thread fetches the task itself from this (main) thread by slot number, runs the
 * handler (thread-main.ts) and posts the result back. An idle thread steals a batch from the
 * most loaded deque without asking its owner, which may be deep in a CPU-bound handler.
 *
 * Containment: a handler's exception fails its attempt only. A thread that crashes, runs out of
 * heap (`maxHeapMb`), or ignores an abort (timeout, cancel) for `abortGraceMs` is terminated;
 * its running attempt fails (`threadLost`), tasks it had taken but not started go back to the
 * queue, its deque (in shared memory) stays where thieves and its replacement find it, and a new
 * thread takes its place.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SmartQueueError } from '../errors.js';
import type { FromThread, ToThread } from './messages.js';
import {
  C_BUSY,
  C_COMPLETED,
  C_QUEUED_WORK_US,
  C_STEALS_ATTEMPTED,
  C_STEALS_SUCCEEDED,
  C_STOLEN_TASKS,
  SharedState,
  SLOT_CANCELLED,
  SLOT_FREE,
  SLOT_QUEUED,
  SLOT_TAKEN,
} from './shared-state.js';
import type {
  PoolMode,
  PoolStats,
  RunOptions,
  ThreadPool,
  ThreadPoolOptions,
  ThreadTask,
  ThreadTaskResult,
} from './types.js';

export type * from './types.js';

/** Loads the thread's entry: compiled JavaScript, or the TypeScript source through tsx. */
const BOOT = `
const { workerData } = require('node:worker_threads');
const load = workerData.entry.endsWith('.ts')
  ? import(workerData.tsxApi).then((m) => m.tsImport(workerData.entry, workerData.entry))
  : import(workerData.entry);
load.catch((err) => setImmediate(() => { throw err; }));
`;

const NOT_JSON = new Error('not plain JSON');

/**
 * The task as JSON when JSON carries it exactly (plain objects, arrays, strings, finite numbers,
 * booleans, null); undefined otherwise (a Date, a Map, a SharedArrayBuffer...), and it is then
 * handed over by structured clone.
 */
function plainJson(task: ThreadTask): string | undefined {
  try {
    return JSON.stringify(task, (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) throw NOT_JSON;
      if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') throw NOT_JSON;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const proto = Object.getPrototypeOf(v) as unknown;
        if (proto !== Object.prototype && proto !== null) throw NOT_JSON;
      }
      return v;
    });
  } catch {
    return undefined;
  }
}

interface Pending {
  task: ThreadTask;
  options: RunOptions;
  resolve: (r: ThreadTaskResult) => void;
  /** Thread running it (from `start`). */
  thread?: number;
  startedAt?: number;
  abortRequested?: 'timeout' | 'cancelled';
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

interface Resolved {
  payloadArenaMb: number;
  threads: number;
  mode: PoolMode;
  maxHeapMb: number | undefined;
  abortGraceMs: number;
  dequeCapacity: number;
  seed: number;
}

function resolveOptions(raw: ThreadPoolOptions): Resolved {
  const threads = raw.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1 || threads > 256)
    throw new SmartQueueError('INVALID_OPTIONS', `threads must be an integer from 1 to 256, got ${threads}`);
  const mode = raw.mode ?? 'stealing';
  if (!['stealing', 'shared-queue', 'static'].includes(mode))
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `mode must be stealing, shared-queue or static, got ${mode}`,
    );
  const dequeCapacity = raw.dequeCapacity ?? 1024;
  if (!Number.isInteger(dequeCapacity) || dequeCapacity < 1)
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `dequeCapacity must be a positive integer, got ${dequeCapacity}`,
    );
  const abortGraceMs = raw.abortGraceMs ?? 1000;
  if (!(abortGraceMs >= 0)) throw new SmartQueueError('INVALID_OPTIONS', 'abortGraceMs must be >= 0');
  if (raw.maxHeapMb !== undefined && !(raw.maxHeapMb >= 8))
    throw new SmartQueueError('INVALID_OPTIONS', 'maxHeapMb must be at least 8');
  const payloadArenaMb = raw.payloadArenaMb ?? 16;
  if (!(payloadArenaMb > 0)) throw new SmartQueueError('INVALID_OPTIONS', 'payloadArenaMb must be > 0');
  return {
    payloadArenaMb,
    threads,
    mode,
    maxHeapMb: raw.maxHeapMb,
    abortGraceMs,
    dequeCapacity,
    seed: raw.seed ?? Math.floor(Math.random() * 2 ** 31),
  };
}

class Pool implements ThreadPool {
  readonly #o: Resolved;
  readonly #shared: SharedState;
  readonly #workers: (Worker | undefined)[] = [];
  readonly #ready: Promise<void>[] = [];
  readonly #lastError = new Map<number, Error>();
  readonly #started = new Set<number>();
  readonly #pending = new Map<number, Pending>();
  readonly #free: number[] = [];
  readonly #epoch = Date.now();
  readonly #entry: string;
  readonly #tsxApi: string;
  #replaced = 0;
  #rr = 0;
  #closed = false;

  constructor(o: Resolved) {
    this.#o = o;
    const deques = o.mode === 'shared-queue' ? 1 : o.threads;
    this.#shared = SharedState.create({
      threads: o.threads,
      deques,
      capacity: o.dequeCapacity * (o.mode === 'shared-queue' ? o.threads : 1),
      slots: o.threads * o.dequeCapacity,
      slotBytes: Math.max(
        256,
        Math.floor((o.payloadArenaMb * 2 ** 20) / (o.threads * o.dequeCapacity) / 8) * 8,
      ),
    });
    for (let s = o.threads * o.dequeCapacity - 1; s >= 0; s--) this.#free.push(s);
    const here = import.meta.url;
    this.#entry = new URL(`./thread-main${here.endsWith('.ts') ? '.ts' : '.js'}`, here).href;
    this.#tsxApi = import.meta.resolve('tsx/esm/api');
    for (let i = 0; i < o.threads; i++) this.#spawn(i);
  }

  /** Resolves once every thread has started (tasks may be queued before). */
  whenReady(): Promise<void> {
    return Promise.all(this.#ready).then(() => undefined);
  }

  run(task: ThreadTask, options: RunOptions = {}): Promise<ThreadTaskResult> {
    if (this.#closed || options.signal?.aborted) {
      const at = Date.now();
      return Promise.resolve({
        ok: false,
        error: {
          message: this.#closed ? 'the thread pool is closed' : 'cancelled',
          retryable: this.#closed,
          cancelled: true,
        },
        thread: -1,
        startedAt: at,
        finishedAt: at,
      });
    }
    const slot = this.#free.pop();
    if (slot === undefined) {
      return Promise.reject(
        new SmartQueueError(
          'RESOURCE_EXHAUSTED',
          `the thread pool holds ${this.#pending.size} tasks, its limit (threads × dequeCapacity)`,
        ),
      );
    }
    return new Promise((resolve) => {
      const p: Pending = { task, options, resolve };
      this.#pending.set(slot, p);
      if (this.#pending.size === 1) this.#refThreads();
      if (options.signal) {
        p.onAbort = () => this.#abort(slot, 'cancelled');
        options.signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.#shared.setSlotOwner(slot, 0);
      const est = task.estimateMs;
      this.#shared.setSlotEstimate(
        slot,
        est !== undefined && est > 0 ? Math.min(2 ** 31 - 1, Math.round(est * 1000)) : 0,
      );
      const json = plainJson(task);
      if (json === undefined) this.#shared.clearPayload(slot);
      else this.#shared.writePayload(slot, json);
      this.#shared.setSlotState(slot, SLOT_QUEUED);
      this.#enqueue(slot);
    });
  }

  stats(): PoolStats {
    const s = this.#shared;
    const sum = (c: number) => {
      let n = 0;
      for (let t = 0; t < this.#o.threads; t++) n += s.counter(t, c);
      return n;
    };
    return {
      threads: this.#o.threads,
      busy: sum(C_BUSY),
      queued: s.queued(),
      completed: sum(C_COMPLETED),
      stealsAttempted: sum(C_STEALS_ATTEMPTED),
      stealsSucceeded: sum(C_STEALS_SUCCEEDED),
      stolenTasks: sum(C_STOLEN_TASKS),
      replaced: this.#replaced,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#shared.stop();
    for (const slot of [...this.#pending.keys()])
      this.#settle(slot, { message: 'the thread pool is closing', retryable: true, cancelled: true });
    await Promise.all(this.#workers.map((w) => w?.terminate()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- placement -----------------------------------------------------------------------------

  /** Puts a queued slot in a deque and wakes a thread for it. */
  #enqueue(slot: number): void {
    const s = this.#shared;
    const n = this.#o.threads;
    let target: number;
    if (this.#o.mode === 'shared-queue') target = 0;
    else if (this.#o.mode === 'static') target = this.#rr++ % n;
    else {
      // Least expected work (estimates of waiting tasks + what remains of the running one);
      // ties go round-robin so a burst spreads evenly.
      const at = Date.now() - this.#epoch;
      const start = this.#rr++ % n;
      target = start;
      let best = Infinity;
      for (let k = 0; k < n; k++) {
        const t = (start + k) % n;
        const load = s.backlog(t, at);
        if (load < best) {
          best = load;
          target = t;
        }
      }
    }
    const estimate = s.slotEstimate(slot);
    if (s.push(target, slot)) s.addCounter(target, C_QUEUED_WORK_US, estimate);
    else {
      // Full: any deque with room (stealing evens it out later).
      let placed = false;
      for (let d = 0; d < s.layout.deques && !placed; d++) {
        placed = s.push(d, slot);
        if (placed) s.addCounter(d, C_QUEUED_WORK_US, estimate);
      }
      if (!placed) {
        this.#settle(slot, { message: 'the thread pool is full', retryable: true });
        this.#release(slot);
        return;
      }
    }
    if (this.#o.mode === 'shared-queue') {
      // Wake an idle thread, if any (each one takes the next slot when it is free).
      let woke = false;
      for (let t = 0; t < n && !woke; t++) {
        if (s.counter(t, C_BUSY) === 0) {
          s.signal(t);
          woke = true;
        }
      }
    } else s.signal(target);
  }

  // ---- threads -------------------------------------------------------------------------------

  #spawn(index: number): void {
    const worker = new Worker(BOOT, {
      eval: true,
      workerData: {
        entry: this.#entry,
        tsxApi: this.#tsxApi,
        buffer: this.#shared.words.buffer,
        arena: this.#shared.arena,
        layout: this.#shared.layout,
        index,
        mode: this.#o.mode,
        seed: (this.#o.seed + index * 0x9e3779b9) >>> 0,
        epoch: this.#epoch,
      },
      ...(this.#o.maxHeapMb !== undefined && {
        resourceLimits: { maxOldGenerationSizeMb: this.#o.maxHeapMb },
      }),
    });
    this.#workers[index] = worker;
    this.#ready[index] = new Promise((resolve) => {
      const onReady = (m: FromThread) => {
        if (m.type !== 'ready') return;
        worker.off('message', onReady);
        this.#started.add(index);
        this.#refThreads();
        resolve();
      };
      worker.on('message', onReady);
      worker.once('exit', () => resolve());
    });
    worker.on('message', (m: FromThread) => this.#onMessage(index, m));
    worker.on('error', (err) => this.#lastError.set(index, err));
    worker.once('exit', (code) => this.#onExit(index, worker, code));
    this.#refThreads();
  }

  /** Threads keep the process alive while starting, and while tasks are waiting or running. */
  #refThreads(): void {
    const busy = this.#pending.size > 0;
    this.#workers.forEach((w, i) => {
      if (busy || !this.#started.has(i)) w?.ref();
      else w?.unref();
    });
  }

  #onMessage(thread: number, m: FromThread): void {
    switch (m.type) {
      case 'fetch': {
        const p = this.#pending.get(m.slot);
        const ok = p && this.#shared.slotState(m.slot) === SLOT_TAKEN;
        this.#post(thread, { type: 'payload', slot: m.slot, task: ok ? p.task : undefined });
        return;
      }
      case 'start': {
        const p = this.#pending.get(m.slot);
        if (!p) return;
        p.thread = thread;
        p.startedAt = m.at;
        if (p.abortRequested) this.#abort(m.slot, p.abortRequested);
        else if (p.task.timeoutMs !== undefined) {
          // The thread enforces the timeout itself; this catches a handler that never yields.
          p.timer = setTimeout(
            () => this.#kill(thread, m.slot, 'timeout'),
            p.task.timeoutMs + this.#o.abortGraceMs,
          );
          p.timer.unref();
        }
        return;
      }
      case 'done': {
        const p = this.#pending.get(m.slot);
        if (p) {
          this.#finish(m.slot, p);
          p.resolve({ ...m.result, thread } as ThreadTaskResult);
        }
        this.#release(m.slot);
        return;
      }
      case 'discarded':
        this.#release(m.slot);
        return;
      case 'progress':
        this.#pending.get(m.slot)?.options.onProgress?.(m.fraction, m.message);
        return;
      case 'log':
        this.#pending.get(m.slot)?.options.onLog?.(m.level, m.message, m.fields);
        return;
      default:
        return;
    }
  }

  #post(thread: number, m: ToThread): void {
    try {
      this.#workers[thread]?.postMessage(m);
    } catch {
      // The thread is gone; its exit handler takes care of its slots.
    }
  }

  /** Asks a task to stop: dropped if still queued, else aborted, and its thread killed if it does not stop. */
  #abort(slot: number, why: 'timeout' | 'cancelled'): void {
    const p = this.#pending.get(slot);
    if (!p) return;
    if (this.#shared.transition(slot, SLOT_QUEUED, SLOT_CANCELLED)) {
      // Still in a deque: answered now; the thread that pops it frees the slot.
      this.#settle(slot, { message: 'cancelled', retryable: false, cancelled: true }, false);
      return;
    }
    p.abortRequested = why;
    if (p.thread === undefined) return; // taken, not started yet: aborted on `start`
    this.#post(p.thread, { type: 'abort', slot });
    clearTimeout(p.timer);
    const thread = p.thread;
    p.timer = setTimeout(() => this.#kill(thread, slot, why), this.#o.abortGraceMs);
    p.timer.unref();
  }

  /** Terminates a thread whose task ignores its abort; the exit handler fails it and replaces the thread. */
  #kill(thread: number, slot: number, why: 'timeout' | 'cancelled'): void {
    const p = this.#pending.get(slot);
    if (!p || p.thread !== thread) return;
    const ms = why === 'timeout' ? `${p.task.timeoutMs} ms` : 'a cancel';
    this.#lastError.set(
      thread,
      new Error(
        `the handler ignored its abort after ${ms} for ${this.#o.abortGraceMs} ms; its thread was terminated`,
      ),
    );
    p.abortRequested = why;
    void this.#workers[thread]?.terminate();
  }

  #onExit(index: number, worker: Worker, code: number): void {
    if (this.#workers[index] !== worker) return;
    this.#workers[index] = undefined;
    this.#started.delete(index);
    if (this.#closed) return;
    const err = this.#lastError.get(index);
    this.#lastError.delete(index);
    const reason = err?.message ?? `the thread exited with code ${code}`;
    const s = this.#shared;
    s.setCounter(index, C_BUSY, 0);
    for (const [slot, p] of [...this.#pending]) {
      const taken = s.slotState(slot) === SLOT_TAKEN && s.slotOwner(slot) === index + 1;
      if (!taken) continue;
      if (p.startedAt === undefined) {
        // Taken but not started: it goes back to the queue for another thread.
        s.setSlotOwner(slot, 0);
        s.setSlotState(slot, SLOT_QUEUED);
        this.#enqueue(slot);
        continue;
      }
      const error =
        p.abortRequested === 'timeout'
          ? { message: `timed out after ${p.task.timeoutMs} ms (${reason})`, retryable: true, timedOut: true }
          : p.abortRequested === 'cancelled'
            ? { message: `cancelled (${reason})`, retryable: false, cancelled: true }
            : { message: `the handler's thread died: ${reason}`, retryable: true };
      this.#settle(slot, { ...error, threadLost: true }, true, index);
    }
    this.#replaced++;
    this.#spawn(index);
  }

  // ---- endings -------------------------------------------------------------------------------

  #finish(slot: number, p: Pending): void {
    clearTimeout(p.timer);
    if (p.onAbort) p.options.signal?.removeEventListener('abort', p.onAbort);
    this.#pending.delete(slot);
    if (this.#pending.size === 0) this.#refThreads();
  }

  /** Answers a task with an error; `free` returns its slot at once (else its thread frees it). */
  #settle(
    slot: number,
    error: Extract<ThreadTaskResult, { ok: false }>['error'],
    free = true,
    thread = -1,
  ): void {
    const p = this.#pending.get(slot);
    if (!p) return;
    this.#finish(slot, p);
    const at = Date.now();
    p.resolve({ ok: false, error, thread, startedAt: p.startedAt ?? at, finishedAt: at });
    if (free) this.#release(slot);
  }

  #release(slot: number): void {
    if (this.#closed) return;
    this.#shared.setSlotState(slot, SLOT_FREE);
    this.#free.push(slot);
  }
}

/** Starts a thread pool (threads start in the background; tasks may be queued at once). */
export function createThreadPool(
  options: ThreadPoolOptions = {},
): ThreadPool & { whenReady(): Promise<void> } {
  return new Pool(resolveOptions(options));
}
