import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../engine/errors.js';
import type { TaskAssignment, TaskResult, WorkerEndpoint } from '../../../../engine/stages.js';
import { createInProcessTransport } from '../../../../plugins/transport/in-process/index.js';

function assignment(workerId: string, taskId: string): TaskAssignment {
  return {
    runId: 'run_1',
    taskId,
    attempt: 1,
    workerId,
    shard: 0,
    idempotencyKey: `run_1/${taskId}`,
    handler: { kind: 'uses', name: 'noop', with: {} },
    inputs: {},
    params: {},
  };
}

function result(taskId: string): TaskResult {
  return {
    runId: 'run_1',
    taskId,
    attempt: 1,
    workerId: 'w1',
    ok: true,
    outputs: {},
    startedAt: 1,
    finishedAt: 2,
  };
}

function recorder(): WorkerEndpoint & { tasks: string[]; cancels: string[] } {
  const tasks: string[] = [];
  const cancels: string[] = [];
  return {
    tasks,
    cancels,
    onTask: (a) => tasks.push(a.taskId),
    onCancel: (c) => cancels.push(c.taskId),
  };
}

/** Lets every queued microtask run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function rejection(promise: Promise<unknown>): Promise<SmartQueueError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(SmartQueueError);
  return error as SmartQueueError;
}

describe('createInProcessTransport', () => {
  it('delivers asynchronously, never inside dispatch', async () => {
    const transport = createInProcessTransport();
    const endpoint = recorder();
    await transport.subscribe('w1', endpoint);
    const dispatched = transport.dispatch(assignment('w1', 'a'));
    expect(endpoint.tasks).toEqual([]);
    await dispatched;
    await settle();
    expect(endpoint.tasks).toEqual(['a']);
    await transport.close();
  });

  it('rejects a dispatch to an unknown worker with UNAVAILABLE', async () => {
    const transport = createInProcessTransport();
    const error = await rejection(transport.dispatch(assignment('ghost', 'a')));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toContain('ghost');
    await transport.close();
  });

  it('rejects a dispatch to a worker that unsubscribed, and drops what was queued for it', async () => {
    const transport = createInProcessTransport();
    const endpoint = recorder();
    const unsubscribe = await transport.subscribe('w1', endpoint);
    // Queued without yielding, so nothing is delivered before the unsubscribe.
    const queued = [
      transport.dispatch(assignment('w1', 'queued')),
      transport.cancel('w1', { runId: 'run_1', taskId: 'queued', attempt: 1 }),
      unsubscribe(),
    ];
    await Promise.all(queued);
    await settle();
    expect(endpoint.tasks).toEqual([]);
    expect(endpoint.cancels).toEqual([]);
    expect((await rejection(transport.dispatch(assignment('w1', 'late')))).code).toBe('UNAVAILABLE');
    // Subscribing again works, and an old unsubscribe does not remove the new subscription.
    const again = recorder();
    await transport.subscribe('w1', again);
    await unsubscribe();
    await transport.dispatch(assignment('w1', 'b'));
    await settle();
    expect(again.tasks).toEqual(['b']);
    await transport.close();
  });

  it('refuses a second endpoint for the same worker id', async () => {
    const transport = createInProcessTransport();
    await transport.subscribe('w1', recorder());
    expect((await rejection(transport.subscribe('w1', recorder()))).code).toBe('ALREADY_EXISTS');
    await transport.close();
  });

  it('keeps the order of assignments, cancels and results, including messages sent while delivering', async () => {
    const transport = createInProcessTransport();
    const log: string[] = [];
    await transport.subscribe('w1', {
      onTask: (a) => {
        log.push(`task:${a.taskId}`);
        if (a.taskId === 'a') void transport.publishResult(result('a'));
      },
      onCancel: (c) => log.push(`cancel:${c.taskId}`),
    });
    transport.onResult((r) => log.push(`result:${r.taskId}`));
    await Promise.all([
      transport.dispatch(assignment('w1', 'a')),
      transport.cancel('w1', { runId: 'run_1', taskId: 'x', attempt: 1 }),
      transport.dispatch(assignment('w1', 'b')),
    ]);
    await settle();
    // The result published by onTask('a') queues behind what was already queued.
    expect(log).toEqual(['task:a', 'cancel:x', 'task:b', 'result:a']);
    await transport.close();
  });

  it('resolves a cancel for an unknown worker without delivering anything', async () => {
    const transport = createInProcessTransport();
    await expect(transport.cancel('ghost', { runId: 'r', taskId: 't', attempt: 1 })).resolves.toBeUndefined();
    await transport.close();
  });

  it('keeps delivering when a listener throws, and reports the error', async () => {
    const errors: unknown[] = [];
    const transport = createInProcessTransport({ onListenerError: (err) => errors.push(err) });
    const got: string[] = [];
    transport.onResult(() => {
      throw new Error('listener bug');
    });
    transport.onResult((r) => got.push(r.taskId));
    await transport.subscribe('w1', {
      onTask: () => {
        throw new Error('worker bug');
      },
      onCancel: () => undefined,
    });
    await transport.dispatch(assignment('w1', 'a'));
    await transport.publishResult(result('a'));
    await transport.publishResult(result('b'));
    await settle();
    expect(got).toEqual(['a', 'b']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['worker bug', 'listener bug', 'listener bug']);
    await transport.close();
  });

  it('delivers nothing queued before close, and rejects later calls with UNAVAILABLE', async () => {
    const transport = createInProcessTransport();
    const endpoint = recorder();
    const results: TaskResult[] = [];
    await transport.subscribe('w1', endpoint);
    transport.onResult((r) => results.push(r));
    await Promise.all([
      transport.dispatch(assignment('w1', 'a')),
      transport.publishResult(result('a')),
      transport.close(),
    ]);
    await settle();
    expect(endpoint.tasks).toEqual([]);
    expect(results).toEqual([]);
    expect((await rejection(transport.subscribe('w2', recorder()))).code).toBe('UNAVAILABLE');
    expect((await rejection(transport.cancel('w1', { runId: 'r', taskId: 't', attempt: 1 }))).code).toBe(
      'UNAVAILABLE',
    );
  });

  it('stops delivering in the middle of a burst when a listener closes the transport', async () => {
    const transport = createInProcessTransport();
    const got: string[] = [];
    await transport.subscribe('w1', {
      onTask: (a) => {
        got.push(a.taskId);
        void transport.close();
      },
      onCancel: () => undefined,
    });
    await Promise.all([transport.dispatch(assignment('w1', 'a')), transport.dispatch(assignment('w1', 'b'))]);
    await settle();
    expect(got).toEqual(['a']);
  });

  it('moves 100k assignments through quickly', async () => {
    const transport = createInProcessTransport();
    let received = 0;
    await transport.subscribe('w1', { onTask: () => received++, onCancel: () => undefined });
    const tasks = Array.from({ length: 100_000 }, (_, i) => assignment('w1', `t${i}`));
    const started = performance.now();
    for (const task of tasks) void transport.dispatch(task);
    await settle();
    const elapsed = performance.now() - started;
    expect(received).toBe(100_000);
    // Warm, this takes ~50 ms. The bound is loose for busy CI machines, but still catches a
    // queue that is quadratic in its length (e.g. Array#shift per message: ~10 s here).
    expect(elapsed).toBeLessThan(5000);
    await transport.close();
  });

  it('supports await using', async () => {
    const endpoint = recorder();
    let transportRef: ReturnType<typeof createInProcessTransport>;
    {
      await using transport = createInProcessTransport();
      transportRef = transport;
      await transport.subscribe('w1', endpoint);
    }
    expect((await rejection(transportRef.dispatch(assignment('w1', 'a')))).code).toBe('UNAVAILABLE');
  });
});
