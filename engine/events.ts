/**
 * One typed event map for everything the engine reports. Names are `area:noun:verb`; each event
 * carries one object payload. The same events feed the checkpoint log, the progress view, and
 * (in later issues) metrics, traces and the live stream.
 */
import type { LoadHistoryRow, RunStatus, TraceCarrier } from './stages.js';

interface TaskRef {
  runId: string;
  taskId: string;
  at: number;
}

/**
 * Low-cardinality labels of a task, carried by its attempt events so metrics need no lookup:
 * the priority class (`high`/`medium`/`low`) and the handler name (`run` for argv tasks).
 */
export interface TaskLabels {
  priorityClass?: string;
  handler?: string;
}

/** The trace of an attempt, when tracing sampled it (metrics attach it to latencies as an exemplar). */
export interface AttemptTrace {
  traceId?: string;
}

export interface EngineEvents {
  'run:state:started': {
    runId: string;
    workflow: string;
    at: number;
    tasks: number;
    deadlineAt?: number;
    /** Tasks of a new run by priority class (absent when a run resumes: nothing new was submitted). */
    submitted?: Record<string, number>;
    /** The submitter's trace context (e.g. from gRPC metadata): the run's trace continues it. */
    traceContext?: TraceCarrier;
    /** The run resumes from its checkpoint here. */
    resumed?: boolean;
    /** A resumed run's earlier trace (from its task records), which its new trace links to. */
    previousTraceId?: string;
  };
  'run:state:finished': {
    runId: string;
    status: RunStatus;
    at: number;
    deadlineMissed: boolean;
    durationMs: number;
  };
  /** A live run let go of without recording anything (cluster mode: another scheduler owns it now). */
  'run:state:detached': { runId: string; at: number };
  'run:deadline:missed': { runId: string; at: number; deadlineAt: number };
  'task:state:added': TaskRef & TaskLabels & { traceContext?: TraceCarrier };
  'task:state:ready': TaskRef;
  /** A ready task that can no longer meet its deadline waits behind the on-time ones (`lateTasks: defer`). */
  'task:state:late': TaskRef & TaskLabels;
  'task:attempt:dispatched': TaskRef &
    TaskLabels &
    AttemptTrace & { attempt: number; workerId: string; shard: number; slackMs: number; readyAt?: number };
  'task:attempt:succeeded': TaskRef &
    TaskLabels &
    AttemptTrace & { attempt: number; workerId: string; durationMs: number; runStartedAt?: number };
  'task:attempt:failed': TaskRef &
    TaskLabels &
    AttemptTrace & {
      attempt: number;
      workerId: string;
      error: string;
      timedOut: boolean;
      willRetry: boolean;
      /** The attempt was cancelled (not a failure of the handler). */
      cancelled?: boolean;
    };
  'task:retry:scheduled': TaskRef & TaskLabels & { attempt: number; delayMs: number };
  'task:attempt:lost': TaskRef & TaskLabels & { attempt: number; workerId: string; reason: string };
  'task:state:skipped': TaskRef & { reason: string };
  'task:state:cancelled': TaskRef & { reason: string };
  'task:deadline:missed': TaskRef & TaskLabels & { deadlineAt: number; lateByMs: number };
  'task:result:discarded': TaskRef & { attempt: number; reason: string };
  'task:attempt:progress': TaskRef & {
    attempt: number;
    workerId: string;
    fraction?: number;
    message?: string;
  };
  'scheduler:dispatch:blocked': { at: number; ready: number };
  /** One step of the load history closed (engine/load-history.ts); `at` is its end. */
  'scheduler:load:sampled': LoadHistoryRow;
}

export type EngineEventName = keyof EngineEvents;
type Listener<K extends EngineEventName> = (payload: EngineEvents[K]) => void;

/** A small typed emitter: listeners run synchronously; a throwing listener is isolated. */
export class EngineEventBus {
  private readonly listeners = new Map<EngineEventName, Set<Listener<never>>>();
  private readonly any = new Set<(name: EngineEventName, payload: unknown) => void>();

  on<K extends EngineEventName>(name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /** Listens to every event (progress views, streams). */
  onAny(listener: (name: EngineEventName, payload: unknown) => void): () => void {
    this.any.add(listener);
    return () => this.any.delete(listener);
  }

  /** True when someone listens to `name` (so callers can skip building payloads). */
  has(name: EngineEventName): boolean {
    return this.any.size > 0 || (this.listeners.get(name)?.size ?? 0) > 0;
  }

  emit<K extends EngineEventName>(name: K, payload: EngineEvents[K]): void {
    const set = this.listeners.get(name);
    if (set) {
      for (const l of set) {
        try {
          (l as Listener<K>)(payload);
        } catch {
          // A listener's bug must not break scheduling.
        }
      }
    }
    for (const l of this.any) {
      try {
        l(name, payload);
      } catch {
        // as above
      }
    }
  }
}
