/**
 * Issue 7, "done when": a server that has run the examples is scraped at /metrics over HTTP; the
 * metric names and values must match what ran (read back from the checkpoint store), and the
 * scrape must pass `promtool check metrics`.
 *
 * The server is `createServer` (what `smartqueue serve` runs) with one local worker. The examples
 * that need no network run on it: etl.yaml is submitted over gRPC like `smartqueue submit` does,
 * ml-pipeline.ts (inline TypeScript handlers, which cannot travel over gRPC) is started on the
 * server's engine as `smartqueue run` would. The others call dbt, ffmpeg, python or HTTP
 * services that a test machine does not have.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { compileFile } from '../../dsl/load.js';
import type { CompiledWorkflow } from '../../dsl/load.js';
import { priorityClass } from '../../dsl/ir.js';
import { handlerNameOf } from '../../engine/handler.js';
import { createSmartQueueClient } from '../../plugins/api/grpc/client.js';
import { createServer } from '../../runtime/server.js';
import type { SmartQueueServer } from '../../runtime/server.js';
import { findExecutable, withTool } from '../support/services.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLES = path.join(ROOT, 'workflows/examples');

let server: SmartQueueServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

type Series = Map<string, number>;

/** Parses the text format into `name{labels}` → value (labels sorted, for stable keys). */
function parse(text: string): { series: Series; types: Map<string, string> } {
  const series: Series = new Map();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    series.set(labels ? `${m[1]}{${labels}}` : m[1]!, Number(m[3]));
  }
  return { series, types };
}

/** Sum of every series of `name` whose labels include all of `labels`. */
function sum(series: Series, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [key, v] of series) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([k, want]) => key.includes(`${k}="${want}"`))) total += v;
  }
  return total;
}

async function example(file: string): Promise<CompiledWorkflow> {
  const { compiled, diagnostics } = await compileFile(path.join(EXAMPLES, file));
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return compiled[0]!;
}

withTool('promtool', 'bash scripts/services install prometheus', 'metrics scrape', () => {
  it('serves metrics that match what the examples ran, and promtool accepts them', async () => {
    server = await createServer({
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      statePath: false,
      localWorkers: 1,
      baseDir: ROOT,
    });
    const etl = await example('etl.yaml');
    const ml = await example('ml-pipeline.ts');

    const client = createSmartQueueClient(server.address);
    let etlRun: string;
    try {
      ({ runId: etlRun } = await client.submitWorkflow({
        yaml: readFileSync(path.join(EXAMPLES, 'etl.yaml'), 'utf8'),
      }));
    } finally {
      client.close();
    }
    const mlRun = await server.engine.startRun(ml.plan, { handlers: ml.loaded.handlers });
    const statuses = [await server.engine.waitForRun(etlRun), await server.engine.waitForRun(mlRun)];
    expect(statuses).toEqual(['succeeded', 'succeeded']);

    // What ran, from the checkpoint store and the plans.
    const plans = new Map([
      [etlRun, etl],
      [mlRun, ml],
    ]);
    let dispatched = 0;
    let failedAttempts = 0;
    const succeededBy = new Map<string, number>();
    const dispatchedByClass = new Map<string, number>();
    let succeededTasks = 0;
    let tasks = 0;
    for (const [runId, wf] of plans) {
      const ir = new Map(wf.plan.ir.tasks.map((t) => [t.id, t]));
      tasks += ir.size;
      for (const e of await server.store.getEvents(runId)) {
        if (e.type === 'task:attempt:dispatched') {
          dispatched++;
          const cls = priorityClass(ir.get(e.taskId!)!.priority);
          dispatchedByClass.set(cls, (dispatchedByClass.get(cls) ?? 0) + 1);
        }
        if (e.type === 'task:attempt:failed') failedAttempts++;
      }
      for (const t of await server.store.getTasks(runId)) {
        if (t.status !== 'succeeded') continue;
        succeededTasks++;
        const handler = handlerNameOf(ir.get(t.taskId)!.handler);
        succeededBy.set(handler, (succeededBy.get(handler) ?? 0) + 1);
      }
    }
    expect(succeededTasks).toBeGreaterThan(10);

    const res = await fetch(`http://${server.httpAddress!}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    const { series, types } = parse(text);

    expect(sum(series, 'smartqueue_runs_started_total')).toBe(2);
    expect(sum(series, 'smartqueue_runs_finished_total', { status: 'succeeded' })).toBe(2);
    expect(sum(series, 'smartqueue_runs_active')).toBe(0);
    expect(sum(series, 'smartqueue_tasks_submitted_total')).toBe(tasks);
    expect(sum(series, 'smartqueue_task_attempts_dispatched_total')).toBe(dispatched);
    for (const [cls, n] of dispatchedByClass)
      expect(sum(series, 'smartqueue_task_attempts_dispatched_total', { priority_class: cls }), cls).toBe(n);
    expect(sum(series, 'smartqueue_task_attempts_succeeded_total')).toBe(succeededTasks);
    for (const [handler, n] of succeededBy) {
      expect(sum(series, 'smartqueue_task_attempts_succeeded_total', { handler }), handler).toBe(n);
      expect(sum(series, 'smartqueue_task_attempts_finished_total', { handler, outcome: 'succeeded' })).toBe(
        n,
      );
    }
    expect(sum(series, 'smartqueue_task_attempts_failed_total')).toBe(failedAttempts);
    // Every dispatched attempt ended, and each was timed once.
    expect(sum(series, 'smartqueue_task_attempts_finished_total')).toBe(dispatched);
    expect(sum(series, 'smartqueue_task_run_seconds_count')).toBe(dispatched);
    expect(sum(series, 'smartqueue_task_queue_wait_seconds_count')).toBe(dispatched);
    expect(sum(series, 'smartqueue_task_end_to_end_seconds_count')).toBe(succeededTasks);
    // Both examples have run deadlines, so every dispatch had a finite slack.
    expect(sum(series, 'smartqueue_task_slack_at_dispatch_seconds_count')).toBe(dispatched);
    expect(sum(series, 'smartqueue_tasks_ready')).toBe(0);
    expect(sum(series, 'smartqueue_frontier_tasks')).toBe(0);
    expect(sum(series, 'smartqueue_heap_operation_seconds_count', { op: 'pop' })).toBeGreaterThan(0);
    expect(sum(series, 'smartqueue_workers', { state: 'alive' })).toBe(1);
    expect(sum(series, 'smartqueue_shards_owned')).toBe(4);
    expect(sum(series, 'smartqueue_shards_unowned')).toBe(0);
    expect(series.get('smartqueue_checkpoint_errors_total{store="memory"}')).toBe(0);
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(series.get(`smartqueue_build_info{version="${version}"}`)).toBe(1);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ])
      expect(types.has(name), name).toBe(true);
    // Conventions: counters end in _total; no run or task id leaks into a label.
    for (const [name, type] of types) if (type === 'counter') expect(name).toMatch(/_total$/);
    expect(text).not.toContain(etlRun);
    expect(text).not.toContain(mlRun);

    const promtool = spawnSync(findExecutable('promtool')!, ['check', 'metrics'], {
      input: text,
      encoding: 'utf8',
    });
    expect(promtool.stdout + promtool.stderr).toBe('');
    expect(promtool.status).toBe(0);

    // A scraper that asks for OpenMetrics (Prometheus with exemplar storage) gets it: the same
    // series, counters as OpenMetrics names them, and the end marker.
    const om = await fetch(`http://${server.httpAddress!}/metrics`, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
    });
    expect(om.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    const omText = await om.text();
    expect(omText.endsWith('# EOF\n')).toBe(true);
    expect(omText).toMatch(/^# TYPE smartqueue_task_attempts_succeeded counter$/m);
    expect(omText).toMatch(/^smartqueue_task_attempts_succeeded_total\{/m);
    // And the plain text scrape after it is unchanged (the registry was not renamed in place).
    const after = await (await fetch(`http://${server.httpAddress!}/metrics`)).text();
    expect(after).toMatch(/^# TYPE smartqueue_task_attempts_succeeded_total counter$/m);
  });
});
