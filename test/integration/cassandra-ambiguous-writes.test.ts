/**
 * A Cassandra write that times out may have been applied anyway (a lightweight transaction's
 * Paxos round can finish after the coordinator gave up). These tests make the real node apply a
 * write and then report a server timeout to the store, and check that the store finds out and
 * applies nothing twice.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { Client } from '../../plugins/checkpoint/cassandra/schema.js';
import {
  migrateCassandraSchema,
  resolveCassandraCheckpointStoreOptions,
} from '../../plugins/checkpoint/cassandra/index.js';
import { RunLog } from '../../plugins/checkpoint/cassandra/run-log.js';
import { probeService, serviceHostPort, withService } from '../support/services.js';

const available = await probeService('cassandra');
const { host, port } = serviceHostPort('cassandra');
const keyspace = `sq_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
const options = resolveCassandraCheckpointStoreOptions({
  contactPoints: [`${host}:${port}`],
  localDataCenter: 'datacenter1',
  keyspace,
  retryBudgetMs: 10_000,
});
if (available) await migrateCassandraSchema(options);

const clients: Client[] = [];
afterAll(async () => {
  if (!available) return;
  const client = await rawClient();
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
  for (const c of clients.splice(0)) await c.shutdown();
}, 60_000);

async function rawClient(): Promise<Client> {
  const { default: cassandra } = await import('cassandra-driver');
  const client = new cassandra.Client({
    contactPoints: options.contactPoints,
    localDataCenter: 'datacenter1',
  });
  clients.push(client);
  return client;
}

/** The native protocol's write timeout, as the driver reports it. */
async function writeTimeout(): Promise<Error> {
  const { default: cassandra } = await import('cassandra-driver');
  return new cassandra.errors.ResponseError(
    0x1100,
    'Server timeout during write query at consistency LOCAL_SERIAL (0 peer(s) acknowledged the write over 1 required)',
  );
}

/**
 * A client whose statements matching `pattern` fail with a write timeout the first `times`
 * times: after being applied when `applied`, before reaching the node otherwise.
 */
async function faulty(
  pattern: RegExp,
  applied: boolean,
  times = 1,
): Promise<{ client: Client; hits: () => number }> {
  const real = await rawClient();
  let hits = 0;
  const fail = async <T>(text: string, run: () => Promise<T>): Promise<T> => {
    if (!pattern.test(text) || hits >= times) return run();
    hits++;
    if (applied) await run();
    throw await writeTimeout();
  };
  const client = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'execute')
        return (query: string, params: unknown[], o: object) =>
          fail(query, () => target.execute(query, params, o));
      if (prop === 'batch')
        return (queries: { query: string }[], o: object) =>
          fail(queries.map((q) => q.query).join('\n'), () => target.batch(queries, o));
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { client, hits: () => hits };
}

async function newRun(log: RunLog, tasks: string[]): Promise<string> {
  const runId = `run-${randomUUID()}`;
  await log.paxos(
    runId,
    tasks.map((t) => log.taskInsert(runId, t, null)),
    0,
  );
  return runId;
}

async function events(runId: string): Promise<{ seq: number; type: string; taskId: string | null }[]> {
  const client = await rawClient();
  const rows = await client.execute(
    `SELECT seq, type, task_id FROM ${keyspace}.events WHERE run_id = ? AND bucket = 0`,
    [runId],
    {
      prepare: true,
    },
  );
  return rows.rows.map((r) => ({
    seq: Number(r.seq),
    type: r.type as string,
    taskId: (r.task_id as string) ?? null,
  }));
}

const completion = (runId: string, taskId: string) => ({
  runId,
  taskId,
  attempt: 0,
  workerId: 'w1',
  startedAt: 1,
  finishedAt: 2,
  outputs: {},
});

withService('cassandra', available, 'Cassandra store writes that time out', () => {
  describe('Cassandra store writes that time out', () => {
    for (const applied of [true, false]) {
      it(`a completion whose LWT times out ${applied ? 'after' : 'before'} being applied counts once`, async () => {
        const { client, hits } = await faulty(/SET status = 'succeeded'/, applied);
        const log = new RunLog(client, options);
        const runId = await newRun(log, ['a']);
        expect(await log.complete(completion(runId, 'a'), '{}', '{}')).toBe(true);
        expect(hits()).toBe(1);
        // A second completion of the same attempt (a redelivery) loses.
        expect(await log.complete({ ...completion(runId, 'a'), workerId: 'w2' }, '{}', '{}')).toBe(false);
        const written = await events(runId);
        expect(written.filter((e) => e.type === 'task:attempt:succeeded')).toHaveLength(1);
      }, 60_000);
    }

    it('a completion that times out while another worker completed the attempt loses', async () => {
      const { client } = await faulty(/SET status = 'succeeded'/, false);
      const log = new RunLog(client, options);
      const runId = await newRun(log, ['a']);
      const other = new RunLog(await rawClient(), options);
      expect(await other.complete({ ...completion(runId, 'a'), workerId: 'w2' }, '{}', '{}')).toBe(true);
      expect(await log.complete(completion(runId, 'a'), '{}', '{}')).toBe(false);
      expect((await events(runId)).filter((e) => e.type === 'task:attempt:succeeded')).toHaveLength(1);
    }, 60_000);

    it('a batch of records whose seq reservation times out after being applied is written once', async () => {
      const { client, hits } = await faulty(/IF next_seq = \?/, true);
      const log = new RunLog(client, options);
      const runId = await newRun(new RunLog(await rawClient(), options), ['a']);
      await log.writeRecords(
        Array.from({ length: 5 }, (_, i) => ({
          event: { runId, type: 'tick', at: i, taskId: 'a' },
          data: JSON.stringify({ i }),
          patch: { runId, taskId: 'a', cols: { ready_at: i } },
        })),
      );
      expect(hits()).toBe(1);
      const written = await events(runId);
      expect(written.filter((e) => e.type === 'tick')).toHaveLength(5);
      expect(new Set(written.map((e) => e.seq)).size).toBe(written.length);
    }, 60_000);

    it('an INSERT IF NOT EXISTS that times out after being applied reports "created"; a real duplicate does not', async () => {
      const { client } = await faulty(/INSERT INTO .*\.runs /, true);
      const log = new RunLog(client, options);
      const runId = `run-${randomUUID()}`;
      const insert = `INSERT INTO ${keyspace}.runs (run_id, workflow_name, created_at) VALUES (?, ?, ?) IF NOT EXISTS`;
      const cols = { workflow_name: 'w', created_at: 7 };
      expect(await log.insertOnce(insert, [runId, 'w', 7], cols)).toBe(true);
      expect(await log.insertOnce(insert, [runId, 'w', 7], cols)).toBe(false);
    }, 60_000);

    it('gives up after retryBudgetMs and reports the timeout', async () => {
      const { client, hits } = await faulty(/SET status = 'succeeded'/, false, Number.POSITIVE_INFINITY);
      const log = new RunLog(client, { ...options, retryBudgetMs: 300 });
      const runId = await newRun(new RunLog(await rawClient(), options), ['a']);
      await expect(log.complete(completion(runId, 'a'), '{}', '{}')).rejects.toThrow(/Server timeout/);
      expect(hits()).toBeGreaterThan(1);
    }, 60_000);
  });
});
