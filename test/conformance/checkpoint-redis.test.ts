import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createRedisCheckpointStore,
  redisCheckpointStoreOptionsFromUrl,
  resolveRedisCheckpointStoreOptions,
  type RedisCheckpointStore,
  type RedisCheckpointStoreOptions,
} from '../../plugins/checkpoint/redis/index.js';
import { probeService, serviceAddress, serviceHostPort, withService } from '../support/services.js';
import { checkpointStoreConformance, expectCode } from './checkpoint-store.js';
import { completion, run, tick } from '../support/checkpoints.js';

const available = await probeService('redis');
const url = serviceAddress('redis').includes('://')
  ? serviceAddress('redis')
  : `redis://${serviceAddress('redis')}`;
const newPrefix = () => `sq-test-${randomUUID()}`;

/** Deletes every key under `prefix:` (SCAN + UNLINK: never FLUSHDB on a shared server). */
async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

async function keysOf(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

withService('redis', available, 'Redis checkpoint store', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(url, { lazyConnect: false });
  });
  afterAll(async () => {
    await admin.quit();
  });

  checkpointStoreConformance(
    'redis',
    async () => {
      const options = { url, keyPrefix: newPrefix() };
      let current = await createRedisCheckpointStore(options);
      return {
        store: current,
        openInChild: {
          module: new URL('../../plugins/checkpoint/redis/index.ts', import.meta.url).href,
          factory: 'createRedisCheckpointStore',
          options,
        },
        reopen: async () => {
          await current.close();
          current = await createRedisCheckpointStore(options);
          return current;
        },
        cleanup: async () => {
          await current.close();
          await deletePrefix(admin, options.keyPrefix);
        },
      };
    },
    { crossProcess: true },
  );

  describe('Redis checkpoint store', () => {
    let prefix: string;
    let stores: RedisCheckpointStore[];

    beforeEach(() => {
      prefix = newPrefix();
      stores = [];
    });

    afterEach(async () => {
      for (const store of stores) await store.close().catch(() => undefined);
      await deletePrefix(admin, prefix);
      expect(await keysOf(admin, `${prefix}:*`)).toEqual([]);
    });

    async function open(options: Partial<RedisCheckpointStoreOptions> = {}): Promise<RedisCheckpointStore> {
      const store = await createRedisCheckpointStore({ url, keyPrefix: prefix, ...options });
      stores.push(store);
      return store;
    }

    async function startedRun(store: RedisCheckpointStore, taskIds: string[]): Promise<string> {
      const runId = `run-${randomUUID()}`;
      await store.createRun(run(runId), taskIds);
      for (const taskId of taskIds) {
        store.record(
          { runId, type: 'task:attempt:started', at: 1, taskId, attempt: 1 },
          { runId, taskId, status: 'running', attempt: 1 },
        );
      }
      await store.flush();
      return runId;
    }

    describe('group commit', () => {
      it('1,000 record() calls in one tick are applied in one round trip', async () => {
        const store = await open({ maxBatch: 10_000 });
        const runId = await startedRun(store, ['a']);
        const before = { ...store.stats };
        for (let i = 0; i < 1000; i++)
          store.record(
            { runId, type: 'task:progress', at: i, taskId: 'a' },
            { runId, taskId: 'a', readyAt: i },
          );
        expect(store.stats.transactions).toBe(before.transactions);
        await store.flush();
        expect(store.stats.transactions - before.transactions).toBe(1);
        expect(store.stats.writes - before.writes).toBe(1000);
        const events = await store.getEvents(runId);
        expect(events).toHaveLength(1001);
        expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 1001 }, (_, i) => i + 1));
        expect((await store.getTasks(runId))[0]?.readyAt).toBe(999);
      });

      it('an idle store answers in one round trip; writes made while a batch is in flight form the next batch', async () => {
        const store = await open();
        const runId = await startedRun(store, ['a']);
        let before = store.stats.transactions;
        store.record({ runId, type: 'alone', at: 0 });
        await store.flush();
        expect(store.stats.transactions - before).toBe(1);

        // A slow first batch (a run of 20,000 tasks) stays in flight while 50 writes arrive over
        // several ticks: they wait for it, then all go as ONE batch.
        before = store.stats.transactions;
        const slow = `run-${randomUUID()}`;
        const created = store.createRun(
          run(slow),
          Array.from({ length: 20_000 }, (_, i) => `t${i}`),
        );
        await tick();
        for (let i = 0; i < 50; i++) {
          store.record({ runId, type: 'meanwhile', at: i });
          if (i % 10 === 0) await tick();
        }
        expect(store.stats.transactions).toBe(before);
        await created;
        await store.flush();
        expect(store.stats.transactions - before).toBe(2);
        expect((await store.getEvents(runId)).filter((e) => e.type === 'meanwhile')).toHaveLength(50);
      });

      it('maxBatch caps a batch', async () => {
        const store = await open({ maxBatch: 100 });
        const runId = await startedRun(store, ['a']);
        const before = store.stats.transactions;
        for (let i = 0; i < 1000; i++) store.record({ runId, type: 'task:progress', at: i });
        await store.flush();
        expect(store.stats.transactions - before).toBe(10);
        expect(await store.getEvents(runId)).toHaveLength(1001);
      });

      it('flushIntervalMs gathers writes from several ticks into one batch', async () => {
        const store = await open({ flushIntervalMs: 300 });
        const runId = `run-${randomUUID()}`;
        const created = store.createRun(run(runId), ['a']);
        for (let i = 0; i < 3; i++) {
          await tick();
          store.record({ runId, type: 'task:progress', at: i });
        }
        expect(store.stats.transactions).toBe(0);
        await created;
        expect(store.stats).toMatchObject({ transactions: 1, writes: 4, failedTransactions: 0 });
      });

      it('a completion resolves only once it is in Redis', async () => {
        // The batch waits 200 ms, so the check that it is not written yet does not race the
        // flush (with the default next-tick flush, the two connections raced under load).
        const store = await open({ flushIntervalMs: 200 });
        const runId = await startedRun(store, ['a']);
        const won = store.completeTask(completion(runId, 'a'));
        expect(await admin.hget(`${prefix}:{${runId}}:task:a`, 'status')).toBe('"running"');
        expect(await won).toBe(true);
        expect(await admin.hget(`${prefix}:{${runId}}:task:a`, 'status')).toBe('"succeeded"');
      });
    });

    describe('key layout', () => {
      it('keeps every key under the prefix, with the run id as hash tag', async () => {
        const store = await open();
        const runId = await startedRun(store, ['a', 'b']);
        await store.fenceShard({ shard: 3, epoch: 1 });
        expect(await store.completeTask(completion(runId, 'a'))).toBe(true);
        const keys = (await keysOf(admin, `*${runId}*`)).sort();
        expect(keys).toEqual(
          ['events', 'run', 'seq', 'task:a', 'task:b', 'tasks'].map((s) => `${prefix}:{${runId}}:${s}`),
        );
        const all = await keysOf(admin, `${prefix}:*`);
        expect(all).toContain(`${prefix}:fences`);
        expect(all).toContain(`${prefix}:runs`);
        expect(await admin.xrange(`${prefix}:{${runId}}:events`, '-', '+')).toHaveLength(3);
        expect((await admin.xrange(`${prefix}:{${runId}}:events`, '-', '+')).map(([id]) => id)).toEqual([
          '1-0',
          '2-0',
          '3-0',
        ]);
        // Another prefix sees nothing of it.
        const other = await createRedisCheckpointStore({ url, keyPrefix: `${prefix}-other` });
        stores.push(other);
        expect(await other.getRun(runId)).toBeUndefined();
      });

      it('getTasks returns tasks in insertion order', async () => {
        const store = await open();
        const runId = `run-${randomUUID()}`;
        await store.createRun(run(runId), ['z', 'a', 'm']);
        await store.addTasks(runId, ['b', 'z', 'y']);
        expect((await store.getTasks(runId)).map((t) => t.taskId)).toEqual(['z', 'a', 'm', 'b', 'y']);
      });
    });

    describe('failures', () => {
      it('a failed batch rejects its waiting calls (INTERNAL for a server-side error), flush() rejects once, and the store carries on', async () => {
        const store = await open();
        const runId = await startedRun(store, ['a']);
        // A failure that touches nobody else on the shared server: the run's stream key holds a
        // string, so XADD (and with it the whole Lua call) fails with WRONGTYPE.
        await admin.set(`${prefix}:{${runId}}:events`, 'not a stream');
        store.record({ runId, type: 'lost', at: 1 });
        const won = store.completeTask(completion(runId, 'a'));
        await expectCode(won, 'INTERNAL');
        expect(store.stats.failedTransactions).toBe(1);
        await expectCode(store.flush(), 'INTERNAL');
        await expect(store.flush()).resolves.toBeUndefined();
        await admin.unlink(`${prefix}:{${runId}}:events`);
        expect(await store.completeTask(completion(runId, 'a'))).toBe(true);
      });

      it('a lost connection fails its batch with UNAVAILABLE; the store reconnects and carries on', async () => {
        // A TCP proxy in front of Redis that the test can cut, so nobody else's connection suffers.
        const upstream = serviceHostPort('redis');
        const sockets = new Set<Socket>();
        const proxy = () =>
          createServer((client) => {
            const server = connect(upstream.port, upstream.host);
            const drop = () => {
              client.destroy();
              server.destroy();
            };
            for (const socket of [client, server]) {
              sockets.add(socket);
              socket.on('error', drop).on('close', drop);
            }
            client.pipe(server).pipe(client);
          });
        const listen = (server: Server, port = 0) =>
          new Promise<number>((resolve) =>
            server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
          );
        let server = proxy();
        const port = await listen(server);
        try {
          const store = await open({ host: '127.0.0.1', port });
          const runId = await startedRun(store, ['a']);
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            for (const socket of sockets) socket.destroy();
          });
          store.record({ runId, type: 'lost', at: 1 });
          await expectCode(store.completeTask(completion(runId, 'a')), 'UNAVAILABLE');
          await expectCode(store.flush(), 'UNAVAILABLE');
          await expectCode(store.getRun(runId), 'UNAVAILABLE');
          expect(store.stats.failedTransactions).toBeGreaterThanOrEqual(1);

          server = proxy();
          await listen(server, port);
          await vi.waitFor(async () => expect(await store.completeTask(completion(runId, 'a'))).toBe(true), {
            timeout: 10_000,
            interval: 100,
          });
          const events = await store.getEvents(runId);
          expect(events.map((e) => e.type)).toEqual(['task:attempt:started', 'task:attempt:succeeded']);
        } finally {
          for (const socket of sockets) socket.destroy();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
      });

      it('an unreachable server fails the factory with UNAVAILABLE', async () => {
        await expectCode(
          createRedisCheckpointStore({ host: '127.0.0.1', port: 1, keyPrefix: prefix }),
          'UNAVAILABLE',
        );
      });

      it('after close every call fails with UNAVAILABLE; asyncDispose closes', async () => {
        const store = await open();
        const runId = await startedRun(store, ['a']);
        store.record({ runId, type: 'run:note', at: 5 });
        await store[Symbol.asyncDispose]();
        await expectCode(store.getRun(runId), 'UNAVAILABLE');
        await expectCode(store.fenceShard({ shard: 1, epoch: 1 }), 'UNAVAILABLE');
        expect(() => store.record({ runId, type: 'x', at: 1 })).toThrow(/closed/);
        const reader = await open();
        expect((await reader.getEvents(runId)).map((e) => e.type)).toEqual([
          'task:attempt:started',
          'run:note',
        ]);
      });
    });

    describe('options', () => {
      it('applies defaults', () => {
        expect(resolveRedisCheckpointStoreOptions({})).toEqual({
          host: '127.0.0.1',
          port: 6379,
          db: 0,
          tls: false,
          keyPrefix: 'smartqueue',
          flushIntervalMs: 0,
          maxBatch: 1000,
          connectTimeoutMs: 10_000,
        });
      });

      it('rejects bad options with one INVALID_OPTIONS error naming each problem', async () => {
        const bad = {
          host: '',
          port: 70_000,
          db: -1,
          keyPrefix: 'a{b}',
          flushIntervalMs: -1,
          maxBatch: 0,
          connectTimeoutMs: 0,
        };
        await expectCode(createRedisCheckpointStore(bad), 'INVALID_OPTIONS');
        expect(() => resolveRedisCheckpointStoreOptions(bad)).toThrow(
          /host.*port.*db.*keyPrefix.*flushIntervalMs.*maxBatch.*connectTimeoutMs/,
        );
        expect(() => resolveRedisCheckpointStoreOptions({ url: 'http://x' })).toThrow(/redis:\/\//);
      });

      it('parses redis:// and rediss:// URLs; explicit options win over the URL', () => {
        expect(
          redisCheckpointStoreOptionsFromUrl(
            'redis://me:p%40ss@cache.local:6380/2?prefix=app&flushIntervalMs=5&maxBatch=50',
          ),
        ).toEqual({
          host: 'cache.local',
          port: 6380,
          db: 2,
          username: 'me',
          password: 'p@ss',
          keyPrefix: 'app',
          flushIntervalMs: 5,
          maxBatch: 50,
        });
        expect(redisCheckpointStoreOptionsFromUrl('rediss://h')).toEqual({ host: 'h', tls: true });
        expect(
          resolveRedisCheckpointStoreOptions({ url: 'rediss://h:1/3?prefix=x', keyPrefix: 'y' }),
        ).toMatchObject({ host: 'h', port: 1, db: 3, tls: true, keyPrefix: 'y' });
        expect(() => redisCheckpointStoreOptionsFromUrl('redis://h?nope=1')).toThrow(/nope/);
        expect(() => resolveRedisCheckpointStoreOptions({ url: 'redis://h/x?maxBatch=abc' })).toThrow(
          /db.*maxBatch/,
        );
      });
    });
  });
});
