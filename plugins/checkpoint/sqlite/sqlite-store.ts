/**
 * The SQLite CheckpointStore, the embedded default: one file, WAL mode, group commit.
 *
 * Every write (record, completeTask, createRun, ...) joins one queue, in call order. The queue is
 * committed in ONE transaction on the next `setImmediate` tick (or after `flushIntervalMs`, or as
 * soon as `maxBatch` writes wait), so a burst of events costs one fsync. The promise of a queued
 * write settles only after its transaction commits, so a `true` from `completeTask` is durable.
 * Reads commit the queue first, so they see every earlier write of this store.
 */
import { BatchListeners, type BatchReport } from '../batch-listeners.js';
import type BetterSqlite3 from 'better-sqlite3';
import { SmartQueueError, errorMessage } from '../../../engine/errors.js';
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
import {
  completionEvent,
  completionToRow,
  eventFromRow,
  listRunsSql,
  migrate,
  prepareStatements,
  resolveListLimit,
  runFromRow,
  runPatchToRow,
  runToRow,
  taskFromRow,
  taskPatchToRow,
  toJson,
  type CompletionRow,
  type RunPatchRow,
  type RunRow,
  type Statements,
  type TaskPatchRow,
} from './schema.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { checkFence, fencedError } from '../fence.js';

/** Options of {@link createSqliteCheckpointStore}. */
export interface SqliteCheckpointStoreOptions {
  /** Database file; created with its tables when missing. `:memory:` works but is not durable. */
  path: string;
  /**
   * How long queued writes wait for company before they are committed, in ms. 0 batches
   * everything written during the current tick of the event loop.
   * @default 0
   */
  flushIntervalMs?: number;
  /**
   * Number of queued writes that triggers a commit at once, whatever `flushIntervalMs` says.
   * @default 1000
   */
  maxBatch?: number;
  /**
   * SQLite `synchronous` level. `full` syncs every commit, so a resolved write survives power
   * loss; `normal` (still safe against process crashes in WAL mode) is faster on slow disks.
   * Group commit already spreads the sync over a whole batch, hence the safe default.
   * @default 'full'
   */
  synchronous?: 'normal' | 'full';
  /**
   * How long a transaction waits for another connection's write lock before failing with
   * `UNAVAILABLE`, in ms (SQLite's `busy_timeout`).
   * @default 5000
   */
  busyTimeoutMs?: number;
}

/** {@link SqliteCheckpointStoreOptions} with defaults applied. */
export type ResolvedSqliteCheckpointStoreOptions = Required<SqliteCheckpointStoreOptions>;

/** Counters of the group commit, for tests, benchmarks and metrics. */
export interface SqliteCheckpointStoreStats {
  /** Transactions committed. */
  transactions: number;
  /** Queued writes committed (each record, completeTask, createRun, ... counts one). */
  writes: number;
  /** Transactions that failed and were rolled back; their waiting calls were rejected. */
  failedTransactions: number;
}

/** A {@link CheckpointStore} on a SQLite file; `await using` closes it. */
export interface SqliteCheckpointStore extends CheckpointStore, AsyncDisposable {
  /** Live counters (not a snapshot). */
  readonly stats: Readonly<SqliteCheckpointStoreStats>;
  readonly options: Readonly<ResolvedSqliteCheckpointStoreOptions>;
  /**
   * Calls `listener` after each batch write (transaction) with its duration in seconds, its
   * number of writes and whether it committed; returns a remover. For metrics.
   */
  onBatch(listener: (batch: BatchReport) => void): () => void;
}

/** Validates options and applies defaults; throws one `INVALID_OPTIONS` error naming every problem. */
export function resolveSqliteCheckpointStoreOptions(
  raw: SqliteCheckpointStoreOptions,
): ResolvedSqliteCheckpointStoreOptions {
  const problems: string[] = [];
  const path: unknown = raw?.path;
  if (typeof path !== 'string' || path === '') problems.push('path must be a non-empty string');
  const flushIntervalMs = raw?.flushIntervalMs ?? 0;
  if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 0) {
    problems.push(`flushIntervalMs must be a finite number >= 0, got ${String(flushIntervalMs)}`);
  }
  const maxBatch = raw?.maxBatch ?? 1000;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    problems.push(`maxBatch must be an integer >= 1, got ${String(maxBatch)}`);
  }
  const synchronous = raw?.synchronous ?? 'full';
  if (synchronous !== 'normal' && synchronous !== 'full') {
    problems.push(`synchronous must be 'normal' or 'full', got ${JSON.stringify(synchronous)}`);
  }
  const busyTimeoutMs = raw?.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    problems.push(`busyTimeoutMs must be an integer >= 0, got ${String(busyTimeoutMs)}`);
  }
  if (problems.length > 0) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      `invalid SQLite checkpoint store options: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  }
  return { path: path as string, flushIntervalMs, maxBatch, synchronous, busyTimeoutMs };
}

/**
 * Opens (creating if needed) a SQLite checkpoint store. better-sqlite3 is loaded here, on first
 * use, so an engine that never checkpoints to SQLite never loads the native module.
 * @throws SmartQueueError `INVALID_OPTIONS`; `UNAVAILABLE` when the driver or the file cannot be
 *   opened; `FAILED_PRECONDITION` when the file was written by a newer schema.
 */
export async function createSqliteCheckpointStore(
  options: SqliteCheckpointStoreOptions,
): Promise<SqliteCheckpointStore> {
  const resolved = resolveSqliteCheckpointStoreOptions(options);
  let Database: typeof BetterSqlite3;
  try {
    Database = (await import('better-sqlite3')).default;
  } catch (err) {
    throw new SmartQueueError(
      'UNAVAILABLE',
      `the SQLite checkpoint store needs better-sqlite3 v12 (npm install better-sqlite3@12): ${errorMessage(err)}`,
      { cause: err },
    );
  }
  let db: BetterSqlite3.Database | undefined;
  try {
    // `timeout` is better-sqlite3's name for busy_timeout; set first, it covers the pragmas too.
    db = new Database(resolved.path, { timeout: resolved.busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${resolved.synchronous.toUpperCase()}`);
    migrate(db);
    return new SqliteStore(db, resolved);
  } catch (err) {
    db?.close();
    if (err instanceof SmartQueueError) throw err;
    throw new SmartQueueError(
      'UNAVAILABLE',
      `cannot open checkpoint database ${resolved.path}: ${errorMessage(err)}`,
      {
        cause: err,
        details: { path: resolved.path },
      },
    );
  }
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** One queued write. JSON is serialized when queued, so a bad payload fails its caller, not the batch. */
type Write =
  | { kind: 'createRun'; row: RunRow; taskIds: string[]; waiter: Waiter<void> }
  | {
      kind: 'addTasks';
      runId: string;
      tasks: { taskId: string; spec: string | null }[];
      waiter: Waiter<void>;
    }
  | {
      kind: 'record';
      event: Omit<CheckpointEvent, 'seq'>;
      data: string | null;
      patch: TaskPatchRow | undefined;
    }
  | { kind: 'fence'; fence: ShardFence; waiter: Waiter<void> }
  | {
      kind: 'complete';
      row: CompletionRow;
      fence: ShardFence | undefined;
      succeeded: ReturnType<typeof completionEvent>;
      waiter: Waiter<boolean>;
    }
  | { kind: 'updateRun'; row: RunPatchRow; waiter: Waiter<void> }
  | { kind: 'resetTasks'; runId: string; taskIds: string[]; waiter: Waiter<void> };

/** The outcome of one write inside a committed transaction. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: SmartQueueError };

const DONE: Outcome = { ok: true, value: undefined };

/** The per-run seq counters are a cache: past this many runs it is dropped and refilled. */
const MAX_CACHED_RUNS = 10_000;

class SqliteStore implements SqliteCheckpointStore {
  readonly name = 'sqlite';
  readonly stats: SqliteCheckpointStoreStats = { transactions: 0, writes: 0, failedTransactions: 0 };
  readonly #batches = new BatchListeners();
  readonly #db: BetterSqlite3.Database;
  readonly #st: Statements;
  readonly #listStatements = new Map<string, BetterSqlite3.Statement<[Record<string, unknown>], RunRow>>();
  readonly #commit: (writes: Write[]) => Outcome[];
  #queue: Write[] = [];
  #cancelScheduled: (() => void) | undefined;
  /** Last seq used per run; trusted only while no other connection has written (see #apply). */
  readonly #seqs = new Map<string, number>();
  #dataVersion: number | undefined;
  /** A failed background batch held writes nobody awaited; the next flush() reports it. */
  #unreported: SmartQueueError | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    db: BetterSqlite3.Database,
    readonly options: Readonly<ResolvedSqliteCheckpointStoreOptions>,
  ) {
    this.#db = db;
    this.#st = prepareStatements(db);
    // IMMEDIATE takes the write lock up front: a deferred transaction that reads before it
    // writes can fail with SQLITE_BUSY_SNAPSHOT instead of waiting out busy_timeout.
    const tx = db.transaction((writes: Write[]) => this.#apply(writes));
    this.#commit = (writes) => tx.immediate(writes);
  }

  createRun(run: RunRecord, taskIds: string[]): Promise<void> {
    return this.#enqueueAwaited<void>((waiter) => {
      assertIds([run?.runId, ...taskIds]);
      return { kind: 'createRun', row: runToRow(run), taskIds: [...taskIds], waiter };
    });
  }

  addTasks(runId: string, tasks: readonly (string | AddedTask)[]): Promise<void> {
    return this.#enqueueAwaited<void>((waiter) => {
      const rows = tasks.map((t) =>
        typeof t === 'string'
          ? { taskId: t, spec: null }
          : { taskId: t?.taskId, spec: t?.spec === undefined ? null : toJson(t.spec, 'spec') },
      );
      assertIds(rows.map((r) => r.taskId));
      return { kind: 'addTasks', runId, tasks: rows, waiter };
    });
  }

  record(event: CheckpointEvent, task?: Partial<TaskRecord> & { runId: string; taskId: string }): void {
    this.#assertOpen();
    const data = event.data === undefined ? null : toJson(event.data, 'event.data');
    const patch = task && taskPatchToRow(task);
    // The store owns seq: whatever the caller passed is ignored.
    const { seq: _ignored, ...rest } = event;
    this.#enqueue({ kind: 'record', event: rest, data, patch });
  }

  async fenceShard(fence: ShardFence): Promise<void> {
    checkFence(fence);
    return this.#enqueueAwaited<void>((waiter) => ({ kind: 'fence', fence: { ...fence }, waiter }));
  }

  async completeTask(c: CompletionRecord): Promise<boolean> {
    if (c.fence) checkFence(c.fence);
    return this.#enqueueAwaited<boolean>((waiter) => ({
      kind: 'complete',
      fence: c.fence && { ...c.fence },
      row: completionToRow(c),
      succeeded: completionEvent(c),
      waiter,
    }));
  }

  updateRun(runId: string, patch: Partial<Omit<RunRecord, 'runId'>>): Promise<void> {
    return this.#enqueueAwaited<void>((waiter) => ({
      kind: 'updateRun',
      row: runPatchToRow(runId, patch),
      waiter,
    }));
  }

  resetTasks(runId: string, taskIds: string[]): Promise<void> {
    return this.#enqueueAwaited<void>((waiter) => ({
      kind: 'resetTasks',
      runId,
      taskIds: [...taskIds],
      waiter,
    }));
  }

  getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#read(() => {
      const row = this.#st.selectRun.get(runId);
      return row && runFromRow(row);
    });
  }

  listRuns(query: ListRunsQuery = {}): Promise<RunPage> {
    return this.#read(() => {
      const limit = resolveListLimit(query.limit);
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const params: Record<string, unknown> = { limit: limit + 1 };
      if (query.status !== undefined) params.status = query.status;
      if (query.workflowName !== undefined) params.workflow_name = query.workflowName;
      if (after) Object.assign(params, { after_created_at: after.createdAt, after_run_id: after.runId });
      const rows = this.#listStatement('status' in params, 'workflow_name' in params, !!after).all(params);
      const runs = rows.slice(0, limit).map(runFromRow);
      const last = runs[runs.length - 1];
      return rows.length > limit && last
        ? { runs, nextCursor: encodeCursor(last.createdAt, last.runId) }
        : { runs };
    });
  }

  getTasks(runId: string): Promise<TaskRecord[]> {
    return this.#read(() => this.#st.selectTasks.all(runId).map(taskFromRow));
  }

  getEvents(runId: string, fromSeq?: number): Promise<CheckpointEvent[]> {
    return this.#read(() => this.#st.selectEvents.all(runId, fromSeq ?? 0).map(eventFromRow));
  }

  async flush(): Promise<void> {
    this.#assertOpen();
    const error = this.#commitQueued() ?? this.#unreported;
    this.#unreported = undefined;
    if (error) throw error;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const error = this.#commitQueued() ?? this.#unreported;
      this.#db.close();
      if (error) throw error;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #enqueue(write: Write): void {
    this.#queue.push(write);
    if (this.#queue.length >= this.options.maxBatch) {
      this.#commitQueued();
    } else if (!this.#cancelScheduled) {
      if (this.options.flushIntervalMs === 0) {
        const handle = setImmediate(() => this.#commitQueued());
        this.#cancelScheduled = () => clearImmediate(handle);
      } else {
        const handle = setTimeout(() => this.#commitQueued(), this.options.flushIntervalMs);
        this.#cancelScheduled = () => clearTimeout(handle);
      }
    }
  }

  #enqueueAwaited<T>(build: (waiter: Waiter<T>) => Write): Promise<T> {
    // Inside the executor, a throw from #assertOpen or build() becomes this call's rejection.
    return new Promise<T>((resolve, reject) => {
      this.#assertOpen();
      this.#enqueue(build({ resolve, reject }));
    });
  }

  async #read<T>(fn: () => T): Promise<T> {
    this.#assertOpen();
    // Read-your-writes. A failed commit is reported to the writes' own callers, not the reader.
    this.#commitQueued();
    try {
      return fn();
    } catch (err) {
      throw toStoreError(err, 'read');
    }
  }

  #listStatement(status: boolean, workflowName: boolean, cursor: boolean) {
    const key = `${+status}${+workflowName}${+cursor}`;
    let stmt = this.#listStatements.get(key);
    if (!stmt) {
      stmt = this.#db.prepare<[Record<string, unknown>], RunRow>(
        listRunsSql({ status, workflowName, cursor }),
      );
      this.#listStatements.set(key, stmt);
    }
    return stmt;
  }

  onBatch(listener: (batch: BatchReport) => void): () => void {
    return this.#batches.add(listener);
  }

  /** Commits the whole queue in one transaction and settles its writes. Never throws. */
  #commitQueued(): SmartQueueError | undefined {
    this.#cancelScheduled?.();
    this.#cancelScheduled = undefined;
    if (this.#queue.length === 0) return undefined;
    const writes = this.#queue;
    this.#queue = [];
    let outcomes: Outcome[];
    const t0 = this.#batches.start();
    try {
      outcomes = this.#commit(writes);
      this.#batches.done(t0, writes.length, true);
    } catch (err) {
      this.#batches.done(t0, writes.length, false);
      // The counters may have advanced for events that were rolled back.
      this.#seqs.clear();
      this.#dataVersion = undefined;
      this.stats.failedTransactions++;
      const error = toStoreError(err, `commit of ${writes.length} checkpoint writes`);
      for (const write of writes) if (write.kind !== 'record') write.waiter.reject(error);
      if (writes.some((w) => w.kind === 'record')) this.#unreported = error;
      return error;
    }
    this.stats.transactions++;
    this.stats.writes += writes.length;
    writes.forEach((write, i) => {
      const outcome = outcomes[i];
      if (write.kind === 'record' || !outcome) return;
      if (outcome.ok) (write.waiter as Waiter<unknown>).resolve(outcome.value);
      else write.waiter.reject(outcome.error);
    });
    return undefined;
  }

  /** The body of a batch transaction. Expected failures (unknown run, ...) fail one write only. */
  #apply(writes: Write[]): Outcome[] {
    const version = this.#st.dataVersion.get();
    // data_version moves only when ANOTHER connection commits; then the cached seqs may be stale.
    if (version !== this.#dataVersion || this.#seqs.size > MAX_CACHED_RUNS) this.#seqs.clear();
    this.#dataVersion = version;
    const st = this.#st;
    return writes.map((write): Outcome => {
      switch (write.kind) {
        case 'createRun':
          if (st.insertRun.run(write.row).changes === 0) {
            return failure('ALREADY_EXISTS', `run ${write.row.run_id} already exists`, write.row.run_id);
          }
          for (const taskId of write.taskIds) st.insertTask.run(write.row.run_id, taskId, null);
          return DONE;
        case 'addTasks':
          if (!st.runExists.get(write.runId))
            return failure('NOT_FOUND', `run ${write.runId} not found`, write.runId);
          for (const t of write.tasks) st.insertTask.run(write.runId, t.taskId, t.spec);
          return DONE;
        case 'record':
          this.#appendEvent(write.event, write.data);
          if (write.patch) st.patchTask.run(write.patch);
          return DONE;
        case 'fence': {
          const current = st.selectFence.get(write.fence.shard) ?? 0;
          if (write.fence.epoch < current) return { ok: false, error: fencedError(write.fence, current) };
          st.upsertFence.run(write.fence.shard, write.fence.epoch);
          return DONE;
        }
        case 'complete': {
          if (write.fence) {
            const current = st.selectFence.get(write.fence.shard) ?? 0;
            if (write.fence.epoch < current) return { ok: false, error: fencedError(write.fence, current) };
          }
          const won = st.completeTask.run(write.row).changes === 1;
          if (won) this.#appendEvent(write.succeeded.event, write.succeeded.data);
          return { ok: true, value: won };
        }
        case 'updateRun':
          if (st.updateRun.run(write.row).changes === 0) {
            return failure('NOT_FOUND', `run ${write.row.run_id} not found`, write.row.run_id);
          }
          return DONE;
        case 'resetTasks':
          if (!st.runExists.get(write.runId))
            return failure('NOT_FOUND', `run ${write.runId} not found`, write.runId);
          for (const taskId of write.taskIds) st.resetTask.run(write.runId, taskId);
          return DONE;
      }
    });
  }

  #appendEvent(event: Omit<CheckpointEvent, 'seq'>, data: string | null): void {
    const seq = (this.#seqs.get(event.runId) ?? this.#st.maxSeq.get(event.runId) ?? 0) + 1;
    this.#seqs.set(event.runId, seq);
    this.#st.insertEvent.run({
      run_id: event.runId,
      seq,
      type: event.type,
      at: event.at,
      task_id: event.taskId ?? null,
      attempt: event.attempt ?? null,
      data,
    });
  }

  #assertOpen(): void {
    if (this.#closing) throw new SmartQueueError('UNAVAILABLE', 'checkpoint store is closed');
  }
}

function failure(code: 'NOT_FOUND' | 'ALREADY_EXISTS', message: string, runId: string): Outcome {
  return { ok: false, error: new SmartQueueError(code, message, { details: { runId } }) };
}

function assertIds(ids: unknown[]): void {
  for (const id of ids) {
    if (typeof id !== 'string' || id === '') {
      throw new SmartQueueError(
        'INVALID_ARGUMENT',
        `run and task ids must be non-empty strings, got ${String(id)}`,
      );
    }
  }
}

/** Lock contention and I/O trouble may pass (UNAVAILABLE: retry later); anything else is a bug. */
function toStoreError(err: unknown, what: string): SmartQueueError {
  if (err instanceof SmartQueueError) return err;
  const sqliteCode = (err as { code?: unknown } | null)?.code;
  const transient =
    typeof sqliteCode === 'string' &&
    /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOMEM)/.test(sqliteCode);
  return new SmartQueueError(
    transient ? 'UNAVAILABLE' : 'INTERNAL',
    `checkpoint store: ${what} failed: ${errorMessage(err)}`,
    { cause: err, details: { sqliteCode } },
  );
}
