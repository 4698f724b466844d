/**
 * The tracing flags of `serve`, `worker` and `run`, and the `tracing:` section of the server
 * config file. They only collect settings: plugins/telemetry/tracing/options.ts resolves them
 * (flags > config file > OTEL_* environment) and documents each default.
 */
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseDuration } from '../dsl/duration.js';
import { resolveTracingOptions, TRACE_EXPORTERS } from '../plugins/telemetry/tracing/options.js';
import type {
  ResolvedTracingOptions,
  TraceExporterKind,
  TracingOptions,
} from '../plugins/telemetry/tracing/options.js';

/** The tracing flags as commander parses them (undefined: not given). */
export interface TraceFlags {
  traceExporter?: TraceExporterKind;
  traceEndpoint?: string;
  traceService?: string;
  traceSample?: number;
  traceBatchDelay?: number;
}

function ratio(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError('must be a number from 0 to 1');
  return n;
}

function exporter(value: string): TraceExporterKind {
  if (!(TRACE_EXPORTERS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`must be one of ${TRACE_EXPORTERS.join(', ')}`);
  return value as TraceExporterKind;
}

function delayMs(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : parseDuration(value);
  if (ms === undefined || !Number.isSafeInteger(ms) || ms < 1 || ms > 600_000)
    throw new InvalidArgumentError('must be a duration (500ms, 5s) or milliseconds from 1 to 600000');
  return ms;
}

/** The tracing flags, as `command.option(...)` arguments. */
export const traceOptions = {
  exporter: [
    '--trace-exporter <kind>',
    'send OpenTelemetry traces: zipkin, otlp or none (the default); env OTEL_TRACES_EXPORTER',
    exporter,
  ],
  endpoint: [
    '--trace-endpoint <url>',
    'where spans go [default: zipkin http://127.0.0.1:9411/api/v2/spans, otlp http://127.0.0.1:4318/v1/traces]; env OTEL_EXPORTER_ZIPKIN_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  ],
  service: ['--trace-service <name>', 'service.name of the spans; env OTEL_SERVICE_NAME'],
  sample: [
    '--trace-sample <ratio>',
    'share of new traces kept, 0..1, parent-based: a sampled incoming trace is always kept [default: 1]; env OTEL_TRACES_SAMPLER_ARG',
    ratio,
  ],
  batchDelay: [
    '--trace-batch-delay <ms>',
    'how long spans wait to be exported in a batch [default: 5s]; env OTEL_BSP_SCHEDULE_DELAY',
    delayMs,
  ],
} as const;

/** Adds the tracing flags to a command. */
export function addTraceOptions(command: Command): Command {
  return command
    .option(...traceOptions.exporter)
    .option(...traceOptions.endpoint)
    .option(...traceOptions.service)
    .option(...traceOptions.sample)
    .option(...traceOptions.batchDelay);
}

/** The flags as tracing options. */
export function traceFlagsToOptions(flags: TraceFlags): TracingOptions {
  return {
    ...(flags.traceExporter !== undefined && { exporter: flags.traceExporter }),
    ...(flags.traceEndpoint !== undefined && { endpoint: flags.traceEndpoint }),
    ...(flags.traceService !== undefined && { serviceName: flags.traceService }),
    ...(flags.traceSample !== undefined && { sampleRatio: flags.traceSample }),
    ...(flags.traceBatchDelay !== undefined && { batchDelayMs: flags.traceBatchDelay }),
  };
}

/**
 * Resolves flags (and a config file's `tracing:` section) with the environment; undefined when
 * tracing stays off, so callers load nothing of OpenTelemetry.
 */
export function resolveCliTracing(
  flags: TraceFlags,
  defaultServiceName: string,
  config?: TracingOptions,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedTracingOptions | undefined {
  const resolved = resolveTracingOptions({
    explicit: traceFlagsToOptions(flags),
    ...(config && { config }),
    env,
    defaultServiceName,
  });
  return resolved.exporter === 'none' ? undefined : resolved;
}

/** The config file's `tracing:` section (cli/server-config.ts). */
export const tracingConfigSchema = z.strictObject(
  {
    exporter: z.enum(['zipkin', 'otlp', 'none'], { error: 'expected zipkin, otlp or none' }).optional(),
    endpoint: z.url({ error: 'expected an http(s) URL' }).optional(),
    serviceName: z.string({ error: 'expected a service name (a string)' }).min(1).optional(),
    sampleRatio: z
      .number({ error: 'expected a number from 0 to 1' })
      .min(0, { error: 'expected a number from 0 to 1' })
      .max(1, { error: 'expected a number from 0 to 1' })
      .optional(),
    batchDelay: z
      .union([z.number(), z.string()], { error: 'expected a duration such as "500ms" or "5s"' })
      .transform((v, ctx) => {
        const ms = typeof v === 'number' ? v : parseDuration(v);
        if (ms === undefined || !Number.isSafeInteger(ms) || ms < 1 || ms > 600_000) {
          ctx.addIssue({ code: 'custom', message: 'expected a duration from 1 ms to 10 minutes' });
          return z.NEVER;
        }
        return ms;
      })
      .optional(),
  },
  { error: 'expected a mapping of tracing settings (exporter, endpoint, serviceName, sampleRatio, ...)' },
);

/** A parsed `tracing:` section as tracing options. */
export function tracingFromConfig(section: z.infer<typeof tracingConfigSchema>): TracingOptions {
  return {
    ...(section.exporter !== undefined && { exporter: section.exporter }),
    ...(section.endpoint !== undefined && { endpoint: section.endpoint }),
    ...(section.serviceName !== undefined && { serviceName: section.serviceName }),
    ...(section.sampleRatio !== undefined && { sampleRatio: section.sampleRatio }),
    ...(section.batchDelay !== undefined && { batchDelayMs: section.batchDelay }),
  };
}
