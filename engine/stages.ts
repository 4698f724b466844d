/**
 * Every pluggable stage of SmartQueue, as small interfaces. The engine depends on these only;
 * implementations live in plugins/<stage>/<name>/ and are created by factories
 * (`createSqliteCheckpointStore(options)`, ...) and injected through the engine's options.
 *
 * Each stage has an in-process implementation that needs no server, and a conformance suite in
 * test/conformance/ that every implementation of the stage must pass.
 */

/** Lifecycle states of a task inside a run. */
export type TaskStatus =
  | 'pending'
  | 'ready'
  | 'dispatched'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped'
  | 'cancelled'
  | 'timed-out';

/** States that never change again (unless a replay resets them). */
export const TERMINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set([
  'succeeded',
  'failed',
  'skipped',
  'cancelled',
  'timed-out',
]);

/** Lifecycle states of a run. */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Common options of every async stage call. */
export interface CallOptions {
  signal?: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// Transport: carries assignments to workers and results back.
// ---------------------------------------------------------------------------------------------

/** What a handler runs: an argv (never a shell string) or a named handler with its arguments. */
export type HandlerSpec =
  | { kind: 'run'; argv: string[]; cwd?: string; env?: Record<string, string> }
  | { kind: 'uses'; name: string; with: Record<string, unknown> };

/** One attempt of one task, as sent to a worker. */
export interface TaskAssignment {
  runId: string;
  taskId: string;
  /** 1-based attempt number. A result for an older attempt is discarded. */
  attempt: number;
  workerId: string;
  shard: number;
  /** Stable across attempts: use it to make side effects idempotent. */
  idempotencyKey: string;
  handler: HandlerSpec;
  /** Outputs of the tasks this one needs, by task id. */
  inputs: Record<string, Record<string, unknown>>;
  params: Record<string, unknown>;
  /** Attempt timeout in milliseconds; the handler's signal aborts when it expires. */
  timeoutMs?: number;
  /** Latest finish time of the task (epoch ms), if it has one. */
  deadlineAt?: number;
  /** Extra metadata (trace context, labels); travels in message headers on networked transports. */
  headers?: Record<string, string>;
  /** The task asks for a worker thread (CPU-bound; `thread: true` in the workflow). */
  thread?: boolean;
  /** The scheduler's estimate of its run time (ms): thread pools place tasks by it. */
  estimateMs?: number;
}

/** The outcome of one attempt, as reported by a worker. */
export interface TaskResult {
  runId: string;
  taskId: string;
  attempt: number;
  workerId: string;
  ok: boolean;
  outputs?: Record<string, unknown>;
  error?: {
    message: string;
    /** False when the handler threw NonRetryableError (or the failure cannot succeed later). */
    retryable: boolean;
    /** Set when the handler asked for a specific delay (RetryAfterError). */
    retryAfterMs?: number;
    /** True when the attempt hit its timeout. */
    timedOut?: boolean;
    /** True when the attempt was cancelled. */
    cancelled?: boolean;
  };
  startedAt: number;
  finishedAt: number;
}

/** Worker-side callbacks of a transport subscription. */
export interface WorkerEndpoint {
  onTask(assignment: TaskAssignment): void;
  onCancel(cancel: { runId: string; taskId: string; attempt: number }): void;
}

/** Carries assignments from the dispatcher to workers, and results back. */
export interface Transport {
  readonly name: string;
  /** Scheduler side: deliver an assignment to `assignment.workerId`. */
  dispatch(assignment: TaskAssignment, options?: CallOptions): Promise<void>;
  /** Scheduler side: ask a worker to abort a running attempt. */
  cancel(workerId: string, cancel: { runId: string; taskId: string; attempt: number }): Promise<void>;
  /** Scheduler side: listen to results. Returns an unsubscribe function. */
  onResult(listener: (result: TaskResult) => void): () => void;
  /** Worker side: receive assignments for `workerId`. Resolves to an unsubscribe function. */
  subscribe(workerId: string, endpoint: WorkerEndpoint): Promise<() => Promise<void>>;
  /** Worker side: report the outcome of an attempt. */
  publishResult(result: TaskResult, options?: CallOptions): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Tracing: trace context of runs and attempts. plugins/telemetry/tracing implements both sides;
// the engine and workers only pass opaque carriers along (STYLE rule 7: events feed the spans).
// ---------------------------------------------------------------------------------------------

/** A trace context as text fields (W3C `traceparent`, `tracestate`), opaque to the engine. */
export type TraceCarrier = Record<string, string>;

/** Scheduler side: the trace context of each attempt, asked for as it is dispatched. */
export interface AttemptTraceSource {
  /**
   * Called once per attempt, synchronously, just before it goes to the transport (the attempt's
   * other spans are built from engine events). Returns the fields that carry the attempt's
   * context to the worker (merged into `TaskAssignment.headers`) and the trace id kept in the
   * task record (absent when the trace was not sampled), or undefined when it is not traced.
   */
  attemptContext(attempt: {
    runId: string;
    taskId: string;
    attempt: number;
    workerId: string;
    shard: number;
    at: number;
  }): { headers: TraceCarrier; traceId?: string } | undefined;
}

/** Worker side: runs each attempt inside its span, continuing the trace in `headers`. */
export interface AttemptTracer {
  /** Runs `run` in the attempt's execute span; `traceId` (if traced) is for log lines. */
  execute(a: TaskAssignment, run: (traceId: string | undefined) => Promise<TaskResult>): Promise<TaskResult>;
}

// ---------------------------------------------------------------------------------------------
// CheckpointStore: the durable record of every run.
// ---------------------------------------------------------------------------------------------

/** A run as stored. `workflow` is the workflow IR (plain JSON) so a replay needs no source file. */
export interface RunRecord {
  runId: string;
  workflowName: string;
  workflow: unknown;
  params: Record<string, unknown>;
  status: RunStatus;
  shardKey: string;
  createdAt: number;
  finishedAt?: number;
  /** Absolute run deadline (epoch ms), if any. */
  deadlineAt?: number;
  deadlineMissed?: boolean;
  labels?: Record<string, string>;
}

/** The materialized state of one task in a run. */
export interface TaskRecord {
  runId: string;
  taskId: string;
  status: TaskStatus;
  attempt: number;
  workerId?: string;
  readyAt?: number;
  startedAt?: number;
  finishedAt?: number;
  outputs?: Record<string, unknown>;
  error?: string;
  deadlineMissed?: boolean;
  /** Trace id (32 hex digits) of the latest traced attempt: `smartqueue inspect` links to it. */
  traceId?: string;
  /**
   * The definition (plain JSON; the engine stores its task IR) of a task added to the run after
   * it started, as given to `addTasks`. Undefined for tasks of the original workflow, which
   * the run record's `workflow` holds.
   */
  spec?: unknown;
}

/**
 * A task added to a live run with its definition. The store keeps `spec` with the task's row, so
 * adding a task costs the same however many tasks the run already has (rewriting the run's
 * whole workflow for each would not).
 */
export interface AddedTask {
  taskId: string;
  /** Plain JSON; returned as `TaskRecord.spec`. */
  spec?: unknown;
}

/** An append-only log entry of a run. `type` is an engine event name (`task:attempt:failed`). */
export interface CheckpointEvent {
  runId: string;
  type: string;
  at: number;
  taskId?: string;
  attempt?: number;
  data?: Record<string, unknown>;
  /** Assigned by the store, increasing per run. */
  seq?: number;
}

/** Once-only completion of one attempt: only the first call for a (run, task, attempt) wins. */
export interface CompletionRecord {
  runId: string;
  taskId: string;
  attempt: number;
  workerId: string;
  outputs: Record<string, unknown>;
  startedAt: number;
  finishedAt: number;
  deadlineMissed?: boolean;
  /**
   * Set by a scheduler that owns the run's shard through a Coordinator: the completion is
   * refused (FAILED_PRECONDITION, `details.fenced`) when a newer owner of the shard has since
   * called `fenceShard`, so a paused old owner cannot record anything after losing the shard.
   */
  fence?: ShardFence;
}

/**
 * A fencing token: `epoch` (increasing with every change of owner, e.g. an etcd revision) of
 * the owner of `shard`.
 */
export interface ShardFence {
  shard: number;
  epoch: number;
}

export interface ListRunsQuery {
  status?: RunStatus;
  workflowName?: string;
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface RunPage {
  runs: RunRecord[];
  nextCursor?: string;
}

/**
 * The durable record of every run: an append-only event log per run plus the materialized state
 * of each task. Writes may be batched (group commit); `flush()` makes everything written so far
 * durable. `completeTask` is the once-only completion: it resolves to `true` for exactly one call
 * per (run, task) that is not already succeeded, and only once the success is durable.
 */
export interface CheckpointStore {
  readonly name: string;
  /** Records a new run and its tasks (all `pending`). Durable when it resolves. */
  createRun(run: RunRecord, taskIds: string[]): Promise<void>;
  /**
   * Adds tasks (`pending`) to a live run (dynamic DAGs): ids, or ids with their definitions
   * (kept as `TaskRecord.spec`). Tasks the run already has are left alone, spec included.
   * Durable when it resolves; rejects with `NOT_FOUND` for an unknown run and
   * `INVALID_ARGUMENT` for a spec JSON cannot hold.
   */
  addTasks(runId: string, tasks: readonly (string | AddedTask)[]): Promise<void>;
  /** Appends an event and applies a task-state change, batched with other writes. */
  record(event: CheckpointEvent, task?: Partial<TaskRecord> & { runId: string; taskId: string }): void;
  /**
   * Marks attempt `attempt` of a task succeeded unless the task already succeeded or moved to
   * another attempt. Resolves to whether this call recorded the success (durably).
   */
  completeTask(completion: CompletionRecord): Promise<boolean>;
  /**
   * A new owner of `fence.shard` takes it over with `fence.epoch`: from now on completions
   * fenced with an older epoch of that shard are refused (see `CompletionRecord.fence`). Epochs
   * only move forward: an epoch older than the stored one rejects with FAILED_PRECONDITION
   * (`details.fenced`); the same epoch again is a no-op. Durable when it resolves.
   */
  fenceShard(fence: ShardFence): Promise<void>;
  updateRun(runId: string, patch: Partial<Omit<RunRecord, 'runId'>>): Promise<void>;
  /** Resets tasks to `pending` (replay `--from`), keeping their attempt counters. */
  resetTasks(runId: string, taskIds: string[]): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(query?: ListRunsQuery): Promise<RunPage>;
  getTasks(runId: string): Promise<TaskRecord[]>;
  getEvents(runId: string, fromSeq?: number): Promise<CheckpointEvent[]>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Balancer: chooses the worker for a task.
// ---------------------------------------------------------------------------------------------

/** A worker as the balancer knows it. */
export interface WorkerInfo {
  id: string;
  /** Number of attempts it runs at once. */
  capacity: number;
  /** Handler names it can run; undefined means all. */
  handlers?: string[];
  labels?: Record<string, string>;
}

/** A worker's load as seen by the balancer. */
export interface WorkerLoad {
  id: string;
  capacity: number;
  /** Attempts assigned and not finished. */
  running: number;
  /** Sum of the cost (estimate-weighted) of running attempts. */
  weight: number;
  /** Extra load reported by the worker itself, e.g. in its heartbeat (cost units). */
  reported: number;
  /**
   * Extra load the Predictor forecasts for the worker over its horizon (cost units); absent
   * from balancers that take no forecasts.
   */
  forecast?: number;
  /** The sort key: (weight + reported + forecast) / capacity, or Infinity when the worker is full. */
  load: number;
}

/**
 * Chooses the least-loaded worker with free capacity. Load changes may be applied lazily, but
 * every read (`pick`, `snapshot`) sees all changes made before it.
 */
export interface Balancer {
  join(worker: WorkerInfo): void;
  leave(workerId: string): void;
  /**
   * The least-loaded worker with a free slot (that accepts `handler`, when given), or undefined
   * when all are full (back-pressure).
   */
  pick(handler?: string): string | undefined;
  /** An attempt of the given cost was assigned to the worker. */
  assign(workerId: string, cost: number): void;
  /** An attempt of the given cost finished on the worker. */
  finish(workerId: string, cost: number): void;
  /** Worker-reported extra load (cost units), e.g. from a heartbeat. A level: the latest wins. */
  report(workerId: string, load: number): void;
  /**
   * Predicted extra load of the worker over the coming horizon (cost units), refreshed by the
   * engine once per scheduling tick. A level like `report`, but kept apart from it so a
   * heartbeat does not erase a forecast (nor a forecast a heartbeat).
   */
  forecast?(workerId: string, extra: number): void;
  /** Applies pending lazy updates. Called once per dispatch tick; reads call it too. */
  flush(): void;
  snapshot(): WorkerLoad[];
  readonly size: number;
}

// ---------------------------------------------------------------------------------------------
// Predictor: estimates durations and load.
// ---------------------------------------------------------------------------------------------

/** What a predictor knows of a task when asked for its duration. */
export interface DurationQuery {
  handler: string;
  priority: number;
  /** Declared estimate, if any (a predictor may refine it). */
  declaredMs?: number;
}

/** One worker in one step of the load history. */
export interface WorkerStepLoad {
  id: string;
  /** Attempts it runs at once. */
  capacity: number;
  /** Attempts running at the end of the step. */
  running: number;
  /** Cost of the attempts it runs (the balancer's `weight`), at the end of the step. */
  weight: number;
  /** Extra load it reported itself (heartbeats), at the end of the step. */
  reported: number;
  /** (weight + reported) / capacity at the end of the step; 0 for a worker without slots. */
  utilisation: number;
  /** Attempts assigned to it during the step. */
  assigned: number;
  /** Attempts that succeeded on it during the step. */
  completed: number;
}

/** Arrivals of one step by priority class (`high`, `medium`, `low`, as in docs/metrics.md). */
export interface PriorityMix {
  high: number;
  medium: number;
  low: number;
}

/**
 * One step of the engine's load history (recorded by engine/load-history.ts). Counts cover the
 * step (`at - stepMs`, `at`]; levels (queue length, busy workers, worker loads) are read at its
 * end. Keep the format stable: the `onnx` predictor's load models read it.
 */
export interface LoadHistoryRow {
  /** End of the step (epoch ms). */
  at: number;
  stepMs: number;
  /** Tasks that became ready (entered a shard heap) during the step; a retry counts again. */
  arrivals: number;
  /** Attempts that succeeded during the step. */
  completions: number;
  /** Mean run time (ms) of the step's completions; the previous row's value when none finished. */
  meanDurationMs: number;
  /** Ready tasks waiting in the shard heaps at the end of the step. */
  queueLength: number;
  /** Workers running at least one attempt at the end of the step. */
  busyWorkers: number;
  /** The step's arrivals by priority class. */
  arrivalsByPriority: PriorityMix;
  /** Every worker the balancer knows, least loaded first. */
  workers: WorkerStepLoad[];
}

/** An observed duration, as fed back to a predictor. */
export interface DurationSample {
  handler: string;
  durationMs: number;
  /** When the attempt finished (epoch ms). */
  at: number;
  /** The worker that ran it, when known (per-worker speed). */
  workerId?: string;
  /** The estimate the scheduler used for the task (declared or predicted), when known. */
  estimateMs?: number;
}

/** Predicted arrivals: tasks becoming ready per second, averaged over the next `horizonMs`. */
export interface ArrivalForecast {
  perSecond: number;
  horizonMs: number;
}

/**
 * Estimates durations and load. Only `estimateDuration` and `observe` are required; the engine
 * uses each optional method when it is there. The forecasts are read often (`forecastWorkerLoad`
 * once per worker per scheduling tick), so they should be cheap look-ups of values computed in
 * `observeLoad`, where a model runs once per step for every worker at once.
 */
export interface Predictor {
  readonly name: string;
  /** Predicted duration in ms, or undefined when it has nothing to say. */
  estimateDuration(query: DurationQuery): number | undefined;
  /** Feeds an observed duration back. */
  observe(sample: DurationSample): void;
  /**
   * Predicted extra load of a worker over the next horizon (cost units: 1 is one attempt of a
   * 1 s estimate), beyond what the balancer already counts, if known. The balancer adds it to
   * the worker's key, so a worker forecast to saturate gets new tasks only when every other one
   * is worse off.
   */
  forecastWorkerLoad?(workerId: string): number | undefined;
  /** Feeds one step of the engine's load history (engine/load-history.ts), oldest first. */
  observeLoad?(row: LoadHistoryRow): void;
  /** Predicted arrival rate over the next horizon, if known. */
  forecastArrivals?(): ArrivalForecast | undefined;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Coordinator: membership, ownership, locks and ids across instances.
// ---------------------------------------------------------------------------------------------

export interface MemberLease {
  readonly id: string;
  /** Renews the lease (a heartbeat). */
  keepAlive(): Promise<void>;
  revoke(): Promise<void>;
}

export interface Coordinator {
  readonly name: string;
  /** Registers a member (scheduler or worker) under a lease of `ttlMs`. */
  register(kind: 'scheduler' | 'worker', id: string, ttlMs: number): Promise<MemberLease>;
  /** Live members of a kind. */
  members(kind: 'scheduler' | 'worker'): Promise<string[]>;
  /** The shards (0..total-1) this instance owns now. */
  ownedShards(total: number): Promise<number[]>;
  /** Runs `fn` while holding the named lock. */
  withLock<T>(name: string, fn: () => Promise<T>, options?: CallOptions): Promise<T>;
  /**
   * Reserves `key` for `value`; resolves to the value already reserved when the key is taken.
   * With `ttlMs` the reservation lapses after about that long (rounded up to whole seconds, and
   * possibly later, never earlier); without it, it lasts as long as the coordinator's state.
   */
  reserve(key: string, value: string, options?: { ttlMs?: number }): Promise<string>;
  /** A new unique id (sortable by creation time within one instance). */
  nextId(prefix: string): string;
  /**
   * Shard ownership across instances (cluster mode): calls `listener` with the shards of `total`
   * this instance owns, each with its fencing epoch (larger with every change of owner), once
   * ownership is known and again on every change; returns an unsubscribe function. Coordinators
   * of one process omit it: the instance owns every shard.
   */
  onShardsChanged?(total: number, listener: (owned: ReadonlyMap<number, number>) => void): () => void;
  close(): Promise<void>;
}
