/**
 * The embedded default: every stage in this process, no server needed. SQLite keeps the
 * checkpoints (or memory, with durability off), the in-process transport carries tasks to local
 * workers, the AVL balancer picks among them.
 */
import { cpus } from 'node:os';
import path from 'node:path';
import { Engine } from '../engine/engine.js';
import type { EngineOptions } from '../engine/options.js';
import type { HandlerRegistry, TaskHandler } from '../engine/handler.js';
import { SmartQueueError } from '../engine/errors.js';
import type { CheckpointStore } from '../engine/stages.js';
import type { HandlerModules } from '../engine/threads/run-in-thread.js';
import { startLocalWorkers } from './local-workers.js';
import type { LocalWorker } from '../engine/worker.js';
import type { TaskLogLine } from '../engine/worker.js';
import { createAvlBalancer } from '../plugins/balancer/avl/index.js';
import { createInProcessCoordinator } from '../plugins/coordinator/in-process/index.js';
import { createEwmaPredictor } from '../plugins/predictor/ewma/index.js';
import { createInProcessTransport } from '../plugins/transport/in-process/index.js';
import { openTracing } from '../plugins/telemetry/tracing/open.js';
import type { ResolvedTracingOptions } from '../plugins/telemetry/tracing/options.js';
import { openStore } from './open-store.js';

export { openStore } from './open-store.js';

export interface EmbeddedOptions {
  /**
   * The checkpoint store: a SQLite file path, or a store URL (`redis://`, `cassandra://`,
   * `memory:`; see runtime/open-store.ts); `false` keeps checkpoints in memory (durability off).
   * @default '.smartqueue/state.db'
   */
  statePath?: string | false;
  /** Local workers. @default 1 */
  workers?: number;
  /** Attempts each worker runs at once. @default max(4, cores * 2) */
  concurrency?: number;
  /** Shards (heaps). @default 4 */
  shards?: number;
  /** Extra handlers by name, added to the built-in run, sleep, http and noop. */
  handlers?: Record<string, TaskHandler> | HandlerRegistry;
  /** Base directory of `run` tasks' relative `cwd`. @default process.cwd() */
  baseDir?: string;
  /** Group-commit interval of the SQLite store in ms (0 = every event-loop turn). @default 0 */
  flushIntervalMs?: number;
  /**
   * Where the extra handlers come from (module file and export by name), so `thread: true` tasks
   * run them in a pool of worker threads. Without it, thread tasks run on the main thread.
   * @default none
   */
  handlerModules?: HandlerModules;
  /** Threads of that pool (0: thread tasks run on the main thread). @default os.availableParallelism() */
  threads?: number;
  /** Heap limit of each of those threads (MiB). @default Node's */
  threadHeapMb?: number;
  /** Receives what handlers log through `ctx.log` (dropped when unset). */
  logger?: (line: TaskLogLine) => void;
  /** Engine options passed through (aging, defaultEstimateMs, ...). */
  engine?: Partial<Omit<EngineOptions, 'store' | 'transport' | 'balancer' | 'coordinator'>>;
  /** Traces runs and attempts (plugins/telemetry/tracing). @default off */
  tracing?: ResolvedTracingOptions;
}

export const DEFAULT_STATE_PATH = path.join('.smartqueue', 'state.db');

/** An engine with its local workers; close it to flush checkpoints. */
export interface EmbeddedRuntime extends AsyncDisposable {
  engine: Engine;
  store: CheckpointStore;
  workers: LocalWorker[];
  close(): Promise<void>;
}

export async function createEmbeddedRuntime(options: EmbeddedOptions = {}): Promise<EmbeddedRuntime> {
  const workerCount = options.workers ?? 1;
  const concurrency = options.concurrency ?? Math.max(4, cpus().length * 2);
  if (!Number.isInteger(workerCount) || workerCount < 1)
    throw new SmartQueueError('INVALID_OPTIONS', 'workers must be a positive integer');
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new SmartQueueError('INVALID_OPTIONS', 'concurrency must be a positive integer');
  }
  const store = await openStore(options.statePath ?? DEFAULT_STATE_PATH, {
    flushIntervalMs: options.flushIntervalMs ?? 0,
  });
  const transport = createInProcessTransport();
  const balancer = createAvlBalancer();
  const coordinator = createInProcessCoordinator();
  const tracing = options.tracing && (await openTracing(options.tracing));
  const runTracer = tracing?.runTracer({ store: store.name });
  const engine = new Engine({
    predictor: createEwmaPredictor(),
    ...options.engine,
    store,
    transport,
    balancer,
    coordinator,
    ...(options.shards !== undefined && { shards: options.shards }),
    ...(runTracer && { tracing: runTracer }),
  });
  runTracer?.attach(engine.events);
  const local = await startLocalWorkers({
    engine,
    transport,
    balancer,
    count: workerCount,
    concurrency,
    idOf: (i) => `local-${i + 1}`,
    ...(options.handlers && { handlers: options.handlers }),
    ...(options.baseDir !== undefined && { baseDir: options.baseDir }),
    ...(options.logger && { logger: options.logger }),
    ...(options.handlerModules && { handlerModules: options.handlerModules }),
    ...(options.threads !== undefined && { threads: options.threads }),
    ...(options.threadHeapMb !== undefined && { threadHeapMb: options.threadHeapMb }),
    ...(tracing && { tracer: tracing.workerTracer({ kind: 'in-process' }) }),
  });
  const close = async () => {
    await engine.close();
    await local.close();
    await transport.close();
    await coordinator.close();
    await store.close();
    // Spans of runs left unfinished end here, then the batch still waiting is exported.
    runTracer?.close();
    await tracing?.shutdown();
  };
  return {
    engine,
    store,
    workers: local.workers,
    close,
    [Symbol.asyncDispose]: close,
  };
}
