/**
 * Every metric of a scheduler process (`smartqueue serve`, or the embedded runtime when asked):
 * task and run metrics from the engine's events (task-metrics.ts), and figures no event carries
 * (ready tasks per shard, frontier size, heap timings, workers, heartbeats, checkpoint batches,
 * shard ownership, Kafka producer, etcd lease renewals) read from their owners' `stats` or
 * listener hooks, mostly at scrape time in prom-client's `collect()`, so the hot paths stay free
 * of metrics code.
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import { expose, type Exposition } from './exposition.js';
import type { AnyRegistry } from './registry.js';
import type { EngineEventBus } from '../../../engine/events.js';
import type { RunState } from '../../../engine/frontier.js';
import type { OpSamples } from '../../../engine/op-sampler.js';
import {
  BATCH_BUCKETS,
  createMetricsRegistry,
  FLUSH_BUCKETS,
  HEAP_BUCKETS,
  pulledCounter,
} from './registry.js';
import { registerPredictionMetrics } from './prediction-metrics.js';
import type { PredictionStatsSource } from './prediction-metrics.js';
import { registerTaskMetrics } from './task-metrics.js';

/** What the metrics read from the engine at scrape time (an `Engine` fits). */
export interface EngineStatsSource {
  readyPerShard(): number[];
  activeRuns(): ReadonlyMap<string, Pick<RunState, 'tasks'>>;
  readonly heapTimings?: { drain(): OpSamples };
  /** The prediction loop (predicted load, recommendations, forecast errors). */
  readonly prediction?: PredictionStatsSource;
}

/** A checkpoint store as the metrics see it: its kind, and batch hooks when it group-commits. */
export interface CheckpointStatsSource {
  readonly name: string;
  readonly stats?: { readonly failedTransactions: number };
  onBatch?(listener: (batch: { seconds: number; writes: number; ok: boolean }) => void): () => void;
}

/** Worker liveness as the scheduler sees it. */
export interface WorkerStatsSource {
  /** Workers alive now and workers declared dead (not back yet). */
  workers(): { alive: number; dead: number };
  /** Heartbeat counters of the scheduler's tracker (monotonic). */
  heartbeats(): { received: number; missed: number };
}

/** Cluster shard ownership (etcd coordinator). */
export interface ClusterStatsSource {
  /** Ownership shards of the cluster. */
  shards: number;
  onShardsChanged(total: number, listener: (owned: ReadonlyMap<number, number>) => void): () => void;
  /** Shards owned now (the starting point; changes come through `onShardsChanged`). */
  ownedShards?(): number[];
  /** Shards no live instance owned at the last balancing pass. */
  unownedShards?(total: number): number | undefined;
  readonly leaseRenewals?: Readonly<{ ok: number; failed: number }>;
}

/** Options of {@link createSchedulerMetrics}. */
export interface SchedulerMetricsOptions {
  engineEvents: EngineEventBus;
  /** The engine's pulled figures; without it the shard, frontier, runs and heap gauges are left out. */
  engine?: EngineStatsSource;
  /** Ready tasks in total, when no `engine` is given (one unlabeled shard "all"). */
  readyTasks?: () => number;
  /** The checkpoint store (its kind labels `store`). @default none */
  checkpoint?: CheckpointStatsSource;
  /** Worker liveness and heartbeats. @default none */
  workers?: WorkerStatsSource;
  /** Cluster shard ownership; without it this process owns all `engineShards` and none is unowned. */
  cluster?: ClusterStatsSource;
  /** Shards of the engine, reported as owned when not clustered. @default readyPerShard().length */
  engineShards?: number;
  /** The Kafka transport's producer hook, when Kafka carries tasks. @default none */
  kafka?: { onProduced(listener: (role: string, valueBytes: number) => void): () => void };
  /** Registry to register in. @default createMetricsRegistry() (default process metrics, build info) */
  registry?: AnyRegistry;
}

/** Metrics and their registry; `close()` stops listening. */
export interface EngineMetrics {
  readonly registry: AnyRegistry;
  /** The exposition in the Prometheus text format. */
  text(): Promise<string>;
  /** The exposition `accept` asks for: OpenMetrics (with exemplars) or the Prometheus text. */
  exposition(accept?: string): Promise<Exposition>;
  close(): void;
}

/** Kafka message value sizes: 64 B to 1 MiB. */
const MESSAGE_BYTES_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576];

/** Registers every scheduler metric the given sources allow; see docs/metrics.md. */
export function createSchedulerMetrics(options: SchedulerMetricsOptions): EngineMetrics {
  const registry = options.registry ?? createMetricsRegistry();
  const registers = [registry];
  const stops: (() => void)[] = [registerTaskMetrics(registry, options.engineEvents)];
  const { engine } = options;

  if (engine || options.readyTasks) {
    const readyTasks = options.readyTasks;
    new Gauge({
      name: 'smartqueue_tasks_ready',
      help: 'Tasks whose needs are done, waiting in a shard heap for a worker, by shard.',
      labelNames: ['shard'] as const,
      registers,
      collect() {
        this.reset();
        if (engine) engine.readyPerShard().forEach((n, shard) => this.set({ shard: String(shard) }, n));
        else this.set({ shard: 'all' }, readyTasks!());
      },
    });
  }
  if (engine) {
    new Gauge({
      name: 'smartqueue_frontier_tasks',
      help: 'Tasks added to live runs and still waiting on their needs.',
      registers,
      collect() {
        this.set(countWaitingOnNeeds(engine.activeRuns()));
      },
    });
    new Gauge({
      name: 'smartqueue_runs_active',
      help: 'Runs live in this scheduler.',
      registers,
      collect() {
        this.set(engine.activeRuns().size);
      },
    });
    const timings = engine.heapTimings;
    if (timings) {
      new Histogram({
        name: 'smartqueue_heap_operation_seconds',
        help: 'Duration of shard-heap push and pop operations, sampled (1 operation in 64 is timed).',
        labelNames: ['op'] as const,
        buckets: HEAP_BUCKETS,
        registers,
        // Samples wait in the engine's ring until a scrape; they become observations here.
        collect() {
          const samples = timings.drain();
          for (const s of samples.push) this.observe({ op: 'push' }, s);
          for (const s of samples.pop) this.observe({ op: 'pop' }, s);
        },
      });
    }
  }

  if (engine?.prediction) registerPredictionMetrics(registry, engine.prediction);
  registerOwnership(registry, options, stops);
  registerCheckpoint(registry, options.checkpoint, stops);
  registerWorkers(registry, options.workers);

  if (options.kafka) {
    const produced = new Counter({
      name: 'smartqueue_kafka_messages_produced_total',
      help: 'Kafka messages acknowledged by the broker, by topic role.',
      labelNames: ['topic'] as const,
      registers,
    });
    const sizes = new Histogram({
      name: 'smartqueue_kafka_message_bytes',
      help: 'Sizes of produced Kafka message values, by topic role.',
      labelNames: ['topic'] as const,
      buckets: MESSAGE_BYTES_BUCKETS,
      registers,
    });
    stops.push(
      options.kafka.onProduced((topic, bytes) => {
        produced.inc({ topic });
        sizes.observe({ topic }, bytes);
      }),
    );
  }

  return {
    registry,
    text: async () => (await expose(registry)).body,
    exposition: (accept) => expose(registry, accept),
    close() {
      for (const stop of stops.splice(0)) stop();
    },
  };
}

/** Tasks of live runs still waiting on needs (`pending` with needs left). */
export function countWaitingOnNeeds(runs: ReadonlyMap<string, Pick<RunState, 'tasks'>>): number {
  let n = 0;
  for (const run of runs.values())
    for (const t of run.tasks.values()) if (t.status === 'pending' && t.needsLeft > 0) n++;
  return n;
}

function registerOwnership(registry: AnyRegistry, o: SchedulerMetricsOptions, stops: (() => void)[]): void {
  const registers = [registry];
  const cluster = o.cluster;
  let owned = new Set<number>(cluster?.ownedShards?.() ?? []);
  const moves = new Counter({
    name: 'smartqueue_shard_moves_total',
    help: 'Cluster shards this instance gained or lost.',
    labelNames: ['direction'] as const,
    registers,
  });
  if (cluster) {
    stops.push(
      cluster.onShardsChanged(cluster.shards, (next) => {
        const gained = [...next.keys()].filter((s) => !owned.has(s)).length;
        const lost = [...owned].filter((s) => !next.has(s)).length;
        if (gained) moves.inc({ direction: 'gained' }, gained);
        if (lost) moves.inc({ direction: 'lost' }, lost);
        owned = new Set(next.keys());
      }),
    );
  }
  const engine = o.engine;
  new Gauge({
    name: 'smartqueue_shards_owned',
    help: 'Shards this instance owns (all engine shards when not clustered).',
    registers,
    collect() {
      this.set(cluster ? owned.size : (o.engineShards ?? engine?.readyPerShard().length ?? 0));
    },
  });
  new Gauge({
    name: 'smartqueue_shards_unowned',
    help: 'Cluster shards no live scheduler owned at the last balancing pass, as this instance saw it (0 when not clustered).',
    registers,
    collect() {
      this.set(cluster ? (cluster.unownedShards?.(cluster.shards) ?? 0) : 0);
    },
  });
  const renewals = cluster?.leaseRenewals;
  if (renewals) {
    new Counter({
      name: 'smartqueue_etcd_lease_renewals_total',
      help: "Renewals (keep-alives) of this instance's etcd session lease, by result.",
      labelNames: ['result'] as const,
      registers,
      collect() {
        this.reset();
        this.inc({ result: 'ok' }, renewals.ok);
        this.inc({ result: 'failed' }, renewals.failed);
      },
    });
  }
}

function registerCheckpoint(
  registry: AnyRegistry,
  store: CheckpointStatsSource | undefined,
  stops: (() => void)[],
): void {
  if (!store) return;
  const registers = [registry];
  const labels = { store: store.name };
  if (store.onBatch) {
    const flush = new Histogram({
      name: 'smartqueue_checkpoint_flush_seconds',
      help: 'Duration of one checkpoint batch write (one transaction), by store.',
      labelNames: ['store'] as const,
      buckets: FLUSH_BUCKETS,
      registers,
    });
    const size = new Histogram({
      name: 'smartqueue_checkpoint_batch_size',
      help: 'Writes in one checkpoint batch, by store.',
      labelNames: ['store'] as const,
      buckets: BATCH_BUCKETS,
      registers,
    });
    const errors = new Counter({
      name: 'smartqueue_checkpoint_errors_total',
      help: 'Checkpoint batch writes that failed (some of their writes were rejected), by store.',
      labelNames: ['store'] as const,
      registers,
    });
    errors.inc(labels, 0);
    stops.push(
      store.onBatch((b) => {
        flush.observe(labels, b.seconds);
        size.observe(labels, b.writes);
        if (!b.ok) errors.inc(labels);
      }),
    );
    return;
  }
  const stats = store.stats;
  pulledCounter(
    registry,
    'smartqueue_checkpoint_errors_total',
    'Checkpoint batch writes that failed (their writes were rejected), by store.',
    () => stats?.failedTransactions ?? 0,
    labels,
  );
}

function registerWorkers(registry: AnyRegistry, source: WorkerStatsSource | undefined): void {
  if (!source) return;
  new Gauge({
    name: 'smartqueue_workers',
    help: 'Workers alive, and workers declared dead that have not come back.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const { alive, dead } = source.workers();
      this.set({ state: 'alive' }, alive);
      this.set({ state: 'dead' }, dead);
    },
  });
  pulledCounter(
    registry,
    'smartqueue_worker_missed_heartbeats_total',
    'Heartbeats the scheduler expected from its workers and did not get.',
    () => source.heartbeats().missed,
  );
  pulledCounter(
    registry,
    'smartqueue_worker_heartbeats_received_total',
    'Heartbeats received from workers (a registration counts as one).',
    () => source.heartbeats().received,
  );
}
