/**
 * Task and run metrics of a scheduler, fed from the engine's typed events only (STYLE rule 7:
 * the same events feed metrics, traces and the stream). Labels are low-cardinality: priority
 * class, handler name, outcome, status; never task or run ids. Names are the binding catalog of
 * docs/metrics.md (deploy/prometheus and deploy/grafana use them).
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { AnyRegistry } from './registry.js';
import type { EngineEventBus, TaskLabels } from '../../../engine/events.js';
import { LATENCY_BUCKETS, LATENESS_BUCKETS, SLACK_BUCKETS } from './registry.js';

/** How an attempt ended (the `outcome` label). */
export type AttemptOutcome = 'succeeded' | 'failed' | 'timed_out' | 'cancelled' | 'lost';

const UNKNOWN = 'unknown';

/** What is remembered of a live task between its events (dropped when it or its run ends). */
interface LiveTask {
  addedAt?: number;
  /** Set while an attempt is in flight. */
  dispatchedAt?: number;
  handler?: string;
}

/**
 * Registers the task/run metrics in `registry` and feeds them from `events`; returns a function
 * that stops listening.
 */
export function registerTaskMetrics(registry: AnyRegistry, events: EngineEventBus): () => void {
  const registers = [registry];
  // prom-client takes exemplar-carrying histograms only in an OpenMetrics registry; a caller's
  // Prometheus-format registry gets the same histograms without exemplars.
  const exemplars = registry.contentType === Registry.OPENMETRICS_CONTENT_TYPE;
  /** One observation, with the attempt's trace id as its exemplar when the registry keeps them. */
  const observe = <L extends string>(
    h: Histogram<L>,
    labels: Partial<Record<L, string>>,
    value: number,
    traceId?: string,
  ) => {
    // prom-client types exemplar labels by the metric's label names; ours are trace_id only.
    if (exemplars)
      h.observe({ labels, value, exemplarLabels: exemplar(traceId) as Partial<Record<L, string>> });
    else h.observe(labels, value);
  };
  const submitted = new Counter({
    name: 'smartqueue_tasks_submitted_total',
    help: 'Tasks added to runs (a new run counts all its tasks), by priority class.',
    labelNames: ['priority_class'] as const,
    registers,
  });
  const dispatched = new Counter({
    name: 'smartqueue_task_attempts_dispatched_total',
    help: 'Task attempts sent to a worker, by priority class.',
    labelNames: ['priority_class'] as const,
    registers,
  });
  const succeeded = new Counter({
    name: 'smartqueue_task_attempts_succeeded_total',
    help: 'Task attempts that succeeded (each recorded once), by handler.',
    labelNames: ['handler'] as const,
    registers,
  });
  const failed = new Counter({
    name: 'smartqueue_task_attempts_failed_total',
    help: 'Task attempts that failed, timed out or were cancelled by their handler, by whether another attempt follows.',
    labelNames: ['handler', 'will_retry'] as const,
    registers,
  });
  const finished = new Counter({
    name: 'smartqueue_task_attempts_finished_total',
    help: 'Task attempts that ended, by handler and outcome.',
    labelNames: ['handler', 'outcome'] as const,
    registers,
  });
  const retries = new Counter({
    name: 'smartqueue_task_retries_total',
    help: 'Retries scheduled after a failed attempt, by handler.',
    labelNames: ['handler'] as const,
    registers,
  });
  const queueWait = new Histogram({
    name: 'smartqueue_task_queue_wait_seconds',
    help: 'Time from ready to dispatched, by priority class.',
    labelNames: ['priority_class'] as const,
    buckets: LATENCY_BUCKETS,
    enableExemplars: exemplars,
    registers,
  });
  const runTime = new Histogram({
    name: 'smartqueue_task_run_seconds',
    help: 'Time of one attempt, from dispatch (or the start the worker reported) to its end, by handler and outcome.',
    labelNames: ['handler', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    enableExemplars: exemplars,
    registers,
  });
  const endToEnd = new Histogram({
    name: 'smartqueue_task_end_to_end_seconds',
    help: 'Time from a task being added (its run started, or SubmitTask) to its success, by priority class.',
    labelNames: ['priority_class'] as const,
    buckets: LATENCY_BUCKETS,
    enableExemplars: exemplars,
    registers,
  });
  const slack = new Histogram({
    name: 'smartqueue_task_slack_at_dispatch_seconds',
    help: 'Latest start time minus dispatch time, for tasks with a deadline (negative: started late).',
    labelNames: ['priority_class'] as const,
    buckets: SLACK_BUCKETS,
    registers,
  });
  const deadlineMisses = new Counter({
    name: 'smartqueue_task_deadline_misses_total',
    help: 'Tasks that succeeded after their own deadline, by priority class.',
    labelNames: ['priority_class'] as const,
    registers,
  });
  const lateness = new Histogram({
    name: 'smartqueue_task_lateness_seconds',
    help: 'How late a task that missed its deadline finished, by priority class.',
    labelNames: ['priority_class'] as const,
    buckets: LATENESS_BUCKETS,
    registers,
  });
  const runsStarted = new Counter({
    name: 'smartqueue_runs_started_total',
    help: 'Runs started (resumed runs are not counted again).',
    registers,
  });
  const runsFinished = new Counter({
    name: 'smartqueue_runs_finished_total',
    help: 'Runs that finished, by final status.',
    labelNames: ['status'] as const,
    registers,
  });
  const runDeadlineMisses = new Counter({
    name: 'smartqueue_run_deadline_misses_total',
    help: 'Runs that passed their deadline.',
    registers,
  });
  const deferredLate = new Counter({
    name: 'smartqueue_tasks_deferred_late_total',
    help: 'Ready tasks that could no longer meet their deadline and were put behind the on-time ones.',
    labelNames: ['priority_class'] as const,
    registers,
  });
  const backpressure = new Counter({
    name: 'smartqueue_dispatch_backpressure_total',
    help: 'Times dispatch stopped because every worker able to take the next task was full.',
    registers,
  });

  // Live tasks by run, then task id: removed when the task or its run ends, so memory follows
  // the live work and never the history.
  const live = new Map<string, Map<string, LiveTask>>();
  const liveTask = (runId: string, taskId: string): LiveTask => {
    let run = live.get(runId);
    if (!run) live.set(runId, (run = new Map()));
    let t = run.get(taskId);
    if (!t) run.set(taskId, (t = {}));
    return t;
  };
  const peek = (runId: string, taskId: string) => live.get(runId)?.get(taskId);
  const forget = (runId: string, taskId: string) => live.get(runId)?.delete(taskId);
  const pc = (e: TaskLabels) => e.priorityClass ?? UNKNOWN;
  const handlerOf = (e: TaskLabels, t?: LiveTask) => e.handler ?? t?.handler ?? UNKNOWN;
  /** One attempt ended: count it and time it (0 s when it never reached a worker). */
  const attemptEnded = (handler: string, outcome: AttemptOutcome, seconds: number, traceId?: string) => {
    finished.inc({ handler, outcome });
    observe(runTime, { handler, outcome }, Math.max(0, seconds), traceId);
  };
  const sinceDispatch = (t: LiveTask | undefined, at: number) =>
    t?.dispatchedAt !== undefined ? (at - t.dispatchedAt) / 1000 : 0;

  const stops = [
    events.on('run:state:started', (e) => {
      if (!e.submitted) return; // a resume: nothing new
      runsStarted.inc();
      for (const [cls, n] of Object.entries(e.submitted)) submitted.inc({ priority_class: cls }, n);
    }),
    events.on('task:state:added', (e) => {
      submitted.inc({ priority_class: pc(e) });
      liveTask(e.runId, e.taskId).addedAt = e.at;
    }),
    events.on('task:attempt:dispatched', (e) => {
      const cls = pc(e);
      dispatched.inc({ priority_class: cls });
      if (e.readyAt !== undefined)
        observe(queueWait, { priority_class: cls }, Math.max(0, e.at - e.readyAt) / 1000, e.traceId);
      if (Number.isFinite(e.slackMs)) slack.observe({ priority_class: cls }, e.slackMs / 1000);
      const t = liveTask(e.runId, e.taskId);
      t.dispatchedAt = e.at;
      if (e.handler !== undefined) t.handler = e.handler;
    }),
    events.on('task:attempt:succeeded', (e) => {
      const t = peek(e.runId, e.taskId);
      const handler = handlerOf(e, t);
      succeeded.inc({ handler });
      attemptEnded(handler, 'succeeded', e.durationMs / 1000, e.traceId);
      const from = t?.addedAt ?? e.runStartedAt;
      if (from !== undefined)
        observe(endToEnd, { priority_class: pc(e) }, Math.max(0, e.at - from) / 1000, e.traceId);
      forget(e.runId, e.taskId);
    }),
    events.on('task:attempt:failed', (e) => {
      const t = peek(e.runId, e.taskId);
      const handler = handlerOf(e, t);
      failed.inc({ handler, will_retry: String(e.willRetry) });
      attemptEnded(
        handler,
        e.cancelled ? 'cancelled' : e.timedOut ? 'timed_out' : 'failed',
        sinceDispatch(t, e.at),
        e.traceId,
      );
      if (e.willRetry) {
        if (t) delete t.dispatchedAt;
      } else forget(e.runId, e.taskId);
    }),
    events.on('task:attempt:lost', (e) => {
      const t = peek(e.runId, e.taskId);
      attemptEnded(handlerOf(e, t), 'lost', sinceDispatch(t, e.at));
      if (t) delete t.dispatchedAt;
    }),
    events.on('task:state:cancelled', (e) => {
      // A task cancelled while its attempt ran: that attempt ends here (its late result is discarded).
      const t = peek(e.runId, e.taskId);
      if (t?.dispatchedAt !== undefined) attemptEnded(handlerOf({}, t), 'cancelled', sinceDispatch(t, e.at));
      forget(e.runId, e.taskId);
    }),
    events.on('task:state:skipped', (e) => void forget(e.runId, e.taskId)),
    events.on('task:retry:scheduled', (e) => retries.inc({ handler: handlerOf(e, peek(e.runId, e.taskId)) })),
    events.on('task:deadline:missed', (e) => {
      deadlineMisses.inc({ priority_class: pc(e) });
      lateness.observe({ priority_class: pc(e) }, Math.max(0, e.lateByMs) / 1000);
    }),
    events.on('run:deadline:missed', () => runDeadlineMisses.inc()),
    events.on('run:state:finished', (e) => {
      runsFinished.inc({ status: e.status });
      live.delete(e.runId);
    }),
    events.on('scheduler:dispatch:blocked', () => backpressure.inc()),
    events.on('task:state:late', (e) => deferredLate.inc({ priority_class: pc(e) })),
  ];
  return () => {
    for (const stop of stops.splice(0)) stop();
    live.clear();
  };
}

/**
 * The exemplar of an observation: the attempt's trace id (OpenMetrics exemplars, shown by
 * Grafana on latency panels), or none for an untraced attempt.
 */
function exemplar(traceId: string | undefined): Record<string, string> {
  return traceId === undefined ? {} : { trace_id: traceId };
}
