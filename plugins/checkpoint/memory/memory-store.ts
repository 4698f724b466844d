/**
 * The in-process CheckpointStore: plain Maps, nothing durable. It is the reference
 * implementation of the checkpoint semantics (every other store must behave the same, which the
 * conformance suite in test/conformance/checkpoint-store.ts checks) and the "durability off"
 * mode of the embedded engine.
 */
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
import { PATCHABLE_TASK_FIELDS } from '../task-fields.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { checkFence, fencedError } from '../fence.js';

/** An in-process {@link CheckpointStore}; `await using` closes it. */
export interface MemoryCheckpointStore extends CheckpointStore, AsyncDisposable {}

/**
 * Creates an in-process checkpoint store. Writes apply at once, so `flush()` has nothing to do,
 * and everything is lost with the process.
 */
export function createMemoryCheckpointStore(): MemoryCheckpointStore {
  return new InMemoryCheckpointStore();
}

/** Page size of `listRuns` when the query gives none. */
const DEFAULT_LIST_LIMIT = 50;
/** Largest page `listRuns` returns, whatever the query asks for. */
const MAX_LIST_LIMIT = 1000;

type TaskPatch = Partial<TaskRecord> & { runId: string; taskId: string };

class InMemoryCheckpointStore implements MemoryCheckpointStore {
  readonly name = 'memory';
  readonly #runs = new Map<string, RunRecord>();
  // Inner Maps keep insertion order, which getTasks reports (as the SQLite store does).
  readonly #tasks = new Map<string, Map<string, TaskRecord>>();
  /** Shard → the epoch of its current owner (fenceShard). */
  readonly #fences = new Map<number, number>();
  readonly #events = new Map<string, CheckpointEvent[]>();
  #closed = false;

  async createRun(run: RunRecord, taskIds: string[]): Promise<void> {
    this.#assertOpen();
    assertId(run.runId, 'runId');
    if (this.#runs.has(run.runId)) {
      throw new SmartQueueError('ALREADY_EXISTS', `run ${run.runId} already exists`, {
        details: { runId: run.runId },
      });
    }
    const stored: RunRecord = { ...run };
    stored.workflow = cloneJson(run.workflow ?? null, 'workflow');
    stored.params = cloneJson(run.params ?? {}, 'params') as Record<string, unknown>;
    if (run.labels !== undefined) stored.labels = cloneJson(run.labels, 'labels') as Record<string, string>;
    this.#runs.set(run.runId, dropUndefined(stored));
    this.#tasks.set(run.runId, new Map());
    this.#insertTasks(
      run.runId,
      taskIds.map((taskId) => ({ taskId })),
    );
  }

  async addTasks(runId: string, tasks: readonly (string | AddedTask)[]): Promise<void> {
    this.#assertOpen();
    this.#requireRun(runId);
    // Validate and copy every spec before inserting any, so a bad one adds nothing.
    const added = tasks.map((t): AddedTask => {
      if (typeof t === 'string') return { taskId: t };
      assertId(t?.taskId, 'taskId');
      return t.spec === undefined
        ? { taskId: t.taskId }
        : { taskId: t.taskId, spec: cloneJson(t.spec, 'spec') };
    });
    this.#insertTasks(runId, added);
  }

  record(event: CheckpointEvent, task?: TaskPatch): void {
    this.#assertOpen();
    // Clone before touching state so a bad payload changes nothing.
    const data = event.data === undefined ? undefined : cloneJson(event.data, 'event.data');
    const outputs = task?.outputs === undefined ? undefined : cloneJson(task.outputs, 'outputs');
    this.#append({ ...event, data } as CheckpointEvent);
    if (!task) return;
    const current = this.#tasks.get(task.runId)?.get(task.taskId);
    // Like an UPDATE that matches no row: tasks only come into being through createRun/addTasks.
    if (!current) return;
    for (const key of PATCHABLE_TASK_FIELDS) {
      const value = key === 'outputs' ? outputs : task[key];
      if (value !== undefined) (current as unknown as Record<string, unknown>)[key] = value;
    }
  }

  async fenceShard(fence: ShardFence): Promise<void> {
    this.#assertOpen();
    checkFence(fence);
    const current = this.#fences.get(fence.shard) ?? 0;
    if (fence.epoch < current) throw fencedError(fence, current);
    this.#fences.set(fence.shard, fence.epoch);
  }

  async completeTask(c: CompletionRecord): Promise<boolean> {
    this.#assertOpen();
    const outputs = cloneJson(c.outputs ?? {}, 'outputs') as Record<string, unknown>;
    if (c.fence) {
      checkFence(c.fence);
      const current = this.#fences.get(c.fence.shard) ?? 0;
      if (c.fence.epoch < current) throw fencedError(c.fence, current);
    }
    const task = this.#tasks.get(c.runId)?.get(c.taskId);
    if (!task || task.status === 'succeeded' || task.attempt !== c.attempt) return false;
    task.status = 'succeeded';
    task.workerId = c.workerId;
    task.startedAt = c.startedAt;
    task.finishedAt = c.finishedAt;
    task.outputs = outputs;
    delete task.error;
    if (c.deadlineMissed !== undefined) task.deadlineMissed = c.deadlineMissed;
    this.#append({
      runId: c.runId,
      type: 'task:attempt:succeeded',
      at: c.finishedAt,
      taskId: c.taskId,
      attempt: c.attempt,
      data: completionEventData(c, outputs),
    });
    return true;
  }

  async updateRun(runId: string, patch: Partial<Omit<RunRecord, 'runId'>>): Promise<void> {
    this.#assertOpen();
    const run = this.#requireRun(runId);
    const next: Record<string, unknown> = { ...run };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined || key === 'runId') continue;
      next[key] = JSON_RUN_FIELDS.has(key) ? cloneJson(value, key) : value;
    }
    this.#runs.set(runId, next as unknown as RunRecord);
  }

  async resetTasks(runId: string, taskIds: string[]): Promise<void> {
    this.#assertOpen();
    this.#requireRun(runId);
    const tasks = this.#tasks.get(runId);
    for (const taskId of taskIds) {
      const task = tasks?.get(taskId);
      if (!task) continue;
      task.status = 'pending';
      delete task.outputs;
      delete task.error;
      delete task.finishedAt;
      delete task.startedAt;
      delete task.readyAt;
      delete task.deadlineMissed;
    }
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.#assertOpen();
    const run = this.#runs.get(runId);
    return run && structuredClone(run);
  }

  async listRuns(query: ListRunsQuery = {}): Promise<RunPage> {
    this.#assertOpen();
    const limit = resolveListLimit(query.limit);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const matching = [...this.#runs.values()]
      .filter((r) => query.status === undefined || r.status === query.status)
      .filter((r) => query.workflowName === undefined || r.workflowName === query.workflowName)
      .filter((r) => !after || isAfter(r, after))
      .sort(compareRuns);
    const runs = matching.slice(0, limit).map((r) => structuredClone(r));
    const last = runs[runs.length - 1];
    return matching.length > limit && last
      ? { runs, nextCursor: encodeCursor(last.createdAt, last.runId) }
      : { runs };
  }

  async getTasks(runId: string): Promise<TaskRecord[]> {
    this.#assertOpen();
    return [...(this.#tasks.get(runId)?.values() ?? [])].map((t) => structuredClone(t));
  }

  async getEvents(runId: string, fromSeq?: number): Promise<CheckpointEvent[]> {
    this.#assertOpen();
    const from = fromSeq ?? 0;
    return (this.#events.get(runId) ?? []).filter((e) => (e.seq ?? 0) >= from).map((e) => structuredClone(e));
  }

  async flush(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#runs.clear();
    this.#tasks.clear();
    this.#events.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #insertTasks(runId: string, added: readonly AddedTask[]): void {
    for (const { taskId } of added) assertId(taskId, 'taskId');
    const tasks = this.#tasks.get(runId) ?? new Map<string, TaskRecord>();
    this.#tasks.set(runId, tasks);
    for (const { taskId, spec } of added) {
      // Existing tasks are left alone so that re-adding (a resumed scheduler) is harmless.
      if (tasks.has(taskId)) continue;
      const task: TaskRecord = { runId, taskId, status: 'pending', attempt: 0 };
      if (spec !== undefined) task.spec = spec;
      tasks.set(taskId, task);
    }
  }

  #append(event: CheckpointEvent): void {
    const log = this.#events.get(event.runId) ?? [];
    this.#events.set(event.runId, log);
    const stored: CheckpointEvent = {
      runId: event.runId,
      type: event.type,
      at: event.at,
      taskId: event.taskId,
      attempt: event.attempt,
      data: event.data,
      // The store owns seq: whatever the caller passed is ignored.
      seq: log.length + 1,
    };
    log.push(dropUndefined(stored));
  }

  #requireRun(runId: string): RunRecord {
    const run = this.#runs.get(runId);
    if (!run) throw new SmartQueueError('NOT_FOUND', `run ${runId} not found`, { details: { runId } });
    return run;
  }

  #assertOpen(): void {
    if (this.#closed) throw new SmartQueueError('UNAVAILABLE', 'checkpoint store is closed');
  }
}

/** Run fields stored as JSON text by durable stores, so they are copied the same way here. */
const JSON_RUN_FIELDS = new Set(['workflow', 'params', 'labels']);

/** The payload of the `task:attempt:succeeded` event every store appends on a winning completion. */
function completionEventData(c: CompletionRecord, outputs: unknown): Record<string, unknown> {
  const data: Record<string, unknown> = {
    workerId: c.workerId,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    outputs,
  };
  if (c.deadlineMissed !== undefined) data.deadlineMissed = c.deadlineMissed;
  return data;
}

/**
 * Copies through JSON, as durable stores do, so the memory store cannot hand back something a
 * SQLite row could not hold (Dates, undefined members, shared references).
 */
function cloneJson(value: unknown, field: string): unknown {
  // Fast path for the common case, a flat record of JSON scalars: a shallow copy is a deep copy.
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    let flat = true;
    for (const k in value) {
      const v = (value as Record<string, unknown>)[k];
      if (!(
        typeof v === 'string' ||
        typeof v === 'boolean' ||
        v === null ||
        (typeof v === 'number' && Number.isFinite(v))
      )) {
        flat = false;
        break;
      }
    }
    if (flat) return { ...value };
  }
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch (err) {
    throw new SmartQueueError('INVALID_ARGUMENT', `${field} is not JSON-serializable: ${errorMessage(err)}`, {
      cause: err,
      details: { field },
    });
  }
}

function dropUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

function assertId(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') {
    throw new SmartQueueError('INVALID_ARGUMENT', `${field} must be a non-empty string`, {
      details: { field },
    });
  }
}

function resolveListLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new SmartQueueError('INVALID_ARGUMENT', `limit must be a positive integer, got ${String(limit)}`, {
      details: { field: 'limit' },
    });
  }
  return Math.min(limit, MAX_LIST_LIMIT);
}

/** Newest first; ties by runId in code-point order, which is SQLite's BINARY (UTF-8) order. */
function compareRuns(a: RunRecord, b: RunRecord): number {
  return b.createdAt - a.createdAt || compareCodePoints(a.runId, b.runId);
}

function isAfter(run: RunRecord, after: { createdAt: number; runId: string }): boolean {
  return (
    run.createdAt < after.createdAt ||
    (run.createdAt === after.createdAt && compareCodePoints(run.runId, after.runId) > 0)
  );
}

function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
