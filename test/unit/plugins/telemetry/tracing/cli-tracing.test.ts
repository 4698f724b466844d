/**
 * Tracing on the command line: the --trace-* flags, the config file's `tracing:` section, how
 * `serve` merges them, and trace ids in handler log lines.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../../../../cli/progress.js';
import { printRunSummary } from '../../../../../cli/run-report.js';
import { createMemoryCheckpointStore } from '../../../../../plugins/checkpoint/memory/index.js';
import { run } from '../../../../support/checkpoints.js';
import { resolveServe } from '../../../../../cli/serve-options.js';
import { parseServerConfig } from '../../../../../cli/server-config.js';
import { addTraceOptions, resolveCliTracing } from '../../../../../cli/trace-flags.js';
import type { TraceFlags } from '../../../../../cli/trace-flags.js';
import { formatDiagnostic } from '../../../../../engine/errors.js';

function parseFlags(argv: string[]): TraceFlags {
  const cmd = addTraceOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }));
  cmd.parse(argv, { from: 'user' });
  return cmd.opts<TraceFlags>();
}

describe('tracing flags', () => {
  it('parse and resolve, off unless asked for', () => {
    expect(resolveCliTracing(parseFlags([]), 'smartqueue', undefined, {})).toBeUndefined();
    const flags = parseFlags([
      '--trace-exporter',
      'zipkin',
      '--trace-endpoint',
      'http://z:9411/api/v2/spans',
      '--trace-sample',
      '0.5',
      '--trace-batch-delay',
      '250ms',
    ]);
    expect(resolveCliTracing(flags, 'smartqueue-worker', undefined, {})).toEqual({
      exporter: 'zipkin',
      endpoint: 'http://z:9411/api/v2/spans',
      serviceName: 'smartqueue-worker',
      sampleRatio: 0.5,
      batchDelayMs: 250,
      traceUrl: 'http://127.0.0.1:9411/zipkin/traces/{traceId}',
    });
    // OTEL_TRACES_EXPORTER alone turns it on.
    expect(resolveCliTracing({}, 'smartqueue', undefined, { OTEL_TRACES_EXPORTER: 'otlp' })?.exporter).toBe(
      'otlp',
    );
  });

  it('refuse bad values with the flag named', () => {
    expect(() => parseFlags(['--trace-exporter', 'jaeger'])).toThrow(/--trace-exporter.*zipkin, otlp, none/);
    expect(() => parseFlags(['--trace-sample', '2'])).toThrow(/--trace-sample.*from 0 to 1/);
    expect(() => parseFlags(['--trace-batch-delay', 'soon'])).toThrow(/--trace-batch-delay/);
  });
});

describe('the tracing: section of the server config file', () => {
  it('is read and merged under the flags', () => {
    const { config, diagnostics } = parseServerConfig(
      'tracing:\n  exporter: zipkin\n  serviceName: sched-1\n  sampleRatio: 0.2\n  batchDelay: 1s\n',
      'server.yaml',
      '/etc/smartqueue',
    );
    expect(diagnostics).toEqual([]);
    expect(config!.tracing).toEqual({
      exporter: 'zipkin',
      serviceName: 'sched-1',
      sampleRatio: 0.2,
      batchDelayMs: 1000,
    });
    const resolved = resolveServe({ traceSample: 1 }, config, { env: {} });
    expect(resolved.config.tracing).toMatchObject({
      exporter: 'zipkin',
      serviceName: 'sched-1',
      sampleRatio: 1,
    });
    expect(resolveServe({}, undefined, { env: {} }).config.tracing).toBeUndefined();
  });

  it('reports wrong keys and values with their line', () => {
    const { diagnostics } = parseServerConfig(
      'tracing:\n  exporter: jaeger\n  sampleRate: 1\n',
      'server.yaml',
      '/etc/smartqueue',
    );
    const lines = diagnostics.map(formatDiagnostic).join('\n');
    expect(lines).toContain('server.yaml:2:13 tracing.exporter: expected one of "zipkin", "otlp", "none"');
    expect(lines).toMatch(/server\.yaml:3:\d+ .*unknown key "sampleRate" \(did you mean "sampleRatio"\?\)/);
  });
});

describe('log lines', () => {
  it('carry the trace id of a traced attempt', () => {
    const line = { level: 'info' as const, runId: 'r', taskId: 'load', message: 'done' };
    expect(formatLogLine(line)).toBe('log     load: done');
    expect(formatLogLine({ ...line, traceId: '0af7651916cd43dd8448eb211c80319c' })).toBe(
      'log     load: done trace=0af7651916cd43dd8448eb211c80319c',
    );
  });
});

describe('the run summary', () => {
  it("links to the run's trace when its tasks were traced", async () => {
    const store = createMemoryCheckpointStore();
    await store.createRun(run('r1'), ['a', 'b']);
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: () => {}, isTTY: false };
    await printRunSummary(io, store, 'r1', 'running', false);
    expect(lines.some((l) => l.startsWith('trace:'))).toBe(false);
    store.record(
      { runId: 'r1', type: 'task:attempt:dispatched', at: 1, taskId: 'a', attempt: 1 },
      {
        runId: 'r1',
        taskId: 'a',
        status: 'dispatched',
        attempt: 1,
        traceId: '0af7651916cd43dd8448eb211c80319c',
      },
    );
    await store.flush();
    lines.length = 0;
    await printRunSummary(io, store, 'r1', 'running', false);
    expect(lines).toContain('trace:   http://127.0.0.1:9411/zipkin/traces/0af7651916cd43dd8448eb211c80319c');
    await store.close();
  });
});
