/**
 * The thread pool's public types: CPU-bound handlers run in worker_threads, each thread with
 * its own deque of tasks in shared memory; idle threads steal from busy ones (see pool.ts).
 */

/** How tasks reach the threads. `stealing` is the default; the others exist for comparison. */
export type PoolMode =
  /** Each thread has its own deque; new tasks go to the least loaded one; idle threads steal. */
  | 'stealing'
  /** One shared deque that every thread pops from (a single shared queue). */
  | 'shared-queue'
  /** Each thread has its own deque, filled round-robin; nobody steals. */
  | 'static';

export interface ThreadPoolOptions {
  /** Threads in the pool. @default os.availableParallelism() */
  threads?: number;
  /** @default 'stealing' */
  mode?: PoolMode;
  /** Heap limit of each thread (MiB); a thread over it dies and only its attempt fails. @default none */
  maxHeapMb?: number;
  /** After an abort (timeout, cancel), how long a handler may take to stop before its thread is terminated (ms). @default 1000 */
  abortGraceMs?: number;
  /** Tasks each deque holds; more waiting tasks than threads × this is RESOURCE_EXHAUSTED. @default 1024 */
  dequeCapacity?: number;
  /**
   * Shared memory for task payloads (MiB), split evenly among the threads × dequeCapacity slots:
   * a task whose JSON fits its slot's share reaches its thread with no message; a bigger one is
   * fetched from the main thread. @default 16
   */
  payloadArenaMb?: number;
  /** Seed of the thieves' random choices (tests). @default random */
  seed?: number;
}

/** One task for a thread: a handler exported by a module, and what its context holds. */
export interface ThreadTask {
  /** Absolute path or file: URL of the handler module (.js, or .ts when run under tsx). */
  module: string;
  /** Export name of the handler in the module. @default 'default' */
  export?: string;
  runId: string;
  taskId: string;
  attempt: number;
  idempotencyKey: string;
  args: Record<string, unknown>;
  inputs: Record<string, Record<string, unknown>>;
  params: Record<string, unknown>;
  /**
   * Expected run time (ms), e.g. the scheduler's estimate: new tasks go to the thread with the
   * least expected work, so a short task does not land behind a long one. @default unknown
   */
  estimateMs?: number;
  /** Attempt timeout (ms); the handler's signal aborts, then the thread is terminated after abortGraceMs. */
  timeoutMs?: number;
}

/** How a thread task ended. */
export type ThreadTaskResult =
  | { ok: true; outputs: Record<string, unknown>; thread: number; startedAt: number; finishedAt: number }
  | {
      ok: false;
      error: {
        message: string;
        retryable: boolean;
        retryAfterMs?: number;
        timedOut?: boolean;
        cancelled?: boolean;
        /** The thread died (crash, out of memory, terminated after ignoring an abort); it was replaced. */
        threadLost?: boolean;
      };
      thread: number;
      startedAt: number;
      finishedAt: number;
    };

export interface RunOptions {
  /** Aborts the task (queued: dropped; running: its signal aborts). */
  signal?: AbortSignal;
  onProgress?: (fraction: number | undefined, message: string | undefined) => void;
  onLog?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** What the pool is doing now (cheap: read from shared counters). */
export interface PoolStats {
  threads: number;
  /** Threads running a task now. */
  busy: number;
  /** Tasks waiting in the deques. */
  queued: number;
  completed: number;
  stealsAttempted: number;
  stealsSucceeded: number;
  /** Tasks moved by successful steals. */
  stolenTasks: number;
  /** Threads replaced after a crash, an out-of-memory or a termination. */
  replaced: number;
}

export interface ThreadPool extends AsyncDisposable {
  /**
   * Queues a task; resolves when it ends, whatever the handler did. Rejects only with
   * RESOURCE_EXHAUSTED when threads × dequeCapacity tasks are already waiting or running.
   */
  run(task: ThreadTask, options?: RunOptions): Promise<ThreadTaskResult>;
  stats(): PoolStats;
  /** Stops: queued tasks end cancelled, running ones are aborted, threads exit. */
  close(): Promise<void>;
}
