/**
 * Starts the OpenTelemetry Node SDK for one process: a batch span processor into the chosen
 * exporter (Zipkin or OTLP), parent-based ratio sampling and W3C trace-context propagation.
 * Every OpenTelemetry module is imported here, on demand: a process with tracing off loads
 * none of them (STYLE rule 3).
 */
import type { Tracer } from '@opentelemetry/api';
import type { AttemptTracer } from '../../../engine/stages.js';
import type { RpcTracing } from '../../api/grpc/options.js';
import type { ResolvedTracingOptions } from './options.js';
import type { RunTracer, RunTracerOptions } from './run-tracer.js';
import type { WorkerRoute } from './worker-tracer.js';

/** A process's tracing, once started; `shutdown()` exports what is left and stops. */
export interface Tracing {
  readonly options: ResolvedTracingOptions;
  readonly tracer: Tracer;
  /** The scheduler's span builder; `attach()` it to the engine's events. */
  runTracer(options?: Omit<RunTracerOptions, 'tracer'>): RunTracer;
  /** A worker's execute spans, for tasks that come by `route`. */
  workerTracer(route: WorkerRoute): AttemptTracer;
  /** Server spans of the gRPC calls that submit work. */
  rpcTracer(): RpcTracing;
  /** Flushes the spans still batched, then stops the SDK. Idempotent. */
  shutdown(): Promise<void>;
}

/** The name of SmartQueue's tracer (`otel.scope.name` of its spans). */
export const TRACER_NAME = 'smartqueue';

/**
 * Starts tracing as `options` say, or resolves to undefined when the exporter is `none`. The SDK
 * registers itself globally (tracer provider, context manager, propagator): call it once per
 * process.
 */
export async function startTracing(options: ResolvedTracingOptions): Promise<Tracing | undefined> {
  if (options.exporter === 'none') return undefined;
  const [api, core, sdkNode, sdkTrace, resources, semconv] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  const exporter =
    options.exporter === 'zipkin'
      ? new (await import('@opentelemetry/exporter-zipkin')).ZipkinExporter({
          url: options.endpoint,
          serviceName: options.serviceName,
        })
      : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({
          url: options.endpoint,
        });
  const [{ RunTracer }, { createWorkerTracer }, { createRpcTracer }] = await Promise.all([
    import('./run-tracer.js'),
    import('./worker-tracer.js'),
    import('./rpc-tracer.js'),
  ]);
  const propagator = new core.W3CTraceContextPropagator();
  const sdk = new sdkNode.NodeSDK({
    resource: resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: options.serviceName }),
    // Host and process attributes are cheap to add but not worth a detector pass per start.
    autoDetectResources: false,
    spanProcessors: [
      // The SDK's default queue (2,048 spans) overflows, dropping spans, at a few thousand tasks
      // per second with every run sampled: each attempt makes four or five spans.
      new sdkTrace.BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: options.batchDelayMs,
        maxQueueSize: 16_384,
        maxExportBatchSize: 1024,
      }),
    ],
    sampler: new sdkTrace.ParentBasedSampler({
      root: new sdkTrace.TraceIdRatioBasedSampler(options.sampleRatio),
    }),
    textMapPropagator: propagator,
    instrumentations: [],
  });
  sdk.start();
  const tracer = api.trace.getTracer(TRACER_NAME);
  let stopping: Promise<void> | undefined;
  return {
    options,
    tracer,
    runTracer: (o = {}) => new RunTracer({ ...o, tracer, propagator }),
    workerTracer: (route) => createWorkerTracer({ tracer, route, propagator }),
    rpcTracer: () => createRpcTracer({ tracer, propagator }),
    // A trace backend that is down must not turn a clean shutdown into a failed one: the spans
    // left are lost, with a warning.
    shutdown: () =>
      (stopping ??= sdk.shutdown().catch((err: unknown) => {
        process.stderr.write(
          `smartqueue: tracing: spans left unexported at shutdown: ${err instanceof Error ? err.message : String(err)}\n`,
        );
      })),
  };
}
