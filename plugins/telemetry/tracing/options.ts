/**
 * Tracing options, validated and defaulted in one place. This module loads no OpenTelemetry
 * code: with tracing off (the default) nothing of the SDK is ever imported.
 *
 * Precedence: explicit (CLI flags) > config file > environment. The environment is read here
 * too, for the standard `OTEL_*` variables the SDK would honour on its own, so one function
 * says what every setting is and where it came from.
 */
import { SmartQueueError } from '../../../engine/errors.js';

/** Where spans go. `none` turns tracing off (no SDK is loaded). */
export type TraceExporterKind = 'zipkin' | 'otlp' | 'none';

export const TRACE_EXPORTERS: readonly TraceExporterKind[] = ['zipkin', 'otlp', 'none'];

/** Zipkin's span intake on this machine (scripts/services up zipkin). */
export const DEFAULT_ZIPKIN_ENDPOINT = 'http://127.0.0.1:9411/api/v2/spans';
/** An OpenTelemetry Collector's OTLP/HTTP (protobuf) traces intake on this machine. */
export const DEFAULT_OTLP_ENDPOINT = 'http://127.0.0.1:4318/v1/traces';
/** Zipkin's UI; `{traceId}` is replaced by the trace id. */
export const DEFAULT_TRACE_URL = 'http://127.0.0.1:9411/zipkin/traces/{traceId}';

export interface TracingOptions {
  /**
   * `zipkin` (JSON v2 over HTTP), `otlp` (OTLP/HTTP protobuf, to a Collector) or `none`.
   * Env `OTEL_TRACES_EXPORTER`. @default 'none'
   */
  exporter?: TraceExporterKind;
  /**
   * The exporter's URL. Env `OTEL_EXPORTER_ZIPKIN_ENDPOINT` (zipkin),
   * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (otlp).
   * @default DEFAULT_ZIPKIN_ENDPOINT or DEFAULT_OTLP_ENDPOINT
   */
  endpoint?: string;
  /** `service.name` of the spans. Env `OTEL_SERVICE_NAME`. @default the caller's (`smartqueue`, `smartqueue-worker`) */
  serviceName?: string;
  /**
   * Share of new traces kept, 0..1, decided at the root and followed by every child span
   * (parent-based: a trace that arrives sampled, e.g. in a gRPC `traceparent`, is kept whatever
   * the ratio). Env `OTEL_TRACES_SAMPLER_ARG`. Tail sampling (keep slow or failed traces) is a
   * Collector's job. @default 1
   */
  sampleRatio?: number;
  /** How long spans wait to be exported in a batch (ms). Env `OTEL_BSP_SCHEDULE_DELAY`. @default 5000 */
  batchDelayMs?: number;
  /**
   * The trace UI's link for a trace, `{traceId}` replaced (`smartqueue inspect` prints it).
   * Env `SMARTQUEUE_TRACE_URL`. @default DEFAULT_TRACE_URL
   */
  traceUrl?: string;
}

export interface ResolvedTracingOptions {
  exporter: TraceExporterKind;
  endpoint: string;
  serviceName: string;
  sampleRatio: number;
  batchDelayMs: number;
  traceUrl: string;
}

/** Where each setting may come from, highest precedence first. */
export interface TracingSources {
  /** Flags given on the command line. */
  explicit?: TracingOptions;
  /** The config file's `tracing` section. */
  config?: TracingOptions;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Service name when none is given. @default 'smartqueue' */
  defaultServiceName?: string;
}

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name]?.trim();
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new SmartQueueError('INVALID_OPTIONS', `${name} must be a number, got "${v}"`);
  return n;
}

/** The environment's tracing settings (the standard `OTEL_*` variables). */
function fromEnv(env: NodeJS.ProcessEnv): TracingOptions {
  const out: TracingOptions = {};
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  // The SDK takes a list; SmartQueue exports to one place, so only a single name is accepted.
  if (exporter) out.exporter = exporter as TraceExporterKind;
  const zipkin = env.OTEL_EXPORTER_ZIPKIN_ENDPOINT?.trim();
  const otlpTraces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const otlpBase = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const kind = out.exporter;
  if (kind === 'zipkin' && zipkin) out.endpoint = zipkin;
  if (kind === 'otlp' && (otlpTraces || otlpBase))
    out.endpoint = otlpTraces || `${otlpBase!.replace(/\/+$/, '')}/v1/traces`;
  const service = env.OTEL_SERVICE_NAME?.trim();
  if (service) out.serviceName = service;
  const ratio = envNumber(env, 'OTEL_TRACES_SAMPLER_ARG');
  if (ratio !== undefined) out.sampleRatio = ratio;
  const delay = envNumber(env, 'OTEL_BSP_SCHEDULE_DELAY');
  if (delay !== undefined) out.batchDelayMs = delay;
  const url = env.SMARTQUEUE_TRACE_URL?.trim();
  if (url) out.traceUrl = url;
  return out;
}

/**
 * Merges flags, config file and environment into resolved tracing options.
 * @throws SmartQueueError INVALID_OPTIONS naming every wrong setting
 */
export function resolveTracingOptions(sources: TracingSources = {}): ResolvedTracingOptions {
  const env = fromEnv(sources.env ?? process.env);
  const pick = <K extends keyof TracingOptions>(key: K): TracingOptions[K] =>
    sources.explicit?.[key] ?? sources.config?.[key] ?? env[key];
  const problems: string[] = [];
  const exporter = pick('exporter') ?? 'none';
  if (!TRACE_EXPORTERS.includes(exporter))
    problems.push(`trace exporter must be one of ${TRACE_EXPORTERS.join(', ')}, got "${String(exporter)}"`);
  // An endpoint from the environment belongs to the exporter the environment names; one given
  // explicitly or in the config goes with whichever exporter is chosen.
  const endpoint =
    sources.explicit?.endpoint ??
    sources.config?.endpoint ??
    (env.exporter === exporter ? env.endpoint : undefined) ??
    (exporter === 'otlp' ? DEFAULT_OTLP_ENDPOINT : DEFAULT_ZIPKIN_ENDPOINT);
  try {
    const u = new URL(endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    problems.push(`trace endpoint must be an http(s) URL, got "${endpoint}"`);
  }
  const serviceName = pick('serviceName') ?? sources.defaultServiceName ?? 'smartqueue';
  if (!serviceName.trim()) problems.push('trace service name must not be empty');
  const sampleRatio = pick('sampleRatio') ?? 1;
  if (!(typeof sampleRatio === 'number' && sampleRatio >= 0 && sampleRatio <= 1))
    problems.push(`trace sample ratio must be a number from 0 to 1, got ${String(sampleRatio)}`);
  const batchDelayMs = pick('batchDelayMs') ?? 5000;
  if (!(Number.isInteger(batchDelayMs) && batchDelayMs >= 1 && batchDelayMs <= 600_000))
    problems.push(
      `trace batch delay must be a whole number of ms from 1 to 600000, got ${String(batchDelayMs)}`,
    );
  const traceUrl = pick('traceUrl') ?? DEFAULT_TRACE_URL;
  if (!traceUrl.includes('{traceId}')) problems.push(`trace URL must contain {traceId}, got "${traceUrl}"`);
  if (problems.length)
    throw new SmartQueueError('INVALID_OPTIONS', problems.join('; '), { details: { problems } });
  return { exporter, endpoint, serviceName, sampleRatio, batchDelayMs, traceUrl };
}

/** The trace UI link of a trace id. */
export function traceLink(traceUrl: string, traceId: string): string {
  return traceUrl.replaceAll('{traceId}', encodeURIComponent(traceId));
}
