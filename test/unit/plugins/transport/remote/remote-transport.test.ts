import { afterEach, describe, expect, it } from 'vitest';
import type { SmartQueueError } from '../../../../../engine/errors.js';
import type { TaskAssignment, TaskResult } from '../../../../../engine/stages.js';
import { createAvlBalancer } from '../../../../../plugins/balancer/avl/index.js';
import { createRemoteTransport } from '../../../../../plugins/transport/remote/index.js';
import type { RemoteConnection, RemoteTransport } from '../../../../../plugins/transport/remote/index.js';

const open: RemoteTransport[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

function setup(options: { allowRemoteRun?: boolean; heartbeatIntervalMs?: number } = {}) {
  const balancer = createAvlBalancer();
  const transport = createRemoteTransport({ balancer, ...options });
  open.push(transport);
  const lost: [string, string][] = [];
  let wakes = 0;
  transport.bindEngine({ workerLost: (id, reason) => lost.push([id, reason]), wake: () => wakes++ });
  const results: TaskResult[] = [];
  transport.onResult((r) => results.push(r));
  return { balancer, transport, lost, results, wakes: () => wakes };
}

function connection() {
  const sent: unknown[] = [];
  const ended: SmartQueueError[] = [];
  const conn: RemoteConnection = {
    sendTask: (a) => sent.push(a),
    sendCancel: (c) => sent.push(c),
    end: (e) => ended.push(e),
  };
  return { conn, sent, ended };
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
});
