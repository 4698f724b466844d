/**
 * Fuzzing the gRPC API: createGrpcApi over the embedded runtime (with the Workers service on the
 * same port) receives raw random bytes, mutated encodings of valid requests, and fast-check
 * generated request objects on every method, and random worker sessions on the Workers stream,
 * through a generic grpc-js client (no typed serializer in the way). The server must answer each
 * call with a status, never crash, and still serve a valid request afterwards. Iterations are
 * bounded (and seeded by fast-check, which prints the seed of any failure).
 */
import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskHandler } from '../../engine/handler.js';
import { createGrpcApi, createSmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { GrpcApi, SmartQueueClient } from '../../plugins/api/grpc/index.js';
import { loadContract, SERVICE_NAME } from '../../plugins/api/grpc/proto.js';
import { addWorkersService } from '../../plugins/api/grpc/workers-service.js';
import { loadWorkersContract, WORKERS_SERVICE_NAME } from '../../plugins/api/grpc/workers-proto.js';
import { createAvlBalancer } from '../../plugins/balancer/avl/index.js';
import { createRemoteTransport } from '../../plugins/transport/remote/index.js';
import type { RemoteTransport } from '../../plugins/transport/remote/index.js';
import { createEmbeddedRuntime } from '../../runtime/embedded.js';
import type { EmbeddedRuntime } from '../../runtime/embedded.js';

const MAX_MESSAGE_BYTES = 64 * 1024;
const CALL_TIMEOUT_MS = 5000;

// Handlers that do nothing: fuzzed tasks must not run commands, call URLs or sleep for long.
const stub: TaskHandler = () => ({});

let runtime: EmbeddedRuntime;
let api: GrpcApi;
let address = '';
let raw: grpc.Client;
let typed: SmartQueueClient;
let remote: RemoteTransport;
const methods = loadContract().definition[SERVICE_NAME] as protoLoader.ServiceDefinition;
const names = Object.keys(methods);

beforeAll(async () => {
  runtime = await createEmbeddedRuntime({
    statePath: false,
    concurrency: 8,
    handlers: { run: stub, http: stub, sleep: stub },
  });
  // The Workers service over a remote transport of its own: sessions exercise the protocol
  // (registration, heartbeats, results, progress) without taking the embedded runtime's tasks.
  remote = createRemoteTransport({ balancer: createAvlBalancer(), heartbeatIntervalMs: 60_000 });
  remote.bindEngine(runtime.engine);
  api = createGrpcApi(
    {
      engine: runtime.engine,
      store: runtime.store,
      limits: { maxMessageBytes: MAX_MESSAGE_BYTES, maxTasksPerSubmission: 50 },
    },
    { services: [(server, closing) => addWorkersService(server, { transport: remote, closing })] },
  );
  address = `127.0.0.1:${await api.start('127.0.0.1', 0)}`;
  const Generic = grpc.makeGenericClientConstructor({}, 'Fuzz');
  raw = new Generic(address, grpc.credentials.createInsecure());
  typed = createSmartQueueClient(address);
});

afterAll(async () => {
  raw.close();
  typed.close();
  remote.disconnectAll('test over');
  await api.close();
  await remote.close();
  await runtime.close();
});

const identity = (b: Buffer) => b;

interface Answer {
  code: number;
  details: string;
}

/** Sends bytes to a method; resolves to the status it ended with (code 0 = OK). */
function send(method: string, bytes: Buffer): Promise<Answer> {
  const def = methods[method];
  const path = def?.path ?? `/${SERVICE_NAME}/${method}`;
  const options = { deadline: Date.now() + CALL_TIMEOUT_MS };
  return new Promise((resolve) => {
    if (def?.responseStream) {
      const call = raw.makeServerStreamRequest(path, identity, identity, bytes, new grpc.Metadata(), options);
      call.on('data', () => undefined);
      call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
      call.on('error', () => undefined);
      // WatchRun on a live run streams until the run ends: a few events are enough of an answer.
      setTimeout(() => call.cancel(), 300).unref();
    } else {
      raw.makeUnaryRequest(path, identity, identity, bytes, new grpc.Metadata(), options, (err) =>
        resolve(
          err ? { code: err.code ?? -1, details: err.details ?? '' } : { code: grpc.status.OK, details: '' },
        ),
      );
    }
  });
}

function expectAnswered({ code, details }: Answer): void {
  expect(Number.isInteger(code) && code >= 0 && code <= 16, `status ${code}`).toBe(true);
  // The server answers; it does not time out or fall over (UNAVAILABLE would mean it went away).
  expect(code, details).not.toBe(grpc.status.DEADLINE_EXCEEDED);
  expect(code, details).not.toBe(grpc.status.UNAVAILABLE);
  expect(code, details).not.toBe(grpc.status.UNKNOWN);
  // INTERNAL only from grpc-js itself for bytes that are not the request message (the gRPC
  // convention for unparseable protos); from a handler it would mean an unexpected exception.
  if (code === grpc.status.INTERNAL) expect(details).toMatch(/^Error deserializing request/);
}

const GOOD_YAML = `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: fuzz
spec:
  tasks:
    - id: a
      uses: noop
    - id: b
      uses: noop
      needs: [a]
`;

/** Valid requests of each method, encoded with the contract's own serializer. */
function validSeeds(runId: string): [string, Buffer][] {
  const enc = (m: string, obj: object): [string, Buffer] => [m, methods[m]!.requestSerialize(obj)];
  return [
    enc('SubmitWorkflow', {
      yaml: GOOD_YAML,
      params: { n: '1' },
      labels: { team: 'x' },
      idempotencyKey: 'k1',
    }),
    enc('SubmitTask', {
      namespace: 'fuzz',
      handler: 'noop',
      args: { fields: { a: { numberValue: 1 } } },
      priority: 10,
      deadline: '30s',
      estimate: '1s',
      needs: [],
      metadata: { m: 'v' },
    }),
    enc('GetRun', { runId }),
    enc('GetTask', { runId, taskId: 'a' }),
    enc('ListRuns', { pageSize: 5, status: 'RUN_STATUS_SUCCEEDED' }),
    enc('CancelTask', { runId, taskId: 'b', reason: 'fuzz' }),
    enc('WatchRun', { runId, fromSeq: 2 }),
  ];
}

/** Byte-level mutations: overwrite, insert, delete, truncate, duplicate. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const) }),
);

interface Mutation {
  kind: string;
  at?: number;
  byte?: number;
  bytes?: Uint8Array;
  n?: number;
}

function mutate(input: Buffer, ops: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const op of ops) {
    const at = b.length ? (op.at ?? 0) % (b.length + 1) : 0;
    if (op.kind === 'set' && b.length) b[at % b.length] = op.byte ?? 0;
    else if (op.kind === 'insert')
      b = Buffer.concat([b.subarray(0, at), Buffer.from(op.bytes ?? []), b.subarray(at)]);
    else if (op.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + (op.n ?? 1))]);
    else if (op.kind === 'truncate') b = b.subarray(0, at);
    else if (op.kind === 'duplicate') b = Buffer.concat([b, b]);
  }
  return b;
}

describe('gRPC API fuzzing', () => {
  let runId = '';

  beforeAll(async () => {
    const r = await typed.submitWorkflow({ yaml: GOOD_YAML });
    runId = r.runId;
    await runtime.engine.waitForRun(runId);
  });

  it('answers raw random bytes on every method with a status', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.uint8Array({ maxLength: 2048 }),
        async (method, bytes) => {
          expectAnswered(await send(method, Buffer.from(bytes)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers mutated encodings of valid requests with a status', async () => {
    const seeds = validSeeds(runId);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...seeds),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        async ([method, bytes], ops) => {
          expectAnswered(await send(method, mutate(bytes, ops)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers generated request objects with a status', async () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '',
        'a',
        runId,
        'default',
        '30s',
        '-1s',
        'PT1H',
        '2026-01-01T00:00:00Z',
        'noop',
        '../../etc',
      ),
    );
    const value: fc.Arbitrary<object> = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.record({ numberValue: fc.double() }),
        fc.record({ stringValue: text }),
        fc.record({ boolValue: fc.boolean() }),
        fc.record({ nullValue: fc.constant(0) }),
        fc.record({ structValue: tie('struct') }),
        fc.record({ listValue: fc.record({ values: fc.array(tie('value'), { maxLength: 3 }) }) }),
      ),
      struct: fc.record({ fields: fc.dictionary(text, tie('value'), { maxKeys: 4 }) }),
    })).struct as fc.Arbitrary<object>;
    const int = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 101, 2 ** 31 - 1, -(2 ** 31)));
    const submitTask = fc.record(
      {
        namespace: text,
        runId: text,
        taskId: text,
        handler: fc.oneof(text, fc.constantFrom('noop', 'run', 'http', 'sleep')),
        args: value,
        priority: int,
        deadline: text,
        estimate: text,
        timeout: text,
        retriesMax: int,
        needs: fc.array(text, { maxLength: 4 }),
        shardKey: text,
        idempotencyKey: text,
        metadata: fc.dictionary(text, text, { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    );
    const requests: Record<string, fc.Arbitrary<object>> = {
      SubmitWorkflow: fc.record(
        {
          yaml: fc.oneof(
            text,
            fc.constant(GOOD_YAML),
            fc.string({ maxLength: 300 }).map((s) => GOOD_YAML + s),
          ),
          ir: value,
          fileName: text,
          workflow: text,
          params: fc.dictionary(text, text, { maxKeys: 3 }),
          labels: fc.dictionary(text, text, { maxKeys: 3 }),
          idempotencyKey: text,
        },
        { requiredKeys: [] },
      ),
      SubmitTask: submitTask,
      SubmitTasks: fc.record(
        { namespace: text, runId: text, tasks: fc.array(submitTask, { maxLength: 4 }) },
        { requiredKeys: [] },
      ),
      GetRun: fc.record({ runId: text }, { requiredKeys: [] }),
      GetTask: fc.record({ runId: text, taskId: text }, { requiredKeys: [] }),
      ListRuns: fc.record(
        { pageSize: int, pageToken: text, status: fc.integer({ min: -2, max: 12 }), workflow: text },
        { requiredKeys: [] },
      ),
      CancelRun: fc.record({ runId: text, reason: text }, { requiredKeys: [] }),
      CancelTask: fc.record({ runId: text, taskId: text, reason: text }, { requiredKeys: [] }),
      WatchRun: fc.record(
        { runId: text, fromSeq: fc.oneof(int, fc.constant(2 ** 53 - 1)) },
        { requiredKeys: [] },
      ),
      WatchTasks: fc.record(
        {
          runId: text,
          namespace: text,
          taskIds: fc.array(text, { maxLength: 3 }),
          fromSeq: fc.oneof(int, fc.constant(2 ** 53 - 1)),
        },
        { requiredKeys: [] },
      ),
    };
    expect(Object.keys(requests).sort()).toEqual([...names].sort());
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names).chain((m) => fc.tuple(fc.constant(m), requests[m]!)),
        async ([method, obj]) => {
          let bytes: Buffer;
          try {
            bytes = methods[method]!.requestSerialize(obj);
          } catch {
            return; // not encodable on the client side: nothing reaches the server
          }
          expectAnswered(await send(method, bytes));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ends random worker sessions with a status, whatever they send', async () => {
    const connect = (loadWorkersContract().definition[WORKERS_SERVICE_NAME] as protoLoader.ServiceDefinition)
      .Connect!;
    const text = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('', 'w1', runId, 'a', 'x'.repeat(200)),
    );
    const int = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 2 ** 31 - 1));
    const struct = fc.record({
      fields: fc.dictionary(text, fc.record({ stringValue: text }), { maxKeys: 2 }),
    });
    const message = fc.oneof(
      fc.record({
        register: fc.record(
          {
            workerId: text,
            capacity: int,
            handlers: fc.array(fc.oneof(text, fc.constant('noop')), { maxLength: 3 }),
            labels: fc.dictionary(text, text, { maxKeys: 2 }),
          },
          { requiredKeys: [] },
        ),
      }),
      fc.record({ heartbeat: fc.record({ running: int, load: fc.double() }, { requiredKeys: [] }) }),
      fc.record({
        result: fc.record(
          {
            runId: text,
            taskId: text,
            attempt: int,
            ok: fc.boolean(),
            outputs: struct,
            error: fc.record(
              { message: text, retryable: fc.boolean(), retryAfterMs: int },
              { requiredKeys: [] },
            ),
            startedAtMs: int,
            finishedAtMs: int,
          },
          { requiredKeys: [] },
        ),
      }),
      fc.record({
        progress: fc.record(
          { runId: text, taskId: text, attempt: int, fraction: fc.double(), message: text },
          { requiredKeys: [] },
        ),
      }),
      fc.record({ drain: fc.record({ reason: text }, { requiredKeys: [] }) }),
      fc.constant({}),
    );
    // Encoded messages, some of them broken, and plain random bytes.
    const frame = fc.oneof(
      message.map((m) => connect.requestSerialize(m)),
      fc
        .tuple(message, fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([m, ops]) => mutate(connect.requestSerialize(m), ops)),
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
        const call = raw.makeBidiStreamRequest(connect.path, identity, identity, new grpc.Metadata(), {
          deadline: Date.now() + CALL_TIMEOUT_MS,
        });
        call.on('data', () => undefined);
        call.on('error', () => undefined);
        const status = new Promise<Answer>((resolve) =>
          call.on('status', (st: grpc.StatusObject) => resolve({ code: st.code, details: st.details })),
        );
        for (const f of frames) call.write(f);
        call.end();
        // A valid session stays open until the worker leaves: a moment is enough of an answer.
        setTimeout(() => call.cancel(), 200).unref();
        const answer = await status;
        expect(typeof answer.code).toBe('number');
      }),
      { numRuns: 200 },
    );
    // Every session ended (the client closed each stream), so no worker is left registered.
    await new Promise((r) => setTimeout(r, 300));
    expect(remote.workers()).toEqual([]);
  });

  it('refuses oversized messages and unknown methods with a status', async () => {
    const big = await send('SubmitWorkflow', Buffer.alloc(MAX_MESSAGE_BYTES + 1024, 0x0a));
    expect(big.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect((await send('NoSuchMethod', Buffer.from([1, 2, 3]))).code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('still serves a valid request afterwards', async () => {
    const r = await typed.submitWorkflow({ yaml: GOOD_YAML });
    expect(await runtime.engine.waitForRun(r.runId)).toBe('succeeded');
    const run = await typed.getRun({ runId: r.runId });
    expect(run.status).toBe('RUN_STATUS_SUCCEEDED');
    expect(run.tasks.map((t) => t.status)).toEqual(['TASK_STATUS_SUCCEEDED', 'TASK_STATUS_SUCCEEDED']);
  });
});
