/**
 * The adaptive group commit of the Redis checkpoint store. Writes join one queue in call order;
 * at most one batch is in flight. A batch leaves on the next tick (or after `flushIntervalMs`,
 * or at once when `maxBatch` writes wait); whatever is written while it is in flight becomes the
 * next batch as soon as it returns. So an idle store answers in one round trip and batches grow
 * with load, without a timer to tune.
 */
import { BatchListeners, type BatchReport } from '../batch-listeners.js';
import type { SmartQueueError } from '../../../engine/errors.js';

/** One queued write: its script arguments, and how to settle its caller from its reply. */
export interface QueuedWrite {
  args: string[];
  /** Absent for fire-and-forget writes (`record`). */
  settle?: (reply: string) => void;
  fail?: (error: SmartQueueError) => void;
}

/** Counters of the group commit, for tests, benchmarks and metrics. */
export interface RedisCheckpointStoreStats {
  /** Batches applied (one Lua call each). */
  transactions: number;
  /** Queued writes applied (each record, completeTask, createRun, ... counts one). */
  writes: number;
  /** Batches that failed (connection lost, ...); their waiting calls were rejected. */
  failedTransactions: number;
}

interface SettledWaiter {
  /** Settled once this many writes (counted since the start) have been applied or have failed. */
  target: number;
  resolve: () => void;
  /** The first failure of a batch inside the waiter's range. */
  error?: SmartQueueError;
}

export class GroupCommit {
  readonly stats: RedisCheckpointStoreStats = { transactions: 0, writes: 0, failedTransactions: 0 };
  readonly #batches = new BatchListeners();
  #queue: QueuedWrite[] = [];
  #inFlight = false;
  #cancelScheduled: (() => void) | undefined;
  #enqueued = 0;
  #settled = 0;
  #waiters: SettledWaiter[] = [];
  /** A failed batch held writes nobody awaited; the next flush() reports it. */
  #unreported: SmartQueueError | undefined;

  /**
   * @param apply runs one batch (the writes' arguments, concatenated) and resolves to one reply
   *   per write; a rejection fails the whole batch with `toError(err)`.
   */
  constructor(
    private readonly options: { flushIntervalMs: number; maxBatch: number },
    private readonly apply: (args: string[]) => Promise<string[]>,
    private readonly toError: (err: unknown, what: string) => SmartQueueError,
  ) {}

  enqueue(write: QueuedWrite): void {
    this.#queue.push(write);
    this.#enqueued++;
    if (this.#inFlight) return;
    if (this.#queue.length >= this.options.maxBatch) this.#send();
    else this.#schedule();
  }

  /**
   * Sends everything queued so far; rejects with the failure of one of those batches, or of an
   * earlier background batch not reported yet (once).
   */
  async flush(): Promise<void> {
    const earlier = this.#unreported;
    this.#unreported = undefined;
    const waiter = await this.settled();
    const error = waiter.error ?? earlier;
    if (error) {
      if (this.#unreported === error) this.#unreported = undefined;
      throw error;
    }
  }

  /** Resolves once every write queued so far has been applied or has failed (never rejects). */
  settled(): Promise<{ error?: SmartQueueError }> {
    return new Promise((resolve) => {
      const waiter: SettledWaiter = { target: this.#enqueued, resolve: () => resolve(waiter) };
      if (this.#settled >= waiter.target) return waiter.resolve();
      this.#waiters.push(waiter);
      this.#send();
    });
  }

  #schedule(): void {
    if (this.#cancelScheduled) return;
    if (this.options.flushIntervalMs === 0) {
      const handle = setImmediate(() => this.#send());
      this.#cancelScheduled = () => clearImmediate(handle);
    } else {
      const handle = setTimeout(() => this.#send(), this.options.flushIntervalMs);
      this.#cancelScheduled = () => clearTimeout(handle);
    }
  }

  /** Calls `listener` after each batch (duration, writes, committed or not); returns a remover. */
  onBatch(listener: (batch: BatchReport) => void): () => void {
    return this.#batches.add(listener);
  }

  /** Starts the next batch unless one is in flight; the batch settles its own writes. */
  #send(): void {
    this.#cancelScheduled?.();
    this.#cancelScheduled = undefined;
    if (this.#inFlight || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, this.options.maxBatch);
    this.#inFlight = true;
    void this.#run(batch).finally(() => {
      this.#inFlight = false;
      this.#settled += batch.length;
      this.#waiters = this.#waiters.filter((w) => {
        if (w.target > this.#settled) return true;
        w.resolve();
        return false;
      });
      // What was written meanwhile goes at once: that is how batches grow with load.
      if (this.#queue.length > 0) this.#send();
    });
  }

  /** Applies one batch and settles its writes. Never rejects. */
  async #run(batch: QueuedWrite[]): Promise<void> {
    const args: string[] = [];
    for (const write of batch) for (const arg of write.args) args.push(arg);
    let replies: string[];
    const t0 = this.#batches.start();
    try {
      replies = await this.apply(args);
      this.#batches.done(t0, batch.length, true);
    } catch (err) {
      this.#batches.done(t0, batch.length, false);
      this.stats.failedTransactions++;
      const error = this.toError(err, `batch of ${batch.length} checkpoint writes`);
      for (const write of batch) write.fail?.(error);
      if (batch.some((w) => !w.fail)) this.#unreported = error;
      // Every waiter still waiting covers this batch (it is the oldest unsettled one).
      for (const waiter of this.#waiters) waiter.error ??= error;
      return;
    }
    this.stats.transactions++;
    this.stats.writes += batch.length;
    batch.forEach((write, i) => write.settle?.(replies[i] ?? ''));
  }
}
