/**
 * Where a worker (local or remote) sends the attempts of `thread: true` tasks: a thread pool,
 * created on first use, running handlers exported by the handlers module. Tasks whose handler
 * is not in a module (built-ins, inline DSL functions) run on the main thread as before.
 */
import { availableParallelism } from 'node:os';
import type { ProgressReport, TaskLogger } from '../handler.js';
import type { TaskAssignment, TaskResult } from '../stages.js';
import { createThreadPool } from './pool.js';
import type { ThreadPool, ThreadTaskResult } from './types.js';

/** Handler name → the module file and export that define it. */
export type HandlerModules = ReadonlyMap<string, { module: string; export: string }>;

export interface ThreadRunnerOptions {
  /** Threads of the pool; 0 runs thread tasks on the main thread. @default os.availableParallelism() */
  threads?: number;
  modules: HandlerModules;
  /** Heap limit per thread (MiB). @default none */
  maxHeapMb?: number;
}

export interface ThreadRunner {
  /** Whether this attempt goes to a thread. */
  accepts(a: TaskAssignment): boolean;
  run(
    a: TaskAssignment,
    hooks: {
      bindCancel: (cancel: () => void) => void;
      log?: TaskLogger;
      progress?: (report: ProgressReport) => void;
    },
  ): Promise<TaskResult>;
  /** Pool figures (zeros before the pool exists); steals are counted since the pool started. */
  stats(): {
    threads: number;
    busy: number;
    queued: number;
    stealsAttempted: number;
    stealsSucceeded: number;
  };
  close(): Promise<void>;
}

export function createThreadRunner(options: ThreadRunnerOptions): ThreadRunner {
  const threads = options.threads ?? availableParallelism();
  let pool: ThreadPool | undefined;
  const poolOf = () =>
    (pool ??= createThreadPool({
      threads,
      ...(options.maxHeapMb !== undefined && { maxHeapMb: options.maxHeapMb }),
    }));

  return {
    accepts: (a) =>
      threads > 0 && a.thread === true && a.handler.kind === 'uses' && options.modules.has(a.handler.name),
    async run(a, hooks) {
      const where = options.modules.get(a.handler.kind === 'uses' ? a.handler.name : '')!;
      const controller = new AbortController();
      hooks.bindCancel(() => controller.abort());
      const base = { runId: a.runId, taskId: a.taskId, attempt: a.attempt, workerId: a.workerId };
      const r = await poolOf()
        .run(
          {
            module: where.module,
            export: where.export,
            runId: a.runId,
            taskId: a.taskId,
            attempt: a.attempt,
            idempotencyKey: a.idempotencyKey,
            args: a.handler.kind === 'uses' ? a.handler.with : {},
            inputs: a.inputs,
            params: a.params,
            ...(a.timeoutMs !== undefined && { timeoutMs: a.timeoutMs }),
            ...(a.estimateMs !== undefined && { estimateMs: a.estimateMs }),
          },
          {
            signal: controller.signal,
            ...(hooks.progress && {
              onProgress: (fraction, message) =>
                hooks.progress!({
                  runId: a.runId,
                  taskId: a.taskId,
                  attempt: a.attempt,
                  workerId: a.workerId,
                  ...(fraction !== undefined && { fraction }),
                  ...(message !== undefined && { message }),
                }),
            }),
            ...(hooks.log && { onLog: (level, message, fields) => hooks.log![level](message, fields) }),
          },
        )
        .catch((err: unknown): ThreadTaskResult => {
          // The pool is full: this attempt fails, retryably, instead of taking the worker down.
          const at = Date.now();
          return {
            ok: false,
            error: { message: err instanceof Error ? err.message : String(err), retryable: true },
            thread: -1,
            startedAt: at,
            finishedAt: at,
          };
        });
      if (r.ok)
        return { ...base, ok: true, outputs: r.outputs, startedAt: r.startedAt, finishedAt: r.finishedAt };
      const { threadLost: _lost, ...error } = r.error;
      return { ...base, ok: false, error, startedAt: r.startedAt, finishedAt: r.finishedAt };
    },
    stats() {
      if (!pool) return { threads: 0, busy: 0, queued: 0, stealsAttempted: 0, stealsSucceeded: 0 };
      const s = pool.stats();
      return {
        threads: s.threads,
        busy: s.busy,
        queued: s.queued,
        stealsAttempted: s.stealsAttempted,
        stealsSucceeded: s.stealsSucceeded,
      };
    },
    async close() {
      await pool?.close();
    },
  };
}
