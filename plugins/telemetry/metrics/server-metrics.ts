/**
 * Wires the scheduler metrics of `smartqueue serve` to the parts of a server: the engine, the
 * checkpoint store, the remote workers' transport, and (when configured) Kafka and the etcd
 * cluster. Everything is typed structurally, so this file needs none of those modules.
 */
import type { EngineEventBus } from '../../../engine/events.js';
import { createSchedulerMetrics } from './scheduler-metrics.js';
import type {
  CheckpointStatsSource,
  ClusterStatsSource,
  EngineMetrics,
  EngineStatsSource,
} from './scheduler-metrics.js';

/** The parts of a running server the metrics read. */
export interface ServerMetricsParts {
  engine: EngineStatsSource & { readonly events: EngineEventBus };
  store: CheckpointStatsSource;
  /** Workers connected over gRPC, and the heartbeat tracker's figures. */
  remote: {
    workers(): string[];
    heartbeatStats(): { received: number; missed: number; dead: number };
  };
  /** Workers inside the server process. */
  localWorkers: number;
  kafka?: {
    workers(): string[];
    heartbeatStats(): { received: number; missed: number; dead: number };
    onProduced(listener: (role: string, valueBytes: number) => void): () => void;
  };
  /** The cluster member and its coordinator, in cluster mode. */
  cluster?: {
    readonly options: { readonly shards: number };
    ownedShards(): number[];
  };
  coordinator?: {
    onShardsChanged?(total: number, listener: (owned: ReadonlyMap<number, number>) => void): () => void;
    unownedShards?(total: number): number | undefined;
    readonly leaseRenewals?: Readonly<{ ok: number; failed: number }>;
  };
}

/** The metrics `serve` exposes at /metrics (see docs/metrics.md). */
export function createServerMetrics(parts: ServerMetricsParts): EngineMetrics {
  const { engine, remote, kafka, cluster, coordinator } = parts;
  // gRPC and Kafka workers together.
  const heartbeats = () => {
    const r = remote.heartbeatStats();
    const k = kafka?.heartbeatStats() ?? { received: 0, missed: 0, dead: 0 };
    return { received: r.received + k.received, missed: r.missed + k.missed, dead: r.dead + k.dead };
  };
  let clusterSource: ClusterStatsSource | undefined;
  if (cluster && coordinator?.onShardsChanged) {
    const c = coordinator;
    clusterSource = {
      shards: cluster.options.shards,
      onShardsChanged: (total, listener) => c.onShardsChanged!(total, listener),
      ownedShards: () => cluster.ownedShards(),
      ...(c.unownedShards && { unownedShards: (total: number) => c.unownedShards!(total) }),
      ...(c.leaseRenewals && { leaseRenewals: c.leaseRenewals }),
    };
  }
  return createSchedulerMetrics({
    engineEvents: engine.events,
    engine,
    checkpoint: parts.store,
    workers: {
      workers: () => ({
        alive: remote.workers().length + parts.localWorkers + (kafka?.workers().length ?? 0),
        dead: heartbeats().dead,
      }),
      heartbeats,
    },
    ...(clusterSource && { cluster: clusterSource }),
    ...(kafka && { kafka }),
  });
}
