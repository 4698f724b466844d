/**
 * The series names SmartQueue's processes really export, read from the metrics module
 * (plugins/telemetry/metrics/) rather than from a list kept by hand: every optional source
 * (engine, checkpoint store, workers, cluster, Kafka) is given a stand-in so that every metric
 * registers, then the registry is listed. Histograms and summaries expand to the series
 * PromQL sees (`_bucket`, `_sum`, `_count`).
 */
import { EngineEventBus } from '../../../engine/events.js';
import {
  createMetricsRegistry,
  createSchedulerMetrics,
  createWorkerMetrics,
} from '../../../plugins/telemetry/metrics/index.js';
import { type AnyRegistry } from '../../../plugins/telemetry/metrics/registry.js';

const noop = () => () => {};

/** Every metric a scheduler registers when every source is present. */
function schedulerRegistry(): AnyRegistry {
  const metrics = createSchedulerMetrics({
    engineEvents: new EngineEventBus(),
    engine: {
      readyPerShard: () => [0],
      activeRuns: () => new Map(),
      heapTimings: { drain: () => ({ push: [], pop: [] }) },
      prediction: {
        stats: () => ({
          predictedArrivalsPerSecond: 0,
          arrivalModel: 'rate-ewma',
          recommendedWorkers: 1,
          recommendedShards: 1,
        }),
        drainErrors: () => [],
      },
    },
    checkpoint: { name: 'sqlite', stats: { failedTransactions: 0 }, onBatch: noop },
    workers: { workers: () => ({ alive: 0, dead: 0 }), heartbeats: () => ({ received: 0, missed: 0 }) },
    cluster: {
      shards: 1,
      onShardsChanged: noop,
      unownedShards: () => 0,
      leaseRenewals: { ok: 0, failed: 0 },
    },
    kafka: { onProduced: noop },
  });
  metrics.close();
  return metrics.registry;
}

/** Every metric a worker registers with a thread pool and the Kafka transport. */
function workerRegistry(): AnyRegistry {
  const metrics = createWorkerMetrics({
    capacity: 1,
    busy: () => 0,
    pool: () => undefined,
    kafka: { consumerLag: () => Promise.resolve(new Map()), stats: { delivered: 0, deadLettered: 0 } },
  });
  metrics.close();
  return metrics.registry;
}

/** Series names (as PromQL selects them) of every metric in the registries. */
function seriesNames(registries: AnyRegistry[]): Set<string> {
  const names = new Set<string>();
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name } = metric;
      // prom-client's typings say an enum, but the objects carry the type's name.
      const type = String(metric.type);
      if (type === 'histogram') names.add(`${name}_bucket`).add(`${name}_sum`).add(`${name}_count`);
      else if (type === 'summary') names.add(name).add(`${name}_sum`).add(`${name}_count`);
      else names.add(name);
    }
  }
  return names;
}

/** Every series name a SmartQueue scheduler or worker exports, default process metrics included. */
export function exportedSeriesNames(): Set<string> {
  return seriesNames([createMetricsRegistry(), schedulerRegistry(), workerRegistry()]);
}
