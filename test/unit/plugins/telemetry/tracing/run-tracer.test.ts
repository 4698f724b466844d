/**
 * The spans of runs and attempts, built from a real engine's events with the SDK's
 * InMemorySpanExporter: names, parenting across the scheduler and worker tracers, attributes,
 * trace ids in task records and log lines, continuation of a submitter's trace, and
 * parent-based ratio sampling.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import type { ReadableSpan, Sampler } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../../../../engine/engine.js';
import { NonRetryableError } from '../../../../../engine/errors.js';
import type { TaskHandler } from '../../../../../engine/handler.js';
import type { TraceCarrier } from '../../../../../engine/stages.js';
import { LocalWorker } from '../../../../../engine/worker.js';
import type { TaskLogLine } from '../../../../../engine/worker.js';
import { createAvlBalancer } from '../../../../../plugins/balancer/avl/index.js';
import { createMemoryCheckpointStore } from '../../../../../plugins/checkpoint/memory/index.js';
import { createInProcessCoordinator } from '../../../../../plugins/coordinator/in-process/index.js';
import { RunTracer } from '../../../../../plugins/telemetry/tracing/run-tracer.js';
import type { AttemptRoute } from '../../../../../plugins/telemetry/tracing/run-tracer.js';
import { createWorkerTracer } from '../../../../../plugins/telemetry/tracing/worker-tracer.js';
import type { WorkerRoute } from '../../../../../plugins/telemetry/tracing/worker-tracer.js';
import { createInProcessTransport } from '../../../../../plugins/transport/in-process/index.js';
import { finish, plan, taskIr } from '../../../engine/harness.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

interface Setup {
  engine: Engine;
  exporter: InMemorySpanExporter;
  tracer: RunTracer;
  store: ReturnType<typeof createMemoryCheckpointStore>;
  logs: TaskLogLine[];
}

/** An engine with one traced LocalWorker; both tracers export to one in-memory exporter. */
async function setup(
  handlers: Record<string, TaskHandler>,
  o: { sampler?: Sampler; route?: AttemptRoute; workerRoute?: WorkerRoute } = {},
): Promise<Setup> {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    sampler: o.sampler ?? new AlwaysOnSampler(),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const otel = provider.getTracer('test');
  const store = createMemoryCheckpointStore();
  const transport = createInProcessTransport();
  const balancer = createAvlBalancer();
  const tracer = new RunTracer({
    tracer: otel,
    store: store.name,
    ...(o.route && { routeOf: () => o.route! }),
  });
  const engine = new Engine({
    store,
    transport,
    balancer,
    coordinator: createInProcessCoordinator(),
    tracing: tracer,
  });
  const detach = tracer.attach(engine.events);
  const logs: TaskLogLine[] = [];
  const worker = new LocalWorker({
    id: 'w1',
    capacity: 4,
    transport,
    handlers: new Map(Object.entries(handlers)),
    logger: (line) => logs.push(line),
    tracer: createWorkerTracer({ tracer: otel, route: o.workerRoute ?? { kind: 'in-process' } }),
  });
  await worker.start();
  balancer.join({ id: 'w1', capacity: 4 });
  closers.push(async () => {
    detach();
    await engine.close();
    await worker.close();
    await transport.close();
    await provider.shutdown();
  });
  return { engine, exporter, tracer, store, logs };
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = named(spans, name);
  expect(
    found.map((s) => s.name),
    `exactly one "${name}"`,
  ).toEqual([name]);
  return found[0]!;
};
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe('RunTracer and the worker tracer', () => {
  it('build one trace per run: run > task > queue wait, dispatch > execute, checkpoint', async () => {
    const { engine, exporter, store, logs } = await setup({
      work: (ctx) => {
        ctx.log.info('working');
        return { ok: true };
      },
    });
    const runId = await engine.startRun(
      plan({
        tasks: [
          { id: 'a', uses: 'work' },
          { id: 'b', uses: 'work', needs: ['a'] },
        ],
      }),
    );
    expect(await finish(engine, runId)).toBe('succeeded');
    const spans = exporter.getFinishedSpans();
    const run = one(spans, 'run test-flow');
    expect(run.attributes).toMatchObject({
      'smartqueue.run.id': runId,
      'smartqueue.workflow.name': 'test-flow',
      'smartqueue.run.tasks': 2,
      'smartqueue.run.status': 'succeeded',
    });
    expect(parentOf(run)).toBeUndefined();
    const traceId = run.spanContext().traceId;
    for (const s of spans) expect(s.spanContext().traceId).toBe(traceId);
    for (const taskId of ['a', 'b']) {
      const task = one(spans, `task ${taskId}`);
      expect(parentOf(task)).toBe(run.spanContext().spanId);
      expect(task.attributes).toMatchObject({
        'smartqueue.task.id': taskId,
        'smartqueue.task.attempt': 1,
        'smartqueue.worker.id': 'w1',
        'smartqueue.task.outcome': 'succeeded',
      });
      const children = spans.filter((s) => parentOf(s) === task.spanContext().spanId);
      expect(children.map((s) => s.name).sort()).toEqual(['checkpoint', 'dispatch', 'queue wait']);
      const dispatch = children.find((s) => s.name === 'dispatch')!;
      const execute = one(spans, `execute ${taskId}`);
      expect(parentOf(execute)).toBe(dispatch.spanContext().spanId);
      expect(execute.attributes['smartqueue.task.outcome']).toBe('succeeded');
      expect(children.find((s) => s.name === 'checkpoint')!.attributes['smartqueue.checkpoint.store']).toBe(
        'memory',
      );
    }
    // b waits for a: its attempt begins (ready) after a's ends.
    const a = one(spans, 'task a');
    const b = one(spans, 'task b');
    expect(hrMs(b.startTime)).toBeGreaterThanOrEqual(hrMs(a.startTime));
    // The trace id is in the task records and in the handlers' log lines.
    const records = await store.getTasks(runId);
    expect(records.map((t) => t.traceId)).toEqual([traceId, traceId]);
    expect(logs.map((l) => [l.taskId, l.traceId])).toEqual([
      ['a', traceId],
      ['b', traceId],
    ]);
  });

  it("continues the submitter's trace and parents added tasks under their own submitter", async () => {
    const { engine, exporter, tracer } = await setup({ work: () => ({}) });
    const submitter = '0af7651916cd43dd8448eb211c80319c';
    const carrier: TraceCarrier = { traceparent: `00-${submitter}-b7ad6b7169203331-01` };
    const runId = await engine.startRun(plan({ tasks: [{ id: 'a', uses: 'work' }] }), {
      traceContext: carrier,
      keepOpen: true,
    });
    const other = '4bf92f3577b34da6a3ce929d0e0e4736';
    await engine.addTasks(runId, [taskIr('late', 'work', { needs: ['a'] })], {
      traceContext: { traceparent: `00-${other}-00f067aa0ba902b7-01` },
    });
    await vitestUntil(() => exporter.getFinishedSpans().some((s) => s.name === 'task late'));
    // The run stays open (it may take tasks for ever), but finished tasks hold no trace state.
    expect(tracer.openRuns).toBe(1);
    expect(tracer.heldTasks).toBe(0);
    await engine.closeRun(runId);
    expect(await finish(engine, runId)).toBe('succeeded');
    const spans = exporter.getFinishedSpans();
    const run = one(spans, 'run test-flow');
    expect(run.spanContext().traceId).toBe(submitter);
    expect(parentOf(run)).toBe('b7ad6b7169203331');
    expect(parentOf(one(spans, 'task a'))).toBe(run.spanContext().spanId);
    const late = one(spans, 'task late');
    expect(late.spanContext().traceId).toBe(other);
    expect(parentOf(late)).toBe('00f067aa0ba902b7');
    expect(one(spans, 'execute late').spanContext().traceId).toBe(other);
  });

  it('gives each attempt its own span: a failed attempt is an error, the retry succeeds', async () => {
    let calls = 0;
    const { engine, exporter } = await setup({
      flaky: () => {
        if (++calls === 1) throw new Error('boom');
        return {};
      },
      broken: () => {
        throw new NonRetryableError('no way');
      },
    });
    const runId = await engine.startRun(
      plan({
        failurePolicy: 'continue',
        tasks: [
          { id: 'f', uses: 'flaky', retries: { max: 2, initial: '1ms', backoff: 'fixed' } },
          { id: 'x', uses: 'broken' },
        ],
      }),
    );
    expect(await finish(engine, runId)).toBe('failed');
    const spans = exporter.getFinishedSpans();
    const attempts = named(spans, 'task f').sort((p, q) => hrMs(p.startTime) - hrMs(q.startTime));
    expect(attempts.map((s) => s.attributes['smartqueue.task.attempt'])).toEqual([1, 2]);
    expect(attempts[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(attempts[0]!.attributes).toMatchObject({
      'smartqueue.task.outcome': 'failed',
      'smartqueue.task.will_retry': true,
    });
    expect(attempts[1]!.status.code).not.toBe(SpanStatusCode.ERROR);
    const executes = named(spans, 'execute f');
    expect(executes.map((s) => s.status.code).sort()).toEqual(
      [SpanStatusCode.UNSET, SpanStatusCode.ERROR].sort(),
    );
    const x = one(spans, 'task x');
    expect(x.attributes['smartqueue.task.will_retry']).toBe(false);
    expect(one(spans, 'run test-flow').status.code).toBe(SpanStatusCode.ERROR);
  });

  it('follows the messaging conventions on Kafka and the RPC ones on gRPC', async () => {
    const kafka = await setup(
      { work: () => ({}) },
      {
        route: { kind: 'kafka', topic: 'sq.tasks', consumerGroup: 'sq.workers' },
        workerRoute: { kind: 'kafka', topic: 'sq.tasks', consumerGroup: 'sq.workers' },
      },
    );
    const r1 = await kafka.engine.startRun(plan({ tasks: [{ id: 'a', uses: 'work' }] }));
    await finish(kafka.engine, r1);
    const send = one(kafka.exporter.getFinishedSpans(), 'send sq.tasks');
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'sq.tasks',
      'messaging.message.id': `${r1}/a/1`,
    });
    const consume = one(kafka.exporter.getFinishedSpans(), 'execute a');
    expect(consume.kind).toBe(SpanKind.CONSUMER);
    expect(consume.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': 'sq.workers',
    });

    const grpc = await setup(
      { work: () => ({}) },
      { route: { kind: 'grpc' }, workerRoute: { kind: 'grpc' } },
    );
    const r2 = await grpc.engine.startRun(plan({ tasks: [{ id: 'a', uses: 'work' }] }));
    await finish(grpc.engine, r2);
    const call = one(grpc.exporter.getFinishedSpans(), 'smartqueue.v1.Workers/Connect');
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(call.attributes).toMatchObject({
      'rpc.system.name': 'grpc',
      'rpc.service': 'smartqueue.v1.Workers',
    });
    expect(one(grpc.exporter.getFinishedSpans(), 'execute a').kind).toBe(SpanKind.SERVER);
  });

  it('samples by ratio at the root, and always keeps a trace that arrives sampled', async () => {
    const { engine, exporter, store, logs } = await setup(
      {
        work: (ctx) => {
          ctx.log.info('hi');
          return {};
        },
      },
      { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) }) },
    );
    const dropped = await engine.startRun(plan({ tasks: [{ id: 'a', uses: 'work' }] }));
    await finish(engine, dropped);
    expect(exporter.getFinishedSpans()).toEqual([]);
    // Not sampled: no trace id to link to, in the record or the logs.
    expect((await store.getTasks(dropped))[0]!.traceId).toBeUndefined();
    expect(logs[0]!.traceId).toBeUndefined();

    const kept = await engine.startRun(plan({ tasks: [{ id: 'a', uses: 'work' }] }), {
      traceContext: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    await finish(engine, kept);
    const names = exporter.getFinishedSpans().map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['run test-flow', 'task a', 'execute a', 'checkpoint']));
    expect((await store.getTasks(kept))[0]!.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('ends the spans of runs still open when closed, marked interrupted', async () => {
    let release!: () => void;
    const { engine, exporter, tracer } = await setup({
      hold: () => new Promise<Record<string, unknown>>((resolve) => (release = () => resolve({}))),
    });
    await engine.startRun(plan({ tasks: [{ id: 'a', uses: 'hold' }] }));
    await vitestUntil(() => release !== undefined);
    expect(tracer.openRuns).toBe(1);
    tracer.close();
    expect(tracer.openRuns).toBe(0);
    const run = one(exporter.getFinishedSpans(), 'run test-flow');
    expect(run.attributes['smartqueue.run.interrupted']).toBe(true);
    expect(one(exporter.getFinishedSpans(), 'task a').attributes['smartqueue.task.outcome']).toBe(
      'interrupted',
    );
    release();
  });

  it('ends the spans of a run detached from this scheduler (a takeover elsewhere), marked interrupted', async () => {
    let release!: () => void;
    const { engine, exporter, tracer } = await setup({
      hold: () => new Promise<Record<string, unknown>>((resolve) => (release = () => resolve({}))),
    });
    const runId = await engine.startRun(plan({ tasks: [{ id: 'a', uses: 'hold' }] }));
    await vitestUntil(() => release !== undefined);
    expect(tracer.openRuns).toBe(1);
    expect(engine.detachRun(runId)).toBe(true);
    expect(tracer.openRuns).toBe(0);
    expect(one(exporter.getFinishedSpans(), 'run test-flow').attributes['smartqueue.run.interrupted']).toBe(
      true,
    );
    expect(one(exporter.getFinishedSpans(), 'task a').attributes['smartqueue.task.outcome']).toBe(
      'interrupted',
    );
    release();
  });

  it('links a resumed run to the trace its task records hold', async () => {
    const first = await setup({ work: () => ({}), fail: () => Promise.reject(new NonRetryableError('x')) });
    const runId = await first.engine.startRun(
      plan({
        failurePolicy: 'continue',
        tasks: [
          { id: 'a', uses: 'work' },
          { id: 'b', uses: 'fail' },
        ],
      }),
    );
    await finish(first.engine, runId);
    const oldTrace = one(first.exporter.getFinishedSpans(), 'run test-flow').spanContext().traceId;
    const second = await setup({ work: () => ({}), fail: () => ({}) });
    // A second engine on the same records, as a process taking over the run would be.
    const resumed = new Engine({
      store: first.store,
      transport: createInProcessTransport(),
      balancer: createAvlBalancer(),
      coordinator: createInProcessCoordinator(),
    });
    closers.push(() => resumed.close());
    const started: unknown[] = [];
    resumed.events.on('run:state:started', (e) => started.push(e));
    const detach = second.tracer.attach(resumed.events);
    closers.push(async () => detach());
    await resumed.resumeRun(runId);
    expect(started).toEqual([expect.objectContaining({ resumed: true, previousTraceId: oldTrace })]);
    expect(second.tracer.openRuns).toBe(1);
    second.tracer.close();
    const span = one(second.exporter.getFinishedSpans(), 'run test-flow');
    expect(span.spanContext().traceId).not.toBe(oldTrace);
    expect(span.attributes).toMatchObject({
      'smartqueue.run.resumed': true,
      'smartqueue.run.previous_trace_id': oldTrace,
    });
  });
});

function hrMs(t: [number, number]): number {
  return t[0] * 1000 + t[1] / 1e6;
}

async function vitestUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}
