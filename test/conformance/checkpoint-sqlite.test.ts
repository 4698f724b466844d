import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createSqliteCheckpointStore,
  resolveSqliteCheckpointStoreOptions,
  type SqliteCheckpointStore,
  type SqliteCheckpointStoreOptions,
} from '../../plugins/checkpoint/sqlite/index.js';
import { checkpointStoreConformance, expectCode } from './checkpoint-store.js';
import { completion, run, tick } from '../support/checkpoints.js';

checkpointStoreConformance(
  'sqlite',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smartqueue-checkpoint-'));
    const path = join(dir, 'checkpoints.db');
    let current = await createSqliteCheckpointStore({ path });
    return {
      store: current,
      openInChild: {
        module: new URL('../../plugins/checkpoint/sqlite/index.ts', import.meta.url).href,
        factory: 'createSqliteCheckpointStore',
        options: { path },
      },
      reopen: async () => {
        await current.close();
        current = await createSqliteCheckpointStore({ path });
        return current;
      },
      cleanup: async () => {
        await current.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  { crossProcess: true },
);

describe('SQLite checkpoint store', () => {
  let dir: string;
  let path: string;
  let stores: SqliteCheckpointStore[];
  let raws: Database.Database[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smartqueue-checkpoint-'));
    path = join(dir, 'checkpoints.db');
    stores = [];
    raws = [];
  });

  afterEach(async () => {
    for (const raw of raws) if (raw.open) raw.close();
    for (const store of stores) await store.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function open(options: Partial<SqliteCheckpointStoreOptions> = {}): Promise<SqliteCheckpointStore> {
    const store = await createSqliteCheckpointStore({ path, ...options });
    stores.push(store);
    return store;
  }

  /** A plain connection to the same file, for looking behind the store's back. */
  function rawConnection(): Database.Database {
    const raw = new Database(path);
    raws.push(raw);
    return raw;
  }

  async function startedRun(store: SqliteCheckpointStore, taskIds: string[]): Promise<string> {
    const runId = `run-${Math.random().toString(36).slice(2)}`;
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

  it('keeps everything across close and reopen, and seq continues after the last stored event', async () => {
    const first = await open();
    const runId = await startedRun(first, ['a', 'b']);
    expect(await first.completeTask(completion(runId, 'a'))).toBe(true);
    await first.updateRun(runId, { labels: { k: 'v' } });
    const before = {
      run: await first.getRun(runId),
      tasks: await first.getTasks(runId),
      events: await first.getEvents(runId),
    };
    await first.close();

    const second = await open();
    expect(await second.getRun(runId)).toEqual(before.run);
    expect(await second.getTasks(runId)).toEqual(before.tasks);
    expect(await second.getEvents(runId)).toEqual(before.events);
    expect(await second.completeTask(completion(runId, 'a'))).toBe(false);
    expect(await second.completeTask(completion(runId, 'b'))).toBe(true);
    const events = await second.getEvents(runId);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('uses WAL mode and applies option defaults', async () => {
    const store = await open();
    expect(rawConnection().pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.options).toEqual({
      path,
      flushIntervalMs: 0,
      maxBatch: 1000,
      synchronous: 'full',
      busyTimeoutMs: 5000,
    });
  });

  it('Symbol.asyncDispose flushes and closes', async () => {
    const store = await open();
    const runId = await startedRun(store, ['a']);
    store.record({ runId, type: 'run:note', at: 5 });
    await store[Symbol.asyncDispose]();
    await expectCode(store.getRun(runId), 'UNAVAILABLE');
    const events = rawConnection()
      .prepare('SELECT type FROM events WHERE run_id = ? ORDER BY seq')
      .all(runId);
    expect(events).toEqual([{ type: 'task:attempt:started' }, { type: 'run:note' }]);
  });

  it('two stores on one file: racing completions of the same attempt give exactly one true', async () => {
    const a = await open();
    const b = await open();
    const taskIds = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const runId = await startedRun(a, taskIds);
    const calls = taskIds.flatMap((taskId) => [
      { taskId, by: 'a', won: a.completeTask(completion(runId, taskId, 1, 'a')) },
      { taskId, by: 'b', won: b.completeTask(completion(runId, taskId, 1, 'b')) },
      { taskId, by: 'b', won: b.completeTask(completion(runId, taskId, 1, 'b2')) },
    ]);
    const results = await Promise.all(calls.map((c) => c.won));
    for (const taskId of taskIds) {
      expect(results.filter((won, i) => won && calls[i]!.taskId === taskId)).toHaveLength(1);
    }
    const events = await b.getEvents(runId);
    expect(events.filter((e) => e.type === 'task:attempt:succeeded')).toHaveLength(30);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });

  it('two stores appending to one run in turns never reuse a seq', async () => {
    const a = await open();
    const b = await open();
    const runId = await startedRun(a, ['t']);
    for (let round = 0; round < 5; round++) {
      for (const [store, name] of [
        [a, 'a'],
        [b, 'b'],
      ] as const) {
        for (let i = 0; i < 3; i++) store.record({ runId, type: `from:${name}`, at: round });
        await store.flush();
      }
    }
    const events = await a.getEvents(runId);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(events.filter((e) => e.type === 'from:b')).toHaveLength(15);
  });

  describe('group commit', () => {
    it('1,000 record() calls in one tick are committed in one transaction', async () => {
      const store = await open({ maxBatch: 10_000 });
      const runId = await startedRun(store, ['a']);
      const before = { ...store.stats };
      for (let i = 0; i < 1000; i++)
        store.record(
          { runId, type: 'task:progress', at: i, taskId: 'a' },
          { runId, taskId: 'a', readyAt: i },
        );
      expect(store.stats.transactions).toBe(before.transactions);
      await tick();
      expect(store.stats.transactions - before.transactions).toBe(1);
      expect(store.stats.writes - before.writes).toBe(1000);
      expect(await store.getEvents(runId)).toHaveLength(1001);
      expect((await store.getTasks(runId))[0]?.readyAt).toBe(999);
    });

    it('commits at once when maxBatch writes are queued (default 1,000)', async () => {
      const store = await open();
      const runId = await startedRun(store, ['a']);
      const before = store.stats.transactions;
      for (let i = 0; i < 999; i++) store.record({ runId, type: 'task:progress', at: i });
      expect(store.stats.transactions).toBe(before);
      store.record({ runId, type: 'task:progress', at: 999 });
      expect(store.stats.transactions).toBe(before + 1);
      await store.flush();
      expect(store.stats.transactions).toBe(before + 1);

      const small = await open({ maxBatch: 100 });
      const smallBefore = small.stats.transactions;
      for (let i = 0; i < 1000; i++) small.record({ runId, type: 'task:progress', at: i });
      await small.flush();
      expect(small.stats.transactions - smallBefore).toBe(10);
    });

    it('flushIntervalMs gathers writes from several ticks into one transaction', async () => {
      const store = await open({ flushIntervalMs: 300 });
      const runId = `run-interval`;
      const created = store.createRun(run(runId), ['a']);
      for (let i = 0; i < 3; i++) {
        await tick();
        store.record({ runId, type: 'task:progress', at: i });
      }
      expect(store.stats.transactions).toBe(0);
      await created;
      expect(store.stats).toMatchObject({ transactions: 1, writes: 4 });
    });

    it('a completion resolves only once its transaction has committed', async () => {
      const store = await open();
      const runId = await startedRun(store, ['a']);
      const before = store.stats.transactions;
      const won = store.completeTask(completion(runId, 'a'));
      expect(store.stats.transactions).toBe(before);
      expect(await won).toBe(true);
      expect(store.stats.transactions).toBe(before + 1);
      const row = rawConnection()
        .prepare('SELECT status FROM tasks WHERE run_id = ? AND task_id = ?')
        .get(runId, 'a');
      expect(row).toEqual({ status: 'succeeded' });
    });
  });

  describe('failures', () => {
    it('a failed transaction rejects its waiting calls with UNAVAILABLE, and the store carries on', async () => {
      const store = await open({ busyTimeoutMs: 20 });
      const runId = await startedRun(store, ['a']);
      const raw = rawConnection();
      raw.exec('BEGIN IMMEDIATE'); // holds the write lock
      store.record({ runId, type: 'lost', at: 1 });
      const won = store.completeTask(completion(runId, 'a'));
      await expectCode(store.flush(), 'UNAVAILABLE');
      await expectCode(won, 'UNAVAILABLE');
      expect(store.stats.failedTransactions).toBe(1);
      raw.exec('COMMIT');

      expect(await store.completeTask(completion(runId, 'a'))).toBe(true);
      const events = await store.getEvents(runId);
      expect(events.map((e) => [e.seq, e.type])).toEqual([
        [1, 'task:attempt:started'],
        [2, 'task:attempt:succeeded'],
      ]);
    });

    it('writes lost in a background commit make the next flush() reject, once', async () => {
      const store = await open({ busyTimeoutMs: 20 });
      const runId = await startedRun(store, ['a']);
      const raw = rawConnection();
      raw.exec('BEGIN IMMEDIATE');
      store.record({ runId, type: 'lost', at: 1 });
      await tick(); // the scheduled commit fails with nobody waiting on it
      expect(store.stats.failedTransactions).toBe(1);
      raw.exec('COMMIT');
      await expectCode(store.flush(), 'UNAVAILABLE');
      await expect(store.flush()).resolves.toBeUndefined();
    });

    it('rejects bad options with one INVALID_OPTIONS error naming each problem', async () => {
      const bad = {
        path: '',
        flushIntervalMs: -1,
        maxBatch: 0,
        synchronous: 'off' as 'full',
        busyTimeoutMs: 1.5,
      };
      await expectCode(createSqliteCheckpointStore(bad), 'INVALID_OPTIONS');
      expect(() => resolveSqliteCheckpointStoreOptions(bad)).toThrow(
        /path.*flushIntervalMs.*maxBatch.*synchronous.*busyTimeoutMs/,
      );
      expect(
        resolveSqliteCheckpointStoreOptions({ path: 'x.db', synchronous: 'normal', maxBatch: 5 }),
      ).toEqual({
        path: 'x.db',
        flushIntervalMs: 0,
        maxBatch: 5,
        synchronous: 'normal',
        busyTimeoutMs: 5000,
      });
    });

    it('a file it cannot open rejects with UNAVAILABLE', async () => {
      await expectCode(
        createSqliteCheckpointStore({ path: join(dir, 'missing', 'dir', 'x.db') }),
        'UNAVAILABLE',
      );
    });

    it('a file from a newer schema is refused with FAILED_PRECONDITION', async () => {
      const raw = rawConnection();
      raw.pragma('user_version = 99');
      raw.close();
      await expectCode(createSqliteCheckpointStore({ path }), 'FAILED_PRECONDITION');
    });
  });

  describe('schema migration', () => {
    /** The tables of schema v1 (before task rows kept the spec of an added task), as shipped. */
    const V1_DDL = `
      CREATE TABLE runs (
        run_id TEXT PRIMARY KEY, workflow_name TEXT NOT NULL, workflow TEXT NOT NULL,
        params TEXT NOT NULL, status TEXT NOT NULL, shard_key TEXT NOT NULL,
        created_at INTEGER NOT NULL, finished_at INTEGER, deadline_at INTEGER,
        deadline_missed INTEGER, labels TEXT
      );
      CREATE INDEX runs_by_created ON runs (created_at DESC, run_id);
      CREATE INDEX runs_by_status ON runs (status, created_at DESC, run_id);
      CREATE INDEX runs_by_workflow ON runs (workflow_name, created_at DESC, run_id);
      CREATE TABLE tasks (
        run_id TEXT NOT NULL, task_id TEXT NOT NULL, status TEXT NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0, worker_id TEXT, ready_at INTEGER, started_at INTEGER,
        finished_at INTEGER, outputs TEXT, error TEXT, deadline_missed INTEGER,
        PRIMARY KEY (run_id, task_id)
      );
      CREATE TABLE events (
        run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, at INTEGER NOT NULL,
        task_id TEXT, attempt INTEGER, data TEXT, PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;`;

    it('upgrades a v1 file in place to the latest schema: its runs, tasks and events read as before, added tasks keep a spec', async () => {
      const raw = rawConnection();
      raw.exec(V1_DDL);
      raw
        .prepare(
          `INSERT INTO runs (run_id, workflow_name, workflow, params, status, shard_key, created_at)
           VALUES ('old', 'etl', '{"name":"etl","tasks":[]}', '{}', 'running', 'k', 1700000000000)`,
        )
        .run();
      raw
        .prepare(
          `INSERT INTO tasks (run_id, task_id, status, attempt, outputs) VALUES
           ('old', 'a', 'succeeded', 1, '{"rows":1}'), ('old', 'b', 'pending', 0, NULL)`,
        )
        .run();
      raw
        .prepare(`INSERT INTO events (run_id, seq, type, at) VALUES ('old', 1, 'run:state:started', 5)`)
        .run();
      raw.pragma('user_version = 1');
      raw.close();

      const store = await open();
      const check = rawConnection();
      expect(check.pragma('user_version', { simple: true })).toBe(4);
      expect(
        (check.prepare('PRAGMA table_info(tasks)').all() as { name: string }[]).map((c) => c.name),
      ).toContain('spec');
      expect(await store.getRun('old')).toEqual(run('old'));
      expect(await store.getTasks('old')).toEqual([
        { runId: 'old', taskId: 'a', status: 'succeeded', attempt: 1, outputs: { rows: 1 } },
        { runId: 'old', taskId: 'b', status: 'pending', attempt: 0 },
      ]);
      await store.addTasks('old', [{ taskId: 'c', spec: { id: 'c', needs: ['a'] } }]);
      store.record({ runId: 'old', type: 'task:state:added', at: 6, taskId: 'c' });
      await store.close();

      // Opening the upgraded file again changes nothing.
      const again = await open();
      expect((await again.getTasks('old')).map((t) => [t.taskId, t.spec])).toEqual([
        ['a', undefined],
        ['b', undefined],
        ['c', { id: 'c', needs: ['a'] }],
      ]);
      expect((await again.getEvents('old')).map((e) => e.seq)).toEqual([1, 2]);
    });
  });
});
