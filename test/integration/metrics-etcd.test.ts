/**
 * Cluster metrics against a real etcd: two coordinators on one prefix share the shards; the
 * scheduler metrics of the first report the shards it owns, the moves (it gains all, then loses
 * some to the second instance), no unowned shard once balanced, and its session lease renewals.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { EngineEventBus } from '../../engine/events.js';
import { createEtcdCoordinator } from '../../plugins/coordinator/etcd/index.js';
import type { EtcdCoordinator } from '../../plugins/coordinator/etcd/index.js';
import { createSchedulerMetrics } from '../../plugins/telemetry/metrics/index.js';
import type { EngineMetrics } from '../../plugins/telemetry/metrics/index.js';
import { until } from '../support/processes.js';
import { probeService, serviceAddress, withService } from '../support/services.js';

const available = await probeService('etcd');
const TOTAL = 8;

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

withService('etcd', available, 'etcd cluster metrics', () => {
  const prefix = `sq-metrics-${randomUUID()}`;
  const coordinators: EtcdCoordinator[] = [];
  let metrics: EngineMetrics | undefined;

  afterEach(async () => {
    metrics?.close();
    await Promise.all(coordinators.splice(0).map((c) => c.close()));
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: serviceAddress('etcd') });
    try {
      await client.delete().prefix(`${prefix}/`);
    } finally {
      client.close();
    }
  });

  const start = async (instanceId: string) => {
    const c = await createEtcdCoordinator({
      endpoints: serviceAddress('etcd'),
      prefix,
      instanceId,
      leaseTtlMs: 2000,
      rebalanceIntervalMs: 300,
    });
    coordinators.push(c);
    return c;
  };

  it('reports owned shards, moves, unowned shards and lease renewals', async () => {
    const first = await start('m1');
    metrics = createSchedulerMetrics({
      engineEvents: new EngineEventBus(),
      registry: new Registry(),
      cluster: {
        shards: TOTAL,
        onShardsChanged: (total, l) => first.onShardsChanged(total, l),
        unownedShards: (total) => first.unownedShards(total),
        leaseRenewals: first.leaseRenewals,
      },
    });
    await first.shardOwnership(TOTAL);
    const alone = await until('the first instance to own every shard', 20_000, async () => {
      const t = await metrics!.text();
      return value(t, 'smartqueue_shards_owned') === TOTAL ? t : undefined;
    });
    expect(value(alone, 'smartqueue_shard_moves_total{direction="gained"}')).toBe(TOTAL);
    expect(value(alone, 'smartqueue_shards_unowned')).toBe(0);

    const second = await start('m2');
    await second.shardOwnership(TOTAL);
    const shared = await until('the shards to be shared out', 20_000, async () => {
      const t = await metrics!.text();
      return value(t, 'smartqueue_shards_owned') === TOTAL / 2 ? t : undefined;
    });
    expect(value(shared, 'smartqueue_shard_moves_total{direction="lost"}')).toBe(TOTAL / 2);
    // The session lease (2 s) is kept alive well within its TTL.
    const renewed = await until('a lease renewal', 20_000, async () => {
      const t = await metrics!.text();
      return (value(t, 'smartqueue_etcd_lease_renewals_total{result="ok"}') ?? 0) >= 1 ? t : undefined;
    });
    expect(value(renewed, 'smartqueue_etcd_lease_renewals_total{result="failed"}')).toBe(0);
  });
});
