/** Tracing options: defaults, precedence (flags > config file > OTEL_* env), validation, links. */
import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../../engine/errors.js';
import {
  DEFAULT_OTLP_ENDPOINT,
  DEFAULT_TRACE_URL,
  DEFAULT_ZIPKIN_ENDPOINT,
  resolveTracingOptions,
  traceLink,
} from '../../../../../plugins/telemetry/tracing/options.js';
import { openTracing } from '../../../../../plugins/telemetry/tracing/open.js';

describe('resolveTracingOptions', () => {
  it('is off by default, with the documented defaults', () => {
    expect(resolveTracingOptions({ env: {} })).toEqual({
      exporter: 'none',
      endpoint: DEFAULT_ZIPKIN_ENDPOINT,
      serviceName: 'smartqueue',
      sampleRatio: 1,
      batchDelayMs: 5000,
      traceUrl: DEFAULT_TRACE_URL,
    });
    expect(resolveTracingOptions({ env: {}, defaultServiceName: 'smartqueue-worker' }).serviceName).toBe(
      'smartqueue-worker',
    );
  });

  it('reads the standard OTEL_* variables', () => {
    const r = resolveTracingOptions({
      env: {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
        OTEL_SERVICE_NAME: 'sched',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        SMARTQUEUE_TRACE_URL: 'https://jaeger/trace/{traceId}',
      },
    });
    expect(r).toEqual({
      exporter: 'otlp',
      endpoint: 'http://collector:4318/v1/traces',
      serviceName: 'sched',
      sampleRatio: 0.25,
      batchDelayMs: 200,
      traceUrl: 'https://jaeger/trace/{traceId}',
    });
    expect(
      resolveTracingOptions({
        env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/x' },
      }).endpoint,
    ).toBe('http://c:4318/x');
    expect(
      resolveTracingOptions({
        env: { OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://z:9411/api/v2/spans' },
      }).endpoint,
    ).toBe('http://z:9411/api/v2/spans');
  });

  it('takes flags over the config file over the environment', () => {
    const env = {
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_SERVICE_NAME: 'from-env',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    };
    const r = resolveTracingOptions({
      env,
      config: { exporter: 'otlp', serviceName: 'from-file', sampleRatio: 0.5 },
      explicit: { serviceName: 'from-flag' },
    });
    expect(r).toMatchObject({ exporter: 'otlp', serviceName: 'from-flag', sampleRatio: 0.5 });
    // The env's endpoint belongs to the env's exporter: another exporter gets its own default.
    expect(r.endpoint).toBe(DEFAULT_OTLP_ENDPOINT);
    expect(
      resolveTracingOptions({
        env: { OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://z:1/s' },
        explicit: { exporter: 'otlp' },
      }).endpoint,
    ).toBe(DEFAULT_OTLP_ENDPOINT);
  });

  it('names every wrong setting at once', () => {
    let err: unknown;
    try {
      resolveTracingOptions({
        env: {},
        explicit: {
          exporter: 'jaeger' as never,
          endpoint: 'ftp://x',
          sampleRatio: 1.5,
          batchDelayMs: 0,
          traceUrl: 'http://ui/',
        },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SmartQueueError);
    const e = err as SmartQueueError;
    expect(e.code).toBe('INVALID_OPTIONS');
    expect((e.details as { problems: string[] }).problems).toEqual([
      'trace exporter must be one of zipkin, otlp, none, got "jaeger"',
      'trace endpoint must be an http(s) URL, got "ftp://x"',
      'trace sample ratio must be a number from 0 to 1, got 1.5',
      'trace batch delay must be a whole number of ms from 1 to 600000, got 0',
      'trace URL must contain {traceId}, got "http://ui/"',
    ]);
    expect(() => resolveTracingOptions({ env: { OTEL_TRACES_SAMPLER_ARG: 'half' } })).toThrow(
      /OTEL_TRACES_SAMPLER_ARG must be a number/,
    );
  });

  it('builds trace links', () => {
    expect(traceLink(DEFAULT_TRACE_URL, 'abc')).toBe('http://127.0.0.1:9411/zipkin/traces/abc');
  });

  it('loads nothing when the exporter is none', async () => {
    expect(await openTracing(resolveTracingOptions({ env: {} }))).toBeUndefined();
  });
});
