/**
 * The worker's span of an attempt: `execute <task>`, in the worker's own process, continuing the
 * trace that came in the assignment's headers (the scheduler's dispatch span is its parent). The
 * handler runs inside it, so spans a handler makes itself (with an active context manager) are
 * its children.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, TextMapPropagator, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { AttemptTracer, TaskAssignment, TaskResult } from '../../../engine/stages.js';
import * as A from './attributes.js';
import { contextFrom, isSampled } from './run-tracer.js';

/** Where a worker's tasks come from: chooses the span's conventions. */
export type WorkerRoute =
  { kind: 'in-process' } | { kind: 'grpc' } | { kind: 'kafka'; topic: string; consumerGroup?: string };

export interface WorkerTracerOptions {
  tracer: Tracer;
  route: WorkerRoute;
  /** @default W3C trace context */
  propagator?: TextMapPropagator;
}

function spanOptions(route: WorkerRoute, a: TaskAssignment): { kind: SpanKind; attributes: Attributes } {
  const attributes: Attributes = {
    [A.ATTR_RUN_ID]: a.runId,
    [A.ATTR_TASK_ID]: a.taskId,
    [A.ATTR_ATTEMPT]: a.attempt,
    [A.ATTR_WORKER_ID]: a.workerId,
  };
  if (route.kind === 'kafka') {
    // Messaging conventions: processing a message received from the tasks topic.
    Object.assign(attributes, {
      [A.ATTR_MESSAGING_SYSTEM]: 'kafka',
      [A.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
      [A.ATTR_MESSAGING_OPERATION_NAME]: 'process',
      [A.ATTR_MESSAGING_DESTINATION_NAME]: route.topic,
      [A.ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(a.shard),
      [A.ATTR_MESSAGING_MESSAGE_ID]: `${a.runId}/${a.taskId}/${a.attempt}`,
      ...(route.consumerGroup && { [A.ATTR_MESSAGING_CONSUMER_GROUP_NAME]: route.consumerGroup }),
    });
    return { kind: SpanKind.CONSUMER, attributes };
  }
  if (route.kind === 'grpc') {
    // The assignment came on the Workers.Connect stream; its result is the answer.
    Object.assign(attributes, {
      [A.ATTR_RPC_SYSTEM_NAME]: 'grpc',
      [A.ATTR_RPC_SERVICE]: A.WORKERS_SERVICE,
      [A.ATTR_RPC_METHOD]: `${A.WORKERS_SERVICE}/Connect`,
    });
    return { kind: SpanKind.SERVER, attributes };
  }
  return { kind: SpanKind.INTERNAL, attributes };
}

/** Creates the worker-side tracer that LocalWorker and RemoteWorker take as `tracer`. */
export function createWorkerTracer(options: WorkerTracerOptions): AttemptTracer {
  const propagator = options.propagator ?? new W3CTraceContextPropagator();
  return {
    async execute(a, run): Promise<TaskResult> {
      const parent = contextFrom(a.headers, propagator);
      const span = options.tracer.startSpan(`execute ${a.taskId}`, spanOptions(options.route, a), parent);
      const traceId = isSampled(span) ? span.spanContext().traceId : undefined;
      let result: TaskResult;
      try {
        result = await context.with(trace.setSpan(parent, span), () => run(traceId));
      } catch (err) {
        // runAttempt never throws; a thread pool that does still ends the span.
        span.setStatus({ code: SpanStatusCode.ERROR, message: String(err) });
        span.end();
        throw err;
      }
      span.setAttribute(
        A.ATTR_OUTCOME,
        result.ok
          ? 'succeeded'
          : result.error?.timedOut
            ? 'timed-out'
            : result.error?.cancelled
              ? 'cancelled'
              : 'failed',
      );
      if (!result.ok)
        span.setStatus({ code: SpanStatusCode.ERROR, message: result.error?.message ?? 'failed' });
      span.end();
      return result;
    },
  };
}
