/**
 * Remote workers end to end: `smartqueue serve --listen` and three `smartqueue worker` processes
 * on 127.0.0.1, driven by the real typed gRPC client. Needs `npm run build` (the processes run
 * bin/smartqueue.js). Heartbeats every 200 ms, so a silent worker is lost within ~0.7 s.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { bearerInterceptor } from '../../plugins/api/grpc/auth.js';
import { createSmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { SmartQueueClient } from '../../plugins/api/grpc/index.js';
import { createSqliteCheckpointStore } from '../../plugins/checkpoint/sqlite/index.js';
import { killAllCli, ROOT, startCli, until } from '../support/processes.js';
import type { CliProcess } from '../support/processes.js';
import type { Run__Output } from '../../proto/generated/smartqueue/v1/Run.js';
import type { TaskUpdate__Output } from '../../proto/generated/smartqueue/v1/TaskUpdate.js';

const EXAMPLES = path.join(ROOT, 'workflows/examples');
const HANDLERS = path.join(ROOT, 'test/fixtures/remote/handlers.ts');
const HEARTBEAT_MS = 200;

const PARAMS: Record<string, Record<string, string>> = {
  'media-transcode': { assetId: 'a-1', source: 's3://bucket/a-1.mov' },
  'order-processing': { orderId: 'o-1', customerId: 'c-1', amount: '42.5' },
};

const clients: SmartQueueClient[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of await killAllCli())
    expect(p.child.exitCode !== null || p.child.signalCode !== null).toBe(true);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Proc = CliProcess;
const start = (args: string[], env: Record<string, string> = {}): Proc => startCli(args[0]!, args, env);

interface Cluster {
  serve: Proc;
  workers: Map<string, Proc>;
  client: SmartQueueClient;
  statePath: string;
}

async function startCluster(
  workerIds = ['w1', 'w2', 'w3'],
  capacity = 4,
  allowRemoteRun = true,
): Promise<Cluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-remote-'));
  dirs.push(dir);
  const statePath = path.join(dir, 'state.db');
  const serve = start([
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--state',
    statePath,
    '--heartbeat-interval',
    String(HEARTBEAT_MS),
    ...(allowRemoteRun ? ['--allow-remote-run'] : []),
  ]);
  const address = await until(
    'serve to listen',
    15_000,
    () => /listening on (\S+)/.exec(serve.output())?.[1],
  );
  const workers = new Map<string, Proc>();
  for (const id of workerIds) {
    workers.set(
      id,
      start([
        'worker',
        '--server',
        address,
        '--id',
        id,
        '--capacity',
        String(capacity),
        '--handlers',
        HANDLERS,
      ]),
    );
  }
  for (const id of workerIds)
    await until(`worker ${id} to join`, 15_000, () => serve.output().includes(`worker ${id} joined`));
  const client = createSmartQueueClient(address);
  clients.push(client);
  return { serve, workers, client, statePath };
}

async function waitForRun(client: SmartQueueClient, runId: string, ms = 30_000): Promise<Run__Output> {
  return until(`run ${runId} to finish`, ms, async () => {
    const run = await client.getRun({ runId });
    return run.status !== 'RUN_STATUS_RUNNING' ? run : undefined;
  });
}

/** Stops serve with SIGTERM (graceful) and reads its state file. */
async function stopAndRead(c: Cluster) {
  c.serve.child.kill('SIGTERM');
  const code = await c.serve.exited;
  expect(code, c.serve.output()).toBe(0);
  const store = createSqliteCheckpointStore({ path: c.statePath });
  return store;
}

describe('remote workers', () => {
  it('run the examples and 1,000 submitted tasks, each succeeding exactly once', async () => {
    const c = await startCluster();
    const { client } = c;
    const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));
    expect(examples.length).toBeGreaterThanOrEqual(5);
    const exampleRuns: { file: string; runId: string }[] = [];
    for (const file of examples) {
      const yaml = readFileSync(path.join(EXAMPLES, file), 'utf8');
      const names = [...yaml.matchAll(/^kind: Workflow\nmetadata:\n {2}name: (\S+)/gm)].map((m) => m[1]!);
      for (const workflow of names) {
        const r = await client.submitWorkflow({
          yaml,
          fileName: file,
          workflow: names.length > 1 ? workflow : '',
          params: PARAMS[workflow] ?? {},
        });
        exampleRuns.push({ file: `${file}:${workflow}`, runId: r.runId });
      }
    }

    // 1,000 tasks: 10 chains of 50 and 10 fan-ins of 49 + 1, all in one namespace run.
    let runId = '';
    const submit = async (taskId: string, needs: string[], handler = 'noop') => {
      const r = await client.submitTask({
        namespace: 'bulk',
        taskId,
        handler,
        needs,
        ...(handler === 'sleep' && { args: { fields: { duration: { stringValue: '1ms' } } } }),
      });
      expect(r.taskId).toBe(taskId);
      runId ||= r.runId;
      expect(r.runId).toBe(runId);
    };
    await submit('start', []);
    const chains = Array.from({ length: 10 }, async (_, ch) => {
      let previous = 'start';
      for (let i = 0; i < 50 - (ch === 0 ? 1 : 0); i++) {
        const id = `chain-${ch}-${i}`;
        await submit(id, [previous], i % 5 === 0 ? 'sleep' : 'noop');
        previous = id;
      }
    });
    const fans = Array.from({ length: 10 }, async (_, g) => {
      const members = Array.from({ length: 49 }, (__, i) => `fan-${g}-${i}`);
      await Promise.all(members.map((id) => submit(id, [])));
      await submit(`join-${g}`, members);
    });
    await Promise.all([...chains, ...fans]);

    for (const { file, runId: id } of exampleRuns) {
      const run = await waitForRun(client, id);
      expect(run.status, file).toBe('RUN_STATUS_SUCCEEDED');
      for (const t of run.tasks) expect(['TASK_STATUS_SUCCEEDED', 'TASK_STATUS_SKIPPED']).toContain(t.status);
    }
    let last: Run__Output | undefined;
    const bulk = await until('the 1,000 tasks to succeed', 60_000, async () => {
      const run = (last = await client.getRun({ runId }));
      return run.tasks.filter((t) => t.status === 'TASK_STATUS_SUCCEEDED').length === 1000 ? run : undefined;
    }).catch((err: unknown) => {
      const counts: Record<string, number> = {};
      for (const t of last?.tasks ?? []) counts[t.status] = (counts[t.status] ?? 0) + 1;
      const stuck = last?.tasks.filter((t) => t.status !== 'TASK_STATUS_SUCCEEDED').slice(0, 5);
      throw new Error(
        `${String(err)}: ${JSON.stringify(counts)} ${JSON.stringify(stuck)}\n${c.serve.output().slice(-2000)}`,
      );
    });
    expect(bulk.tasks).toHaveLength(1000);
    const usedWorkers = new Set(bulk.tasks.map((t) => t.workerId));
    expect([...usedWorkers].sort()).toEqual(['w1', 'w2', 'w3']);

    const store = await stopAndRead(c);
    try {
      const successes = new Map<string, number>();
      for (const e of await store.getEvents(runId))
        if (e.type === 'task:attempt:succeeded')
          successes.set(e.taskId!, (successes.get(e.taskId!) ?? 0) + 1);
      expect(successes.size).toBe(1000);
      expect([...successes.values()].every((n) => n === 1)).toBe(true);
      for (const { runId: id } of exampleRuns) expect((await store.getRun(id))?.status).toBe('succeeded');
    } finally {
      await store.close();
    }
  }, 120_000);

  it('re-dispatches the tasks of a worker killed with -9; each succeeds once, elsewhere', async () => {
    const c = await startCluster(['w1', 'w2', 'w3'], 4);
    const { client } = c;
    const total = 36;
    let runId = '';
    for (let i = 0; i < total; i++) {
      const r = await client.submitTask({
        namespace: 'kill',
        taskId: `slow-${i}`,
        handler: 'slow',
        args: { fields: { ms: { numberValue: 1500 } } },
        ...(i >= 12 && { needs: [`slow-${i - 12}`] }),
      });
      runId ||= r.runId;
    }
    // Catch w2 with attempts in flight, then kill it without warning.
    const onVictim = await until('tasks running on w2', 15_000, async () => {
      const run = await client.getRun({ runId });
      const ids = run.tasks
        .filter((t) => t.workerId === 'w2' && t.status === 'TASK_STATUS_DISPATCHED')
        .map((t) => t.taskId);
      return ids.length >= 2 ? ids : undefined;
    });
    c.workers.get('w2')!.child.kill('SIGKILL');
    await c.workers.get('w2')!.exited;

    const run = await until('every task to succeed', 60_000, async () => {
      const r = await client.getRun({ runId });
      return r.tasks.filter((t) => t.status === 'TASK_STATUS_SUCCEEDED').length === total ? r : undefined;
    });
    const byId = new Map(run.tasks.map((t) => [t.taskId, t]));
    for (const id of onVictim) expect(['w1', 'w3']).toContain(byId.get(id)!.workerId);
    expect(c.serve.output()).toMatch(/worker w2 lost: .*\(\d+ attempt\(s\) handed back\)/);
    // The remote handler's progress reports of the attempt that finished the task reached the
    // watchers (the lost attempt's may have too, if w2 sent them before it was killed).
    const updates: TaskUpdate__Output[] = [];
    for await (const u of client.watchTasks({ runId, taskIds: [onVictim[0]!] })) updates.push(u);
    const progress = updates.filter((u) => u.status === 'TASK_STATUS_RUNNING' && u.workerId !== 'w2');
    expect(progress.map((u) => u.progress)).toEqual([0, 0.5]);
    expect(progress[0]!.message).toMatch(/^started in process \d+$/);
    expect(updates.map((u) => u.status)).toContain('TASK_STATUS_READY'); // handed back
    expect(updates.at(-1)!.status).toBe('TASK_STATUS_SUCCEEDED');

    const store = await stopAndRead(c);
    try {
      const events = await store.getEvents(runId);
      const successes = new Map<string, number>();
      for (const e of events)
        if (e.type === 'task:attempt:succeeded')
          successes.set(e.taskId!, (successes.get(e.taskId!) ?? 0) + 1);
      expect(successes.size).toBe(total);
      expect([...successes.values()].every((n) => n === 1)).toBe(true);
      const lost = new Set(events.filter((e) => e.type === 'task:attempt:lost').map((e) => e.taskId));
      for (const id of onVictim) expect(lost.has(id), id).toBe(true);
      const tasks = new Map((await store.getTasks(runId)).map((t) => [t.taskId, t]));
      for (const id of onVictim) {
        expect(tasks.get(id)!.status).toBe('succeeded');
        expect(tasks.get(id)!.workerId).not.toBe('w2');
      }
    } finally {
      await store.close();
    }
  }, 120_000);

  it('declares a frozen worker dead after 3 missed heartbeats and runs its tasks elsewhere', async () => {
    const c = await startCluster(['w1', 'w2'], 2);
    const { client } = c;
    let runId = '';
    for (let i = 0; i < 8; i++) {
      const r = await client.submitTask({
        namespace: 'freeze',
        taskId: `t-${i}`,
        handler: 'slow',
        args: { fields: { ms: { numberValue: 800 } } },
      });
      runId ||= r.runId;
    }
    const frozen = c.workers.get('w2')!.child;
    const onVictim = await until('tasks running on w2', 15_000, async () => {
      const run = await client.getRun({ runId });
      const ids = run.tasks
        .filter((t) => t.workerId === 'w2' && t.status === 'TASK_STATUS_DISPATCHED')
        .map((t) => t.taskId);
      return ids.length >= 1 ? ids : undefined;
    });
    // SIGSTOP keeps the TCP connection open: only the missing heartbeats can tell.
    frozen.kill('SIGSTOP');
    try {
      await until('w2 to be declared dead', 10_000, () =>
        /worker w2 lost: missed 3 heartbeats/.test(c.serve.output()) ? true : undefined,
      );
      const run = await until('every task to succeed', 30_000, async () => {
        const r = await client.getRun({ runId });
        return r.tasks.every((t) => t.status === 'TASK_STATUS_SUCCEEDED') ? r : undefined;
      });
      for (const id of onVictim) expect(run.tasks.find((t) => t.taskId === id)!.workerId).toBe('w1');
    } finally {
      frozen.kill('SIGCONT');
    }
    // Thawed, w2 finds its session gone, reconnects and is given work again; its stale results were discarded.
    await until('w2 to rejoin', 15_000, () =>
      (c.serve.output().match(/worker w2 joined/g) ?? []).length >= 2 ? true : undefined,
    );
    const store = await stopAndRead(c);
    try {
      const successes = (await store.getEvents(runId)).filter((e) => e.type === 'task:attempt:succeeded');
      expect(successes).toHaveLength(8);
      expect(new Set(successes.map((e) => e.taskId)).size).toBe(8);
    } finally {
      await store.close();
    }
  }, 90_000);

  it('refuses remote `run` tasks unless the server allows them; a worker stops cleanly on SIGTERM', async () => {
    const c = await startCluster(['w1'], 2, false);
    const { client } = c;
    const refused = await client.submitTask({
      namespace: 'argv',
      taskId: 'argv',
      handler: 'run',
      args: { fields: { argv: { listValue: { values: [{ stringValue: 'true' }] } } } },
    });
    const slow = await client.submitTask({
      runId: refused.runId,
      taskId: 'slow',
      handler: 'slow',
      args: { fields: { ms: { numberValue: 300 } } },
    });
    const task = await until('the run task to fail', 15_000, async () => {
      const t = await client.getTask({ runId: refused.runId, taskId: 'argv' });
      return t.status === 'TASK_STATUS_FAILED' ? t : undefined;
    });
    expect(task.error).toMatch(/remote workers may not run `run` \(argv\) tasks.*--allow-remote-run/);
    expect(task.attempt).toBe(1); // not retried
    await until('the slow task to be dispatched', 15_000, async () => {
      const t = await client.getTask({ runId: slow.runId, taskId: 'slow' });
      return t.status !== 'TASK_STATUS_PENDING' ? t : undefined;
    });
    // SIGTERM: the worker drains, lets the running attempt finish, reports it and exits 0.
    const w1 = c.workers.get('w1')!;
    w1.child.kill('SIGTERM');
    expect(await w1.exited, w1.output()).toBe(0);
    expect(w1.output()).toMatch(/stopped/);
    const t = await client.getTask({ runId: slow.runId, taskId: 'slow' });
    expect(t.status).toBe('TASK_STATUS_SUCCEEDED');
    expect(c.serve.output()).toMatch(/worker w1 draining/);
  }, 60_000);

  it('with bearer tokens, admits only workers that present a worker token', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sq-remote-auth-'));
    dirs.push(dir);
    const tokens = path.join(dir, 'tokens.yaml');
    writeFileSync(
      tokens,
      'client-token-0123456789: { name: ci, namespaces: [jobs] }\n' +
        'worker-token-0123456789: { name: pool, namespaces: "*", role: worker }\n',
    );
    const serve = start(['serve', '--listen', '127.0.0.1:0', '--state', ':memory:', '--tokens', tokens]);
    const address = await until(
      'serve to listen',
      15_000,
      () => /listening on (\S+)/.exec(serve.output())?.[1],
    );
    const intruder = start(['worker', '--server', address, '--id', 'intruder'], {
      SMARTQUEUE_TOKEN: 'client-token-0123456789',
    });
    const member = start(['worker', '--server', address, '--id', 'member'], {
      SMARTQUEUE_TOKEN: 'worker-token-0123456789',
    });
    await until(
      'the member to join',
      15_000,
      () => serve.output().includes('worker member joined') || undefined,
    );
    await until(
      'the intruder to be refused',
      15_000,
      () => /reconnecting/.test(intruder.output()) || undefined,
    );
    expect(intruder.output(), intruder.output()).toMatch(/may not make worker calls/);
    const client = createSmartQueueClient(address, {
      channelOptions: { interceptors: [bearerInterceptor('client-token-0123456789')] },
    });
    clients.push(client);
    const r = await client.submitTask({ namespace: 'jobs', taskId: 'a', handler: 'noop' });
    const t = await until('the task to succeed', 15_000, async () => {
      const task = await client.getTask({ runId: r.runId, taskId: 'a' });
      return task.status === 'TASK_STATUS_SUCCEEDED' ? task : undefined;
    });
    expect(t.workerId).toBe('member');
    expect(serve.output()).not.toMatch(/worker intruder joined/);
    expect(member.output()).toMatch(/registered with .* as member/);
  }, 60_000);
});
