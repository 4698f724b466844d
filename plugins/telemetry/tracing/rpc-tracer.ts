/**
 * Server spans of the gRPC calls that start work (SubmitWorkflow, SubmitTask, SubmitTasks), by
 * the RPC conventions. Each continues the caller's trace from the call's `traceparent`
 * metadata, and hands its own context to the engine, so the run and task spans are children of
 * the call and, through it, of the submitter's trace.
 */
import { SpanKind, SpanStatusCode, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { TextMapPropagator, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { TraceCarrier } from '../../../engine/stages.js';
import type { RpcTracing } from '../../api/grpc/options.js';
import * as A from './attributes.js';
import { carrierOf, contextFrom } from './run-tracer.js';

export interface RpcTracerOptions {
  tracer: Tracer;
  /** @default W3C trace context */
  propagator?: TextMapPropagator;
}

/** Creates the gRPC API's `tracing` hook. */
export function createRpcTracer(options: RpcTracerOptions): RpcTracing {
  const propagator = options.propagator ?? new W3CTraceContextPropagator();
  return {
    async serve<T>(
      method: string,
      metadata: TraceCarrier,
      fn: (traceContext: TraceCarrier) => Promise<T>,
      statusOf: (err: unknown) => number,
    ): Promise<T> {
      const span = options.tracer.startSpan(
        `${A.CLIENT_SERVICE}/${method}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            [A.ATTR_RPC_SYSTEM_NAME]: 'grpc',
            [A.ATTR_RPC_SERVICE]: A.CLIENT_SERVICE,
            [A.ATTR_RPC_METHOD]: `${A.CLIENT_SERVICE}/${method}`,
          },
        },
        contextFrom(metadata, propagator),
      );
      try {
        const result = await fn(carrierOf(trace.setSpan(ROOT_CONTEXT, span), propagator));
        span.setAttribute(A.ATTR_RPC_GRPC_STATUS_CODE, 0);
        return result;
      } catch (err) {
        span.setAttribute(A.ATTR_RPC_GRPC_STATUS_CODE, statusOf(err));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: err instanceof Error ? err.message : String(err),
        });
        throw err;
      } finally {
        span.end();
      }
    },
  };
}
