/**
 * Kafka metrics against the real broker: a server whose tasks go over Kafka counts the messages
 * it produced by topic role (and their sizes); a CLI Kafka worker (`worker --transport kafka://
 * --metrics-address`) reports the task messages it consumed, its heartbeats, and the consumer
 * group's lag per partition (0 once everything is committed). Own topic prefix, deleted after.
 * Runs bin/smartqueue.js, so `npm run build` first.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { createSmartQueueClient } from '../../plugins/api/grpc/client.js';
import { createServer } from '../../runtime/server.js';
import type { SmartQueueServer } from '../../runtime/server.js';
import { killAllCli, startCli, until } from '../support/processes.js';
import { probeService, serviceAddress, withService } from '../support/services.js';

const available = await probeService('kafka');

const YAML = `apiVersion: smartqueue/v1
kind: Workflow
metadata: { name: kafka-metrics }
spec:
  tasks:
    - { id: a, uses: noop }
    - { id: b, uses: noop, needs: [a] }
    - { id: c, uses: noop, needs: [a] }
`;

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

withService('kafka', available, 'Kafka metrics', () => {
  let server: SmartQueueServer | undefined;
  let prefix: string | undefined;

  afterEach(async () => {
    const left = await killAllCli();
    await server?.close();
    server = undefined;
    if (prefix) {
      const { Kafka, logLevel } = await import('kafkajs');
      const admin = new Kafka({ brokers: [serviceAddress('kafka')], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
      if (topics.length) await admin.deleteTopics({ topics });
      await admin.disconnect();
      prefix = undefined;
    }
    expect(left.filter((p) => p.child.signalCode === 'SIGKILL').map((p) => p.name)).toEqual([]);
  });

  it('counts produced and consumed messages, heartbeats and consumer lag per partition', async () => {
    prefix = `sq-metrics-${randomUUID().slice(0, 8)}`;
    const url = `kafka://${serviceAddress('kafka')}?prefix=${prefix}&partitions=2&heartbeatIntervalMs=200`;
    server = await createServer({
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      statePath: false,
      transport: url,
    });
    const worker = startCli('kafka-worker', [
      'worker',
      '--transport',
      url,
      '--metrics-address',
      '127.0.0.1:0',
    ]);
    const metricsUrl = await until('the worker metrics address', 60_000, () => {
      if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.output()}`);
      return /metrics on (http:\/\/\S+\/metrics)/.exec(worker.output())?.[1];
    });
    await until(
      'the scheduler to hear of the worker',
      60_000,
      () => server!.kafka!.workers().length === 1,
      100,
    );

    const client = createSmartQueueClient(server.address);
    let runId: string;
    try {
      ({ runId } = await client.submitWorkflow({ yaml: YAML }));
    } finally {
      client.close();
    }
    expect(await server.engine.waitForRun(runId)).toBe('succeeded');

    const scheduler = await (await fetch(`http://${server.httpAddress!}/metrics`)).text();
    expect(value(scheduler, 'smartqueue_kafka_messages_produced_total{topic="tasks"}')).toBe(
      server.kafka!.stats.dispatched,
    );
    expect(server.kafka!.stats.dispatched).toBe(3);
    expect(value(scheduler, 'smartqueue_kafka_message_bytes_count{topic="tasks"}')).toBe(3);
    expect(value(scheduler, 'smartqueue_kafka_message_bytes_sum{topic="tasks"}')).toBeGreaterThan(3 * 50);
    expect(value(scheduler, 'smartqueue_workers{state="alive"}')).toBe(1);
    // The Kafka worker's heartbeats, as the scheduler's membership received them.
    expect(value(scheduler, 'smartqueue_worker_heartbeats_received_total')).toBeGreaterThanOrEqual(1);

    // The worker commits offsets with its results; lag reaches 0 on both partitions.
    const text = await until(
      'the worker to report zero lag',
      30_000,
      async () => {
        const t = await (await fetch(metricsUrl)).text();
        const lag = [0, 1].map((p) => value(t, `smartqueue_kafka_consumer_lag{partition="${p}"}`));
        return lag.every((l) => l === 0) && (value(t, 'smartqueue_worker_heartbeats_sent_total') ?? 0) >= 1
          ? t
          : undefined;
      },
      200,
    );
    expect(value(text, 'smartqueue_kafka_messages_consumed_total{topic="tasks"}')).toBe(3);
    expect(value(text, 'smartqueue_worker_attempts_total{handler="noop",outcome="succeeded"}')).toBe(3);

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});
