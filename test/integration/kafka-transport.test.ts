/**
 * The Kafka transport against a real broker: throughput with transactions, redelivery after a
 * worker goes away uncommitted, dead letters, trace headers, added partitions, and membership
 * by heartbeats. Every test uses its own topic prefix and deletes its topics afterwards.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskAssignment, TaskResult, WorkerEndpoint } from '../../engine/stages.js';
import { createAvlBalancer } from '../../plugins/balancer/avl/avl-balancer.js';
import { SmartQueueError } from '../../engine/errors.js';
import {
  KAFKA_HEADERS,
  createKafkaTransport,
  kafkaTransportOptionsFromUrl,
  resolveKafkaTransportOptions,
  type KafkaTransport,
  type KafkaTransportOptions,
} from '../../plugins/transport/kafka/index.js';
import { probeService, serviceAddress, withService } from '../support/services.js';

const available = await probeService('kafka');
const brokers = [serviceAddress('kafka').replace(/^[a-z]+:\/\//, '')];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(what: string, done: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(10);
  }
}

describe('Kafka transport options', () => {
  it('reads a kafka:// URL and applies defaults', () => {
    const raw = kafkaTransportOptionsFromUrl(
      'kafka://k1:9092,k2:9093?prefix=sq&partitions=12&transactions=false&replicationFactor=3',
    );
    const o = resolveKafkaTransportOptions({ ...raw, minInsyncReplicas: 2 });
    expect(o.brokers).toEqual(['k1:9092', 'k2:9093']);
    expect(o.topics.tasks).toBe('sq.tasks');
    expect(o.groupId).toBe('sq.workers');
    expect([o.partitions, o.transactions, o.replicationFactor, o.minInsyncReplicas]).toEqual([
      12,
      false,
      3,
      2,
    ]);
    expect([o.role, o.missedHeartbeats, o.logLevel]).toEqual(['both', 3, 'nothing']);
    expect(kafkaTransportOptionsFromUrl('kafkas://k1:9092').ssl).toBe(true);
  });

  it('names every problem in one INVALID_OPTIONS error', () => {
    let error: unknown;
    try {
      resolveKafkaTransportOptions({
        brokers: ['nohost'],
        partitions: 0,
        role: 'boss' as 'worker',
        minInsyncReplicas: 2,
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SmartQueueError);
    expect((error as SmartQueueError).code).toBe('INVALID_OPTIONS');
    const message = (error as SmartQueueError).message;
    for (const part of ['nohost', 'partitions', 'role', 'minInsyncReplicas']) expect(message).toContain(part);
    expect(() => kafkaTransportOptionsFromUrl('kafka://k:1?bogus=1')).toThrow(/unknown parameter bogus/);
  });
});

withService('kafka', available, 'Kafka transport integration', () => {
  describe('Kafka transport', () => {
    let prefix: string;
    const open: KafkaTransport[] = [];
    const kafka = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });

    async function transport(extra: Partial<KafkaTransportOptions> = {}): Promise<KafkaTransport> {
      const t = await createKafkaTransport({
        brokers,
        prefix,
        partitions: 8,
        sessionTimeoutMs: 6000,
        consumerHeartbeatIntervalMs: 500,
        rebalanceTimeoutMs: 6000,
        maxWaitTimeInMs: 100,
        ...extra,
      });
      open.push(t);
      return t;
    }

    function assignment(
      runId: string,
      taskId: string,
      shard: number,
      extra: Partial<TaskAssignment> = {},
    ): TaskAssignment {
      return {
        runId,
        taskId,
        attempt: 1,
        workerId: 'advice',
        shard,
        idempotencyKey: `${runId}/${taskId}`,
        handler: { kind: 'uses', name: 'sleep', with: {} },
        inputs: {},
        params: {},
        ...extra,
      };
    }

    function result(a: TaskAssignment, workerId: string): TaskResult {
      return {
        runId: a.runId,
        taskId: a.taskId,
        attempt: a.attempt,
        workerId,
        ok: true,
        startedAt: 1,
        finishedAt: 2,
      };
    }

    /** An endpoint that runs every task (after a short random delay) and publishes its result. */
    function runner(t: KafkaTransport, workerId: string, seen: TaskAssignment[]): WorkerEndpoint {
      return {
        onTask: (a) => {
          seen.push(a);
          setTimeout(() => void t.publishResult(result(a, workerId)).catch(() => {}), Math.random() * 5);
        },
        onCancel: () => {},
      };
    }

    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
      const admin = kafka.admin();
      await admin.connect();
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
      if (topics.length) await admin.deleteTopics({ topics });
      await admin.disconnect();
    });

    it('delivers 500 assignments over 8 partitions to 2 workers, each result exactly once (transactions)', async () => {
      prefix = `sq-it-${randomUUID().slice(0, 8)}`;
      const scheduler = await transport({ role: 'scheduler' });
      const [wa, wb] = [await transport({ role: 'worker' }), await transport({ role: 'worker' })];
      const seenA: TaskAssignment[] = [];
      const seenB: TaskAssignment[] = [];
      await wa.subscribe('wa', runner(wa, 'wa', seenA));
      await wb.subscribe('wb', runner(wb, 'wb', seenB));
      const runId = `run-${randomUUID()}`;
      const results: TaskResult[] = [];
      scheduler.onResult((r) => {
        if (r.runId === runId) results.push(r);
      });
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 500 }, (_, i) => scheduler.dispatch(assignment(runId, `t${i}`, i))),
      );
      await until('500 results', () => new Set(results.map((r) => r.taskId)).size === 500);
      const elapsed = Date.now() - started;
      await sleep(1000);
      expect(results).toHaveLength(500);
      expect(new Set(results.map((r) => r.taskId)).size).toBe(500);
      const byWorker = { wa: 0, wb: 0 } as Record<string, number>;
      for (const r of results) byWorker[r.workerId] = (byWorker[r.workerId] ?? 0) + 1;
      expect(byWorker.wa).toBeGreaterThan(0);
      expect(byWorker.wb).toBeGreaterThan(0);
      expect(seenA.length + seenB.length).toBe(500);
      expect(scheduler.stats.dispatched).toBe(500);
      expect(scheduler.stats.results).toBe(500);
      // Results finished close together share a transaction.
      const transactions = wa.stats.transactions + wb.stats.transactions;
      expect(transactions).toBeGreaterThan(0);
      expect(transactions).toBeLessThan(500);
      process.stderr.write(
        `kafka transport: 500 tasks round trip in ${elapsed} ms (${Math.round(500_000 / elapsed)}/s), ${transactions} transactions\n`,
      );
    }, 60_000);

    it('redelivers the uncommitted tasks of a worker that went away to the other worker', async () => {
      prefix = `sq-it-${randomUUID().slice(0, 8)}`;
      const scheduler = await transport({ role: 'scheduler' });
      const [wa, wb] = [await transport({ role: 'worker' }), await transport({ role: 'worker' })];
      // Worker A takes tasks and never reports them (it "crashes" before publishing).
      const takenByA: TaskAssignment[] = [];
      const leaveA = await wa.subscribe('wa', { onTask: (a) => void takenByA.push(a), onCancel: () => {} });
      const seenB: TaskAssignment[] = [];
      await wb.subscribe('wb', runner(wb, 'wb', seenB));
      const runId = `run-${randomUUID()}`;
      const results = new Map<string, TaskResult>();
      scheduler.onResult((r) => {
        if (r.runId === runId) results.set(r.taskId, r);
      });
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => scheduler.dispatch(assignment(runId, `t${i}`, i))),
      );
      await until('every task taken', () => takenByA.length + results.size === 100);
      expect(takenByA.length).toBeGreaterThan(0);
      expect(results.size).toBeLessThan(100);
      await leaveA(); // its consumer leaves without committing
      await until('every task to have a result', () => results.size === 100);
      for (const a of takenByA) expect(results.get(a.taskId)?.workerId).toBe('wb');
      const redelivered = seenB.filter((a) => takenByA.some((x) => x.taskId === a.taskId)).length;
      expect(redelivered).toBe(takenByA.length);
    }, 60_000);

    it('pauses fetching at maxInFlight attempts and resumes as results are published', async () => {
      prefix = `sq-it-${randomUUID().slice(0, 8)}`;
      const t = await transport({ partitions: 1, maxInFlight: 5 });
      const held: TaskAssignment[] = [];
      await t.subscribe('w', { onTask: (a) => void held.push(a), onCancel: () => {} });
      const runId = `run-${randomUUID()}`;
      await Promise.all(Array.from({ length: 12 }, (_, i) => t.dispatch(assignment(runId, `t${i}`, 0))));
      await until('the first five', () => held.length >= 5);
      await sleep(1000);
      expect(held.map((a) => a.taskId)).toEqual(['t0', 't1', 't2', 't3', 't4']);
      const published = new Set<string>();
      await until(
        'all twelve',
        () => {
          for (const a of held) {
            if (published.has(a.taskId)) continue;
            published.add(a.taskId);
            void t.publishResult(result(a, 'w'));
          }
          return held.length === 12;
        },
        20_000,
      );
      expect(held.map((a) => a.taskId)).toEqual(Array.from({ length: 12 }, (_, i) => `t${i}`));
    }, 60_000);

    it('moves poison messages to the dead-letter topic with the reason, and goes on', async () => {
      prefix = `sq-it-${randomUUID().slice(0, 8)}`;
      const t = await transport({ partitions: 2 });
      const seen: TaskAssignment[] = [];
      await t.subscribe('w', runner(t, 'w', seen));
      const results: TaskResult[] = [];
      t.onResult((r) => void results.push(r));
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: `${prefix}.tasks`,
        messages: [
          { partition: 0, value: '{not json', headers: { 'x-origin': 'test-1' } },
          {
            partition: 0,
            value: JSON.stringify({ runId: 'r', taskId: 'x' }),
            headers: { 'x-origin': 'test-2' },
          },
        ],
      });
      await producer.disconnect();
      const runId = `run-${randomUUID()}`;
      await t.dispatch(assignment(runId, 'good', 0));
      await until('the good task result', () => results.some((r) => r.taskId === 'good'));
      expect(seen.map((a) => a.taskId)).toEqual(['good']);
      expect(t.stats.deadLettered).toBe(2);

      const dead: { reason: string; origin: string; value: string }[] = [];
      const consumer = kafka.consumer({ groupId: `${prefix}.check`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: `${prefix}.dead-letter`, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          dead.push({
            reason: message.headers?.[KAFKA_HEADERS.error]?.toString() ?? '',
            origin: message.headers?.['x-origin']?.toString() ?? '',
            value: message.value?.toString() ?? '',
          });
        },
      });
      await until('two dead letters', () => dead.length === 2);
      await consumer.disconnect();
      expect(dead[0]).toMatchObject({ origin: 'test-1', value: '{not json' });
      expect(dead[0]!.reason).toMatch(/undecodable JSON/);
      expect(dead[1]!.origin).toBe('test-2');
      expect(dead[1]!.reason).toMatch(
        /missing or invalid field\(s\): workerId, idempotencyKey, attempt, shard/,
      );
      // The poison offsets were committed together with the good task's.
      const admin = kafka.admin();
      await admin.connect();
      const committed = await admin.fetchOffsets({
        groupId: `${prefix}.workers`,
        topics: [`${prefix}.tasks`],
      });
      await admin.disconnect();
      expect(committed[0]!.partitions.find((p) => p.partition === 0)?.offset).toBe('3');
    }, 60_000);

    it('carries trace headers to the worker, and task ids in message headers', async () => {
      prefix = `sq-it-${randomUUID().slice(0, 8)}`;
      const t = await transport({ transactions: false });
      const seen: TaskAssignment[] = [];
      await t.subscribe('w', runner(t, 'w', seen));
      const results: TaskResult[] = [];
      t.onResult((r) => void results.push(r));
      const headers = {
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        tracestate: 'vendor=1',
      };
      const runId = `run-${randomUUID()}`;
      const sent = assignment(runId, 'traced', 5, { headers, workerId: 'w' });
      await t.dispatch(sent);
      await until('the result', () => results.length === 1);
      expect(seen).toEqual([sent]);
      expect(results[0]!.workerId).toBe('w');
      expect(t.stats.transactions).toBe(0);
      // On the wire: the ids and the addressed worker as headers, next to the trace context.
      const raw: Record<string, string>[] = [];
      const consumer = kafka.consumer({ groupId: `${prefix}.check`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: `${prefix}.tasks`, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) h[k] = String(v);
          raw.push(h);
        },
      });
      await until('the raw task message', () => raw.length === 1);
      await consumer.disconnect();
      expect(raw[0]).toEqual({
        ...headers,
        [KAFKA_HEADERS.taskId]: 'traced',
        [KAFKA_HEADERS.runId]: runId,
        [KAFKA_HEADERS.attempt]: '1',
        [KAFKA_HEADERS.workerId]: 'w',
      });
    }, 60_000);

    it('follows added partitions: dispatch uses them and the worker consumes them', async () => {
      prefix = `sq-it-${randomUUID().slice(0, 8)}`;
      const t = await transport({ partitions: 4, metadataMaxAgeMs: 500 });
      const other = await transport({ partitions: 4, role: 'scheduler' });
      const seen: TaskAssignment[] = [];
      await t.subscribe('w', runner(t, 'w', seen));
      const runId = `run-${randomUUID()}`;
      await t.dispatch(assignment(runId, 'before', 6));
      await until('the first task', () => seen.length === 1);
      await t.addPartitions(8);
      expect(t.partitions).toBe(8);
      expect(other.partitions).toBe(4);
      expect(await other.refreshPartitions()).toBe(8);
      await other.dispatch(assignment(runId, 'after', 6));
      await until('the task on the new partition', () => seen.length === 2, 45_000);
      const admin = kafka.admin();
      await admin.connect();
      const ends = await admin.fetchTopicOffsets(`${prefix}.tasks`);
      await admin.disconnect();
      const high = (p: number) => ends.find((e) => e.partition === p)?.high;
      expect(high(2)).toBe('1'); // shard 6 % 4
      expect(high(6)).toBe('1'); // shard 6 % 8
    }, 60_000);

    it('joins workers to the balancer by heartbeats and declares a silent one lost after 3 intervals', async () => {
      prefix = `sq-it-${randomUUID().slice(0, 8)}`;
      const balancer = createAvlBalancer();
      const scheduler = await transport({ role: 'scheduler', balancer, heartbeatIntervalMs: 200 });
      const lost: { id: string; reason: string; at: number }[] = [];
      let wakes = 0;
      scheduler.attach({
        workerLost: (id, reason) => void lost.push({ id, reason, at: Date.now() }),
        wake: () => void wakes++,
      });
      const worker = await transport({ role: 'worker', heartbeatIntervalMs: 200 });
      const stop = worker.announce({ id: 'hb-1', capacity: 4, handlers: ['sleep'] }, () => ({
        running: 0,
        load: 1,
      }));
      // A second worker that heartbeats by hand, then goes silent without a word.
      const producer = kafka.producer();
      await producer.connect();
      const beat = () =>
        producer.send({
          topic: `${prefix}.heartbeats`,
          messages: [
            {
              key: 'hb-silent',
              value: JSON.stringify({
                type: 'beat',
                workerId: 'hb-silent',
                capacity: 2,
                running: 0,
                load: 0,
                at: Date.now(),
              }),
            },
          ],
        });
      let lastBeat = 0;
      for (let i = 0; i < 3; i++) {
        await sleep(150);
        await beat();
        lastBeat = Date.now();
      }
      await producer.disconnect();
      await until('both workers joined', () => balancer.size === 2 || lost.length > 0);
      expect(scheduler.workers().sort()).toEqual(['hb-1', 'hb-silent']);
      expect(wakes).toBeGreaterThanOrEqual(2);
      expect(balancer.pick('sleep')).toBeDefined();
      await until('the silent worker lost', () => lost.length > 0, 10_000);
      expect(lost.map((l) => l.id)).toEqual(['hb-silent']);
      expect(lost[0]!.reason).toMatch(/missed 3 heartbeats/);
      expect(lost[0]!.at - lastBeat).toBeGreaterThanOrEqual(600);
      expect(scheduler.workers()).toEqual(['hb-1']);
      await sleep(1000); // the announcing worker keeps beating
      expect(scheduler.workers()).toEqual(['hb-1']);
      await stop(); // a leave heartbeat removes it at once, without a loss
      await until('the worker to leave', () => balancer.size === 0);
      expect(lost).toHaveLength(1);
    }, 60_000);
  });
});
