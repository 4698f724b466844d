/**
 * Workers inside this process, shared by the embedded runtime and the server: the built-in
 * handlers plus the extra ones, a thread pool for `thread: true` tasks of handlers that come
 * from a module, and `count` LocalWorkers on the in-process transport, joined to the balancer.
 */
import type { Engine } from '../engine/engine.js';
import type { HandlerRegistry, TaskHandler } from '../engine/handler.js';
import type { AttemptTracer, Balancer, Transport } from '../engine/stages.js';
import { createThreadRunner } from '../engine/threads/run-in-thread.js';
import type { HandlerModules } from '../engine/threads/run-in-thread.js';
import { LocalWorker } from '../engine/worker.js';
import type { TaskLogLine } from '../engine/worker.js';
import { builtinHandlers } from '../plugins/handlers/index.js';

export interface LocalWorkersOptions {
  engine: Engine;
  transport: Transport;
  balancer: Balancer;
  count: number;
  concurrency: number;
  /** Worker id of the i-th worker (0-based). */
  idOf: (i: number) => string;
  handlers?: Record<string, TaskHandler> | HandlerRegistry;
  baseDir?: string;
  logger?: (line: TaskLogLine) => void;
  handlerModules?: HandlerModules;
  threads?: number;
  threadHeapMb?: number;
  /** Runs each attempt in its trace span (plugins/telemetry/tracing). @default untraced */
  tracer?: AttemptTracer;
}

export interface LocalWorkers {
  workers: LocalWorker[];
  /** Stops the workers (running attempts are aborted), then the thread pool. */
  close(): Promise<void>;
}

export async function startLocalWorkers(o: LocalWorkersOptions): Promise<LocalWorkers> {
  const registry = new Map<string, TaskHandler>(
    builtinHandlers({ run: { baseDir: o.baseDir ?? process.cwd() } }),
  );
  const extra = o.handlers instanceof Map ? o.handlers : new Map(Object.entries(o.handlers ?? {}));
  for (const [name, h] of extra) registry.set(name, h);
  const threads =
    o.handlerModules && o.threads !== 0
      ? createThreadRunner({
          modules: o.handlerModules,
          ...(o.threads !== undefined && { threads: o.threads }),
          ...(o.threadHeapMb !== undefined && { maxHeapMb: o.threadHeapMb }),
        })
      : undefined;
  const workers: LocalWorker[] = [];
  for (let i = 0; i < o.count; i++) {
    const id = o.idOf(i);
    const worker = new LocalWorker({
      id,
      capacity: o.concurrency,
      transport: o.transport,
      handlers: registry,
      runHandlers: (runId) => o.engine.activeRuns().get(runId)?.handlers,
      ...(o.logger && { logger: o.logger }),
      progress: (report) => o.engine.recordProgress(report),
      ...(threads && { threads }),
      ...(o.tracer && { tracer: o.tracer }),
    });
    await worker.start();
    o.balancer.join({ id, capacity: o.concurrency });
    workers.push(worker);
  }
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await threads?.close();
    },
  };
}
