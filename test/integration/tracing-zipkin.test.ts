/**
 * Traces end to end into a real Zipkin (`bash scripts/services up zipkin`): `smartqueue serve`
 * and a `smartqueue worker` process, both exporting to Zipkin, run a workflow submitted over
 * gRPC with a `traceparent` in the call metadata; Zipkin must then hold ONE connected trace with
 * the submit call, the run, each attempt's queue wait / dispatch / execute / checkpoint spans,
 * from both services. Once through the gRPC Workers service, once through Kafka (when Kafka
 * answers). Needs `npm run build` (the processes run bin/smartqueue.js).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import kafkajs from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { createSmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { SmartQueueClient } from '../../plugins/api/grpc/index.js';
import { killAllCli, startCli, until } from '../support/processes.js';
import { probeService, serviceAddress, withService } from '../support/services.js';

const zipkinUp = await probeService('zipkin');
const kafkaUp = await probeService('kafka');
const ZIPKIN = serviceAddress('zipkin').replace(/\/+$/, '');
const KAFKA = serviceAddress('kafka');

/** A span as Zipkin's v2 API returns it (names lower-cased by Zipkin). */
interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

const WORKFLOW = `
apiVersion: smartqueue/v1
kind: Workflow
metadata: { name: traced }
spec:
  tasks:
    - { id: extract, uses: noop }
    - { id: transform, uses: noop, needs: [extract] }
    - { id: load, uses: noop, needs: [transform] }
`;
const TASKS = ['extract', 'transform', 'load'];

const clients: SmartQueueClient[] = [];
const dirs: string[] = [];
const topicPrefixes: string[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const p of await killAllCli())
    expect(p.child.exitCode !== null || p.child.signalCode !== null).toBe(true);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  const prefixes = topicPrefixes.splice(0);
  if (prefixes.length) {
    const admin = new kafkajs.Kafka({ brokers: [KAFKA], logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => prefixes.some((p) => t.startsWith(`${p}.`)));
    if (topics.length) await admin.deleteTopics({ topics });
    await admin.disconnect();
  }
});

/** Sets W3C `traceparent` on every call, as an instrumented submitter would. */
function traceparentInterceptor(traceparent: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set('traceparent', traceparent);
        next(metadata, listener);
      },
    });
}

async function fetchTrace(traceId: string): Promise<ZipkinSpan[]> {
  const res = await fetch(`${ZIPKIN}/api/v2/trace/${traceId}`);
  if (res.status === 404) return [];
  if (!res.ok) throw new Error(`Zipkin answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as ZipkinSpan[];
}

/**
 * Starts serve and one worker exporting to Zipkin (short batch delay), submits the workflow
 * with a traceparent, waits for the run, and returns the trace once Zipkin holds every expected
 * span (export is batched, so it is polled).
 */
async function traceOneRun(transport?: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-trace-'));
  dirs.push(dir);
  const statePath = path.join(dir, 'state.db');
  const suffix = randomUUID().slice(0, 8);
  const serverService = `sq-it-server-${suffix}`;
  const workerService = `sq-it-worker-${suffix}`;
  const tracing = ['--trace-exporter', 'zipkin', '--trace-endpoint', `${ZIPKIN}/api/v2/spans`];
  const tracingArgs = (service: string) => [
    ...tracing,
    '--trace-service',
    service,
    '--trace-batch-delay',
    '100',
  ];
  const serve = startCli('serve', [
    'serve',
    '--listen',
    '127.0.0.1:0',
    '--state',
    statePath,
    '--heartbeat-interval',
    '500',
    '--http',
    '127.0.0.1:0',
    ...(transport ? ['--transport', transport] : []),
    ...tracingArgs(serverService),
  ]);
  const address = await until(
    'serve to listen',
    20_000,
    () => /listening on (\S+)/.exec(serve.output())?.[1],
  );
  const worker = startCli('worker', [
    'worker',
    ...(transport ? ['--transport', transport] : ['--server', address]),
    '--id',
    `w-${suffix}`,
    '--heartbeat-interval',
    '500',
    ...tracingArgs(workerService),
  ]);
  await until('the worker to join', 30_000, () => serve.output().includes(`worker w-${suffix} joined`), 50);

  const traceId = randomBytes(16).toString('hex');
  const submitterSpanId = randomBytes(8).toString('hex');
  const client = createSmartQueueClient(address, {
    channelOptions: { interceptors: [traceparentInterceptor(`00-${traceId}-${submitterSpanId}-01`)] },
  });
  clients.push(client);
  const { runId } = await client.submitWorkflow({ yaml: WORKFLOW, fileName: 'traced.yaml' });
  const run = await until(
    `run ${runId} to finish`,
    30_000,
    async () => {
      const r = await client.getRun({ runId });
      return r.status !== 'RUN_STATUS_RUNNING' ? r : undefined;
    },
    50,
  );
  expect(run.status, serve.output() + worker.output()).toBe('RUN_STATUS_SUCCEEDED');

  const expected = [
    'smartqueue.v1.smartqueue/submitworkflow',
    'run traced',
    ...TASKS.flatMap((t) => [`task ${t}`, `execute ${t}`]),
  ];
  const spans = await until(
    `Zipkin to hold the spans of trace ${traceId}`,
    30_000,
    async () => {
      const all = await fetchTrace(traceId);
      const names = new Set(all.map((s) => s.name));
      const checkpoints = all.filter((s) => s.name === 'checkpoint').length;
      return expected.every((n) => names.has(n)) && checkpoints === TASKS.length ? all : undefined;
    },
    250,
  );
  return { spans, traceId, submitterSpanId, serverService, workerService, runId, statePath, serve, worker };
}

/** The trace is one tree: every parent id resolves inside it, except the submitter's own span. */
function checkConnected(spans: ZipkinSpan[], traceId: string, submitterSpanId: string) {
  const byId = new Map(spans.map((s) => [s.id, s]));
  for (const s of spans) {
    expect(s.traceId).toBe(traceId);
    if (s.parentId === submitterSpanId) continue;
    expect(s.parentId, `span "${s.name}" has no parent in the trace`).toBeDefined();
    expect(byId.has(s.parentId!), `parent of "${s.name}" is not in the trace`).toBe(true);
  }
  const roots = spans.filter((s) => s.parentId === submitterSpanId);
  expect(roots.map((s) => s.name)).toEqual(['smartqueue.v1.smartqueue/submitworkflow']);
  return byId;
}

/** Checks the shape of each task's attempt: queue wait, dispatch, execute under dispatch, checkpoint. */
function checkAttempts(
  spans: ZipkinSpan[],
  byId: Map<string, ZipkinSpan>,
  services: { server: string; worker: string },
  dispatch: (s: ZipkinSpan) => boolean,
) {
  const service = (s: ZipkinSpan) => s.localEndpoint?.serviceName;
  const submit = spans.find((s) => s.name === 'smartqueue.v1.smartqueue/submitworkflow')!;
  expect(submit.kind).toBe('SERVER');
  expect(submit.tags?.['rpc.system.name']).toBe('grpc');
  expect(submit.tags?.['rpc.method']).toBe('smartqueue.v1.SmartQueue/SubmitWorkflow');
  const run = spans.find((s) => s.name === 'run traced')!;
  expect(run.parentId).toBe(submit.id);
  expect(service(run)).toBe(services.server);
  for (const taskId of TASKS) {
    const attempt = spans.find((s) => s.name === `task ${taskId}`)!;
    expect(attempt.parentId).toBe(run.id);
    expect(attempt.tags?.['smartqueue.task.attempt']).toBe('1');
    const children = spans.filter((s) => s.parentId === attempt.id);
    expect(children.filter((s) => s.name === 'queue wait')).toHaveLength(1);
    expect(children.filter((s) => s.name === 'checkpoint')).toHaveLength(1);
    const sends = children.filter(dispatch);
    expect(sends, `dispatch span of ${taskId}`).toHaveLength(1);
    for (const s of children) expect(service(s)).toBe(services.server);
    const execute = spans.find((s) => s.name === `execute ${taskId}`)!;
    expect(execute.parentId).toBe(sends[0]!.id);
    expect(service(execute)).toBe(services.worker);
    expect(byId.get(execute.parentId!)).toBeDefined();
  }
}

withService('zipkin', zipkinUp, 'tracing into Zipkin', () => {
  describe('tracing into Zipkin', () => {
    it('a workflow submitted over gRPC and run by a remote worker is one connected trace', async () => {
      const t = await traceOneRun();
      const byId = checkConnected(t.spans, t.traceId, t.submitterSpanId);
      checkAttempts(
        t.spans,
        byId,
        { server: t.serverService, worker: t.workerService },
        (s) => s.name === 'smartqueue.v1.workers/connect' && s.kind === 'CLIENT',
      );
      const execute = t.spans.find((s) => s.name === 'execute load')!;
      expect(execute.kind).toBe('SERVER');
      expect(execute.tags?.['rpc.method']).toBe('smartqueue.v1.Workers/Connect');
      expect(execute.tags?.['smartqueue.run.id']).toBe(t.runId);

      // The latency histograms carry the trace id as an exemplar (OpenMetrics scrape).
      const http = /http on (\S+)/.exec(t.serve.output())![1]!;
      const scrape = await fetch(`http://${http}/metrics`, {
        headers: { accept: 'application/openmetrics-text' },
      });
      const exemplars = (await scrape.text())
        .split('\n')
        .filter((l) => l.includes(`# {trace_id="${t.traceId}"}`));
      for (const histogram of ['queue_wait', 'run', 'end_to_end'])
        expect(
          exemplars.some((l) => l.startsWith(`smartqueue_task_${histogram}_seconds_bucket{`)),
          histogram,
        ).toBe(true);

      // The task records keep the trace id, and `inspect` links to the trace.
      t.serve.child.kill('SIGTERM');
      expect(await t.serve.exited, t.serve.output()).toBe(0);
      const inspect = startCli('inspect', ['inspect', t.runId, '--state', t.statePath]);
      expect(await inspect.exited, inspect.output()).toBe(0);
      expect(inspect.output()).toContain(`trace     http://127.0.0.1:9411/zipkin/traces/${t.traceId}`);
    });
  });

  withService('kafka', kafkaUp, 'tracing into Zipkin through Kafka', () => {
    describe('tracing into Zipkin through Kafka', () => {
      it('the Kafka transport carries the trace context in message headers', async () => {
        const prefix = `sq-trace-${randomUUID().slice(0, 8)}`;
        topicPrefixes.push(prefix);
        const t = await traceOneRun(`kafka://${KAFKA}?prefix=${prefix}&partitions=2`);
        const byId = checkConnected(t.spans, t.traceId, t.submitterSpanId);
        checkAttempts(
          t.spans,
          byId,
          { server: t.serverService, worker: t.workerService },
          (s) => s.name === `send ${prefix}.tasks` && s.kind === 'PRODUCER',
        );
        const send = t.spans.find((s) => s.name === `send ${prefix}.tasks`)!;
        expect(send.tags?.['messaging.system']).toBe('kafka');
        expect(send.tags?.['messaging.destination.name']).toBe(`${prefix}.tasks`);
        const execute = t.spans.find((s) => s.name === 'execute extract')!;
        expect(execute.kind).toBe('CONSUMER');
        expect(execute.tags?.['messaging.operation.type']).toBe('process');
        expect(execute.tags?.['messaging.consumer.group.name']).toBe(`${prefix}.workers`);
      });
    });
  });
});
