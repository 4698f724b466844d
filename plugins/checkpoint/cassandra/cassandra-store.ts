/**
 * The Cassandra CheckpointStore (cassandra-driver 4, loaded lazily; schema from
 * `migrateCassandraSchema`, never created here).
 *
 * Writes join one queue in call order; at most one flush is in flight and everything queued
 * meanwhile forms the next batch (capped by `maxBatch`), so batches grow with load and an idle
 * store answers in one round trip. Consecutive `record()` calls of a batch are written together:
 * per run ONE lightweight transaction (a conditional batch on the run's `tasks` partition) that
 * reserves a block of event seqs (`next_seq`, a static column: `IF next_seq = ?`, retried on
 * conflict) and applies the task patches, then the events as unlogged batches per
 * `(run_id, bucket)` partition, run concurrently. Other writes run one at a time, in order.
 *
 * Why every status/attempt write is a lightweight transaction: Cassandra orders writes to a cell
 * by timestamp, and a Paxos write's timestamp (the ballot) is not comparable with a plain write's
 * client timestamp. Mixing them could let an older `record()` patch shadow a completion. So
 * createRun's task rows, record() patches, resetTasks and completeTask all write the `tasks`
 * partition through Paxos (the first three piggyback on the seq-reservation batch), and the
 * completion is `UPDATE ... IF added = true AND status != 'succeeded' AND attempt = ? AND
 * next_seq = ?`, which also reserves the seq of its `task:attempt:succeeded` event.
 *
 * Fencing: `fenceShard` moves `shard_fences.epoch` forward with LWTs. A fenced completion reads
 * the epoch at SERIAL consistency, then runs its LWT: the fence row and the task live in
 * different partitions, so a `fenceShard` landing between the two is not seen (a window of one
 * round trip; the new owner must not trust a task's state until its own fence call returned and
 * a round trip has passed).
 *
 * listRuns reads `runs_by_day` partitions (UTC day of createdAt, newest first; the days come
 * from `run_days`) with the driver's paging, filters status/workflowName within the pages, and
 * resumes from the (createdAt, runId) cursor of cursor.ts. The `runs` row itself is created by
 * an LWT (`IF NOT EXISTS`, for ALREADY_EXISTS) and later changed by plain writes; nothing races
 * on those cells the way completions race on tasks, so the mix is harmless there.
 *
 * Not atomic across tables: a createRun that fails after its `runs` LWT leaves a run without
 * tasks (a retry then reports ALREADY_EXISTS).
 *
 * The succeeded event is written right after the winning LWT; a crash in between loses that
 * event (its seq stays unused) but not the task's success.
 */
import type { BatchReport } from '../batch-listeners.js';
import { SmartQueueError } from '../../../engine/errors.js';
import type {
  AddedTask,
  CheckpointEvent,
  CheckpointStore,
  CompletionRecord,
  ListRunsQuery,
  RunPage,
  RunRecord,
  ShardFence,
  TaskRecord,
} from '../../../engine/stages.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { checkFence, fencedError } from '../fence.js';
import {
  resolveCassandraCheckpointStoreOptions,
  type CassandraCheckpointStoreOptions,
  type ResolvedCassandraCheckpointStoreOptions,
} from './options.js';
import {
  assertIds,
  dayOf,
  eventFromRow,
  isAfterCursor,
  num,
  resolveListLimit,
  runColumns,
  runFromRow,
  taskFromRow,
  taskPatchColumns,
  toJson,
} from './rows.js';
import {
  SCHEMA_VERSION,
  connect,
  loadDriver,
  newerSchemaError,
  readSchemaVersion,
  toStoreError,
  type Client,
} from './schema.js';
import { RunLog } from './run-log.js';
import { WriteQueue, type Stats } from './write-queue.js';

/** Counters of the group commit, for tests, benchmarks and metrics. */
export type CassandraCheckpointStoreStats = Stats;

/** A {@link CheckpointStore} on Cassandra; `await using` closes it. */
export interface CassandraCheckpointStore extends CheckpointStore, AsyncDisposable {
  /** Live counters (not a snapshot). */
  readonly stats: Readonly<CassandraCheckpointStoreStats>;
  readonly options: Readonly<ResolvedCassandraCheckpointStoreOptions>;
  /**
   * Calls `listener` after each group-commit batch with its duration in seconds, its number of
   * writes and whether all of them succeeded; returns a remover. For metrics.
   */
  onBatch(listener: (batch: BatchReport) => void): () => void;
}

/**
 * Connects to Cassandra and checks the schema.
 * @throws SmartQueueError `INVALID_OPTIONS`; `UNAVAILABLE` when no node answers;
 *   `FAILED_PRECONDITION` when the schema is missing, older or newer than this code (run
 *   `smartqueue store migrate --store cassandra://...`).
 */
export async function createCassandraCheckpointStore(
  options: CassandraCheckpointStoreOptions,
): Promise<CassandraCheckpointStore> {
  const resolved = resolveCassandraCheckpointStoreOptions(options);
  const driver = await loadDriver();
  const client = await connect(driver, resolved);
  try {
    const version = await readSchemaVersion(client, resolved.keyspace);
    if (version > SCHEMA_VERSION) throw newerSchemaError(version);
    if (version < SCHEMA_VERSION) {
      const url = `cassandra://${resolved.contactPoints.join(',')}/${resolved.keyspace}?dc=${resolved.localDataCenter}`;
      throw new SmartQueueError(
        'FAILED_PRECONDITION',
        `checkpoint keyspace ${resolved.keyspace} has schema v${version}, this SmartQueue needs v${SCHEMA_VERSION}: run \`smartqueue store migrate --store ${url}\``,
        { details: { keyspace: resolved.keyspace, version, required: SCHEMA_VERSION } },
      );
    }
    return new CassandraStore(client, resolved);
  } catch (err) {
    await client.shutdown().catch(() => undefined);
    throw toStoreError(err, 'schema check');
  }
}

type Row = Record<string, unknown>;

class CassandraStore implements CassandraCheckpointStore {
  readonly name = 'cassandra';
  readonly #client: Client;
  readonly #ks: string;
  readonly #queue: WriteQueue;
  readonly #log: RunLog;
  #closing: Promise<void> | undefined;

  constructor(
    client: Client,
    readonly options: Readonly<ResolvedCassandraCheckpointStoreOptions>,
  ) {
    this.#client = client;
    this.#ks = options.keyspace;
    this.#log = new RunLog(client, options);
    this.#queue = new WriteQueue(options, (records) => this.#log.writeRecords(records));
  }

  get stats(): Readonly<Stats> {
    return this.#queue.stats;
  }

  onBatch(listener: (batch: BatchReport) => void): () => void {
    return this.#queue.batches.add(listener);
  }

  async createRun(run: RunRecord, taskIds: string[]): Promise<void> {
    this.#assertOpen();
    assertIds([run?.runId, ...taskIds]);
    const cols = runColumns({ ...run, workflow: run.workflow ?? null, params: run.params ?? {} });
    const ids = [...taskIds];
    return this.#queue.task(async () => {
      const names = Object.keys(cols);
      const inserted = await this.#log.insertOnce(
        `INSERT INTO ${this.#ks}.runs (run_id, ${names.join(', ')}) VALUES (?${', ?'.repeat(names.length)}) IF NOT EXISTS`,
        [run.runId, ...Object.values(cols)],
        cols,
      );
      if (!inserted) {
        throw new SmartQueueError('ALREADY_EXISTS', `run ${run.runId} already exists`, {
          details: { runId: run.runId },
        });
      }
      await Promise.all([
        this.#log.exec(`INSERT INTO ${this.#ks}.run_days (id, day) VALUES (0, ?)`, [dayOf(run.createdAt)]),
        this.#log.exec(
          `INSERT INTO ${this.#ks}.runs_by_day (day, created_at, run_id, workflow_name, status) VALUES (?, ?, ?, ?, ?)`,
          [dayOf(run.createdAt), run.createdAt, run.runId, run.workflowName, run.status],
        ),
        this.#log.paxos(
          run.runId,
          ids.map((taskId) => this.#log.taskInsert(run.runId, taskId, null)),
          0,
        ),
      ]);
    });
  }

  async addTasks(runId: string, tasks: readonly (string | AddedTask)[]): Promise<void> {
    this.#assertOpen();
    const rows = tasks.map((t) =>
      typeof t === 'string'
        ? { taskId: t, spec: null }
        : { taskId: t?.taskId, spec: t?.spec === undefined ? null : toJson(t.spec, 'spec') },
    );
    assertIds(rows.map((r) => r.taskId));
    return this.#queue.task(async () => {
      await this.#requireRun(runId);
      // One LWT per task: `IF added = null` leaves tasks the run already has alone.
      await Promise.all(
        rows.map((r) =>
          this.#log.exec(
            `UPDATE ${this.#ks}.tasks SET added = true, status = 'pending', attempt = 0, spec = ? WHERE run_id = ? AND task_id = ? IF added = null`,
            [r.spec, runId, r.taskId],
          ),
        ),
      );
    });
  }

  record(event: CheckpointEvent, task?: Partial<TaskRecord> & { runId: string; taskId: string }): void {
    this.#assertOpen();
    const data = event.data === undefined ? null : toJson(event.data, 'event.data');
    const patch = task ? { runId: task.runId, taskId: task.taskId, cols: taskPatchColumns(task) } : undefined;
    this.#queue.record({ event: { ...event, seq: undefined }, data, patch });
  }

  async fenceShard(fence: ShardFence): Promise<void> {
    this.#assertOpen();
    checkFence(fence);
    return this.#queue.task(() => this.#log.fence(fence));
  }

  async completeTask(c: CompletionRecord): Promise<boolean> {
    this.#assertOpen();
    if (c.fence) checkFence(c.fence);
    const outputs = toJson(c.outputs ?? {}, 'outputs');
    const data: Record<string, unknown> = {
      workerId: c.workerId,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      outputs: JSON.parse(outputs) as unknown,
    };
    if (c.deadlineMissed !== undefined) data.deadlineMissed = c.deadlineMissed;
    const eventData = toJson(data, 'outputs');
    return this.#queue.task(async () => {
      if (c.fence) {
        const row = (
          await this.#log.exec(
            `SELECT epoch FROM ${this.#ks}.shard_fences WHERE shard = ?`,
            [c.fence.shard],
            true,
          )
        )[0];
        const current = num(row?.epoch) ?? 0;
        if (c.fence.epoch < current) throw fencedError(c.fence, current);
      }
      return this.#log.complete(c, outputs, eventData);
    });
  }

  async updateRun(runId: string, patch: Partial<Omit<RunRecord, 'runId'>>): Promise<void> {
    this.#assertOpen();
    const cols = runColumns(patch);
    return this.#queue.task(async () => {
      const before = await this.#requireRun(runId);
      const names = Object.keys(cols);
      if (names.length === 0) return;
      await this.#log.exec(
        `UPDATE ${this.#ks}.runs SET ${names.map((n) => `${n} = ?`).join(', ')} WHERE run_id = ?`,
        [...Object.values(cols), runId],
      );
      const after = {
        ...before,
        ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
      } as RunRecord;
      if (after.createdAt !== before.createdAt) {
        await this.#log.exec(
          `DELETE FROM ${this.#ks}.runs_by_day WHERE day = ? AND created_at = ? AND run_id = ?`,
          [dayOf(before.createdAt), before.createdAt, runId],
        );
        await this.#log.exec(`INSERT INTO ${this.#ks}.run_days (id, day) VALUES (0, ?)`, [
          dayOf(after.createdAt),
        ]);
      }
      await this.#log.exec(
        `INSERT INTO ${this.#ks}.runs_by_day (day, created_at, run_id, workflow_name, status) VALUES (?, ?, ?, ?, ?)`,
        [dayOf(after.createdAt), after.createdAt, runId, after.workflowName, after.status],
      );
    });
  }

  async resetTasks(runId: string, taskIds: string[]): Promise<void> {
    this.#assertOpen();
    const ids = [...taskIds];
    return this.#queue.task(async () => {
      await this.#requireRun(runId);
      const reset = `UPDATE ${this.#ks}.tasks SET status = 'pending', outputs = null, error = null, finished_at = null, started_at = null, ready_at = null, deadline_missed = null, succeeded_seq = null, succeeded_data = null WHERE run_id = ? AND task_id = ?`;
      await this.#log.paxos(
        runId,
        ids.map((taskId) => ({ query: reset, params: [runId, taskId] })),
        0,
      );
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#read(async () => {
      const row = (await this.#log.exec(`SELECT * FROM ${this.#ks}.runs WHERE run_id = ?`, [runId]))[0];
      return row && runFromRow(row);
    });
  }

  async listRuns(query: ListRunsQuery = {}): Promise<RunPage> {
    this.#assertOpen();
    const limit = resolveListLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    return this.#read(async () => {
      const days = after
        ? await this.#log.exec(`SELECT day FROM ${this.#ks}.run_days WHERE id = 0 AND day <= ?`, [
            dayOf(after.createdAt),
          ])
        : await this.#log.exec(`SELECT day FROM ${this.#ks}.run_days WHERE id = 0`, []);
      const matches: string[] = [];
      for (const { day } of days) {
        const q = after
          ? {
              query: `SELECT * FROM ${this.#ks}.runs_by_day WHERE day = ? AND created_at <= ?`,
              params: [day, after.createdAt],
            }
          : { query: `SELECT * FROM ${this.#ks}.runs_by_day WHERE day = ?`, params: [day] };
        for await (const row of this.#log.pages(q.query, q.params, Math.max(100, limit * 4))) {
          const createdAt = num(row.created_at)!;
          const runId = row.run_id as string;
          if (after && !isAfterCursor(createdAt, runId, after)) continue;
          if (query.status !== undefined && row.status !== query.status) continue;
          if (query.workflowName !== undefined && row.workflow_name !== query.workflowName) continue;
          matches.push(runId);
          if (matches.length > limit) break;
        }
        if (matches.length > limit) break;
      }
      const runs = (
        await Promise.all(
          matches
            .slice(0, limit)
            .map((id) => this.#log.exec(`SELECT * FROM ${this.#ks}.runs WHERE run_id = ?`, [id])),
        )
      )
        .map((rows) => rows[0])
        .filter((row): row is Row => row !== undefined)
        .map(runFromRow);
      const last = runs[runs.length - 1];
      return matches.length > limit && last
        ? { runs, nextCursor: encodeCursor(last.createdAt, last.runId) }
        : { runs };
    });
  }

  async getTasks(runId: string): Promise<TaskRecord[]> {
    return this.#read(async () => {
      const tasks: TaskRecord[] = [];
      for await (const row of this.#log.pages(
        `SELECT * FROM ${this.#ks}.tasks WHERE run_id = ?`,
        [runId],
        1000,
      )) {
        if (row.added === true) tasks.push(taskFromRow(row));
      }
      return tasks;
    });
  }

  async getEvents(runId: string, fromSeq?: number): Promise<CheckpointEvent[]> {
    return this.#read(async () => {
      const from = Math.max(fromSeq ?? 0, 0);
      const head = (
        await this.#log.exec(`SELECT next_seq FROM ${this.#ks}.tasks WHERE run_id = ? LIMIT 1`, [runId])
      )[0];
      const last = num(head?.next_seq) ?? 0;
      const events: CheckpointEvent[] = [];
      for (let bucket = this.#log.bucket(from); bucket <= this.#log.bucket(last); bucket++) {
        const q = `SELECT * FROM ${this.#ks}.events WHERE run_id = ? AND bucket = ? AND seq >= ?`;
        for await (const row of this.#log.pages(q, [runId, bucket, from], 1000))
          events.push(eventFromRow(row));
      }
      if (last === 0) return events;
      const repaired = await this.#log.repairSuccessEvents(runId, from, new Set(events.map((e) => e.seq!)));
      if (repaired.length === 0) return events;
      return [...events, ...repaired].sort((a, b) => a.seq! - b.seq!);
    });
  }

  async flush(): Promise<void> {
    this.#assertOpen();
    await this.#queue.flush();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#queue.flush();
      } finally {
        await this.#client.shutdown();
      }
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #requireRun(runId: string): Promise<RunRecord> {
    const row = (await this.#log.exec(`SELECT * FROM ${this.#ks}.runs WHERE run_id = ?`, [runId]))[0];
    if (!row) throw new SmartQueueError('NOT_FOUND', `run ${runId} not found`, { details: { runId } });
    return runFromRow(row);
  }
  /** Read-your-writes: a read waits for the writes queued before it (but not for their errors). */
  async #read<T>(fn: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    await this.#queue.settled();
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, 'read');
    }
  }

  #assertOpen(): void {
    if (this.#closing) throw new SmartQueueError('UNAVAILABLE', 'checkpoint store is closed');
  }
}
