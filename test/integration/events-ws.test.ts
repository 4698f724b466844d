/**
 * The WebSocket event stream end to end: a real node:http server (createHttpServer) over the
 * embedded runtime (in-memory store), read by the real `ws` client. Nothing is mocked.
 */
import { WebSocket } from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileWorkflow } from '../../dsl/compiler.js';
import { loadYamlText } from '../../dsl/load.js';
import type { Engine } from '../../engine/engine.js';
import type { TaskHandler } from '../../engine/handler.js';
import { createAuthorizer, parseTokens } from '../../plugins/api/grpc/auth.js';
import { createHttpServer } from '../../plugins/api/http/index.js';
import type { EventMessage, EventStreamLimits, HttpApi } from '../../plugins/api/http/index.js';
import { createEmbeddedRuntime } from '../../runtime/embedded.js';
import type { EmbeddedRuntime } from '../../runtime/embedded.js';

const WORKFLOW = `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: gated
spec:
  tasks:
    - id: a
      uses: noop
    - id: b
      uses: gate
      needs: [a]
    - id: c
      uses: noop
      needs: [b]
`;

let runtime: EmbeddedRuntime;
let api: HttpApi | undefined;
let base = '';
let openGate: () => void = () => undefined;
const sockets: WebSocket[] = [];

beforeEach(async () => {
  let release!: () => void;
  const gateOpen = new Promise<void>((r) => (release = r));
  openGate = release;
  const gate: TaskHandler = async () => {
    await gateOpen;
    return {};
  };
  runtime = await createEmbeddedRuntime({ statePath: false, concurrency: 4, handlers: { gate } });
});

afterEach(async () => {
  openGate();
  for (const ws of sockets.splice(0)) ws.terminate();
  if (api) {
    await api.close();
    expect(api.connections, 'every stream was closed').toBe(0);
    api = undefined;
  }
  await runtime.close();
});

async function startHttp(extra: { limits?: EventStreamLimits; tokens?: string } = {}): Promise<HttpApi> {
  api = createHttpServer({
    host: '127.0.0.1',
    port: 0,
    store: runtime.store,
    engineEvents: runtime.engine.events,
    readyTasks: () => runtime.engine.readyCount,
    limits: { pollMs: 50, ...extra.limits },
    ...(extra.tokens && { authorizer: createAuthorizer(parseTokens(extra.tokens, 'tokens')) }),
  });
  const port = await api.start();
  base = `127.0.0.1:${port}`;
  return api;
}

async function startRun(engine: Engine, labels: Record<string, string> = {}): Promise<string> {
  const loaded = loadYamlText(WORKFLOW, 'gated.yaml');
  const w = loaded.workflows[0]!;
  const plan = compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex }).plan!;
  return engine.startRun(plan, { labels });
}

/** Resolves once `taskId` of the run has been dispatched. */
function dispatched(engine: Engine, runId: string, taskId: string): Promise<void> {
  return new Promise((resolve) => {
    const off = engine.events.on('task:attempt:dispatched', (e) => {
      if (e.runId === runId && e.taskId === taskId) {
        off();
        resolve();
      }
    });
  });
}

interface Session {
  ws: WebSocket;
  messages: EventMessage[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once `n` messages arrived. */
  count(n: number): Promise<void>;
}

function connect(query: string, headers: Record<string, string> = {}): Session {
  const ws = new WebSocket(`ws://${base}/v1/events?${query}`, { headers });
  sockets.push(ws);
  const messages: EventMessage[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as EventMessage);
    for (const w of waiting) if (messages.length >= w.n) w.resolve();
  });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return {
    ws,
    messages,
    closed,
    count: (n) =>
      messages.length >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve })),
  };
}

/** The HTTP status of a refused upgrade. */
function refusedWith(query: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(`ws://${base}/v1/events?${query}`, { headers });
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}

function expectContiguous(messages: EventMessage[], first: number): void {
  expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => first + i));
}

describe('WebSocket event stream', () => {
  it('replays the log, then sends live events in order, and closes when the run finishes', async () => {
    await startHttp();
    const runId = await startRun(runtime.engine);
    await dispatched(runtime.engine, runId, 'b');
    const s = connect(`run=${runId}`);
    await s.count(3);
    openGate();
    const { code, reason } = await s.closed;
    expect(code).toBe(1000);
    expect(reason).toBe('run finished');
    expectContiguous(s.messages, 1);
    const log = await runtime.store.getEvents(runId);
    expect(s.messages.map((m) => [m.seq, m.type, m.taskId])).toEqual(
      log.map((e) => [e.seq, e.type, e.taskId]),
    );
    expect(s.messages.at(-1)?.type).toBe('run:state:succeeded');
    const first = s.messages.find((m) => m.type === 'task:attempt:succeeded')!;
    expect(first).toMatchObject({ runId, taskId: 'a', attempt: 1 });
    expect(new Date(first.at).toISOString()).toBe(first.at);
  });

  it('resumes from a sequence number without gaps or repeats', async () => {
    await startHttp();
    const runId = await startRun(runtime.engine);
    await dispatched(runtime.engine, runId, 'b');
    const first = connect(`run=${runId}&from=0`);
    await first.count(2);
    first.ws.close();
    await first.closed;
    const got = first.messages.slice();
    const last = got.at(-1)!.seq;
    openGate();
    const second = connect(`run=${runId}&from=${last + 1}`);
    expect((await second.closed).code).toBe(1000);
    const all = [...got, ...second.messages];
    expectContiguous(all, 1);
    expect(all.length).toBe((await runtime.store.getEvents(runId)).length);

    // A finished run: replay from the middle, then close.
    const third = connect(`run=${runId}&from=4`);
    expect((await third.closed).code).toBe(1000);
    expectContiguous(third.messages, 4);
    expect(third.messages.length).toBe(all.length - 3);
  });

  it('disconnects a slow consumer with 1013 instead of buffering without bound', async () => {
    await startHttp({ limits: { maxBufferedBytes: 64 * 1024, slowConsumerTimeoutMs: 200 } });
    const runId = await startRun(runtime.engine);
    await dispatched(runtime.engine, runId, 'b');
    // 400 events of 64 KiB (25 MiB): far more than loopback socket buffers hold.
    const blob = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 400; i++)
      runtime.store.record({ runId, type: 'test:blob:recorded', at: Date.now(), data: { blob } });
    const s = connect(`run=${runId}`);
    await new Promise<void>((resolve) => s.ws.once('open', () => resolve()));
    s.ws.pause();
    await new Promise((r) => setTimeout(r, 1000));
    s.ws.resume();
    const { code, reason } = await s.closed;
    expect(code).toBe(1013);
    expect(reason).toMatch(/^slow consumer/);
    expect(s.messages.length).toBeGreaterThan(0);
    expect(s.messages.length).toBeLessThan(400);
    expectContiguous(s.messages, 1);
    // The reason names where to resume: right after the last message delivered.
    expect(reason).toContain(`from=${s.messages.at(-1)!.seq + 1}`);
    expect(api!.connections).toBe(0);
  });

  it('closes with a reason for a bad request', async () => {
    await startHttp();
    const unknown = connect('run=no-such-run');
    expect(await unknown.closed).toEqual({ code: 1008, reason: 'unknown run no-such-run' });
    const missing = connect('from=3');
    expect(await missing.closed).toEqual({ code: 1008, reason: 'query parameter run is required' });
    const badFrom = connect('run=x&from=-1');
    expect((await badFrom.closed).reason).toMatch(/^from must be a sequence number/);
  });

  it('needs a bearer token granted the run namespace when an authorizer is given', async () => {
    const ETL = 'etl-token-0123456789abcdef';
    const OTHER = 'other-token-0123456789abcdef';
    await startHttp({
      tokens: `${ETL}: { name: etl, namespaces: [etl] }\n${OTHER}: { name: o, namespaces: [x] }`,
    });
    const runId = await startRun(runtime.engine, { 'smartqueue.io/namespace': 'etl' });
    expect(await refusedWith(`run=${runId}`)).toBe(401);
    expect(await refusedWith(`run=${runId}`, { authorization: 'Bearer wrong-token-0123456789' })).toBe(401);
    expect(await refusedWith(`run=${runId}`, { authorization: `Bearer ${OTHER}` })).toBe(403);
    // Unknown runs count as `default`: no probing of other namespaces' run ids.
    expect(await refusedWith('run=nope', { authorization: `Bearer ${ETL}` })).toBe(403);
    const s = connect(`run=${runId}`, { authorization: `Bearer ${ETL}` });
    await s.count(1);
    openGate();
    expect((await s.closed).code).toBe(1000);
  });
});

describe('health and metrics', () => {
  it('serves /healthz (503 when shutting down) and Prometheus metrics fed by engine events', async () => {
    const http = await startHttp();
    const runId = await startRun(runtime.engine);
    openGate();
    await runtime.engine.waitForRun(runId);
    const health = await fetch(`http://${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const metrics = await fetch(`http://${base}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toMatch(/^smartqueue_task_attempts_dispatched_total\{priority_class="medium"\} 3$/m);
    expect(text).toMatch(/^smartqueue_task_attempts_succeeded_total\{handler="noop"\} 2$/m);
    expect(text).toMatch(/^smartqueue_task_attempts_succeeded_total\{handler="gate"\} 1$/m);
    expect(text).toMatch(/^smartqueue_runs_finished_total\{status="succeeded"\} 1$/m);
    expect(text).toMatch(/^smartqueue_tasks_ready\{shard="all"\} 0$/m);
    expect((await fetch(`http://${base}/nope`)).status).toBe(404);
    expect((await fetch(`http://${base}/v1/events`)).status).toBe(426);
    http.markShuttingDown();
    const down = await fetch(`http://${base}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'shutting-down' });
  });

  it('closes open streams with 1001 on close()', async () => {
    const http = await startHttp();
    const runId = await startRun(runtime.engine);
    await dispatched(runtime.engine, runId, 'b');
    const s = connect(`run=${runId}`);
    await s.count(1);
    await http.close();
    expect((await s.closed).code).toBe(1001);
  });
});
