/**
 * The gRPC API end to end: a real grpc-js server on 127.0.0.1 (port 0) over the embedded runtime
 * with a SQLite state file, driven by the real typed client. No part of gRPC is mocked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import type { TaskHandler } from '../../engine/handler.js';
import { decodeBadRequest } from '../../plugins/api/grpc/index.js';
import type { RunEvent__Output } from '../../proto/generated/smartqueue/v1/RunEvent.js';
import type { Run__Output } from '../../proto/generated/smartqueue/v1/Run.js';
import { EXAMPLE_OUTPUTS } from '../fixtures/remote/handlers.js';
import { grpcTestServers } from '../support/grpc-server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLES = path.join(ROOT, 'workflows/examples');
const require = createRequire(import.meta.url);

/**
 * The examples call dbt, node scripts and remote HTTP endpoints; here `run` and `http` are
 * stand-ins that return every output the examples declare (the remote workers' fixture), so
 * each workflow runs to the end.
 */
const stub: TaskHandler = () => ({ ...EXAMPLE_OUTPUTS });

const PARAMS: Record<string, Record<string, string>> = {
  'media-transcode': { assetId: 'a-1', source: 's3://bucket/a-1.mov' },
  'order-processing': { orderId: 'o-1', customerId: 'c-1', amount: '42.5' },
};

const { startServer, waitForRun, collect, failure } = grpcTestServers(() => ({ run: stub, http: stub }));

const GOOD_YAML = `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: tiny
spec:
  params:
    n: { type: integer, default: 1 }
  tasks:
    - id: a
      uses: noop
    - id: b
      uses: noop
      needs: [a]
`;

describe('gRPC API: workflows', () => {
  const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));

  it('finds the YAML examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });

  it.each(examples)('runs the example %s to success', async (file) => {
    const { client } = await startServer();
    const yaml = readFileSync(path.join(EXAMPLES, file), 'utf8');
    const names = [...yaml.matchAll(/^kind: Workflow\nmetadata:\n {2}name: (\S+)/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(0);
    for (const workflow of names) {
      const submitted = await client.submitWorkflow({
        yaml,
        fileName: file,
        workflow: names.length > 1 ? workflow : '',
        params: PARAMS[workflow] ?? {},
      });
      expect(submitted.workflow).toBe(workflow);
      const run = await waitForRun(client, submitted.runId);
      expect(run.status, `${file}: ${workflow}`).toBe('RUN_STATUS_SUCCEEDED');
      expect(run.tasks.length).toBeGreaterThan(0);
      for (const t of run.tasks) expect(['TASK_STATUS_SUCCEEDED', 'TASK_STATUS_SKIPPED']).toContain(t.status);
    }
  });

  it('lists runs a page at a time, filtered by workflow and status', async () => {
    const { client } = await startServer();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await client.submitWorkflow({ yaml: GOOD_YAML })).runId);
    for (const id of ids) await waitForRun(client, id);
    const first = await client.listRuns({ pageSize: 2, workflow: 'tiny', status: 'RUN_STATUS_SUCCEEDED' });
    expect(first.runs).toHaveLength(2);
    expect(first.nextPageToken).not.toBe('');
    const second = await client.listRuns({ pageSize: 2, workflow: 'tiny', pageToken: first.nextPageToken });
    expect([...first.runs, ...second.runs].map((r) => r.runId).sort()).toEqual([...ids].sort());
    expect((await client.listRuns({ workflow: 'nope' })).runs).toEqual([]);
    expect((await client.listRuns({ status: 'RUN_STATUS_FAILED' })).runs).toEqual([]);
  });
});

describe('gRPC API: SubmitTask', () => {
  it('runs 1,000 submitted tasks with chains and fan-in, each succeeding exactly once', async () => {
    const { client, runtime } = await startServer();
    const namespace = 'bulk';
    const chains = 10;
    const chainLength = 50;
    const groups = 10;
    const groupWidth = 49;
    let runId = '';
    const submit = async (taskId: string, needs: string[], handler = 'noop') => {
      const r = await client.submitTask({
        namespace,
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
    const chainJobs = Array.from({ length: chains }, async (_, c) => {
      let previous = 'start';
      for (let i = 0; i < chainLength - (c === 0 ? 1 : 0); i++) {
        const id = `chain-${c}-${i}`;
        await submit(id, [previous], i % 5 === 0 ? 'sleep' : 'noop');
        previous = id;
      }
    });
    const fanJobs = Array.from({ length: groups }, async (_, g) => {
      const members = Array.from({ length: groupWidth }, (__, i) => `fan-${g}-${i}`);
      await Promise.all(members.map((id) => submit(id, [])));
      await submit(`join-${g}`, members);
    });
    await Promise.all([...chainJobs, ...fanJobs]);

    const until = Date.now() + 30_000;
    let run: Run__Output;
    for (;;) {
      run = await client.getRun({ runId });
      if (run.tasks.filter((t) => t.status === 'TASK_STATUS_SUCCEEDED').length === 1000) break;
      if (Date.now() > until) throw new Error('the submitted tasks did not all succeed in time');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(run.tasks).toHaveLength(1000);
    expect(run.open).toBe(true);
    expect(run.status).toBe('RUN_STATUS_RUNNING');
    const events = await runtime.store.getEvents(runId);
    const successes = new Map<string, number>();
    for (const e of events) {
      if (e.type === 'task:attempt:succeeded') successes.set(e.taskId!, (successes.get(e.taskId!) ?? 0) + 1);
    }
    expect(successes.size).toBe(1000);
    expect([...successes.values()].every((n) => n === 1)).toBe(true);
    // Needs were honoured: every task started after its needs finished.
    const finished = new Map(
      run.tasks.map((t) => [t.taskId, Number(t.finishedAt!.seconds) * 1e3 + t.finishedAt!.nanos / 1e6]),
    );
    const started = new Map(
      run.tasks.map((t) => [t.taskId, Number(t.startedAt!.seconds) * 1e3 + t.startedAt!.nanos / 1e6]),
    );
    for (let g = 0; g < groups; g++) {
      for (let i = 0; i < groupWidth; i++)
        expect(started.get(`join-${g}`)!).toBeGreaterThanOrEqual(finished.get(`fan-${g}-${i}`)!);
    }
    for (let i = 1; i < chainLength; i++)
      expect(started.get(`chain-1-${i}`)!).toBeGreaterThanOrEqual(finished.get(`chain-1-${i - 1}`)!);
  }, 60_000);

  it('assigns ids, passes args, records metadata, and cancels a task', async () => {
    const { client } = await startServer();
    const a = await client.submitTask({
      handler: 'sleep',
      args: { fields: { duration: { stringValue: '1h' } } },
      metadata: { owner: 'team-a' },
    });
    expect(a.taskId).toMatch(/^task_/);
    await client.cancelTask({ runId: a.runId, taskId: a.taskId, reason: 'not needed' });
    const task = await client.getTask({ runId: a.runId, taskId: a.taskId });
    expect(task.status).toBe('TASK_STATUS_CANCELLED');
    expect(task.metadata).toEqual({ owner: 'team-a' });
    const cancelled = await failure(client.cancelTask({ runId: a.runId, taskId: a.taskId }));
    expect(cancelled.code).toBe(grpc.status.FAILED_PRECONDITION);
  });
});

describe('gRPC API: WatchRun', () => {
  it('streams a run live and resumes from a sequence number without gaps or repeats', async () => {
    const { client } = await startServer();
    const { runId } = await client.submitWorkflow({
      yaml: readFileSync(path.join(EXAMPLES, 'etl.yaml'), 'utf8'),
    });
    const head = await collect(client.watchRun({ runId, fromSeq: 1 }), 3);
    expect(head.map((e) => e.seq)).toEqual([1, 2, 3]);
    const rest = await collect(client.watchRun({ runId, fromSeq: head.at(-1)!.seq + 1 }));
    expect(rest.at(-1)!.type).toBe('run:state:succeeded');
    const all = await collect(client.watchRun({ runId }));
    expect([...head, ...rest]).toEqual(all);
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i + 1));
    const tail = await collect(client.watchRun({ runId, fromSeq: 5 }));
    expect(tail).toEqual(all.slice(4));
  });

  it('follows an open run as tasks are submitted', async () => {
    const { client } = await startServer();
    const first = await client.submitTask({ namespace: 'watched', taskId: 'one', handler: 'noop' });
    const seen: RunEvent__Output[] = [];
    const reading = (async () => {
      for await (const e of client.watchRun({ runId: first.runId })) {
        seen.push(e);
        if (e.type === 'task:attempt:succeeded' && e.taskId === 'two') break;
      }
    })();
    await client.submitTask({ namespace: 'watched', taskId: 'two', handler: 'noop', needs: ['one'] });
    await reading;
    expect(seen.filter((e) => e.type === 'task:attempt:succeeded').map((e) => e.taskId)).toEqual([
      'one',
      'two',
    ]);
  });
});

describe('gRPC API: errors', () => {
  it('INVALID_ARGUMENT: a bad workflow, with file:line:column lines and a BadRequest', async () => {
    const { client } = await startServer();
    const yaml = GOOD_YAML.replace('needs: [a]', 'needs: [zz]');
    const err = await failure(client.submitWorkflow({ yaml, fileName: 'bad.yaml' }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^bad\.yaml:13:\d+ tasks\[1\]\.needs\[0\]: unknown task "zz"/);
    const violations = decodeBadRequest(err);
    expect(violations).toEqual([
      { field: expect.stringContaining('needs[0]') as string, description: err.details },
    ]);
  });

  it('INVALID_ARGUMENT: a bad deadline and a missing handler on SubmitTask', async () => {
    const { client } = await startServer();
    const err = await failure(client.submitTask({ taskId: 'x', deadline: 'tomorrow-ish' }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(
      decodeBadRequest(err)
        ?.map((v) => v.field)
        .sort(),
    ).toEqual(['deadline', 'handler']);
    expect(err.details).toContain('invalid deadline "tomorrow-ish"');
  });

  it('NOT_FOUND: an unknown run, an unknown task, an unknown need', async () => {
    const { client } = await startServer();
    expect((await failure(client.getRun({ runId: 'run_nope' }))).code).toBe(grpc.status.NOT_FOUND);
    const t = await client.submitTask({ namespace: 'nf', taskId: 'a', handler: 'noop' });
    expect((await failure(client.getTask({ runId: t.runId, taskId: 'zz' }))).code).toBe(
      grpc.status.NOT_FOUND,
    );
    const need = await failure(
      client.submitTask({ namespace: 'nf', taskId: 'b', handler: 'noop', needs: ['ghost'] }),
    );
    expect(need.code).toBe(grpc.status.NOT_FOUND);
    expect(need.details).toContain('"ghost"');
    const watch = await failure(collect(client.watchRun({ runId: 'run_nope' })));
    expect(watch.code).toBe(grpc.status.NOT_FOUND);
  });

  it('idempotency: the same key and request returns the original id; a different request is ALREADY_EXISTS', async () => {
    const { client } = await startServer();
    const once = await client.submitWorkflow({ yaml: GOOD_YAML, idempotencyKey: 'k1' });
    const again = await client.submitWorkflow({ yaml: GOOD_YAML, idempotencyKey: 'k1' });
    expect(again).toEqual({ ...once, deduplicated: true });
    const other = await failure(
      client.submitWorkflow({ yaml: GOOD_YAML, idempotencyKey: 'k1', params: { n: '2' } }),
    );
    expect(other.code).toBe(grpc.status.ALREADY_EXISTS);
    const t1 = await client.submitTask({ handler: 'noop', idempotencyKey: 't' });
    const t2 = await client.submitTask({ handler: 'noop', idempotencyKey: 't' });
    expect(t2).toEqual({ ...t1, deduplicated: true });
    const dup = await failure(
      client
        .submitTask({ namespace: 'd', taskId: 'a', handler: 'noop' })
        .then(() => client.submitTask({ namespace: 'd', taskId: 'a', handler: 'noop' })),
    );
    expect(dup.code).toBe(grpc.status.ALREADY_EXISTS);
  });

  it('FAILED_PRECONDITION: cancelling a finished run', async () => {
    const { client } = await startServer();
    const { runId } = await client.submitWorkflow({ yaml: GOOD_YAML });
    expect((await waitForRun(client, runId)).status).toBe('RUN_STATUS_SUCCEEDED');
    const err = await failure(client.cancelRun({ runId }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toContain('not active');
  });

  it('CancelRun ends a running run as cancelled', async () => {
    const { client } = await startServer();
    const t = await client.submitTask({
      namespace: 'c',
      handler: 'sleep',
      args: { fields: { duration: { stringValue: '1h' } } },
    });
    await client.cancelRun({ runId: t.runId });
    expect((await waitForRun(client, t.runId)).status).toBe('RUN_STATUS_CANCELLED');
    // The namespace gets a fresh open run for its next task.
    const next = await client.submitTask({ namespace: 'c', handler: 'noop' });
    expect(next.runId).not.toBe(t.runId);
  });

  it('RESOURCE_EXHAUSTED: too many tasks in one submission, and a message over the size limit', async () => {
    const { client } = await startServer({ maxTasksPerSubmission: 3, maxMessageBytes: 16 * 1024 });
    const etl = readFileSync(path.join(EXAMPLES, 'etl.yaml'), 'utf8');
    const many = await failure(client.submitWorkflow({ yaml: etl }));
    expect(many.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(many.details).toContain('at most 3');
    const big = await failure(client.submitWorkflow({ yaml: GOOD_YAML + `# ${'x'.repeat(32 * 1024)}\n` }));
    expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // The server still serves.
    expect((await client.submitWorkflow({ yaml: GOOD_YAML })).runId).toMatch(/^run_/);
  });

  it('UNAVAILABLE: watch streams and new calls once close has started', async () => {
    const { client, api } = await startServer();
    const t = await client.submitTask({ namespace: 'u', handler: 'noop' });
    const watching = failure(collect(client.watchRun({ runId: t.runId })));
    await new Promise((r) => setTimeout(r, 100));
    const closing = api.close();
    const err = await watching;
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toContain('shutting down');
    const late = await failure(client.getRun({ runId: t.runId }));
    expect(late.code).toBe(grpc.status.UNAVAILABLE);
    await closing;
  });

  it('malformed bytes and unknown fields never crash the server', async () => {
    const { client, address } = await startServer();
    const raw = new grpc.Client(address, grpc.credentials.createInsecure());
    const send = (bytes: Buffer) =>
      new Promise<{ err: grpc.ServiceError | null }>((resolve) => {
        raw.makeUnaryRequest(
          '/smartqueue.v1.SmartQueue/SubmitTask',
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          (err) => resolve({ err }),
        );
      });
    const garbage = await send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]));
    expect(garbage.err?.code).toBeDefined();
    expect(garbage.err?.code).not.toBe(grpc.status.OK);
    // handler = "noop" (field 4), plus field 99 that this version does not know.
    const withUnknown = await send(Buffer.from([0x22, 0x04, ...Buffer.from('noop'), 0x98, 0x06, 0x01]));
    expect(withUnknown.err).toBeNull();
    raw.close();
    expect((await client.submitWorkflow({ yaml: GOOD_YAML })).runId).toMatch(/^run_/);
  });
});

describe('gRPC API: health and reflection', () => {
  it('reports SERVING for the server and the SmartQueue service', async () => {
    const { address } = await startServer();
    const { protoPath } = require('grpc-health-check') as { protoPath: string };
    const def = protoLoader.loadSync(protoPath, { enums: String });
    type CheckFn = (
      req: { service: string },
      cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
    ) => void;
    const Health = (
      grpc.loadPackageDefinition(def) as unknown as {
        grpc: {
          health: {
            v1: { Health: new (a: string, c: grpc.ChannelCredentials) => grpc.Client & { Check: CheckFn } };
          };
        };
      }
    ).grpc.health.v1.Health;
    const health = new Health(address, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<string>((resolve, reject) =>
        health.Check({ service }, (err, res) => (err ? reject(err) : resolve(res!.status))),
      );
    expect(await check('')).toBe('SERVING');
    expect(await check('smartqueue.v1.SmartQueue')).toBe('SERVING');
    health.close();
  });

  it('lists the SmartQueue service through server reflection', async () => {
    const { address } = await startServer();
    const protoFile = path.join(
      path.dirname(require.resolve('@grpc/reflection')),
      '../proto/grpc/reflection/v1/reflection.proto',
    );
    const def = protoLoader.loadSync(protoFile, { keepCase: true });
    type Stream = grpc.ClientDuplexStream<
      object,
      { list_services_response?: { service: { name: string }[] } }
    >;
    const Reflection = (
      grpc.loadPackageDefinition(def) as unknown as {
        grpc: {
          reflection: {
            v1: {
              ServerReflection: new (
                a: string,
                c: grpc.ChannelCredentials,
              ) => grpc.Client & { ServerReflectionInfo(): Stream };
            };
          };
        };
      }
    ).grpc.reflection.v1.ServerReflection;
    const reflection = new Reflection(address, grpc.credentials.createInsecure());
    const stream = reflection.ServerReflectionInfo();
    const answer = new Promise<string[]>((resolve, reject) => {
      stream.on('data', (res: { list_services_response?: { service: { name: string }[] } }) =>
        resolve(res.list_services_response?.service.map((s) => s.name) ?? []),
      );
      stream.on('error', reject);
    });
    stream.write({ list_services: '' });
    const names = await answer;
    stream.end();
    reflection.close();
    expect(names).toContain('smartqueue.v1.SmartQueue');
  });
});
