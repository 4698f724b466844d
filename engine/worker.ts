/**
 * An in-process worker: subscribes to a transport, runs each assignment's handler with a context
 * (inputs, params, idempotency key, AbortSignal, logger), enforces the attempt timeout, and
 * publishes the result. Remote and multi-threaded workers (later issues) reuse `runAttempt`.
 */
import { errorMessage, NonRetryableError, RetryAfterError } from './errors.js';
import { MAX_PROGRESS_MESSAGE, PROGRESS_MIN_INTERVAL_MS } from './handler.js';
import type { HandlerContext, HandlerRegistry, ProgressReport, TaskHandler, TaskLogger } from './handler.js';
import type { AttemptTracer, TaskAssignment, TaskResult, Transport } from './stages.js';
import type { ThreadRunner } from './threads/run-in-thread.js';

export interface LocalWorkerOptions {
  id: string;
  /** Attempts run at once. */
  capacity: number;
  transport: Transport;
  handlers: HandlerRegistry;
  /** Handlers of one run (inline DSL handlers), looked up before `handlers`. */
  runHandlers?: (runId: string) => HandlerRegistry | undefined;
  /** Receives what handlers log through `ctx.log`. */
  logger?: (line: TaskLogLine) => void;
  /** Receives what handlers report through `ctx.progress` (e.g. `engine.recordProgress`). */
  progress?: (report: ProgressReport) => void;
  /** Runs `thread: true` tasks in worker threads (see engine/threads/run-in-thread.ts). */
  threads?: ThreadRunner;
  /** Told of every attempt this worker finished (worker metrics). @default none */
  onAttemptFinished?: AttemptListener;
  /** Runs each attempt in its trace span (plugins/telemetry/tracing). @default untraced */
  tracer?: AttemptTracer;
}

/** Hears of each attempt a worker finished, with its result (e.g. worker metrics). */
export type AttemptListener = (assignment: TaskAssignment, result: TaskResult) => void;

/** Calls an attempt listener; its failure never reaches the worker (the result must still go out). */
export function notifyAttempt(
  listener: AttemptListener | undefined,
  assignment: TaskAssignment,
  result: TaskResult,
): void {
  try {
    listener?.(assignment, result);
  } catch {
    // as documented
  }
}

/** One line a handler logged. */
export interface TaskLogLine {
  level: 'info' | 'warn' | 'error';
  runId: string;
  taskId: string;
  message: string;
  fields?: Record<string, unknown>;
  /** Trace id of the attempt, when it is traced (so the line leads to its trace). */
  traceId?: string;
}

class AttemptAbort extends Error {
  constructor(
    message: string,
    readonly kind: 'timeout' | 'cancelled',
  ) {
    super(message);
  }
}

/** Finds the handler and arguments of an assignment. */
function resolveHandler(
  a: TaskAssignment,
  registry: HandlerRegistry,
  runHandlers: HandlerRegistry | undefined,
): { handler?: TaskHandler; args: Record<string, unknown>; name: string } {
  if (a.handler.kind === 'run') {
    const { argv, cwd, env } = a.handler;
    return { handler: registry.get('run'), args: { argv, cwd, env }, name: 'run' };
  }
  const name = a.handler.name;
  return { handler: runHandlers?.get(name) ?? registry.get(name), args: a.handler.with, name };
}

/**
 * Runs one attempt to its result; never throws. The handler's signal aborts on timeout or
 * cancellation; a handler that ignores its signal is abandoned (its result is not awaited).
 *
 * The AbortController is created only when the handler reads `ctx.signal` or the attempt must
 * be aborted: creating one costs more than a no-op handler's whole attempt.
 */
export async function runAttempt(
  a: TaskAssignment,
  registry: HandlerRegistry,
  options: {
    runHandlers?: HandlerRegistry;
    cancelSignal?: AbortSignal;
    /** Receives a function that cancels this attempt (cheaper than a cancelSignal). */
    bindCancel?: (cancel: () => void) => void;
    log?: TaskLogger;
    /** Receives the attempt's progress reports (coalesced); dropped without one. */
    progress?: (report: ProgressReport) => void;
  } = {},
): Promise<TaskResult> {
  const startedAt = Date.now();
  const { handler, args, name } = resolveHandler(a, registry, options.runHandlers);
  if (!handler) {
    const known = [...registry.keys()].join(', ');
    return failed(a, startedAt, {
      message: `unknown handler "${name}" (this worker has: ${known})`,
      retryable: false,
    });
  }
  let controller: AbortController | undefined;
  let abortedWith: AttemptAbort | undefined;
  let settleAbort: ((err: AttemptAbort) => void) | undefined;
  const abort = (err: AttemptAbort) => {
    if (abortedWith) return;
    abortedWith = err;
    controller?.abort(err);
    settleAbort?.(err);
  };
  let timer: NodeJS.Timeout | undefined;
  if (a.timeoutMs !== undefined) {
    timer = setTimeout(
      () => abort(new AttemptAbort(`timed out after ${a.timeoutMs} ms`, 'timeout')),
      a.timeoutMs,
    );
  }
  const onCancel = () => abort(new AttemptAbort('cancelled', 'cancelled'));
  if (options.cancelSignal?.aborted) onCancel();
  options.cancelSignal?.addEventListener('abort', onCancel, { once: true });
  options.bindCancel?.(onCancel);
  const progress = options.progress ? progressReporter(a, options.progress) : undefined;
  const ctx = new AttemptContext(
    a,
    args,
    options.log ?? SILENT,
    () => abortedWith,
    (c) => (controller = c),
    progress?.report ?? noop,
  );
  try {
    let outputs: unknown;
    if (abortedWith) throw abortedWith;
    const result = handler(ctx);
    if (result instanceof Promise) {
      // A handler that ignores its signal keeps running, but its attempt is over.
      result.catch(() => {});
      const aborted = new Promise<never>((_, reject) => (settleAbort = reject));
      outputs = await Promise.race([result, aborted]);
    } else outputs = result;
    return {
      runId: a.runId,
      taskId: a.taskId,
      attempt: a.attempt,
      workerId: a.workerId,
      ok: true,
      outputs: (outputs ?? {}) as Record<string, unknown>,
      startedAt,
      finishedAt: Date.now(),
    };
  } catch (err) {
    const reason = abortedWith ?? err;
    if (reason instanceof AttemptAbort) {
      return failed(a, startedAt, {
        message: reason.message,
        retryable: reason.kind === 'timeout',
        ...(reason.kind === 'timeout' ? { timedOut: true } : { cancelled: true }),
      });
    }
    const error: NonNullable<TaskResult['error']> = {
      message: errorMessage(err),
      retryable: !(err instanceof NonRetryableError),
    };
    if (err instanceof RetryAfterError) error.retryAfterMs = err.delayMs;
    return failed(a, startedAt, error);
  } finally {
    if (timer) clearTimeout(timer);
    progress?.stop();
    options.cancelSignal?.removeEventListener('abort', onCancel);
  }
}

/**
 * Forwards an attempt's progress reports, at most one per PROGRESS_MIN_INTERVAL_MS: a report
 * that comes sooner waits, and a newer one replaces it. `stop()` drops what still waits (the
 * result tells the rest).
 */
function progressReporter(a: TaskAssignment, sink: (report: ProgressReport) => void) {
  let last = 0;
  let waiting: ProgressReport | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const send = (r: ProgressReport) => {
    last = Date.now();
    try {
      sink(r);
    } catch {
      // Progress is best effort.
    }
  };
  return {
    report(fraction?: number, message?: string): void {
      if (stopped) return;
      const r: ProgressReport = {
        runId: a.runId,
        taskId: a.taskId,
        attempt: a.attempt,
        workerId: a.workerId,
      };
      if (typeof fraction === 'number' && Number.isFinite(fraction))
        r.fraction = Math.min(1, Math.max(0, fraction));
      if (typeof message === 'string' && message) r.message = message.slice(0, MAX_PROGRESS_MESSAGE);
      if (r.fraction === undefined && r.message === undefined) return;
      const wait = last + PROGRESS_MIN_INTERVAL_MS - Date.now();
      if (wait <= 0) return send(r);
      waiting = r;
      timer ??= setTimeout(() => {
        timer = undefined;
        if (waiting && !stopped) send(waiting);
        waiting = undefined;
      }, wait);
    },
    stop(): void {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** A failed result. Built field by field: `{ ...base, more }` is surprisingly slow on this hot path. */
function failed(a: TaskAssignment, startedAt: number, error: NonNullable<TaskResult['error']>): TaskResult {
  return {
    runId: a.runId,
    taskId: a.taskId,
    attempt: a.attempt,
    workerId: a.workerId,
    ok: false,
    error,
    startedAt,
    finishedAt: Date.now(),
  };
}

const noop = () => {};
const SILENT: TaskLogger = { info: noop, warn: noop, error: noop };

/**
 * The handler context. `signal` is a getter on the prototype that creates the AbortController
 * on first read (cheaper than an own accessor per attempt); objects made with
 * `Object.create(ctx)` share it, a plain `{ ...ctx }` copy does not.
 */
class AttemptContext implements HandlerContext {
  readonly runId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
  readonly inputs: Record<string, Record<string, unknown>>;
  readonly params: Record<string, unknown>;
  private controller: AbortController | undefined;

  constructor(
    a: TaskAssignment,
    readonly args: Record<string, unknown>,
    readonly log: TaskLogger,
    private readonly abortedWith: () => AttemptAbort | undefined,
    private readonly onController: (c: AbortController) => void,
    readonly progress: (fraction?: number, message?: string) => void,
  ) {
    this.runId = a.runId;
    this.taskId = a.taskId;
    this.attempt = a.attempt;
    this.idempotencyKey = a.idempotencyKey;
    this.inputs = a.inputs;
    this.params = a.params;
  }

  get signal(): AbortSignal {
    // State lives on the context itself, also when read through an Object.create() child.
    const self = contextOf(this);
    if (!self.controller) {
      self.controller = new AbortController();
      self.onController(self.controller);
      const reason = self.abortedWith();
      if (reason) self.controller.abort(reason);
    }
    return self.controller.signal;
  }
}

/** The AttemptContext an object derives from (through Object.create). */
function contextOf(obj: object): AttemptContext {
  let cur: object | null = obj;
  while (cur && Object.getPrototypeOf(cur) !== AttemptContext.prototype)
    cur = Object.getPrototypeOf(cur) as object | null;
  return cur as AttemptContext;
}

/** An in-process worker bound to a transport. */
export class LocalWorker {
  private readonly running = new Map<string, () => void>();
  private unsubscribe?: () => Promise<void>;

  constructor(private readonly options: LocalWorkerOptions) {}

  get id(): string {
    return this.options.id;
  }

  get capacity(): number {
    return this.options.capacity;
  }

  /** Attempts running now. */
  get busy(): number {
    return this.running.size;
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.options.transport.subscribe(this.options.id, {
      onTask: (a) => void this.execute(a),
      onCancel: (c) => this.running.get(`${c.runId}/${c.taskId}/${c.attempt}`)?.(),
    });
  }

  private async execute(a: TaskAssignment): Promise<void> {
    const key = `${a.runId}/${a.taskId}/${a.attempt}`;
    this.running.set(key, noop); // replaced by the attempt's cancel function below
    const tracer = this.options.tracer;
    const result = tracer
      ? await tracer.execute(a, (traceId) => this.attempt(a, key, traceId))
      : await this.attempt(a, key, undefined);
    this.running.delete(key);
    notifyAttempt(this.options.onAttemptFinished, a, result);
    try {
      await this.options.transport.publishResult(result);
    } catch {
      // The transport is closing; the scheduler re-dispatches attempts whose result it never got.
    }
  }

  private attempt(a: TaskAssignment, key: string, traceId: string | undefined): Promise<TaskResult> {
    const logger = this.options.logger;
    const line = (level: TaskLogLine['level']) => (message: string, fields?: Record<string, unknown>) =>
      logger?.({
        level,
        runId: a.runId,
        taskId: a.taskId,
        message,
        ...(fields && { fields }),
        ...(traceId !== undefined && { traceId }),
      });
    const log: TaskLogger | undefined = logger && {
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
    };
    const runHandlers = this.options.runHandlers?.(a.runId);
    const hooks = {
      bindCancel: (cancel: () => void) => this.running.set(key, cancel),
      ...(log && { log }),
      ...(this.options.progress && { progress: this.options.progress }),
    };
    const threads = this.options.threads;
    return threads?.accepts(a)
      ? threads.run(a, hooks)
      : runAttempt(a, this.options.handlers, { ...(runHandlers && { runHandlers }), ...hooks });
  }

  /** Stops taking work and aborts running attempts. */
  async close(): Promise<void> {
    for (const cancel of this.running.values()) cancel();
    await this.unsubscribe?.();
  }
}
