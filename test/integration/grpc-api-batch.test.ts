/**
 * The gRPC API's IR submissions, SubmitTasks batches, WatchTasks streams, handler progress and
 * the per-client rate limit, end to end through a real grpc-js server and client.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { loadYamlText } from '../../dsl/load.js';
import type { TaskHandler } from '../../engine/handler.js';
import { toStruct } from '../../plugins/api/grpc/convert.js';
import { decodeBadRequest } from '../../plugins/api/grpc/index.js';
import { createRateLimiter } from '../../plugins/api/grpc/rate-limit.js';
import type { TaskUpdate__Output } from '../../proto/generated/smartqueue/v1/TaskUpdate.js';
import { EXAMPLE_OUTPUTS } from '../fixtures/remote/handlers.js';
import { collect, failure, grpcTestServers } from '../support/grpc-server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLES = path.join(ROOT, 'workflows/examples');

const stub: TaskHandler = () => ({ ...EXAMPLE_OUTPUTS });
/** Reports progress twice (past the coalescing interval), then succeeds. */
const slowWithProgress: TaskHandler = async (ctx) => {
  ctx.progress(0.25, 'a quarter');
  await new Promise((r) => setTimeout(r, 300));
  ctx.progress(0.75, 'three quarters');
  await new Promise((r) => setTimeout(r, 300));
  return { done: true };
};
const { startServer, waitForRun } = grpcTestServers(() => ({
  run: stub,
  http: stub,
  progress: slowWithProgress,
}));

const PARAMS: Record<string, Record<string, string>> = {
  'media-transcode': { assetId: 'a-1', source: 's3://bucket/a-1.mov' },
  'order-processing': { orderId: 'o-1', customerId: 'c-1', amount: '42.5' },
};

/** The compiled IR of every workflow of the YAML examples, as JSON (what `plan --ir` prints). */
function exampleIrs() {
  return readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => {
      const file = path.join(EXAMPLES, f);
      return loadYamlText(readFileSync(file, 'utf8'), file).workflows.map(
        (w) => JSON.parse(JSON.stringify(w.ir)) as Record<string, unknown> & { name: string },
      );
    });
}

describe('SubmitWorkflow with compiled IR', () => {
  it('runs every example workflow sent as IR to success', async () => {
    const { client } = await startServer();
    const irs = exampleIrs();
    expect(irs.length).toBeGreaterThanOrEqual(6);
    for (const ir of irs) {
      const r = await client.submitWorkflow({ ir: toStruct(ir), params: PARAMS[ir.name] ?? {} });
      expect(r.workflow).toBe(ir.name);
      const run = await waitForRun(client, r.runId);
      expect(run.status, ir.name).toBe('RUN_STATUS_SUCCEEDED');
    }
  }, 60_000);

  it('names wrong IR fields by path, and refuses graph errors and an unknown workflow name', async () => {
    const { client } = await startServer();
    const ir = exampleIrs().find((w) => w.name === 'sales-etl')!;
    const tasks = ir.tasks as Record<string, unknown>[];

    const shape = await failure(
      client.submitWorkflow({
        ir: toStruct({ ...ir, priority: 500, tasks: [{ ...tasks[0], needs: 'x' }, ...tasks.slice(1)] }),
      }),
    );
    expect(shape.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(
      decodeBadRequest(shape)!
        .map((v) => v.field)
        .sort(),
    ).toEqual(['ir.priority', 'ir.tasks[0].needs']);

    const graph = await failure(
      client.submitWorkflow({
        ir: toStruct({ ...ir, tasks: [...tasks, { ...tasks[0], id: 'extra', needs: ['nowhere'] }] }),
        fileName: 'etl.ir.json',
      }),
    );
    expect(graph.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(graph.details).toMatch(/^etl\.ir\.json:1:1 .*unknown task "nowhere"/);

    const name = await failure(client.submitWorkflow({ ir: toStruct(ir), workflow: 'other' }));
    expect(name.code).toBe(grpc.status.NOT_FOUND);

    const empty = await failure(client.submitWorkflow({}));
    expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('SubmitTasks', () => {
  it('adds a batch whose tasks need each other, in order, and runs each exactly once', async () => {
    const { client, runtime } = await startServer();
    const tasks = Array.from({ length: 300 }, (_, i) => ({
      taskId: `t${i}`,
      handler: 'noop',
      needs: i === 0 ? [] : [`t${Math.floor((i - 1) / 2)}`], // a binary tree
    }));
    const r = await client.submitTasks({ namespace: 'batch', tasks });
    expect(r.tasks.map((t) => t.taskId)).toEqual(tasks.map((t) => t.taskId));
    expect(r.tasks.every((t) => t.runId === r.runId && !t.deduplicated)).toBe(true);
    const updates = await collect(client.watchTasks({ runId: r.runId, taskIds: ['t299', 't150'] }));
    expect(updates.at(-1)!.status).toBe('TASK_STATUS_SUCCEEDED');
    const run = await client.getRun({ runId: r.runId });
    const done = run.tasks.filter((t) => t.status === 'TASK_STATUS_SUCCEEDED').map((t) => t.taskId);
    expect(new Set(done)).toContain('t299');
    const events = await runtime.store.getEvents(r.runId);
    const successes = events.filter((e) => e.type === 'task:attempt:succeeded').map((e) => e.taskId);
    expect(new Set(successes).size).toBe(successes.length);
  });

  it('adds all or none: a bad member refuses the whole batch', async () => {
    const { client } = await startServer();
    const first = await client.submitTasks({ namespace: 'aon', tasks: [{ taskId: 'a', handler: 'noop' }] });

    const need = await failure(
      client.submitTasks({
        namespace: 'aon',
        tasks: [
          { taskId: 'b', handler: 'noop', needs: ['a'] },
          { taskId: 'c', handler: 'noop', needs: ['missing'] },
        ],
      }),
    );
    expect(need.code).toBe(grpc.status.NOT_FOUND);
    expect(need.details).toContain('missing');

    const fields = await failure(
      client.submitTasks({
        namespace: 'aon',
        tasks: [
          { taskId: 'd', handler: 'noop' },
          { taskId: 'd', handler: 'noop' },
          { taskId: 'e', handler: 'noop', deadline: 'soonish', runId: 'run_x' },
          { taskId: 'f' },
        ],
      }),
    );
    expect(fields.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(decodeBadRequest(fields)!.map((v) => v.field)).toEqual([
      'tasks[1].task_id',
      'tasks[2].run_id',
      'tasks[2].deadline',
      'tasks[3].handler',
    ]);

    const run = await client.getRun({ runId: first.runId });
    expect(run.tasks.map((t) => t.taskId)).toEqual(['a']);
  });

  it('answers repeated idempotency keys with the original tasks, and ALREADY_EXISTS for a changed one', async () => {
    const { client } = await startServer();
    const tasks = [
      { taskId: 'x', handler: 'noop', idempotencyKey: 'k-x' },
      { taskId: 'y', handler: 'noop', idempotencyKey: 'k-y', needs: ['x'] },
    ];
    const a = await client.submitTasks({ namespace: 'idem', tasks });
    const b = await client.submitTasks({ namespace: 'idem', tasks });
    expect(b.tasks).toEqual(a.tasks.map((t) => ({ ...t, deduplicated: true })));
    // The unary call shares the keys.
    const single = await client.submitTask({ namespace: 'idem', ...tasks[0] });
    expect(single).toEqual({ ...a.tasks[0], deduplicated: true });
    const changed = await failure(
      client.submitTasks({ namespace: 'idem', tasks: [{ ...tasks[0], handler: 'sleep' }] }),
    );
    expect(changed.code).toBe(grpc.status.ALREADY_EXISTS);
  });

  it('RESOURCE_EXHAUSTED over the tasks-per-submission limit; INVALID_ARGUMENT for an empty batch', async () => {
    const { client } = await startServer({ maxTasksPerSubmission: 5 });
    const tasks = Array.from({ length: 6 }, (_, i) => ({ taskId: `t${i}`, handler: 'noop' }));
    expect((await failure(client.submitTasks({ tasks }))).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await failure(client.submitTasks({ tasks: [] }))).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});

describe('WatchTasks', () => {
  it('streams the listed tasks of a namespace until they are final, with progress, and resumes', async () => {
    const { client } = await startServer();
    await client.submitTask({ namespace: 'w', taskId: 'slow', handler: 'progress' });
    await client.submitTask({ namespace: 'w', taskId: 'other', handler: 'noop' });
    const updates = await collect(client.watchTasks({ namespace: 'w', taskIds: ['slow'] }));
    expect(updates.every((u) => u.taskId === 'slow')).toBe(true);
    const statuses = updates.map((u) => u.status);
    expect(statuses[0]).toBe('TASK_STATUS_DISPATCHED');
    expect(statuses.at(-1)).toBe('TASK_STATUS_SUCCEEDED');
    const progress = updates.filter((u) => u.status === 'TASK_STATUS_RUNNING');
    expect(progress.map((u) => [u.progress, u.message])).toEqual([
      [0.25, 'a quarter'],
      [0.75, 'three quarters'],
    ]);
    expect(updates.at(-1)!.outputs?.fields?.done?.boolValue).toBe(true);
    // Resumed after the first update: the rest, without gaps or repeats.
    const rest = await collect(
      client.watchTasks({ runId: updates[0]!.runId, taskIds: ['slow'], fromSeq: updates[0]!.seq + 1 }),
    );
    expect(rest).toEqual(updates.slice(1));
    // Watching a task that is already final ends at once, after its history.
    const again = await collect(client.watchTasks({ runId: updates[0]!.runId, taskIds: ['slow'] }));
    expect(again).toEqual(updates);
  });

  it('reports failures and retries, and refuses unknown runs, tasks and namespaces', async () => {
    const { client } = await startServer();
    const r = await client.submitTask({
      namespace: 'f',
      taskId: 'bad',
      handler: 'no-such-handler',
    });
    const updates: TaskUpdate__Output[] = await collect(
      client.watchTasks({ runId: r.runId, taskIds: ['bad'] }),
    );
    expect(updates.at(-1)).toMatchObject({ status: 'TASK_STATUS_FAILED', taskId: 'bad' });
    expect(updates.at(-1)!.error).toContain('unknown handler');

    const cases = [
      [client.watchTasks({ runId: 'run_nope' }), grpc.status.NOT_FOUND],
      [client.watchTasks({ runId: r.runId, taskIds: ['nope'] }), grpc.status.NOT_FOUND],
      [client.watchTasks({ namespace: 'empty' }), grpc.status.NOT_FOUND],
      [client.watchTasks({}), grpc.status.INVALID_ARGUMENT],
      [client.watchTasks({ runId: r.runId, fromSeq: -1 }), grpc.status.INVALID_ARGUMENT],
    ] as const;
    for (const [stream, code] of cases) expect((await failure(collect(stream))).code).toBe(code);
  });
});

describe('rate limit', () => {
  it('RESOURCE_EXHAUSTED once a client has used its burst, with the wait in the message', async () => {
    const { client } = await startServer(undefined, {
      rateLimit: createRateLimiter({ ratePerSecond: 0.01, burst: 3 }),
    });
    for (let i = 0; i < 3; i++) await client.listRuns({});
    const err = await failure(client.listRuns({}));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/rate limit exceeded for peer:.*retry in \d+ ms/);
    // Streams count too.
    expect((await failure(collect(client.watchTasks({ namespace: 'x' })))).code).toBe(
      grpc.status.RESOURCE_EXHAUSTED,
    );
  });
});
