/**
 * Tables, row shapes, record <-> row mapping and prepared statements of the SQLite checkpoint
 * store. Only types are imported from better-sqlite3 here; the store's factory loads the driver.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { SmartQueueError, errorMessage } from '../../../engine/errors.js';
import type {
  CheckpointEvent,
  CompletionRecord,
  RunRecord,
  RunStatus,
  TaskRecord,
  TaskStatus,
} from '../../../engine/stages.js';

type Db = BetterSqlite3.Database;

/**
 * Bumped with every change to {@link SCHEMA_DDL}, which then gets a step in {@link MIGRATIONS};
 * stored in `PRAGMA user_version`.
 */
export const SCHEMA_VERSION = 4;

// JSON columns hold JSON text; booleans are 0/1; times are epoch milliseconds.
const SCHEMA_DDL = `
CREATE TABLE IF NOT EXISTS runs (
  run_id          TEXT PRIMARY KEY,
  workflow_name   TEXT NOT NULL,
  workflow        TEXT NOT NULL,
  params          TEXT NOT NULL,
  status          TEXT NOT NULL,
  shard_key       TEXT NOT NULL,
  created_at      INTEGER NOT NULL,
  finished_at     INTEGER,
  deadline_at     INTEGER,
  deadline_missed INTEGER,
  labels          TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs (created_at DESC, run_id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, created_at DESC, run_id);
CREATE INDEX IF NOT EXISTS runs_by_workflow ON runs (workflow_name, created_at DESC, run_id);

-- A rowid table (not WITHOUT ROWID) so getTasks can return tasks in the order they were added.
CREATE TABLE IF NOT EXISTS tasks (
  run_id          TEXT NOT NULL,
  task_id         TEXT NOT NULL,
  status          TEXT NOT NULL,
  attempt         INTEGER NOT NULL DEFAULT 0,
  worker_id       TEXT,
  ready_at        INTEGER,
  started_at      INTEGER,
  finished_at     INTEGER,
  outputs         TEXT,
  error           TEXT,
  deadline_missed INTEGER,
  -- JSON of a task added after the run started (addTasks); NULL for the workflow's own tasks.
  spec            TEXT,
  -- Trace id of the latest traced attempt (OpenTelemetry; smartqueue inspect links to it).
  trace_id        TEXT,
  PRIMARY KEY (run_id, task_id)
);

CREATE TABLE IF NOT EXISTS events (
  run_id   TEXT NOT NULL,
  seq      INTEGER NOT NULL,
  type     TEXT NOT NULL,
  at       INTEGER NOT NULL,
  task_id  TEXT,
  attempt  INTEGER,
  data     TEXT,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS shard_fences (
  shard    INTEGER PRIMARY KEY,
  epoch    INTEGER NOT NULL
);
`;

/**
 * The step from version `n - 1` to `n`, for every version after the first. A new file gets
 * {@link SCHEMA_DDL} (the latest schema) at once; an older file gets the steps it lacks.
 */
const MIGRATIONS: Readonly<Record<number, string>> = {
  2: 'ALTER TABLE tasks ADD COLUMN spec TEXT;',
  3: 'CREATE TABLE IF NOT EXISTS shard_fences (shard INTEGER PRIMARY KEY, epoch INTEGER NOT NULL);',
  4: 'ALTER TABLE tasks ADD COLUMN trace_id TEXT;',
};

/**
 * Creates, upgrades or checks the schema. Runs in an IMMEDIATE transaction so that two processes
 * opening a file at once do not both half-create (or half-upgrade) it.
 */
export function migrate(db: Db): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new SmartQueueError(
        'FAILED_PRECONDITION',
        `checkpoint database schema v${version} is newer than this SmartQueue understands (v${SCHEMA_VERSION})`,
        { details: { version, supported: SCHEMA_VERSION } },
      );
    }
    if (version === SCHEMA_VERSION) return;
    if (version === 0) db.exec(SCHEMA_DDL);
    else for (let v = version + 1; v <= SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/** A `runs` row as bound and as read. */
export interface RunRow {
  run_id: string;
  workflow_name: string;
  workflow: string;
  params: string;
  status: string;
  shard_key: string;
  created_at: number;
  finished_at: number | null;
  deadline_at: number | null;
  deadline_missed: number | null;
  labels: string | null;
}

/** A `tasks` row as read. */
export interface TaskRow {
  run_id: string;
  task_id: string;
  status: string;
  attempt: number;
  worker_id: string | null;
  ready_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  outputs: string | null;
  error: string | null;
  deadline_missed: number | null;
  spec: string | null;
  trace_id: string | null;
}

/** An `events` row as bound and as read. */
export interface EventRow {
  run_id: string;
  seq: number;
  type: string;
  at: number;
  task_id: string | null;
  attempt: number | null;
  data: string | null;
}

/**
 * Columns of a partial update: `null` means "leave as is" (the statements use COALESCE), which
 * is how `undefined` in a patch reaches SQL.
 */
export interface TaskPatchRow {
  run_id: string;
  task_id: string;
  status: string | null;
  attempt: number | null;
  worker_id: string | null;
  ready_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  outputs: string | null;
  error: string | null;
  deadline_missed: number | null;
  trace_id: string | null;
}

/** Partial update of a run; `null` means "leave as is". */
export type RunPatchRow = { [K in keyof RunRow]: K extends 'run_id' ? string : RunRow[K] | null };

/** The conditional completion of one attempt. */
export interface CompletionRow {
  run_id: string;
  task_id: string;
  attempt: number;
  worker_id: string;
  started_at: number;
  finished_at: number;
  outputs: string;
  deadline_missed: number | null;
}

type Stmt<P extends unknown[] | object, R = unknown> = BetterSqlite3.Statement<P, R>;

/** The prepared statements of one connection. */
export interface Statements {
  dataVersion: Stmt<[], number>;
  runExists: Stmt<[string], number>;
  insertRun: Stmt<RunRow>;
  updateRun: Stmt<RunPatchRow>;
  selectRun: Stmt<[string], RunRow>;
  insertTask: Stmt<[string, string, string | null]>;
  patchTask: Stmt<TaskPatchRow>;
  completeTask: Stmt<CompletionRow>;
  resetTask: Stmt<[string, string]>;
  selectTasks: Stmt<[string], TaskRow>;
  maxSeq: Stmt<[string], number | null>;
  insertEvent: Stmt<EventRow>;
  selectEvents: Stmt<[string, number], EventRow>;
  selectFence: Stmt<[number], number>;
  upsertFence: Stmt<[number, number]>;
}

/** Every statement the store runs, prepared once per connection. */
export function prepareStatements(db: Db): Statements {
  return {
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    runExists: db.prepare<[string], number>('SELECT 1 FROM runs WHERE run_id = ?').pluck(),
    selectFence: db.prepare<[number], number>('SELECT epoch FROM shard_fences WHERE shard = ?').pluck(),
    upsertFence: db.prepare<[number, number]>(
      'INSERT INTO shard_fences (shard, epoch) VALUES (?, ?) ON CONFLICT (shard) DO UPDATE SET epoch = excluded.epoch',
    ),
    insertRun: db.prepare<RunRow>(
      `INSERT OR IGNORE INTO runs (run_id, workflow_name, workflow, params, status, shard_key, created_at,
         finished_at, deadline_at, deadline_missed, labels)
       VALUES (@run_id, @workflow_name, @workflow, @params, @status, @shard_key, @created_at,
         @finished_at, @deadline_at, @deadline_missed, @labels)`,
    ),
    updateRun: db.prepare<RunPatchRow>(
      `UPDATE runs SET
         workflow_name = COALESCE(@workflow_name, workflow_name), workflow = COALESCE(@workflow, workflow),
         params = COALESCE(@params, params), status = COALESCE(@status, status),
         shard_key = COALESCE(@shard_key, shard_key), created_at = COALESCE(@created_at, created_at),
         finished_at = COALESCE(@finished_at, finished_at), deadline_at = COALESCE(@deadline_at, deadline_at),
         deadline_missed = COALESCE(@deadline_missed, deadline_missed), labels = COALESCE(@labels, labels)
       WHERE run_id = @run_id`,
    ),
    selectRun: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE run_id = ?'),
    insertTask: db.prepare<[string, string, string | null]>(
      `INSERT OR IGNORE INTO tasks (run_id, task_id, status, attempt, spec) VALUES (?, ?, 'pending', 0, ?)`,
    ),
    patchTask: db.prepare<TaskPatchRow>(
      `UPDATE tasks SET
         status = COALESCE(@status, status), attempt = COALESCE(@attempt, attempt),
         worker_id = COALESCE(@worker_id, worker_id), ready_at = COALESCE(@ready_at, ready_at),
         started_at = COALESCE(@started_at, started_at), finished_at = COALESCE(@finished_at, finished_at),
         outputs = COALESCE(@outputs, outputs), error = COALESCE(@error, error),
         deadline_missed = COALESCE(@deadline_missed, deadline_missed),
         trace_id = COALESCE(@trace_id, trace_id)
       WHERE run_id = @run_id AND task_id = @task_id`,
    ),
    // The once-only completion: the WHERE clause is the whole guarantee, and it holds across
    // connections because every batch runs in an IMMEDIATE (write-locked) transaction.
    completeTask: db.prepare<CompletionRow>(
      `UPDATE tasks SET status = 'succeeded', worker_id = @worker_id, started_at = @started_at,
         finished_at = @finished_at, outputs = @outputs, error = NULL,
         deadline_missed = COALESCE(@deadline_missed, deadline_missed)
       WHERE run_id = @run_id AND task_id = @task_id AND status <> 'succeeded' AND attempt = @attempt`,
    ),
    resetTask: db.prepare<[string, string]>(
      `UPDATE tasks SET status = 'pending', outputs = NULL, error = NULL, finished_at = NULL,
         started_at = NULL, ready_at = NULL, deadline_missed = NULL
       WHERE run_id = ? AND task_id = ?`,
    ),
    selectTasks: db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid'),
    maxSeq: db.prepare<[string], number | null>('SELECT MAX(seq) FROM events WHERE run_id = ?').pluck(),
    insertEvent: db.prepare<EventRow>(
      `INSERT INTO events (run_id, seq, type, at, task_id, attempt, data)
       VALUES (@run_id, @seq, @type, @at, @task_id, @attempt, @data)`,
    ),
    selectEvents: db.prepare<[string, number], EventRow>(
      'SELECT * FROM events WHERE run_id = ? AND seq >= ? ORDER BY seq',
    ),
  };
}

/**
 * The `listRuns` query for one combination of filters. There are eight, each prepared on first
 * use and then reused, so that every combination can use an index (an `(? IS NULL OR ...)`
 * statement could not).
 */
export function listRunsSql(filters: { status: boolean; workflowName: boolean; cursor: boolean }): string {
  const where = ['1 = 1'];
  if (filters.status) where.push('status = @status');
  if (filters.workflowName) where.push('workflow_name = @workflow_name');
  if (filters.cursor) {
    where.push(
      '(created_at < @after_created_at OR (created_at = @after_created_at AND run_id > @after_run_id))',
    );
  }
  return `SELECT * FROM runs WHERE ${where.join(' AND ')} ORDER BY created_at DESC, run_id ASC LIMIT @limit`;
}

export function runFromRow(row: RunRow): RunRecord {
  const run: RunRecord = {
    runId: row.run_id,
    workflowName: row.workflow_name,
    workflow: JSON.parse(row.workflow) as unknown,
    params: JSON.parse(row.params) as Record<string, unknown>,
    status: row.status as RunStatus,
    shardKey: row.shard_key,
    createdAt: row.created_at,
  };
  if (row.finished_at !== null) run.finishedAt = row.finished_at;
  if (row.deadline_at !== null) run.deadlineAt = row.deadline_at;
  if (row.deadline_missed !== null) run.deadlineMissed = row.deadline_missed !== 0;
  if (row.labels !== null) run.labels = JSON.parse(row.labels) as Record<string, string>;
  return run;
}

export function taskFromRow(row: TaskRow): TaskRecord {
  const task: TaskRecord = {
    runId: row.run_id,
    taskId: row.task_id,
    status: row.status as TaskStatus,
    attempt: row.attempt,
  };
  if (row.worker_id !== null) task.workerId = row.worker_id;
  if (row.ready_at !== null) task.readyAt = row.ready_at;
  if (row.started_at !== null) task.startedAt = row.started_at;
  if (row.finished_at !== null) task.finishedAt = row.finished_at;
  if (row.outputs !== null) task.outputs = JSON.parse(row.outputs) as Record<string, unknown>;
  if (row.error !== null) task.error = row.error;
  if (row.deadline_missed !== null) task.deadlineMissed = row.deadline_missed !== 0;
  if (row.spec !== null) task.spec = JSON.parse(row.spec) as unknown;
  if (row.trace_id !== null) task.traceId = row.trace_id;
  return task;
}

export function eventFromRow(row: EventRow): CheckpointEvent {
  const event: CheckpointEvent = { runId: row.run_id, seq: row.seq, type: row.type, at: row.at };
  if (row.task_id !== null) event.taskId = row.task_id;
  if (row.attempt !== null) event.attempt = row.attempt;
  if (row.data !== null) event.data = JSON.parse(row.data) as Record<string, unknown>;
  return event;
}

export function runToRow(run: RunRecord): RunRow {
  return {
    run_id: run.runId,
    workflow_name: run.workflowName,
    workflow: toJson(run.workflow ?? null, 'workflow'),
    params: toJson(run.params ?? {}, 'params'),
    status: run.status,
    shard_key: run.shardKey,
    created_at: run.createdAt,
    finished_at: run.finishedAt ?? null,
    deadline_at: run.deadlineAt ?? null,
    deadline_missed: bit(run.deadlineMissed),
    labels: run.labels === undefined ? null : toJson(run.labels, 'labels'),
  };
}

export function runPatchToRow(runId: string, patch: Partial<Omit<RunRecord, 'runId'>>): RunPatchRow {
  return {
    run_id: runId,
    workflow_name: patch.workflowName ?? null,
    workflow: patch.workflow === undefined ? null : toJson(patch.workflow, 'workflow'),
    params: patch.params === undefined ? null : toJson(patch.params, 'params'),
    status: patch.status ?? null,
    shard_key: patch.shardKey ?? null,
    created_at: patch.createdAt ?? null,
    finished_at: patch.finishedAt ?? null,
    deadline_at: patch.deadlineAt ?? null,
    deadline_missed: bit(patch.deadlineMissed),
    labels: patch.labels === undefined ? null : toJson(patch.labels, 'labels'),
  };
}

/** The UPDATE parameters of a `record()` task patch, or undefined when the patch changes nothing. */
export function taskPatchToRow(
  task: Partial<TaskRecord> & { runId: string; taskId: string },
): TaskPatchRow | undefined {
  const row: TaskPatchRow = {
    run_id: task.runId,
    task_id: task.taskId,
    status: task.status ?? null,
    attempt: task.attempt ?? null,
    worker_id: task.workerId ?? null,
    ready_at: task.readyAt ?? null,
    started_at: task.startedAt ?? null,
    finished_at: task.finishedAt ?? null,
    outputs: task.outputs === undefined ? null : toJson(task.outputs, 'outputs'),
    error: task.error ?? null,
    deadline_missed: bit(task.deadlineMissed),
    trace_id: task.traceId ?? null,
  };
  const { run_id: _runId, task_id: _taskId, ...changes } = row;
  return Object.values(changes).some((v) => v !== null) ? row : undefined;
}

export function completionToRow(c: CompletionRecord): CompletionRow {
  return {
    run_id: c.runId,
    task_id: c.taskId,
    attempt: c.attempt,
    worker_id: c.workerId,
    started_at: c.startedAt,
    finished_at: c.finishedAt,
    outputs: toJson(c.outputs ?? {}, 'outputs'),
    deadline_missed: bit(c.deadlineMissed),
  };
}

/**
 * The `task:attempt:succeeded` event a winning completion appends (seq is assigned later). It
 * carries the outputs so that the event log alone can rebuild every task's state.
 */
export function completionEvent(c: CompletionRecord): { event: Omit<CheckpointEvent, 'seq'>; data: string } {
  const data: Record<string, unknown> = {
    workerId: c.workerId,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    outputs: c.outputs ?? {},
  };
  if (c.deadlineMissed !== undefined) data.deadlineMissed = c.deadlineMissed;
  const event = {
    runId: c.runId,
    type: 'task:attempt:succeeded',
    at: c.finishedAt,
    taskId: c.taskId,
    attempt: c.attempt,
  };
  return { event, data: toJson(data, 'outputs') };
}

/** Booleans as SQLite stores them; undefined becomes NULL ("unknown" or "leave as is"). */
function bit(value: boolean | undefined): number | null {
  return value === undefined ? null : value ? 1 : 0;
}

/** Serializes a JSON column; a value JSON cannot hold fails its caller with INVALID_ARGUMENT. */
export function toJson(value: unknown, field: string): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (err) {
    throw new SmartQueueError('INVALID_ARGUMENT', `${field} is not JSON-serializable: ${errorMessage(err)}`, {
      cause: err,
      details: { field },
    });
  }
}

/** Page size of `listRuns` when the query gives none. */
const DEFAULT_LIST_LIMIT = 50;
/** Largest page `listRuns` returns, whatever the query asks for. */
const MAX_LIST_LIMIT = 1000;

export function resolveListLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new SmartQueueError('INVALID_ARGUMENT', `limit must be a positive integer, got ${String(limit)}`, {
      details: { field: 'limit' },
    });
  }
  return Math.min(limit, MAX_LIST_LIMIT);
}
