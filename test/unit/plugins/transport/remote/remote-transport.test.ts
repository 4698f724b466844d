import { afterEach, describe, expect, it } from 'vitest';
import type { SmartQueueError } from '../../../../../engine/errors.js';
import type { ProgressReport } from '../../../../../engine/handler.js';
import { HeartbeatMonitor } from '../../../../../engine/heartbeats.js';
import type { TaskAssignment, TaskResult } from '../../../../../engine/stages.js';
import { createAvlBalancer } from '../../../../../plugins/balancer/avl/index.js';
import { createRemoteTransport } from '../../../../../plugins/transport/remote/index.js';
import type { RemoteConnection, RemoteTransport } from '../../../../../plugins/transport/remote/index.js';

const open: RemoteTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

function setup(
  options: { allowRemoteRun?: boolean; heartbeatIntervalMs?: number; maxHeartbeatsPerSecond?: number } = {},
) {
  const balancer = createAvlBalancer();
  const transport = createRemoteTransport({ balancer, ...options });
  open.push(transport);
  const lost: [string, string][] = [];
  const progress: ProgressReport[] = [];
  let wakes = 0;
  transport.bindEngine({
    workerLost: (id, reason) => lost.push([id, reason]),
    wake: () => wakes++,
    recordProgress: (p) => progress.push(p),
  });
  const results: TaskResult[] = [];
  transport.onResult((r) => results.push(r));
  return { balancer, transport, lost, results, progress, wakes: () => wakes };
}

function connection() {
  const sent: unknown[] = [];
  const ended: SmartQueueError[] = [];
  const settings: number[] = [];
  const conn: RemoteConnection = {
    sendTask: (a) => sent.push(a),
    sendCancel: (c) => sent.push(c),
    sendSettings: (s) => settings.push(s.heartbeatIntervalMs),
    end: (e) => ended.push(e),
  };
  return { conn, sent, ended, settings };
}

const assignment = (workerId: string, handler: TaskAssignment['handler']): TaskAssignment => ({
  runId: 'r',
  taskId: 't',
  attempt: 1,
  workerId,
  shard: 0,
  idempotencyKey: 'r/t',
  handler,
  inputs: {},
  params: {},
});

describe('remote transport', () => {
  it('rejects a bad registration with INVALID_ARGUMENT and field violations', () => {
    const { transport } = setup();
    expect(() => transport.connect({ id: 'bad id', capacity: 0, handlers: [] }, connection().conn)).toThrow(
      /worker_id.*capacity.*handlers/,
    );
  });

  it('joins the balancer with the registered handlers and delivers assignments and results', async () => {
    const { balancer, transport, results, lost, wakes } = setup({ allowRemoteRun: true });
    const { conn, sent } = connection();
    const session = transport.connect({ id: 'w1', capacity: 2, handlers: ['noop'] }, conn);
    expect(wakes()).toBe(1); // the engine hears that capacity appeared
    expect(balancer.pick('noop')).toBe('w1');
    expect(balancer.pick('sleep')).toBeUndefined();
    expect(balancer.pick('run')).toBeUndefined();
    await transport.dispatch(assignment('w1', { kind: 'uses', name: 'noop', with: {} }));
    expect(sent).toHaveLength(1);
    session.result({
      runId: 'r',
      taskId: 't',
      attempt: 1,
      ok: true,
      outputs: {},
      startedAt: 1,
      finishedAt: 2,
    });
    expect(results[0]!.workerId).toBe('w1');
    session.closed('gone');
    expect(balancer.pick('noop')).toBeUndefined();
    expect(lost.at(-1)).toEqual(['w1', 'gone']);
  });

  it('fails remote run tasks non-retryably unless allowed', async () => {
    const { transport, results, balancer } = setup();
    const { conn, sent } = connection();
    transport.connect({ id: 'w1', capacity: 2, handlers: ['noop'] }, conn);
    expect(balancer.pick('run')).toBe('w1'); // offered, so that it is refused rather than stuck
    await transport.dispatch(assignment('w1', { kind: 'run', argv: ['true'] }));
    await Promise.resolve();
    expect(sent).toHaveLength(0);
    expect(results[0]!.ok).toBe(false);
    expect(results[0]!.error).toMatchObject({ retryable: false });
    expect(results[0]!.error!.message).toMatch(/--allow-remote-run/);
  });

  it('replaces a session of the same worker id and hands back the old one', () => {
    const { transport, lost } = setup();
    const first = connection();
    transport.connect({ id: 'w1', capacity: 1, handlers: ['noop'] }, first.conn);
    transport.connect({ id: 'w1', capacity: 1, handlers: ['noop'] }, connection().conn);
    expect(first.ended[0]?.code).toBe('UNAVAILABLE');
    expect(lost.some(([id, reason]) => id === 'w1' && /replaced/.test(reason))).toBe(true);
    expect(transport.workers()).toEqual(['w1']);
  });

  it('declares a silent worker dead after 3 heartbeat intervals', async () => {
    const { transport, lost } = setup({ heartbeatIntervalMs: 20 });
    const { conn, ended } = connection();
    transport.connect({ id: 'w1', capacity: 1, handlers: ['noop'] }, conn);
    const until = Date.now() + 2000;
    while (!lost.some(([, r]) => /missed 3 heartbeats/.test(r)) && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    expect(lost.some(([id, r]) => id === 'w1' && /missed 3 heartbeats/.test(r))).toBe(true);
    expect(ended).toHaveLength(1);
    expect(transport.workers()).toEqual([]);
  });

  it('lengthens the heartbeat interval as workers join past the heartbeat budget, and restores it', () => {
    const { transport } = setup({ heartbeatIntervalMs: 1000, maxHeartbeatsPerSecond: 2 });
    const conns = Array.from({ length: 4 }, () => connection());
    const ids = conns.map((_, i) => `w${i + 1}`);
    const join = (i: number) =>
      transport.connect({ id: ids[i]!, capacity: 1, handlers: ['noop'] }, conns[i]!.conn);
    const sessions = [join(0), join(1)];
    // Two workers at one beat a second each fit a budget of 2/s: nothing changes.
    expect(transport.heartbeatIntervalMs).toBe(1000);
    expect(conns[0]!.settings).toEqual([]);
    sessions.push(join(2)); // 3 workers: 1500 ms keeps 2/s
    expect(transport.heartbeatIntervalMs).toBe(1500);
    expect(conns.slice(0, 3).map((c) => c.settings)).toEqual([[1500], [1500], [1500]]);
    sessions.push(join(3)); // 4 workers: 2000 ms
    expect(transport.heartbeatIntervalMs).toBe(2000);
    expect(conns[0]!.settings).toEqual([1500, 2000]);
    for (const s of sessions.slice(1)) s.closed('gone');
    // One worker left: back to the configured interval.
    expect(transport.heartbeatIntervalMs).toBe(1000);
    expect(conns[0]!.settings).toEqual([1500, 2000, 1000]);
  });

  it("passes a session's progress reports to the engine under the session's worker id", () => {
    const { transport, progress } = setup();
    const { conn } = connection();
    const session = transport.connect({ id: 'w1', capacity: 1, handlers: ['noop'] }, conn);
    session.progress({ runId: 'r', taskId: 't', attempt: 1, fraction: 0.5, message: 'half' });
    session.closed('gone');
    session.progress({ runId: 'r', taskId: 't', attempt: 1, fraction: 0.9 });
    expect(progress).toEqual([
      { runId: 'r', taskId: 't', attempt: 1, fraction: 0.5, message: 'half', workerId: 'w1' },
    ]);
  });

  it('reports heartbeat load to the balancer, which then prefers the less loaded worker', () => {
    const { balancer, transport } = setup();
    const a = transport.connect({ id: 'a', capacity: 4, handlers: ['noop'] }, connection().conn);
    const b = transport.connect({ id: 'b', capacity: 4, handlers: ['noop'] }, connection().conn);
    expect(balancer.pick('noop')).toBe('a'); // equal load: the smaller id
    a.heartbeat({ running: 0, load: 3, queued: 3, cpu: 3.9, eventLoopLagMs: 40 });
    b.heartbeat({ running: 0, load: 0 });
    expect(balancer.pick('noop')).toBe('b');
    b.heartbeat({ running: 0, load: 5 });
    expect(balancer.pick('noop')).toBe('a');
    expect(balancer.snapshot().map((w) => [w.id, w.reported])).toEqual([
      ['a', 3],
      ['b', 5],
    ]);
  });

  it('keeps the latest heartbeat load of each worker, with defaults for fields not sent', () => {
    const { transport } = setup();
    const a = transport.connect({ id: 'a', capacity: 2, handlers: ['noop'] }, connection().conn);
    transport.connect({ id: 'b', capacity: 2, handlers: ['noop'] }, connection().conn);
    expect(transport.workerLoads().size).toBe(0); // nothing until a heartbeat
    const before = Date.now();
    a.heartbeat({ running: 1, load: 9, cpu: 9, memoryBytes: 1 });
    a.heartbeat({
      running: 2,
      load: 1.5,
      threads: 4,
      busyThreads: 2,
      queued: 1,
      cpu: 0.5,
      memoryBytes: 123_456_789,
      eventLoopLagMs: 3.5,
    });
    const loads = transport.workerLoads();
    expect([...loads.keys()]).toEqual(['a']);
    expect(loads.get('a')).toEqual({
      running: 2,
      load: 1.5,
      threads: 4,
      busyThreads: 2,
      queued: 1,
      cpu: 0.5,
      memoryBytes: 123_456_789,
      eventLoopLagMs: 3.5,
      at: expect.any(Number),
    });
    expect(loads.get('a')!.at).toBeGreaterThanOrEqual(before);
    // Nonsense from a worker reads as 0 and is not reported to the balancer.
    a.heartbeat({ running: -1, load: Number.NaN, cpu: Infinity, queued: -3 });
    expect(transport.workerLoads().get('a')).toMatchObject({
      running: 0,
      load: 0,
      cpu: 0,
      queued: 0,
      threads: 0,
    });
    a.closed('gone');
    expect(transport.workerLoads().size).toBe(0);
  });
});

describe('HeartbeatMonitor interval changes', () => {
  it('judges silence against the longer interval until workers have had time to adopt a shorter one', () => {
    let now = 0;
    const dead: string[] = [];
    const m = new HeartbeatMonitor({ intervalMs: 1000, onDead: (id) => dead.push(id), now: () => now });
    m.beat('a');
    m.setIntervalMs(3000); // longer: applies at once
    expect(m.deadlineMs).toBe(9000);
    now = 8000;
    m.check();
    expect(dead).toEqual([]);
    m.beat('a');
    m.setIntervalMs(500); // shorter: the 3000 ms deadline holds for one old deadline (9 s)
    expect(m.deadlineMs).toBe(9000);
    now = 15_900;
    m.check(); // the first check after a gap only notes the time
    now = 16_000; // silent 8 s: within the 9 s of the old interval, past the new 1.5 s
    expect(m.check()).toEqual([]);
    now = 8000 + 9001; // grace over: 1.5 s deadline, and `a` has been silent 9 s
    m.check(); // the first check after a gap only notes the time
    now += 100;
    expect(m.check()).toEqual(['a']);
    expect(m.currentIntervalMs).toBe(500);
  });
});
