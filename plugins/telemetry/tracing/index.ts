/**
 * OpenTelemetry tracing of runs and attempts (issue 7). Import this module lazily (it loads
 * @opentelemetry/api); `./options.js` is cheap and is what CLI parsing needs.
 */
export { openTracing } from './open.js';
export { startTracing, TRACER_NAME } from './setup.js';
export type { Tracing } from './setup.js';
export { RunTracer, carrierOf, contextFrom } from './run-tracer.js';
export type { AttemptRoute, RunTracerOptions } from './run-tracer.js';
export { createWorkerTracer } from './worker-tracer.js';
export type { WorkerRoute, WorkerTracerOptions } from './worker-tracer.js';
export { createRpcTracer } from './rpc-tracer.js';
export type { RpcTracerOptions } from './rpc-tracer.js';
export {
  DEFAULT_OTLP_ENDPOINT,
  DEFAULT_TRACE_URL,
  DEFAULT_ZIPKIN_ENDPOINT,
  resolveTracingOptions,
  traceLink,
} from './options.js';
export type { ResolvedTracingOptions, TraceExporterKind, TracingOptions } from './options.js';
