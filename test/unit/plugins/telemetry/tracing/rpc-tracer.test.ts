/**
 * Server spans of the submit calls, through the real gRPC API: the call's `traceparent`
 * metadata is continued, the RPC conventions are followed, the run's span is the call's child,
 * and a refused call records its gRPC status.
 */
import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { createGrpcApi, createSmartQueueClient } from '../../../../../plugins/api/grpc/index.js';
import type { SmartQueueClient } from '../../../../../plugins/api/grpc/index.js';
import { createRpcTracer } from '../../../../../plugins/telemetry/tracing/rpc-tracer.js';
import { RunTracer } from '../../../../../plugins/telemetry/tracing/run-tracer.js';
import { createHarness, closeAllHarnesses } from '../../../engine/harness.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  expect(await closeAllHarnesses()).toEqual([]);
});

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER = 'b7ad6b7169203331';

async function start(): Promise<{ client: SmartQueueClient; exporter: InMemorySpanExporter }> {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('test');
  const runTracer = new RunTracer({ tracer });
  const h = await createHarness({ handlers: { noop: () => ({}) }, engine: { tracing: runTracer } });
  const detach = runTracer.attach(h.engine.events);
  const api = createGrpcApi({ engine: h.engine, store: h.store, tracing: createRpcTracer({ tracer }) });
  const port = await api.start('127.0.0.1', 0);
  const interceptor: grpc.Interceptor = (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start(metadata, listener, go) {
        metadata.set('traceparent', `00-${TRACE}-${CALLER}-01`);
        go(metadata, listener);
      },
    });
  const client = createSmartQueueClient(`127.0.0.1:${port}`, {
    channelOptions: { interceptors: [interceptor] },
  });
  closers.push(async () => {
    client.close();
    await api.close();
    detach();
    await h.close();
    await provider.shutdown();
  });
  return { client, exporter };
}

describe('createRpcTracer', () => {
  it("makes SubmitWorkflow a server span in the caller's trace, parent of the run", async () => {
    const { client, exporter } = await start();
    const yaml =
      'apiVersion: smartqueue/v1\nkind: Workflow\nmetadata: { name: rpc }\nspec:\n  tasks:\n    - { id: a, uses: noop }\n';
    const { runId } = await client.submitWorkflow({ yaml });
    for (let i = 0; i < 200; i++) {
      if ((await client.getRun({ runId })).status !== 'RUN_STATUS_RUNNING') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const spans = exporter.getFinishedSpans();
    const call = spans.find((s) => s.name === 'smartqueue.v1.SmartQueue/SubmitWorkflow')!;
    expect(call.kind).toBe(SpanKind.SERVER);
    expect(call.spanContext().traceId).toBe(TRACE);
    expect(call.parentSpanContext?.spanId).toBe(CALLER);
    expect(call.attributes).toEqual({
      'rpc.system.name': 'grpc',
      'rpc.service': 'smartqueue.v1.SmartQueue',
      'rpc.method': 'smartqueue.v1.SmartQueue/SubmitWorkflow',
      'rpc.grpc.status_code': 0,
    });
    const run = spans.find((s) => s.name === 'run rpc')!;
    expect(run.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    expect(spans.filter((s) => s.name === 'smartqueue.v1.SmartQueue/GetRun')).toEqual([]);
  });

  it('records the status of a refused call, and SubmitTask parents its task under the call', async () => {
    const { client, exporter } = await start();
    await expect(client.submitWorkflow({ yaml: 'not: [a workflow' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    const refused = exporter.getFinishedSpans().find((s) => s.name.endsWith('/SubmitWorkflow'))!;
    expect(refused.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused.attributes['rpc.grpc.status_code']).toBe(grpc.status.INVALID_ARGUMENT);

    const { runId } = await client.submitTask({ handler: 'noop', taskId: 't1', namespace: 'ns' });
    expect(runId).not.toBe('');
    for (let i = 0; i < 200; i++) {
      if (exporter.getFinishedSpans().some((s) => s.name === 'task t1')) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const spans = exporter.getFinishedSpans();
    const call = spans.find((s) => s.name === 'smartqueue.v1.SmartQueue/SubmitTask')!;
    const task = spans.find((s) => s.name === 'task t1')!;
    expect(task.parentSpanContext?.spanId).toBe(call.spanContext().spanId);
    expect(task.spanContext().traceId).toBe(TRACE);
    await client.cancelRun({ runId });
  });
});
