/**
 * The scheduler's spans, built from engine events (STYLE rule 7), with the events' own
 * timestamps as start and end times:
 *
 * ```
 * run <workflow>                  run:state:started → run:state:finished
 *   task <id>                     one per attempt: ready (or retry) → result recorded / failed / lost
 *     queue wait                  ready → dispatched
 *     send <topic> | Workers/Connect | dispatch    the hand-off to the transport (producer/client)
 *       execute <id>              on the worker, in the worker's process (worker-tracer.ts)
 *     checkpoint                  result → success durably recorded (completeTask)
 * ```
 *
 * The run's parent is the submitter's context (`run:state:started.traceContext`, e.g. from gRPC
 * metadata); a task added by SubmitTask hangs under its own submitter instead. The one hook that
 * is not an event is {@link RunTracer.attemptContext}: the engine asks for the attempt's context
 * as it builds the assignment, to carry it to the worker in `headers`.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, TextMapPropagator, Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { EngineEventBus } from '../../../engine/events.js';
import type { AttemptTraceSource, TraceCarrier } from '../../../engine/stages.js';
import * as A from './attributes.js';

/** How an attempt travels to its worker: chooses the dispatch span's conventions. */
export type AttemptRoute =
  { kind: 'in-process' } | { kind: 'grpc' } | { kind: 'kafka'; topic: string; consumerGroup?: string };

export interface RunTracerOptions {
  tracer: Tracer;
  /** The route of an attempt sent to `workerId`. @default in-process */
  routeOf?: (workerId: string) => AttemptRoute;
  /** The checkpoint store's name, on checkpoint spans. @default none */
  store?: string;
  /** @default W3C trace context */
  propagator?: TextMapPropagator;
}

interface AttemptTrace {
  attempt: number;
  span: Span;
  startedAt: number;
}

interface TaskTrace {
  /** The submitter's context of a task added to a live run. */
  parent?: Context;
  readyAt?: number;
  current?: AttemptTrace;
}

interface RunTrace {
  span: Span;
  ctx: Context;
  tasks: Map<string, TaskTrace>;
}

const getter = {
  keys: (c: TraceCarrier) => Object.keys(c),
  get: (c: TraceCarrier, k: string) => c[k],
};
const setter = { set: (c: TraceCarrier, k: string, v: string) => void (c[k] = v) };

/** Reads a carrier (W3C fields) into a context; a missing or bad carrier gives the root. */
export function contextFrom(carrier: TraceCarrier | undefined, propagator: TextMapPropagator): Context {
  return carrier ? propagator.extract(ROOT_CONTEXT, carrier, getter) : ROOT_CONTEXT;
}

/** Writes a span's context into a new carrier. */
export function carrierOf(ctx: Context, propagator: TextMapPropagator): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagator.inject(ctx, carrier, setter);
  return carrier;
}

export function isSampled(span: Span): boolean {
  return (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
}

/** Builds a run's spans from its engine's events; see the module comment. */
export class RunTracer implements AttemptTraceSource {
  readonly #tracer: Tracer;
  readonly #routeOf: (workerId: string) => AttemptRoute;
  readonly #propagator: TextMapPropagator;
  readonly #store: string | undefined;
  readonly #runs = new Map<string, RunTrace>();

  constructor(options: RunTracerOptions) {
    this.#tracer = options.tracer;
    this.#routeOf = options.routeOf ?? (() => ({ kind: 'in-process' }));
    this.#propagator = options.propagator ?? new W3CTraceContextPropagator();
    this.#store = options.store;
  }

  /** Runs traced now (their spans are open). */
  get openRuns(): number {
    return this.#runs.size;
  }

  /** Tasks with trace state held now, across runs (tests check nothing piles up). */
  get heldTasks(): number {
    let n = 0;
    for (const run of this.#runs.values()) n += run.tasks.size;
    return n;
  }

  /** Listens to an engine's events; returns a function that stops listening. */
  attach(events: EngineEventBus): () => void {
    const offs = [
      events.on('run:state:started', (e) => this.#runStarted(e)),
      events.on('run:state:finished', (e) => {
        const run = this.#runs.get(e.runId);
        if (!run) return;
        this.#runs.delete(e.runId);
        for (const t of run.tasks.values()) this.#endAttempt(t, e.at, 'run finished', true);
        run.span.setAttribute(A.ATTR_RUN_STATUS, e.status);
        if (e.status !== 'succeeded') run.span.setStatus({ code: SpanStatusCode.ERROR, message: e.status });
        run.span.end(e.at);
      }),
      // Another scheduler took the run over: what was traced here ends, marked interrupted.
      events.on('run:state:detached', (e) => this.#interrupt(e.runId, e.at)),
      events.on('task:state:added', (e) => {
        if (!e.traceContext) return;
        const task = this.#task(e.runId, e.taskId);
        if (task) task.parent = contextFrom(e.traceContext, this.#propagator);
      }),
      events.on('task:state:ready', (e) => {
        const task = this.#task(e.runId, e.taskId);
        if (task) task.readyAt = e.at;
      }),
      events.on('task:attempt:succeeded', (e) => {
        const task = this.#task(e.runId, e.taskId);
        const current = task?.current;
        if (!current || current.attempt !== e.attempt) return;
        // From the worker's finish (its clock: never before the attempt began here) to now, when
        // the success is durable: the time the result took to arrive and to be recorded.
        const now = Date.now();
        const ctx = trace.setSpan(ROOT_CONTEXT, current.span);
        this.#tracer
          .startSpan(
            'checkpoint',
            {
              startTime: Math.min(Math.max(e.at, current.startedAt), now),
              attributes: { ...(this.#store && { [A.ATTR_STORE]: this.#store }) },
            },
            ctx,
          )
          .end(now);
        current.span.setAttribute(A.ATTR_OUTCOME, 'succeeded');
        current.span.end(now);
        this.#forget(e.runId, e.taskId);
      }),
      events.on('task:attempt:failed', (e) => {
        const task = this.#task(e.runId, e.taskId);
        const current = task?.current;
        if (!current || current.attempt !== e.attempt) return;
        current.span.setAttributes({
          [A.ATTR_OUTCOME]: e.timedOut ? 'timed-out' : 'failed',
          [A.ATTR_WILL_RETRY]: e.willRetry,
        });
        current.span.setStatus({ code: SpanStatusCode.ERROR, message: e.error });
        current.span.end(e.at);
        task.current = undefined;
        if (!e.willRetry) this.#forget(e.runId, e.taskId);
      }),
      events.on('task:attempt:lost', (e) => {
        const task = this.#task(e.runId, e.taskId);
        if (task?.current?.attempt === e.attempt) this.#endAttempt(task, e.at, `lost: ${e.reason}`);
      }),
      events.on('task:state:cancelled', (e) => {
        const task = this.#runs.get(e.runId)?.tasks.get(e.taskId);
        if (task) this.#endAttempt(task, e.at, `cancelled: ${e.reason}`);
        this.#forget(e.runId, e.taskId);
      }),
      events.on('task:state:skipped', (e) => this.#forget(e.runId, e.taskId)),
    ];
    return () => {
      for (const off of offs) off();
    };
  }

  /** The engine's hook as it dispatches an attempt: opens its spans, returns its context. */
  attemptContext(a: {
    runId: string;
    taskId: string;
    attempt: number;
    workerId: string;
    shard: number;
    at: number;
  }): { headers: TraceCarrier; traceId?: string } | undefined {
    const run = this.#runs.get(a.runId);
    if (!run) return undefined;
    let task = run.tasks.get(a.taskId);
    if (!task) run.tasks.set(a.taskId, (task = {}));
    // A previous attempt still open here was overtaken (e.g. re-dispatched after a takeover).
    this.#endAttempt(task, a.at, 'superseded by a new attempt');
    const readyAt = Math.min(task.readyAt ?? a.at, a.at);
    const span = this.#tracer.startSpan(
      `task ${a.taskId}`,
      {
        startTime: readyAt,
        attributes: {
          [A.ATTR_RUN_ID]: a.runId,
          [A.ATTR_TASK_ID]: a.taskId,
          [A.ATTR_ATTEMPT]: a.attempt,
          [A.ATTR_WORKER_ID]: a.workerId,
          [A.ATTR_SHARD]: a.shard,
        },
      },
      task.parent ?? run.ctx,
    );
    task.current = { attempt: a.attempt, span, startedAt: readyAt };
    task.readyAt = undefined;
    const attemptCtx = trace.setSpan(ROOT_CONTEXT, span);
    this.#tracer.startSpan('queue wait', { startTime: readyAt }, attemptCtx).end(a.at);
    const dispatch = this.#tracer.startSpan(...this.#dispatchSpan(this.#routeOf(a.workerId), a), attemptCtx);
    // The span of handing the message over; the worker's execute span is its child.
    dispatch.end(a.at);
    const headers = carrierOf(trace.setSpan(ROOT_CONTEXT, dispatch), this.#propagator);
    return isSampled(span) ? { headers, traceId: span.spanContext().traceId } : { headers };
  }

  /**
   * Ends the spans still open (the engine is closing with runs live: they stay resumable), so
   * what was traced so far is exported; the run span says it was interrupted.
   */
  close(at = Date.now()): void {
    for (const runId of [...this.#runs.keys()]) this.#interrupt(runId, at);
  }

  #interrupt(runId: string, at: number): void {
    const run = this.#runs.get(runId);
    if (!run) return;
    this.#runs.delete(runId);
    for (const t of run.tasks.values()) this.#endAttempt(t, at, 'interrupted');
    run.span.setAttribute(A.ATTR_RUN_INTERRUPTED, true);
    run.span.end(at);
  }

  #runStarted(e: {
    runId: string;
    workflow: string;
    at: number;
    tasks: number;
    traceContext?: TraceCarrier;
    resumed?: boolean;
    previousTraceId?: string;
  }): void {
    // A run resumed in the same process while its old span is open: end that one first.
    const old = this.#runs.get(e.runId);
    if (old) {
      old.span.setAttribute(A.ATTR_RUN_INTERRUPTED, true);
      old.span.end(e.at);
    }
    const attributes: Attributes = {
      [A.ATTR_RUN_ID]: e.runId,
      [A.ATTR_WORKFLOW]: e.workflow,
      [A.ATTR_RUN_TASKS]: e.tasks,
    };
    if (e.resumed) attributes[A.ATTR_RUN_RESUMED] = true;
    // The earlier trace of a resumed run: its id is all the task records keep, and a span link
    // needs a span id too, so the id goes in an attribute (searchable in Zipkin and Jaeger).
    if (e.previousTraceId) attributes[A.ATTR_RUN_PREVIOUS_TRACE] = e.previousTraceId;
    const span = this.#tracer.startSpan(
      `run ${e.workflow}`,
      { startTime: e.at, attributes },
      contextFrom(e.traceContext, this.#propagator),
    );
    this.#runs.set(e.runId, { span, ctx: trace.setSpan(ROOT_CONTEXT, span), tasks: new Map() });
  }

  #task(runId: string, taskId: string): TaskTrace | undefined {
    const run = this.#runs.get(runId);
    if (!run) return undefined;
    let task = run.tasks.get(taskId);
    if (!task) run.tasks.set(taskId, (task = {}));
    return task;
  }

  /** A task is final: its state goes (an open run may take tasks for ever). */
  #forget(runId: string, taskId: string): void {
    this.#runs.get(runId)?.tasks.delete(taskId);
  }

  #endAttempt(task: TaskTrace, at: number, why: string, quiet = false): void {
    const current = task.current;
    if (!current) return;
    task.current = undefined;
    if (!quiet) current.span.setStatus({ code: SpanStatusCode.ERROR, message: why });
    current.span.setAttribute(A.ATTR_OUTCOME, why);
    current.span.end(Math.max(at, current.startedAt));
  }

  /** Name and options of the dispatch span, by the conventions of the attempt's route. */
  #dispatchSpan(
    route: AttemptRoute,
    a: { runId: string; taskId: string; attempt: number; shard: number; at: number },
  ): [string, { kind: SpanKind; startTime: number; attributes: Attributes }] {
    const messageId = `${a.runId}/${a.taskId}/${a.attempt}`;
    if (route.kind === 'kafka') {
      return [
        `send ${route.topic}`,
        {
          kind: SpanKind.PRODUCER,
          startTime: a.at,
          attributes: {
            [A.ATTR_MESSAGING_SYSTEM]: 'kafka',
            [A.ATTR_MESSAGING_OPERATION_TYPE]: 'send',
            [A.ATTR_MESSAGING_OPERATION_NAME]: 'send',
            [A.ATTR_MESSAGING_DESTINATION_NAME]: route.topic,
            // A partition per shard (see the Kafka transport).
            [A.ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(a.shard),
            [A.ATTR_MESSAGING_MESSAGE_ID]: messageId,
          },
        },
      ];
    }
    if (route.kind === 'grpc') {
      return [
        `${A.WORKERS_SERVICE}/Connect`,
        {
          kind: SpanKind.CLIENT,
          startTime: a.at,
          attributes: {
            [A.ATTR_RPC_SYSTEM_NAME]: 'grpc',
            [A.ATTR_RPC_SERVICE]: A.WORKERS_SERVICE,
            [A.ATTR_RPC_METHOD]: `${A.WORKERS_SERVICE}/Connect`,
          },
        },
      ];
    }
    return ['dispatch', { kind: SpanKind.INTERNAL, startTime: a.at, attributes: {} }];
  }
}
