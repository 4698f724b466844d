/**
 * The Cassandra store's run partitions: prepared statements, the per-run seq reservation (one
 * lightweight transaction per batch and run), event writes by bucket, and the once-only
 * completion. See cassandra-store.ts for why every status/attempt change goes through Paxos.
 */
import type { CheckpointEvent, CompletionRecord, ShardFence } from '../../../engine/stages.js';
import { fencedError } from '../fence.js';
import type { ResolvedCassandraCheckpointStoreOptions } from './options.js';
import { num } from './rows.js';
import { isTransient, type Client } from './schema.js';
import type { QueuedRecord } from './write-queue.js';

type Row = Record<string, unknown>;
export type Query = { query: string; params: unknown[] };

export class RunLog {
  readonly #client: Client;
  readonly #ks: string;
  /** Last known `next_seq` per run (a hint: a stale value only costs one LWT retry). */
  readonly #seqs = new Map<string, number | null>();

  constructor(
    client: Client,
    readonly options: Readonly<ResolvedCassandraCheckpointStoreOptions>,
  ) {
    this.#client = client;
    this.#ks = options.keyspace;
  }

  /** Moves the shard's epoch forward with LWTs (insert if absent, else compare-and-set). */
  async fence(fence: ShardFence): Promise<void> {
    const inserted = (
      await this.exec(`INSERT INTO ${this.#ks}.shard_fences (shard, epoch) VALUES (?, ?) IF NOT EXISTS`, [
        fence.shard,
        fence.epoch,
      ])
    )[0];
    let current = inserted?.['[applied]'] === true ? fence.epoch : (num(inserted?.epoch) ?? 0);
    while (current < fence.epoch) {
      const r = (
        await this.exec(`UPDATE ${this.#ks}.shard_fences SET epoch = ? WHERE shard = ? IF epoch = ?`, [
          fence.epoch,
          fence.shard,
          current,
        ])
      )[0];
      current = r?.['[applied]'] === true ? fence.epoch : (num(r?.epoch) ?? 0);
    }
    if (current > fence.epoch) throw fencedError(fence, current);
  }

  /**
   * The completion LWT; it also reserves the seq of its `task:attempt:succeeded` event. Retried
   * while it loses on `next_seq` only (other writers appended events meanwhile), and after a
   * timeout, once a SERIAL read has shown that it was not applied.
   */
  async complete(c: CompletionRecord, outputs: string, eventData: string): Promise<boolean> {
    const deadline = c.deadlineMissed === undefined ? '' : ', deadline_missed = ?';
    const since = Date.now();
    for (let tries = 0; ; tries++) {
      const seq = this.#seqs.get(c.runId) ?? null;
      let r: Row | undefined;
      try {
        r = (
          await this.execOnce(
            // The row keeps the seq and payload of its success event too: the event goes to
            // another partition after this LWT, and a process killed in between would lose it;
            // getEvents writes such an event back from the row (see repairSuccessEvents).
            `UPDATE ${this.#ks}.tasks SET status = 'succeeded', worker_id = ?, started_at = ?, finished_at = ?, outputs = ?, error = null${deadline}, succeeded_seq = ?, succeeded_data = ?, next_seq = ? WHERE run_id = ? AND task_id = ? IF added = true AND status != 'succeeded' AND attempt = ? AND next_seq = ?`,
            [
              c.workerId,
              c.startedAt,
              c.finishedAt,
              outputs,
              ...(deadline ? [c.deadlineMissed] : []),
              (seq ?? 0) + 1,
              eventData,
              (seq ?? 0) + 1,
              c.runId,
              c.taskId,
              c.attempt,
              seq,
            ],
          )
        )[0];
      } catch (err) {
        await this.#pauseOrThrow(err, since, tries);
        // The LWT may have been applied although it timed out: a SERIAL read (which also
        // completes a Paxos round left in flight) shows whether the row holds this completion.
        const row = (
          await this.exec(
            `SELECT added, status, attempt, worker_id, succeeded_seq, next_seq FROM ${this.#ks}.tasks WHERE run_id = ? AND task_id = ?`,
            [c.runId, c.taskId],
            true,
          )
        )[0];
        const mine =
          row?.status === 'succeeded' &&
          row.attempt === c.attempt &&
          row.worker_id === c.workerId &&
          num(row.succeeded_seq) === (seq ?? 0) + 1;
        if (!mine) {
          this.#seqs.set(c.runId, row?.next_seq === undefined ? null : (num(row.next_seq) ?? null));
          if (row?.added === true && row.status !== 'succeeded' && row.attempt === c.attempt) continue;
          return false;
        }
        r = { '[applied]': true };
      }
      if (r?.['[applied]'] === true) {
        this.#seqs.set(c.runId, (seq ?? 0) + 1);
        await this.#insertEvents([
          {
            query: this.#eventInsert,
            params: [
              c.runId,
              this.bucket((seq ?? 0) + 1),
              (seq ?? 0) + 1,
              'task:attempt:succeeded',
              c.finishedAt,
              c.taskId,
              c.attempt,
              eventData,
            ],
          },
        ]);
        return true;
      }
      const actual = r?.next_seq === undefined ? null : (num(r.next_seq) ?? null);
      this.#seqs.set(c.runId, actual);
      // Lost on the task's own state: a real loss. Lost on next_seq only: retry with the seq seen.
      if (r?.added !== true || r.status === 'succeeded' || r.attempt !== c.attempt || actual === seq)
        return false;
    }
  }

  /**
   * The success events of `runId` (from `fromSeq` on) that the event log lacks although the task
   * rows hold them (the writer died between the completion LWT and the event write): written
   * back (an idempotent upsert of the same row) and returned.
   */
  async repairSuccessEvents(
    runId: string,
    fromSeq: number,
    have: ReadonlySet<number>,
  ): Promise<CheckpointEvent[]> {
    const rows = await this.exec(
      `SELECT task_id, status, attempt, finished_at, succeeded_seq, succeeded_data FROM ${this.#ks}.tasks WHERE run_id = ?`,
      [runId],
    );
    const missing: CheckpointEvent[] = [];
    for (const row of rows) {
      const seq = num(row.succeeded_seq);
      if (row.status !== 'succeeded' || seq === undefined || seq < fromSeq || have.has(seq)) continue;
      const data = typeof row.succeeded_data === 'string' ? row.succeeded_data : null;
      await this.#insertEvents([
        {
          query: this.#eventInsert,
          params: [
            runId,
            this.bucket(seq),
            seq,
            'task:attempt:succeeded',
            num(row.finished_at) ?? 0,
            row.task_id,
            row.attempt,
            data,
          ],
        },
      ]);
      missing.push({
        runId,
        type: 'task:attempt:succeeded',
        at: num(row.finished_at) ?? 0,
        taskId: row.task_id as string,
        attempt: row.attempt as number,
        ...(data !== null && { data: JSON.parse(data) as Record<string, unknown> }),
        seq,
      });
    }
    return missing;
  }

  readonly #eventInsertText = () =>
    `INSERT INTO ${this.#ks}.events (run_id, bucket, seq, type, at, task_id, attempt, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
  get #eventInsert(): string {
    return this.#eventInsertText();
  }

  bucket(seq: number): number {
    return Math.floor(seq / this.options.eventBucketSize);
  }

  taskInsert(runId: string, taskId: string, spec: string | null): Query {
    return {
      query: `UPDATE ${this.#ks}.tasks SET added = true, status = 'pending', attempt = 0, spec = ? WHERE run_id = ? AND task_id = ?`,
      params: [spec, runId, taskId],
    };
  }

  /** The body of a batch's consecutive record() calls: per run one LWT, then the events. */
  async writeRecords(records: QueuedRecord[]): Promise<void> {
    // The seq hints are a cache: past this many runs they are dropped (and relearned by LWT).
    if (this.#seqs.size > 10_000) this.#seqs.clear();
    const byRun = new Map<string, typeof records>();
    for (const r of records) byRun.set(r.event.runId, [...(byRun.get(r.event.runId) ?? []), r]);
    await Promise.all(
      [...byRun].map(async ([runId, list]) => {
        // A batch writes all its statements with one timestamp: merge patches of a task first.
        const patches = new Map<string, Row>();
        for (const { patch } of list)
          if (patch && patch.runId === runId)
            patches.set(patch.taskId, { ...patches.get(patch.taskId), ...patch.cols });
        const other = list.filter((r) => r.patch && r.patch.runId !== runId);
        const statements = [...patches]
          .filter(([, cols]) => Object.keys(cols).length > 0)
          .map(([taskId, cols]) => ({
            query: `UPDATE ${this.#ks}.tasks SET ${Object.keys(cols)
              .map((c) => `${c} = ?`)
              .join(', ')} WHERE run_id = ? AND task_id = ?`,
            params: [...Object.values(cols), runId, taskId],
          }));
        const base = await this.paxos(runId, statements, list.length);
        await this.#insertEvents(
          list.map(({ event, data }, i) => ({
            query: this.#eventInsert,
            params: [
              runId,
              this.bucket(base + i + 1),
              base + i + 1,
              event.type,
              event.at,
              event.taskId ?? null,
              event.attempt ?? null,
              data,
            ],
          })),
        );
        // A patch for another run's task (unusual): applied through that run's partition.
        for (const r of other) {
          const cols = r.patch!.cols;
          if (Object.keys(cols).length === 0) continue;
          await this.paxos(
            r.patch!.runId,
            [
              {
                query: `UPDATE ${this.#ks}.tasks SET ${Object.keys(cols)
                  .map((c) => `${c} = ?`)
                  .join(', ')} WHERE run_id = ? AND task_id = ?`,
                params: [...Object.values(cols), r.patch!.runId, r.patch!.taskId],
              },
            ],
            0,
          );
        }
      }),
    );
  }

  /**
   * Applies `statements` (of the run's tasks partition) in one conditional batch that moves
   * `next_seq` forward by `reserve`; retried until its `IF next_seq = ?` holds. Returns the
   * `next_seq` it started from: the reserved seqs are base+1 .. base+reserve.
   */
  async paxos(runId: string, statements: Query[], reserve: number): Promise<number> {
    // Chunked to stay well under Cassandra's batch size limit; only the first reserves.
    const chunks: Query[][] = [];
    for (let i = 0; i < statements.length; i += 50) chunks.push(statements.slice(i, i + 50));
    if (chunks.length === 0) chunks.push([]);
    let base = 0;
    const since = Date.now();
    let tries = 0;
    for (const [i, chunk] of chunks.entries()) {
      for (;;) {
        const seq = this.#seqs.get(runId) ?? null;
        const next = (seq ?? 0) + (i === 0 ? reserve : 0);
        let row: Row;
        try {
          const result = await this.#client.batch(
            [
              {
                query: `UPDATE ${this.#ks}.tasks SET next_seq = ? WHERE run_id = ? IF next_seq = ?`,
                params: [next, runId, seq],
              },
              ...chunk,
            ],
            { prepare: true },
          );
          row = result.first() as Row;
        } catch (err) {
          // The batch may have been applied although it timed out. Its statements are upserts,
          // so it is simply run again from the next_seq a SERIAL read finds (which also completes
          // a Paxos round left in flight); if the first try was applied after all, its reserved
          // seqs stay unused (a gap in the run's event seqs, which readers allow).
          await this.#pauseOrThrow(err, since, tries++);
          const seen = (
            await this.exec(`SELECT next_seq FROM ${this.#ks}.tasks WHERE run_id = ? LIMIT 1`, [runId], true)
          )[0];
          this.#seqs.set(runId, seen?.next_seq === undefined ? null : (num(seen.next_seq) ?? null));
          continue;
        }
        if (row['[applied]'] === true) {
          this.#seqs.set(runId, next);
          if (i === 0) base = seq ?? 0;
          break;
        }
        this.#seqs.set(runId, num(row.next_seq) ?? null);
      }
    }
    return base;
  }

  /** Events grouped into unlogged batches per (run, bucket) partition, written concurrently. */
  async #insertEvents(inserts: Query[]): Promise<void> {
    const groups = new Map<string, Query[][]>();
    for (const q of inserts) {
      const key = `${String(q.params[0])}\u0000${String(q.params[1])}`;
      const chunks = groups.get(key) ?? [[]];
      groups.set(key, chunks);
      if (chunks[chunks.length - 1]!.length >= 25) chunks.push([]);
      chunks[chunks.length - 1]!.push(q);
    }
    await Promise.all(
      [...groups.values()]
        .flat()
        .map((chunk) =>
          chunk.length === 1
            ? this.exec(chunk[0]!.query, chunk[0]!.params)
            : this.#retrying(() => this.#client.batch(chunk, { prepare: true, logged: false })),
        ),
    );
  }

  /**
   * Runs one statement; a transient failure (timeout, no host, overload) is retried within
   * `retryBudgetMs`. Only for statements that are safe to repeat: reads, upserts, and LWTs whose
   * callers read a repeat's "not applied" correctly (see {@link execOnce} for the others).
   */
  async exec(query: string, params: unknown[], serial = false): Promise<Row[]> {
    return this.#retrying(() => this.execOnce(query, params, serial));
  }

  /**
   * An `INSERT ... IF NOT EXISTS`, retried after a transient failure. A retry that finds the row
   * already there with exactly `cols` (what this insert writes) counts as applied: the timed-out
   * try was. @returns whether this insert created the row.
   */
  async insertOnce(query: string, params: unknown[], cols: Record<string, unknown>): Promise<boolean> {
    const since = Date.now();
    for (let tries = 0; ; tries++) {
      try {
        const row = (await this.execOnce(query, params))[0];
        if (row?.['[applied]'] === true) return true;
        return tries > 0 && Object.entries(cols).every(([k, v]) => sameValue(row?.[k], v));
      } catch (err) {
        await this.#pauseOrThrow(err, since, tries);
      }
    }
  }

  /** Runs one statement once: the caller handles a transient failure (an LWT's unknown outcome). */
  async execOnce(query: string, params: unknown[], serial = false): Promise<Row[]> {
    const options: Record<string, unknown> = { prepare: true };
    // Native protocol levels: SERIAL = 8, LOCAL_SERIAL = 9.
    if (serial) options.consistency = this.options.serialConsistency === 'SERIAL' ? 8 : 9;
    const result = await this.#client.execute(query, params, options);
    return result.rows as unknown as Row[];
  }

  async #retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const since = Date.now();
    for (let tries = 0; ; tries++) {
      try {
        return await attempt();
      } catch (err) {
        await this.#pauseOrThrow(err, since, tries);
      }
    }
  }

  /** Rethrows `err` unless it is transient and the retry budget lasts; else waits a backoff. */
  async #pauseOrThrow(err: unknown, since: number, tries: number): Promise<void> {
    if (!isTransient(err) || Date.now() - since >= this.options.retryBudgetMs) throw err;
    await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** tries)));
  }

  /** Every row of a query, a page (`fetchSize`) at a time, following the driver's pageState. */
  async *pages(query: string, params: unknown[], fetchSize: number): AsyncGenerator<Row> {
    let pageState: string | undefined;
    do {
      const result = await this.#client.execute(query, params, { prepare: true, fetchSize, pageState });
      for (const row of result.rows) yield row as unknown as Row;
      pageState = result.pageState ?? undefined;
    } while (pageState);
  }
}

/** Equality of a written value and the driver's read-back (bigint columns come back as Long). */
function sameValue(read: unknown, written: unknown): boolean {
  if (read === written) return true;
  if ((read === null || read === undefined) && (written === null || written === undefined)) return true;
  if (typeof written === 'number') return num(read) === written;
  return false;
}
