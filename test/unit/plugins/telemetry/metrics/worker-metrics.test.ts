/**
 * Worker-process metrics: attempts by handler and outcome (fed by a real LocalWorker's
 * `onAttemptFinished`), threads or slots, steals, heartbeats, Kafka lag and consumption, and
 * the small HTTP endpoint that serves them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../../engine/errors.js';
import type { TaskAssignment, TaskResult } from '../../../../../engine/stages.js';
import { LocalWorker } from '../../../../../engine/worker.js';
import {
  createWorkerMetrics,
  parseMetricsAddress,
  startMetricsEndpoint,
} from '../../../../../plugins/telemetry/metrics/index.js';
import type { MetricsEndpoint } from '../../../../../plugins/telemetry/metrics/index.js';
import { createInProcessTransport } from '../../../../../plugins/transport/in-process/index.js';
import { newMetricsRegistry } from '../../../../../plugins/telemetry/metrics/registry.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const num = (text: string, series: string) => {
  const l = text.split('\n').find((x) => x.startsWith(`${series} `));
  return l === undefined ? undefined : Number(l.slice(l.lastIndexOf(' ') + 1));
};

function assignment(taskId: string, name: string, extra: Partial<TaskAssignment> = {}): TaskAssignment {
  return {
    runId: 'r',
    taskId,
    attempt: 1,
    workerId: 'w',
    shard: 0,
    idempotencyKey: `r/${taskId}`,
    handler: { kind: 'uses', name, with: {} },
    inputs: {},
    params: {},
    ...extra,
  };
}

describe('worker metrics', () => {
  it('counts and times the attempts a LocalWorker finishes, by handler and outcome', async () => {
    const transport = createInProcessTransport();
    cleanups.push(() => transport.close());
    const results: TaskResult[] = [];
    transport.onResult((r) => results.push(r));
    let busy = 0;
    const metrics = createWorkerMetrics({ capacity: 4, busy: () => busy, registry: newMetricsRegistry() });
    const worker = new LocalWorker({
      id: 'w',
      capacity: 4,
      transport,
      handlers: new Map([
        ['ok', async () => ({})],
        ['bad', async () => Promise.reject(new Error('no'))],
        [
          'hang',
          (ctx) =>
            new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('x')))),
        ],
      ]),
      onAttemptFinished: (a, r) => metrics.attemptFinished(a, r),
    });
    await worker.start();
    cleanups.push(() => worker.close());
    await transport.dispatch(assignment('a', 'ok'));
    await transport.dispatch(assignment('b', 'ok'));
    await transport.dispatch(assignment('c', 'bad'));
    await transport.dispatch(assignment('d', 'hang', { timeoutMs: 10 }));
    await transport.dispatch({
      ...assignment('e', 'ignored'),
      handler: { kind: 'run', argv: ['secret', '--token=abc'] },
    });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (results.length === 5) {
          clearInterval(t);
          resolve();
        }
      }, 5);
    });
    busy = 1;
    const text = await metrics.text();
    expect(num(text, 'smartqueue_worker_attempts_total{handler="ok",outcome="succeeded"}')).toBe(2);
    expect(num(text, 'smartqueue_worker_attempts_total{handler="bad",outcome="failed"}')).toBe(1);
    expect(num(text, 'smartqueue_worker_attempts_total{handler="hang",outcome="timed_out"}')).toBe(1);
    // A `run` task is labelled by its kind; its argv never becomes a label.
    expect(num(text, 'smartqueue_worker_attempts_total{handler="run",outcome="failed"}')).toBe(1);
    expect(text).not.toContain('secret');
    expect(num(text, 'smartqueue_worker_attempt_seconds_count{handler="ok",outcome="succeeded"}')).toBe(2);
    // Without a pool, threads are the attempt slots.
    expect(num(text, 'smartqueue_worker_threads{state="busy"}')).toBe(1);
    expect(num(text, 'smartqueue_worker_threads{state="idle"}')).toBe(3);
  });

  it('counts attempt slots while the thread pool has not started', async () => {
    const metrics = createWorkerMetrics({
      capacity: 4,
      busy: () => 2,
      pool: () => ({ threads: 0, busy: 0, stealsAttempted: 0, stealsSucceeded: 0 }),
      registry: newMetricsRegistry(),
    });
    const text = await metrics.text();
    expect(num(text, 'smartqueue_worker_threads{state="busy"}')).toBe(2);
    expect(num(text, 'smartqueue_worker_threads{state="idle"}')).toBe(2);
  });

  it("reads the pool's threads and steals, counts heartbeats, and reads Kafka lag per partition", async () => {
    const pool = { threads: 8, busy: 5, stealsAttempted: 12, stealsSucceeded: 7 };
    let lagCalls = 0;
    const metrics = createWorkerMetrics({
      capacity: 4,
      busy: () => 0,
      pool: () => pool,
      kafka: {
        consumerLag: async () => {
          lagCalls++;
          if (lagCalls === 2) throw new Error('broker away');
          return new Map([
            [0, 3],
            [1, 0],
          ]);
        },
        stats: { delivered: 9, deadLettered: 1 },
      },
      registry: newMetricsRegistry(),
    });
    metrics.heartbeatSent();
    metrics.heartbeatSent();
    const text = await metrics.text();
    expect(num(text, 'smartqueue_worker_threads{state="busy"}')).toBe(5);
    expect(num(text, 'smartqueue_worker_threads{state="idle"}')).toBe(3);
    expect(num(text, 'smartqueue_worker_steals_total{result="attempted"}')).toBe(12);
    expect(num(text, 'smartqueue_worker_steals_total{result="succeeded"}')).toBe(7);
    expect(num(text, 'smartqueue_worker_heartbeats_sent_total')).toBe(2);
    expect(num(text, 'smartqueue_kafka_consumer_lag{partition="0"}')).toBe(3);
    expect(num(text, 'smartqueue_kafka_consumer_lag{partition="1"}')).toBe(0);
    expect(num(text, 'smartqueue_kafka_messages_consumed_total{topic="tasks"}')).toBe(10);
    // A failing lag query keeps the last figures instead of failing the scrape.
    const again = await metrics.text();
    expect(lagCalls).toBe(2);
    expect(num(again, 'smartqueue_kafka_consumer_lag{partition="0"}')).toBe(3);
  });
});

describe('the metrics endpoint', () => {
  it('serves /metrics over HTTP with the Prometheus content type, 404 elsewhere, and closes', async () => {
    const metrics = createWorkerMetrics({ capacity: 2, busy: () => 0, registry: newMetricsRegistry() });
    metrics.heartbeatSent();
    let endpoint: MetricsEndpoint | undefined = await startMetricsEndpoint('127.0.0.1:0', metrics);
    cleanups.push(() => endpoint?.close());
    expect(endpoint.port).toBeGreaterThan(0);
    const res = await fetch(`http://${endpoint.address}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toMatch(/^smartqueue_worker_heartbeats_sent_total 1$/m);
    expect((await fetch(`http://${endpoint.address}/other`)).status).toBe(404);
    expect((await fetch(`http://${endpoint.address}/metrics`, { method: 'POST' })).status).toBe(405);
    const address = endpoint.address;
    await endpoint.close();
    endpoint = undefined;
    await expect(fetch(`http://${address}/metrics`)).rejects.toThrow();
  });

  it('refuses a malformed address and one already in use with a typed error', async () => {
    expect(() => parseMetricsAddress('9465')).toThrow(SmartQueueError);
    expect(parseMetricsAddress('[::1]:9465')).toEqual({ host: '::1', port: 9465 });
    const metrics = createWorkerMetrics({ capacity: 1, busy: () => 0, registry: newMetricsRegistry() });
    const first = await startMetricsEndpoint('127.0.0.1:0', metrics);
    cleanups.push(() => first.close());
    await expect(startMetricsEndpoint(first.address, metrics)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
