/**
 * Our renderings of a registry against prom-client's own: the Prometheus text must equal what
 * prom-client writes for a Prometheus registry holding the same metrics, and the OpenMetrics
 * text what it writes for an OpenMetrics one, exemplars included.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { EngineEventBus } from '../../../../../engine/events.js';
import {
  expose,
  newMetricsRegistry,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  registerTaskMetrics,
  renderOpenMetrics,
  renderPrometheusText,
  wantsOpenMetrics,
} from '../../../../../plugins/telemetry/metrics/index.js';

type Families = Parameters<typeof renderPrometheusText>[0];

/** The same metrics, with awkward help text and label values, in `registry`. */
function fill(registry: Registry<never> | Registry, exemplars: boolean): void {
  const registers = [registry as Registry];
  const c = new Counter({
    name: 'sq_test_things_total',
    help: 'Things, with a back\\slash and a\nnewline.',
    labelNames: ['kind'] as const,
    registers,
  });
  c.inc({ kind: 'a "quoted" one' }, 3);
  c.inc({ kind: 'line\nbreak' });
  new Gauge({ name: 'sq_test_level', help: 'A level.', registers }).set(-2.5);
  const h = new Histogram({
    name: 'sq_test_seconds',
    help: 'Durations.',
    labelNames: ['op'] as const,
    buckets: [0.1, 1, 10],
    registers,
    ...(exemplars && { enableExemplars: true }),
  });
  for (const v of [0.05, 0.5, 5, 50]) {
    const exemplarLabels: Record<string, string> = { trace_id: `t${v}` };
    if (exemplars) h.observe({ labels: { op: 'x' }, value: v, exemplarLabels });
    else h.observe({ op: 'x' }, v);
  }
}

describe('exposition', () => {
  it('renders the Prometheus text format exactly as prom-client does', async () => {
    const reference = new Registry();
    fill(reference, false);
    const ours = newMetricsRegistry();
    fill(ours as unknown as Registry, true);
    const text = renderPrometheusText((await ours.getMetricsAsJSON()) as unknown as Families);
    expect(text).toBe(await reference.metrics());
    expect(text).not.toContain('trace_id');
  });

  it('renders OpenMetrics exactly as prom-client does, exemplars included, and leaves the registry unchanged', async () => {
    const ours = newMetricsRegistry();
    fill(ours as unknown as Registry, true);
    const mine = renderOpenMetrics((await ours.getMetricsAsJSON()) as unknown as Families);
    const again = renderPrometheusText((await ours.getMetricsAsJSON()) as unknown as Families);
    expect(again).toContain('sq_test_things_total{kind="a \\"quoted\\" one"} 3');
    // prom-client's own rendering renames the counter objects in place: it goes last.
    expect(mine).toBe(await ours.metrics());
    expect(mine).toMatch(
      /^sq_test_seconds_bucket\{le="1",op="x"\} 2 # \{trace_id="t0.5"\} 0.5 \d+(\.\d+)?$/m,
    );
    expect(mine.endsWith('# EOF\n')).toBe(true);
  });

  it('chooses the format by the Accept header', async () => {
    const registry = newMetricsRegistry();
    fill(registry as unknown as Registry, true);
    expect(wantsOpenMetrics(undefined)).toBe(false);
    expect(wantsOpenMetrics('text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).toBe(false);
    const om = await expose(registry, 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5');
    expect(om.contentType).toBe(OPENMETRICS_CONTENT_TYPE);
    expect(om.body).toContain('# {trace_id=');
    const text = await expose(registry, '*/*');
    expect(text.contentType).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(text.body).not.toContain('# EOF');
  });

  it("accepts a caller's Prometheus-format registry, without exemplars", async () => {
    const registry = new Registry();
    const events = new EngineEventBus();
    const stop = registerTaskMetrics(registry, events);
    const base = { runId: 'r', taskId: 'a', at: 1000, attempt: 1, workerId: 'w', handler: 'noop' };
    events.emit('task:attempt:dispatched', { ...base, shard: 0, slackMs: 10, readyAt: 400, traceId: 'abc' });
    const text = (await expose(registry, 'application/openmetrics-text')).body;
    expect(text).toMatch(/^smartqueue_task_queue_wait_seconds_count\{priority_class="unknown"\} 1$/m);
    expect(text).not.toContain('trace_id');
    stop();
  });

  it('puts the trace id of a traced attempt on the latency buckets, and none for an untraced one', async () => {
    const registry = newMetricsRegistry();
    const events = new EngineEventBus();
    const stop = registerTaskMetrics(registry, events);
    const base = {
      runId: 'r',
      at: 1000,
      attempt: 1,
      workerId: 'w',
      handler: 'noop',
      priorityClass: 'medium',
    };
    events.emit('task:state:added', {
      runId: 'r',
      taskId: 'a',
      at: 0,
      handler: 'noop',
      priorityClass: 'medium',
    });
    events.emit('task:attempt:dispatched', {
      ...base,
      taskId: 'a',
      shard: 0,
      slackMs: 10,
      readyAt: 400,
      traceId: 'abc123',
    });
    events.emit('task:attempt:succeeded', {
      ...base,
      taskId: 'a',
      at: 1700,
      durationMs: 700,
      traceId: 'abc123',
    });
    events.emit('task:state:added', {
      runId: 'r',
      taskId: 'b',
      at: 0,
      handler: 'noop',
      priorityClass: 'medium',
    });
    events.emit('task:attempt:dispatched', { ...base, taskId: 'b', shard: 0, slackMs: 10, readyAt: 900 });
    events.emit('task:attempt:succeeded', { ...base, taskId: 'b', at: 1010, durationMs: 10 });
    const body = renderOpenMetrics((await registry.getMetricsAsJSON()) as unknown as Families);
    const exemplarLines = body.split('\n').filter((l) => l.includes(' # {'));
    expect(exemplarLines.map((l) => l.split('{')[0])).toEqual([
      'smartqueue_task_queue_wait_seconds_bucket',
      'smartqueue_task_run_seconds_bucket',
      'smartqueue_task_end_to_end_seconds_bucket',
    ]);
    expect(exemplarLines.every((l) => l.includes('{trace_id="abc123"}'))).toBe(true);
    // The untraced attempt (0.01 s run) leaves no exemplar in its bucket.
    expect(body).toMatch(
      /^smartqueue_task_run_seconds_bucket\{le="0.01",handler="noop",outcome="succeeded"\} 1$/m,
    );
    stop();
  });
});
