/**
 * The group-commit queue of the Cassandra store. Writes run in call order; at most one batch is
 * in flight, and whatever is queued meanwhile becomes the next batch (up to `maxBatch`), so the
 * batch size follows the load. Consecutive `record()` calls of a batch are handed to the store's
 * writer together; every other write runs alone, in its place in the order.
 */
import type { CheckpointEvent } from '../../../engine/stages.js';
import type { SmartQueueError } from '../../../engine/errors.js';
import { BatchListeners } from '../batch-listeners.js';
import { toStoreError } from './schema.js';

/** Counters of the group commit. */
export interface Stats {
  /** Batches written (each a group of consecutive writes taken from the queue). */
  transactions: number;
  /** Queued writes done (each record, completeTask, createRun, ... counts one). */
  writes: number;
  /** Batches in which a background (record) write failed; the next flush() reports it. */
  failedTransactions: number;
}

/** One record() call, serialized when queued so a bad payload fails its caller, not the batch. */
export interface QueuedRecord {
  event: CheckpointEvent;
  data: string | null;
  patch: { runId: string; taskId: string; cols: Record<string, unknown> } | undefined;
}

type Item =
  | { kind: 'record'; record: QueuedRecord }
  | { kind: 'task'; run: () => Promise<unknown>; resolve(v: unknown): void; reject(e: unknown): void }
  | { kind: 'barrier'; resolve(): void };

export class WriteQueue {
  readonly stats: Stats = { transactions: 0, writes: 0, failedTransactions: 0 };
  /** Told about each batch (for metrics). */
  readonly batches = new BatchListeners();
  #items: Item[] = [];
  #draining = false;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #unreported: SmartQueueError | undefined;

  constructor(
    private readonly options: { flushIntervalMs: number; maxBatch: number },
    private readonly writeRecords: (records: QueuedRecord[]) => Promise<void>,
  ) {}

  record(record: QueuedRecord): void {
    this.#push({ kind: 'record', record });
  }

  task<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#push({ kind: 'task', run, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Resolves when everything queued so far is done (successfully or not). */
  settled(): Promise<void> {
    if (this.#items.length === 0 && !this.#draining) return Promise.resolve();
    return new Promise<void>((resolve) => this.#push({ kind: 'barrier', resolve }, true));
  }

  /** Resolves when everything queued so far is durable; rejects once for a failed background batch. */
  async flush(): Promise<void> {
    await this.settled();
    const error = this.#unreported;
    this.#unreported = undefined;
    if (error) throw error;
  }

  #push(item: Item, now = false): void {
    this.#items.push(item);
    if (this.#draining || this.#timer) {
      if (now && this.#timer && !this.#draining) this.#startNow();
      return;
    }
    if (now || this.#items.length >= this.options.maxBatch) this.#startNow();
    else if (this.options.flushIntervalMs > 0)
      this.#timer = setTimeout(() => this.#start(), this.options.flushIntervalMs);
    else this.#timer = setImmediate(() => this.#start());
  }

  #startNow(): void {
    if (this.#timer) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
    }
    this.#start();
  }

  #start(): void {
    this.#timer = undefined;
    if (this.#draining) return;
    this.#draining = true;
    void this.#drain().finally(() => {
      this.#draining = false;
      // Writes queued while the last batch settled its callers: they form the next batch.
      if (this.#items.length > 0 && !this.#timer) this.#start();
    });
  }

  async #drain(): Promise<void> {
    while (this.#items.length > 0) {
      const batch = this.#items.splice(0, this.options.maxBatch);
      const t0 = this.batches.start();
      let failed = false;
      let taskFailed = false;
      for (let i = 0; i < batch.length;) {
        const item = batch[i]!;
        if (item.kind === 'record') {
          const records: QueuedRecord[] = [];
          while (batch[i]?.kind === 'record') records.push((batch[i++] as { record: QueuedRecord }).record);
          try {
            await this.writeRecords(records);
            this.stats.writes += records.length;
          } catch (err) {
            failed = true;
            this.#unreported ??= toStoreError(err, `write of ${records.length} checkpoint records`);
          }
        } else if (item.kind === 'task') {
          i++;
          try {
            item.resolve(await item.run());
            this.stats.writes++;
          } catch (err) {
            taskFailed = true;
            item.reject(toStoreError(err, 'checkpoint write'));
          }
        } else {
          i++;
          item.resolve();
        }
      }
      this.stats.transactions++;
      if (failed) this.stats.failedTransactions++;
      this.batches.done(t0, batch.filter((item) => item.kind !== 'barrier').length, !failed && !taskFailed);
    }
  }
}
