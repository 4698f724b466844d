import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cassandraCheckpointStoreOptionsFromUrl,
  createCassandraCheckpointStore,
  migrateCassandraSchema,
  resolveCassandraCheckpointStoreOptions,
  type CassandraCheckpointStore,
  type CassandraCheckpointStoreOptions,
} from '../../plugins/checkpoint/cassandra/index.js';
import { SmartQueueError } from '../../engine/errors.js';
import { probeService, serviceHostPort, withService } from '../support/services.js';
import { checkpointStoreConformance, expectCode } from './checkpoint-store.js';

const available = await probeService('cassandra');
const { host, port } = serviceHostPort('cassandra');
const keyspace = `sq_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
const options: CassandraCheckpointStoreOptions = {
  contactPoints: [`${host}:${port}`],
  localDataCenter: 'datacenter1',
  keyspace,
  replication: { class: 'SimpleStrategy', replicationFactor: 1 },
};
if (available) await migrateCassandraSchema(options);

afterAll(async () => {
  if (!available) return;
  const { default: cassandra } = await import('cassandra-driver');
  const client = new cassandra.Client({
    contactPoints: options.contactPoints,
    localDataCenter: 'datacenter1',
  });
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  await client.shutdown();
}, 60_000);

withService('cassandra', available, 'Cassandra checkpoint store', () => {
  checkpointStoreConformance(
    'cassandra',
    async () => {
      let current = await createCassandraCheckpointStore(options);
      return {
        store: current,
        openInChild: {
          module: new URL('../../plugins/checkpoint/cassandra/index.ts', import.meta.url).href,
          factory: 'createCassandraCheckpointStore',
          options,
        },
        reopen: async () => {
          await current.close();
          current = await createCassandraCheckpointStore(options);
          return current;
        },
        cleanup: async () => {
          await current.close();
        },
      };
    },
    { crossProcess: true },
  );

  describe('Cassandra checkpoint store', () => {
    it('migrate is idempotent, also from two concurrent callers', async () => {
      expect(await migrateCassandraSchema(options)).toEqual({ from: 2, to: 2 });
      const other = { ...options, keyspace: `${keyspace}_m` };
      try {
        const results = await Promise.all([migrateCassandraSchema(other), migrateCassandraSchema(other)]);
        expect(results.map((r) => r.to)).toEqual([2, 2]);
        expect(await migrateCassandraSchema(other)).toEqual({ from: 2, to: 2 });
        // A keyspace of schema v1 (no trace_id column) moves to v2 and keeps its rows.
        const { default: cassandra } = await import('cassandra-driver');
        const client = new cassandra.Client({
          contactPoints: options.contactPoints,
          localDataCenter: 'datacenter1',
        });
        try {
          await client.execute(
            `INSERT INTO ${other.keyspace}.tasks (run_id, task_id, status) VALUES ('r', 't', 'pending')`,
          );
          await client.execute(`ALTER TABLE ${other.keyspace}.tasks DROP trace_id`);
          await client.execute(`UPDATE ${other.keyspace}.schema_version SET version = 1 WHERE id = 0`);
          expect(await migrateCassandraSchema(other)).toEqual({ from: 1, to: 2 });
          const row = (
            await client.execute(`SELECT status, trace_id FROM ${other.keyspace}.tasks WHERE run_id = 'r'`)
          ).first();
          expect(row?.status).toBe('pending');
          expect(row?.trace_id).toBeNull();
        } finally {
          await client.shutdown();
        }
      } finally {
        const { default: cassandra } = await import('cassandra-driver');
        const client = new cassandra.Client({
          contactPoints: options.contactPoints,
          localDataCenter: 'datacenter1',
        });
        await client.execute(`DROP KEYSPACE IF EXISTS ${other.keyspace}`);
        await client.shutdown();
      }
    }, 60_000);

    it('refuses a missing schema with FAILED_PRECONDITION naming the migrate command', async () => {
      const err = await expectCode(
        createCassandraCheckpointStore({ ...options, keyspace: `sq_missing_${randomUUID().slice(0, 8)}` }),
        'FAILED_PRECONDITION',
      );
      expect(err.message).toContain('smartqueue store migrate --store cassandra://');
    }, 30_000);

    it('events beyond eventBucketSize span partitions and read back in order from any seq', async () => {
      const store = await createCassandraCheckpointStore({ ...options, eventBucketSize: 7 });
      try {
        const runId = `run-${randomUUID()}`;
        for (let i = 0; i < 30; i++) store.record({ runId, type: 'tick', at: i, data: { i } });
        await store.flush();
        const events = await store.getEvents(runId);
        expect(events.map((e) => e.data?.i)).toEqual(Array.from({ length: 30 }, (_, i) => i));
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
        expect((await store.getEvents(runId, 13)).map((e) => e.seq)).toEqual(
          Array.from({ length: 18 }, (_, i) => i + 13),
        );
        expect(store.stats.writes).toBeGreaterThanOrEqual(30);
      } finally {
        await store.close();
      }
    }, 30_000);

    it('a success event lost between the completion LWT and its write (writer killed) comes back from the task row', async () => {
      const store = await createCassandraCheckpointStore(options);
      const { default: cassandra } = await import('cassandra-driver');
      const raw = new cassandra.Client({
        contactPoints: options.contactPoints,
        localDataCenter: 'datacenter1',
      });
      try {
        const runId = `run-${randomUUID()}`;
        await store.createRun(
          {
            runId,
            workflowName: 'w',
            workflow: {},
            params: {},
            status: 'running',
            shardKey: 'k',
            createdAt: 1,
          },
          ['a', 'b'],
        );
        for (const taskId of ['a', 'b'])
          store.record(
            { runId, type: 'task:attempt:started', at: 1, taskId, attempt: 1 },
            { runId, taskId, status: 'running', attempt: 1 },
          );
        const completion = { runId, attempt: 1, workerId: 'w1', startedAt: 1, finishedAt: 5 };
        expect(await store.completeTask({ ...completion, taskId: 'a', outputs: { n: 1 } })).toBe(true);
        expect(await store.completeTask({ ...completion, taskId: 'b', outputs: { n: 2 } })).toBe(true);
        const before = await store.getEvents(runId);
        const lost = before.find((e) => e.type === 'task:attempt:succeeded' && e.taskId === 'a')!;
        // The writer "died" before the event row of a's success was written.
        await raw.execute(
          `DELETE FROM ${keyspace}.events WHERE run_id = ? AND bucket = ? AND seq = ?`,
          [runId, 0, lost.seq],
          {
            prepare: true,
          },
        );
        const repaired = await store.getEvents(runId);
        expect(repaired).toEqual(before);
        // Written back: it is in the event table itself now.
        const rows = await raw.execute(
          `SELECT seq FROM ${keyspace}.events WHERE run_id = ? AND bucket = 0`,
          [runId],
          {
            prepare: true,
          },
        );
        expect(rows.rows.map((r) => Number(r.seq))).toContain(lost.seq);
        // A replay that resets the task drops the row's copy too: nothing comes back.
        await store.resetTasks(runId, ['b']);
        const b = before.find((e) => e.type === 'task:attempt:succeeded' && e.taskId === 'b')!;
        await raw.execute(
          `DELETE FROM ${keyspace}.events WHERE run_id = ? AND bucket = ? AND seq = ?`,
          [runId, 0, b.seq],
          {
            prepare: true,
          },
        );
        expect((await store.getEvents(runId)).map((e) => e.seq)).not.toContain(b.seq);
      } finally {
        await raw.shutdown();
        await store.close();
      }
    }, 30_000);

    it('reports each group-commit batch to onBatch listeners, failed ones with ok: false', async () => {
      const store = await createCassandraCheckpointStore(options);
      const batches: { writes: number; ok: boolean }[] = [];
      const remove = store.onBatch((b) => {
        expect(b.seconds).toBeGreaterThanOrEqual(0);
        batches.push({ writes: b.writes, ok: b.ok });
      });
      try {
        const runId = `run-${randomUUID()}`;
        for (let i = 0; i < 5; i++) store.record({ runId, type: 'tick', at: i });
        await store.flush();
        expect(batches.reduce((n, b) => n + b.writes, 0)).toBe(5);
        expect(batches.every((b) => b.ok)).toBe(true);
        await expectCode(store.addTasks(`run-missing-${randomUUID()}`, ['a']), 'NOT_FOUND');
        expect(batches.at(-1)).toEqual({ writes: 1, ok: false });
        remove();
        store.record({ runId, type: 'tick', at: 9 });
        await store.flush();
        expect(batches.reduce((n, b) => n + b.writes, 0)).toBe(6);
      } finally {
        await store.close();
      }
    }, 30_000);

    it('listRuns pages across many runs', async () => {
      const store: CassandraCheckpointStore = await createCassandraCheckpointStore(options);
      try {
        const workflowName = `wf-${randomUUID()}`;
        const ids: string[] = [];
        await Promise.all(
          Array.from({ length: 45 }, (_, i) => {
            const runId = `run-${String(i).padStart(3, '0')}-${randomUUID()}`;
            ids.push(runId);
            return store.createRun(
              {
                runId,
                workflowName,
                workflow: {},
                params: {},
                status: 'running',
                shardKey: 'k',
                createdAt: 1_800_000_000_000 + i * 3_600_000,
              },
              [],
            );
          }),
        );
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listRuns({ workflowName, limit: 10, cursor });
          seen.push(...page.runs.map((r) => r.runId));
          cursor = page.nextCursor;
        } while (cursor);
        expect(seen).toEqual([...ids].sort().reverse());
      } finally {
        await store.close();
      }
    }, 60_000);

    it('fails with UNAVAILABLE when no node is reachable', async () => {
      await expectCode(
        createCassandraCheckpointStore({
          ...options,
          contactPoints: ['127.0.0.1:1'],
          connectTimeoutMs: 1000,
        }),
        'UNAVAILABLE',
      );
    }, 30_000);
  });
});

describe('Cassandra checkpoint store options', () => {
  it('applies defaults and names every problem in one INVALID_OPTIONS error', () => {
    expect(
      resolveCassandraCheckpointStoreOptions({ contactPoints: ['h'], localDataCenter: 'dc' }),
    ).toMatchObject({
      keyspace: 'smartqueue',
      consistency: 'LOCAL_QUORUM',
      serialConsistency: 'LOCAL_SERIAL',
      eventBucketSize: 1000,
      flushIntervalMs: 0,
      maxBatch: 1000,
    });
    try {
      resolveCassandraCheckpointStoreOptions({
        contactPoints: [],
        localDataCenter: '',
        keyspace: 'bad-name',
        maxBatch: 0,
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SmartQueueError);
      expect((err as SmartQueueError).code).toBe('INVALID_OPTIONS');
      expect((err as SmartQueueError).details.problems).toHaveLength(4);
    }
  });

  it('parses cassandra:// URLs', () => {
    expect(
      cassandraCheckpointStoreOptionsFromUrl(
        'cassandra://u:p%40ss@h1:9042,h2:9043/ks1?dc=dc1&replication=NetworkTopologyStrategy:dc1=3,dc2=2',
      ),
    ).toEqual({
      contactPoints: ['h1:9042', 'h2:9043'],
      localDataCenter: 'dc1',
      keyspace: 'ks1',
      credentials: { username: 'u', password: 'p@ss' },
      replication: { class: 'NetworkTopologyStrategy', dataCenters: { dc1: 3, dc2: 2 } },
    });
    expect(
      cassandraCheckpointStoreOptionsFromUrl(
        'cassandra://127.0.0.1:9042/sq?dc=datacenter1&replication=SimpleStrategy:1',
      ),
    ).toEqual({
      contactPoints: ['127.0.0.1:9042'],
      localDataCenter: 'datacenter1',
      keyspace: 'sq',
      replication: { class: 'SimpleStrategy', replicationFactor: 1 },
    });
    expect(() => cassandraCheckpointStoreOptionsFromUrl('redis://x')).toThrow(SmartQueueError);
  });
});
