/**
 * runAttempt and LocalWorker: what a handler receives, how its outcome becomes a TaskResult, and
 * how timeouts and cancellation abort it (whether or not it honours its signal).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NonRetryableError, RetryAfterError } from '../../../engine/errors.js';
import type { HandlerContext, TaskHandler } from '../../../engine/handler.js';
import type { TaskAssignment, TaskResult } from '../../../engine/stages.js';
import { LocalWorker, runAttempt } from '../../../engine/worker.js';
import { createInProcessTransport } from '../../../plugins/transport/in-process/index.js';
import { eventually, sleep, untilAborted } from './harness.js';

const assignment = (over: Partial<TaskAssignment> = {}): TaskAssignment => ({
  runId: 'run-1',
  taskId: 'task-a',
  attempt: 2,
  workerId: 'w1',
  shard: 0,
  idempotencyKey: 'run-1/task-a',
  handler: { kind: 'uses', name: 'h', with: { n: 3 } },
  inputs: { up: { rows: 7 } },
  params: { region: 'eu' },
  ...over,
});

const registry = (h: TaskHandler) => new Map<string, TaskHandler>([['h', h]]);

describe('runAttempt', () => {
  it('hands the handler its context and returns its outputs', async () => {
    let seen: HandlerContext | undefined;
    const r = await runAttempt(
      assignment(),
      registry((ctx) => {
        seen = ctx;
        return { doubled: (ctx.args.n as number) * 2 };
      }),
    );
    expect(r).toMatchObject({
      runId: 'run-1',
      taskId: 'task-a',
      attempt: 2,
      workerId: 'w1',
      ok: true,
      outputs: { doubled: 6 },
    });
    expect(r.finishedAt).toBeGreaterThanOrEqual(r.startedAt);
    expect(seen).toMatchObject({
      runId: 'run-1',
      taskId: 'task-a',
      attempt: 2,
      idempotencyKey: 'run-1/task-a',
      args: { n: 3 },
      inputs: { up: { rows: 7 } },
      params: { region: 'eu' },
    });
    expect(seen!.signal.aborted).toBe(false);
  });

  it('reports a handler that returns nothing as empty outputs', async () => {
    const r = await runAttempt(
      assignment(),
      registry(() => undefined),
    );
    expect(r).toMatchObject({ ok: true, outputs: {} });
  });

  it('passes argv, cwd and env of a run task to the "run" handler', async () => {
    let args: unknown;
    const reg = new Map<string, TaskHandler>([['run', (ctx) => void (args = ctx.args)]]);
    await runAttempt(
      assignment({ handler: { kind: 'run', argv: ['echo', 'hi'], cwd: '/tmp', env: { A: '1' } } }),
      reg,
    );
    expect(args).toEqual({ argv: ['echo', 'hi'], cwd: '/tmp', env: { A: '1' } });
  });

  it('prefers a run handler over the registry', async () => {
    const r = await runAttempt(
      assignment(),
      registry(() => ({ from: 'registry' })),
      {
        runHandlers: registry(() => ({ from: 'run' })),
      },
    );
    expect(r.outputs).toEqual({ from: 'run' });
  });

  it('fails non-retryably on an unknown handler, naming the handlers it has', async () => {
    const r = await runAttempt(
      assignment({ handler: { kind: 'uses', name: 'nope', with: {} } }),
      registry(() => ({})),
    );
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ retryable: false });
    expect(r.error!.message).toContain('"nope"');
    expect(r.error!.message).toContain('h');
  });

  it('maps thrown errors: plain → retryable, NonRetryableError → not, RetryAfterError → with its delay', async () => {
    const plain = await runAttempt(
      assignment(),
      registry(() => Promise.reject(new Error('flaky'))),
    );
    expect(plain.error).toEqual({ message: 'flaky', retryable: true });
    const sync = await runAttempt(
      assignment(),
      registry(() => {
        throw new Error('sync throw');
      }),
    );
    expect(sync.error).toEqual({ message: 'sync throw', retryable: true });
    const fatal = await runAttempt(
      assignment(),
      registry(() => Promise.reject(new NonRetryableError('bad input'))),
    );
    expect(fatal.error).toEqual({ message: 'bad input', retryable: false });
    const later = await runAttempt(
      assignment(),
      registry(() => Promise.reject(new RetryAfterError('slow down', 1234))),
    );
    expect(later.error).toEqual({ message: 'slow down', retryable: true, retryAfterMs: 1234 });
    const str = await runAttempt(
      assignment(),
      registry(() => Promise.reject('just a string')),
    );
    expect(str.error).toMatchObject({ message: 'just a string', retryable: true });
  });

  it('times out a handler that ignores its signal: the attempt ends, the signal is aborted', async () => {
    let signal: AbortSignal | undefined;
    let handlerDone = false;
    const r = await runAttempt(
      assignment({ timeoutMs: 40 }),
      registry(async (ctx) => {
        signal = ctx.signal;
        await sleep(400);
        handlerDone = true;
        return { late: true };
      }),
    );
    expect(handlerDone).toBe(false);
    expect(signal!.aborted).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ timedOut: true, retryable: true });
    expect(r.error!.message).toContain('40');
    expect(r.finishedAt - r.startedAt).toBeGreaterThanOrEqual(35);
  });

  it('times out a handler that honours its signal the same way', async () => {
    let signal: AbortSignal | undefined;
    const r = await runAttempt(
      assignment({ timeoutMs: 40 }),
      registry(async (ctx) => {
        signal = ctx.signal;
        await untilAborted(ctx.signal);
        return {};
      }),
    );
    expect(signal!.aborted).toBe(true);
    expect(r.error).toMatchObject({ timedOut: true, retryable: true });
  });

  it('does not time out a handler that finishes in time', async () => {
    const r = await runAttempt(
      assignment({ timeoutMs: 1_000 }),
      registry(() => sleep(5).then(() => ({ ok: 1 }))),
    );
    expect(r).toMatchObject({ ok: true, outputs: { ok: 1 } });
  });

  it('cancels through cancelSignal: not retryable, marked cancelled, the handler signal aborts', async () => {
    const cancel = new AbortController();
    let signal: AbortSignal | undefined;
    const pending = runAttempt(
      assignment(),
      registry(async (ctx) => {
        signal = ctx.signal;
        await sleep(400);
        return {};
      }),
      { cancelSignal: cancel.signal },
    );
    await eventually(() => signal !== undefined);
    cancel.abort();
    const r = await pending;
    expect(signal!.aborted).toBe(true);
    expect(r.error).toMatchObject({ cancelled: true, retryable: false });
    expect(r.error!.timedOut).toBeUndefined();
  });

  it('is cancelled at once when the cancel signal is already aborted', async () => {
    const cancel = new AbortController();
    cancel.abort();
    const r = await runAttempt(
      assignment(),
      registry(async (ctx) => {
        await untilAborted(ctx.signal);
      }),
      { cancelSignal: cancel.signal },
    );
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ cancelled: true, retryable: false });
  });
});

describe('LocalWorker', () => {
  const transports: ReturnType<typeof createInProcessTransport>[] = [];
  afterEach(async () => {
    for (const t of transports.splice(0)) await t.close();
  });

  it('runs assignments from the transport, publishes results, and aborts on a cancel', async () => {
    const transport = createInProcessTransport();
    transports.push(transport);
    const results: TaskResult[] = [];
    transport.onResult((r) => results.push(r));
    const signals = new Map<string, AbortSignal>();
    const worker = new LocalWorker({
      id: 'w1',
      capacity: 2,
      transport,
      handlers: registry(async (ctx) => {
        signals.set(ctx.taskId, ctx.signal);
        if (ctx.taskId === 'quick') return { q: 1 };
        await untilAborted(ctx.signal);
        return {};
      }),
    });
    await worker.start();
    expect(worker.id).toBe('w1');
    expect(worker.capacity).toBe(2);
    await transport.dispatch(assignment({ taskId: 'quick', attempt: 1 }));
    await transport.dispatch(assignment({ taskId: 'stuck', attempt: 1 }));
    await eventually(() => results.length === 1 && worker.busy === 1);
    expect(results[0]).toMatchObject({ taskId: 'quick', ok: true, outputs: { q: 1 } });
    // A cancel for another attempt of the same task does nothing.
    await transport.cancel('w1', { runId: 'run-1', taskId: 'stuck', attempt: 9 });
    await sleep(10);
    expect(signals.get('stuck')!.aborted).toBe(false);
    await transport.cancel('w1', { runId: 'run-1', taskId: 'stuck', attempt: 1 });
    await eventually(() => results.length === 2);
    expect(signals.get('stuck')!.aborted).toBe(true);
    expect(results[1]).toMatchObject({ taskId: 'stuck', ok: false, error: { cancelled: true } });
    expect(worker.busy).toBe(0);
    await worker.close();
  });

  it('aborts running attempts when it closes', async () => {
    const transport = createInProcessTransport();
    transports.push(transport);
    let signal: AbortSignal | undefined;
    const worker = new LocalWorker({
      id: 'w1',
      capacity: 1,
      transport,
      handlers: registry(async (ctx) => {
        signal = ctx.signal;
        await untilAborted(ctx.signal);
      }),
    });
    await worker.start();
    await transport.dispatch(assignment());
    await eventually(() => signal !== undefined);
    await worker.close();
    await eventually(() => signal!.aborted, 1000, 'the handler to be aborted');
  });
});
