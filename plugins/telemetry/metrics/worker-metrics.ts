/**
 * Metrics of a worker process (`smartqueue worker`, gRPC or Kafka): its attempts by handler and
 * outcome, its threads (or attempt slots), steals, heartbeats sent, and, on Kafka, the consumer
 * lag and the task messages it consumed. Attempts arrive through the worker's
 * `onAttemptFinished` hook; the rest is read at scrape time.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { expose } from './exposition.js';
import type { AnyRegistry } from './registry.js';
import type { TaskAssignment, TaskResult } from '../../../engine/stages.js';
import type { AttemptOutcome } from './task-metrics.js';
import { createMetricsRegistry, LATENCY_BUCKETS, pulledCounter } from './registry.js';
import type { EngineMetrics } from './scheduler-metrics.js';

/** The thread pool's figures (engine/threads: `ThreadRunner.stats()`). */
export interface WorkerPoolStats {
  threads: number;
  busy: number;
  stealsAttempted: number;
  stealsSucceeded: number;
}

/** How long a scrape waits for the brokers' offsets before serving the last lag figures (ms). */
const LAG_TIMEOUT_MS = 2000;

/** Options of {@link createWorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Attempts the worker runs at once. */
  capacity: number;
  /** Attempts running now. */
  busy: () => number;
  /**
   * The thread pool's figures, when the worker has one (undefined until it starts). With a pool,
   * `smartqueue_worker_threads` counts its threads; without, the worker's attempt slots.
   * @default none
   */
  pool?: () => WorkerPoolStats | undefined;
  /** The Kafka transport of a Kafka worker (consumer lag, consumed messages). @default none */
  kafka?: {
    consumerLag(): Promise<Map<number, number>>;
    readonly stats: { readonly delivered: number; readonly deadLettered: number };
  };
  /** Registry to register in. @default createMetricsRegistry() */
  registry?: AnyRegistry;
}

/** A worker's metrics: feed it attempts and heartbeats, serve `text()`. */
export interface WorkerMetrics extends EngineMetrics {
  /** An attempt finished (pass as the worker's `onAttemptFinished`). */
  attemptFinished(assignment: TaskAssignment, result: TaskResult): void;
  /** A heartbeat went out. */
  heartbeatSent(): void;
}

/** How a result ended, as the `outcome` label says it. */
export function outcomeOf(result: TaskResult): AttemptOutcome {
  if (result.ok) return 'succeeded';
  if (result.error?.cancelled) return 'cancelled';
  if (result.error?.timedOut) return 'timed_out';
  return 'failed';
}

/** Registers the worker metrics; see docs/metrics.md. */
export function createWorkerMetrics(options: WorkerMetricsOptions): WorkerMetrics {
  const registry = options.registry ?? createMetricsRegistry();
  const registers = [registry];
  const attempts = new Counter({
    name: 'smartqueue_worker_attempts_total',
    help: 'Attempts this worker ran, by handler and outcome.',
    labelNames: ['handler', 'outcome'] as const,
    registers,
  });
  const attemptSeconds = new Histogram({
    name: 'smartqueue_worker_attempt_seconds',
    help: 'Run time of the attempts this worker ran, by handler and outcome.',
    labelNames: ['handler', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const heartbeats = new Counter({
    name: 'smartqueue_worker_heartbeats_sent_total',
    help: 'Heartbeats this worker sent.',
    registers,
  });
  const { pool, capacity, busy } = options;
  new Gauge({
    name: 'smartqueue_worker_threads',
    help: 'Threads of the worker pool (or attempt slots, without a pool) that are busy or idle.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      // The pool starts with the first thread task: until then, count the attempt slots.
      const p = pool?.();
      const threads = p && p.threads > 0 ? p : undefined;
      const total = threads ? threads.threads : capacity;
      const used = Math.min(total, threads ? threads.busy : busy());
      this.set({ state: 'busy' }, used);
      this.set({ state: 'idle' }, total - used);
    },
  });
  new Counter({
    name: 'smartqueue_worker_steals_total',
    help: "Work steals between the pool's threads, attempted and succeeded.",
    labelNames: ['result'] as const,
    registers,
    collect() {
      const p = pool?.();
      this.reset();
      this.inc({ result: 'attempted' }, p?.stealsAttempted ?? 0);
      this.inc({ result: 'succeeded' }, p?.stealsSucceeded ?? 0);
    },
  });
  const kafka = options.kafka;
  if (kafka) {
    new Gauge({
      name: 'smartqueue_kafka_consumer_lag',
      help: "Task messages not yet committed by the workers' consumer group, by partition (high watermark minus committed offset).",
      labelNames: ['partition'] as const,
      registers,
      async collect() {
        // A slow or absent broker must not fail the whole scrape: the last figures stay.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), LAG_TIMEOUT_MS).unref();
        });
        const lag = await Promise.race([kafka.consumerLag().catch(() => undefined), timeout]);
        clearTimeout(timer);
        if (!lag) return;
        this.reset();
        for (const [partition, n] of lag) this.set({ partition: String(partition) }, n);
      },
    });
    pulledCounter(
      registry,
      'smartqueue_kafka_messages_consumed_total',
      'Messages this worker consumed, by topic role.',
      () => kafka.stats.delivered + kafka.stats.deadLettered,
      { topic: 'tasks' },
    );
  }
  return {
    registry,
    text: async () => (await expose(registry)).body,
    exposition: (accept) => expose(registry, accept),
    attemptFinished(a, result) {
      const handler = a.handler.kind === 'run' ? 'run' : a.handler.name;
      const outcome = outcomeOf(result);
      attempts.inc({ handler, outcome });
      attemptSeconds.observe({ handler, outcome }, Math.max(0, result.finishedAt - result.startedAt) / 1000);
    },
    heartbeatSent: () => heartbeats.inc(),
    close() {},
  };
}
