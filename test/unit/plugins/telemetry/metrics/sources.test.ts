/**
 * The scheduler figures no event carries, read from their owners at scrape time: shard heaps,
 * frontier, heap timings, checkpoint batches (a real SQLite store), workers and heartbeats,
 * cluster shard ownership, Kafka producer and etcd lease renewals; and the hooks themselves
 * (op sampler, heartbeat monitor counters).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EngineEventBus } from '../../../../../engine/events.js';
import { HeartbeatMonitor } from '../../../../../engine/heartbeats.js';
import { OpSampler } from '../../../../../engine/op-sampler.js';
import { createSqliteCheckpointStore } from '../../../../../plugins/checkpoint/sqlite/index.js';
import {
  renderPrometheusText,
  createMetricsRegistry,
  createSchedulerMetrics,
  smartQueueVersion,
} from '../../../../../plugins/telemetry/metrics/index.js';
import type { EngineMetrics } from '../../../../../plugins/telemetry/metrics/index.js';
import { closeAllHarnesses, createHarness, finish, gate, plan } from '../../../engine/harness.js';
import { newMetricsRegistry } from '../../../../../plugins/telemetry/metrics/registry.js';

let metrics: EngineMetrics | undefined;
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  metrics?.close();
  metrics = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
  expect(await closeAllHarnesses()).toEqual([]);
});

const line = (text: string, series: string) =>
  text.split('\n').find((l) => l.startsWith(`${series} `) || l === series);
const num = (text: string, series: string) => {
  const l = line(text, series);
  return l === undefined ? undefined : Number(l.slice(l.lastIndexOf(' ') + 1));
};

describe('scheduler figures read at scrape time', () => {
  it('reports ready tasks per shard, the frontier, live runs and sampled heap timings from a real engine', async () => {
    const g = gate();
    const h = await createHarness({
      workers: 1,
      capacity: 1,
      engine: { shards: 2 },
      handlers: { wait: () => g.promise },
    });
    metrics = createSchedulerMetrics({
      engineEvents: h.engine.events,
      engine: h.engine,
      registry: newMetricsRegistry(),
    });
    // One worker slot: `x` runs, y and z wait ready; `after` waits on its need.
    const runId = await h.engine.startRun(
      plan({
        tasks: [
          { id: 'x', uses: 'wait' },
          { id: 'y', uses: 'wait' },
          { id: 'z', uses: 'wait' },
          { id: 'after', uses: 'wait', needs: ['x', 'y'] },
        ],
      }),
    );
    await new Promise((r) => setImmediate(r));
    const text = await metrics.text();
    const ready = [0, 1].map((s) => num(text, `smartqueue_tasks_ready{shard="${s}"}`) ?? 0);
    expect(ready[0]! + ready[1]!).toBe(2);
    expect(h.engine.readyPerShard()).toEqual(ready);
    expect(num(text, 'smartqueue_frontier_tasks')).toBe(1);
    expect(num(text, 'smartqueue_runs_active')).toBe(1);
    expect(num(text, 'smartqueue_shards_owned')).toBe(2);
    expect(num(text, 'smartqueue_shards_unowned')).toBe(0);
    // The first push and the first pop are always timed.
    expect(num(text, 'smartqueue_heap_operation_seconds_count{op="push"}')).toBeGreaterThanOrEqual(1);
    expect(num(text, 'smartqueue_heap_operation_seconds_count{op="pop"}')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('smartqueue_heap_operation_seconds_bucket{le="1e-7",op="push"}');
    g.open();
    expect(await finish(h.engine, runId)).toBe('succeeded');
  });

  it('times checkpoint batches of a SQLite store and sizes them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sq-metrics-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await createSqliteCheckpointStore({ path: join(dir, 'state.db') });
    cleanups.push(() => store.close());
    metrics = createSchedulerMetrics({
      engineEvents: new EngineEventBus(),
      checkpoint: store,
      registry: newMetricsRegistry(),
    });
    await store.createRun(
      {
        runId: 'r1',
        workflowName: 'w',
        workflow: {},
        params: {},
        status: 'running',
        shardKey: 'r1',
        createdAt: 1,
      },
      ['a', 'b'],
    );
    await store.flush();
    const text = await metrics.text();
    const batches = num(text, 'smartqueue_checkpoint_flush_seconds_count{store="sqlite"}')!;
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBe(store.stats.transactions);
    expect(num(text, 'smartqueue_checkpoint_batch_size_sum{store="sqlite"}')).toBe(store.stats.writes);
    expect(num(text, 'smartqueue_checkpoint_errors_total{store="sqlite"}')).toBe(0);
  });

  it("counts checkpoint errors from the store's failed batches", async () => {
    const stats = { failedTransactions: 0 };
    metrics = createSchedulerMetrics({
      engineEvents: new EngineEventBus(),
      checkpoint: { name: 'redis', stats },
      registry: newMetricsRegistry(),
    });
    stats.failedTransactions = 2;
    const text = await metrics.text();
    expect(num(text, 'smartqueue_checkpoint_errors_total{store="redis"}')).toBe(2);
    // Without batch hooks (the memory store) there is no batch histogram to fake.
    expect(text).not.toContain('smartqueue_checkpoint_flush_seconds');
  });

  it('reports workers, heartbeats, shard ownership and moves, Kafka messages and etcd renewals from their sources', async () => {
    let ownedListener: ((owned: ReadonlyMap<number, number>) => void) | undefined;
    let produced: ((role: string, bytes: number) => void) | undefined;
    const renewals = { ok: 4, failed: 1 };
    metrics = createSchedulerMetrics({
      engineEvents: new EngineEventBus(),
      registry: newMetricsRegistry(),
      workers: { workers: () => ({ alive: 3, dead: 1 }), heartbeats: () => ({ received: 17, missed: 2 }) },
      cluster: {
        shards: 8,
        ownedShards: () => [0, 1],
        onShardsChanged: (total, l) => {
          expect(total).toBe(8);
          ownedListener = l;
          return () => (ownedListener = undefined);
        },
        unownedShards: () => 3,
        leaseRenewals: renewals,
      },
      kafka: {
        onProduced: (l) => {
          produced = l;
          return () => (produced = undefined);
        },
      },
    });
    ownedListener!(
      new Map([
        [1, 5],
        [2, 6],
        [3, 7],
      ]),
    );
    produced!('tasks', 300);
    produced!('tasks', 100);
    produced!('control', 10);
    const text = await metrics.text();
    expect(num(text, 'smartqueue_workers{state="alive"}')).toBe(3);
    expect(num(text, 'smartqueue_workers{state="dead"}')).toBe(1);
    expect(num(text, 'smartqueue_worker_heartbeats_received_total')).toBe(17);
    expect(num(text, 'smartqueue_worker_missed_heartbeats_total')).toBe(2);
    expect(num(text, 'smartqueue_shards_owned')).toBe(3);
    expect(num(text, 'smartqueue_shard_moves_total{direction="gained"}')).toBe(2);
    expect(num(text, 'smartqueue_shard_moves_total{direction="lost"}')).toBe(1);
    expect(num(text, 'smartqueue_shards_unowned')).toBe(3);
    expect(num(text, 'smartqueue_kafka_messages_produced_total{topic="tasks"}')).toBe(2);
    expect(num(text, 'smartqueue_kafka_message_bytes_sum{topic="tasks"}')).toBe(400);
    expect(num(text, 'smartqueue_etcd_lease_renewals_total{result="ok"}')).toBe(4);
    renewals.ok = 6;
    expect(num(await metrics.text(), 'smartqueue_etcd_lease_renewals_total{result="ok"}')).toBe(6);
    metrics.close();
    expect(ownedListener).toBeUndefined();
    expect(produced).toBeUndefined();
  });

  it('registers the default process metrics without a prefix and smartqueue_build_info', async () => {
    const text = renderPrometheusText(
      (await createMetricsRegistry().getMetricsAsJSON()) as unknown as Parameters<
        typeof renderPrometheusText
      >[0],
    );
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
    expect(smartQueueVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(text).toContain(`smartqueue_build_info{version="${smartQueueVersion()}"} 1`);
  });
});

describe('the hooks', () => {
  it('OpSampler times one operation in `every`, keeps the newest `capacity` samples, and drains them', () => {
    const s = new OpSampler({ every: 4, capacity: 3 });
    const timed = Array.from({ length: 9 }, () => s.shouldTime('push'));
    expect(timed).toEqual([true, false, false, false, true, false, false, false, true]);
    for (const ms of [1, 2, 3, 4]) s.record('push', ms);
    s.record('pop', 5);
    expect(s.drain()).toEqual({ push: [0.002, 0.003, 0.004], pop: [0.005] });
    expect(s.drain()).toEqual({ push: [], pop: [] });
  });

  it('HeartbeatMonitor counts received and missed heartbeats once each, and remembers the dead until they return', () => {
    let now = 0;
    const dead: string[] = [];
    const m = new HeartbeatMonitor({
      intervalMs: 100,
      missedLimit: 3,
      now: () => now,
      onDead: (id) => dead.push(id),
    });
    m.beat('w1');
    m.beat('w2');
    now = 90;
    m.check();
    expect(m.stats).toEqual({ received: 2, missed: 0 });
    now = 150; // one interval of silence each
    m.beat('w2');
    m.check();
    expect(m.stats.missed).toBe(1);
    m.check(); // counted once, not at every check
    expect(m.stats.missed).toBe(1);
    now = 230;
    m.check();
    now = 310; // w1: 3 intervals silent, dead after the limit
    m.check();
    now = 390;
    m.check();
    expect(dead).toEqual(['w1']);
    expect(m.deadCount).toBe(1);
    expect(m.stats.missed).toBeGreaterThanOrEqual(3 + 1);
    m.beat('w1');
    expect(m.deadCount).toBe(0);
    expect(m.stats.received).toBe(4);
  });
});
