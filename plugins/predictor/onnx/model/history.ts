/**
 * SmartQueue's own history as a load series (the online loop: retrain from what the engine
 * recorded). Every run's event log gives, per attempt, when it was dispatched and when it
 * finished; per step of the grid this yields dispatches (arrivals at the workers), completions,
 * busy workers (attempts in flight, averaged over the step), tasks still waiting to start, and
 * the mean duration of the attempts that completed.
 */
import type { CheckpointEvent, CheckpointStore } from '../../../../engine/stages.js';
import { SmartQueueError } from '../../../../engine/errors.js';
import type { ResampledSeries } from './data.js';

/** What the history series is built from. */
export interface HistoryOptions {
  /** Seconds per step. @default 300 */
  stepSeconds?: number;
  /** Only runs created at or after this time (ms since the epoch). */
  since?: number;
  /** At most this many runs (newest pages first as the store lists them). @default 100000 */
  maxRuns?: number;
  signal?: AbortSignal;
}

/** One attempt's life: dispatched at `start`, ended at `end` (undefined while in flight). */
interface Attempt {
  start: number;
  end?: number;
  succeeded: boolean;
}

/** The extra per-step columns of {@link historySeries}, besides busy workers (the value). */
export const HISTORY_COLUMNS: readonly string[] = ['dispatched', 'completed', 'pending', 'mean_duration_ms'];

const ENDING = new Set(['task:attempt:succeeded', 'task:attempt:failed', 'task:attempt:lost']);

/** Attempts of one run from its events, keyed by task and attempt number. */
export function attemptsOf(events: CheckpointEvent[]): Attempt[] {
  const byKey = new Map<string, Attempt>();
  for (const e of events) {
    if (e.taskId === undefined) continue;
    const key = `${e.taskId}\u0000${e.attempt ?? 0}`;
    if (e.type === 'task:attempt:dispatched') {
      if (!byKey.has(key)) byKey.set(key, { start: e.at, succeeded: false });
    } else if (ENDING.has(e.type)) {
      const a = byKey.get(key);
      const started = typeof e.data?.startedAt === 'number' ? e.data.startedAt : undefined;
      const attempt = a ?? { start: started ?? e.at, succeeded: false };
      attempt.end = e.at;
      attempt.succeeded = e.type === 'task:attempt:succeeded';
      byKey.set(key, attempt);
    }
  }
  return [...byKey.values()];
}

/** The history of one run: attempts, and when it was created with how many tasks. */
export interface RunHistory {
  createdAt: number;
  tasks: number;
  /** First dispatch time of each task that started (tasks wait until then). */
  firstStarts: number[];
  attempts: Attempt[];
}

/**
 * Aggregates run histories onto a grid: `values` (the target) is busy workers; the extra
 * columns are dispatches, completions, pending tasks and mean duration (ms) per step.
 */
export function historySeries(runs: RunHistory[], stepSeconds: number): ResampledSeries {
  const times = runs.flatMap((r) => [r.createdAt, ...r.attempts.flatMap((a) => [a.start, a.end ?? a.start])]);
  if (times.length === 0) {
    throw new SmartQueueError('NOT_FOUND', 'the store has no runs to learn from');
  }
  const stepMs = stepSeconds * 1000;
  const start = Math.floor(Math.min(...times) / stepMs) * stepMs;
  const n = Math.floor((Math.max(...times) - start) / stepMs) + 1;
  const idx = (t: number): number => Math.min(n - 1, Math.max(0, Math.floor((t - start) / stepMs)));
  const busy = new Array<number>(n).fill(0);
  const dispatched = new Array<number>(n).fill(0);
  const completed = new Array<number>(n).fill(0);
  const pendingDelta = new Array<number>(n + 1).fill(0);
  const durationSum = new Array<number>(n).fill(0);
  const end = start + n * stepMs;
  for (const run of runs) {
    pendingDelta[idx(run.createdAt)] = (pendingDelta[idx(run.createdAt)] as number) + run.tasks;
    for (const t of run.firstStarts) pendingDelta[idx(t)] = (pendingDelta[idx(t)] as number) - 1;
    for (const a of run.attempts) {
      const s = idx(a.start);
      dispatched[s] = (dispatched[s] as number) + 1;
      const finish = a.end ?? end;
      // Time-weighted: an attempt busy for half a step adds 0.5 to that step's busy workers.
      for (let i = s; i <= idx(Math.max(a.start, finish - 1)); i++) {
        const lo = Math.max(a.start, start + i * stepMs);
        const hi = Math.min(finish, start + (i + 1) * stepMs);
        if (hi > lo) busy[i] = (busy[i] as number) + (hi - lo) / stepMs;
      }
      if (a.end !== undefined && a.succeeded) {
        const e = idx(a.end);
        completed[e] = (completed[e] as number) + 1;
        durationSum[e] = (durationSum[e] as number) + (a.end - a.start);
      }
    }
  }
  const pending: number[] = [];
  let level = 0;
  for (let i = 0; i < n; i++) {
    level += pendingDelta[i] as number;
    pending.push(Math.max(0, level));
  }
  // Steps without completions keep the last known mean duration (a gap is not a zero duration).
  let lastMean = 0;
  const meanDuration = completed.map((c, i) => {
    if (c > 0) lastMean = (durationSum[i] as number) / c;
    return lastMean;
  });
  return {
    name: 'smartqueue-history',
    start,
    stepSeconds,
    values: busy,
    extra: { dispatched, completed, pending, mean_duration_ms: meanDuration },
    filled: 0,
    merged: 0,
  };
}

/** Reads every run (up to `maxRuns`) from `store` and builds {@link historySeries}. */
export async function seriesFromStore(
  store: CheckpointStore,
  options: HistoryOptions = {},
): Promise<ResampledSeries> {
  const stepSeconds = options.stepSeconds ?? 300;
  const maxRuns = options.maxRuns ?? 100_000;
  const runs: RunHistory[] = [];
  let cursor: string | undefined;
  do {
    options.signal?.throwIfAborted();
    const page = await store.listRuns({ limit: 500, ...(cursor !== undefined && { cursor }) });
    for (const run of page.runs) {
      if (runs.length >= maxRuns) break;
      if (options.since !== undefined && run.createdAt < options.since) continue;
      const [events, tasks] = await Promise.all([store.getEvents(run.runId), store.getTasks(run.runId)]);
      const firstStart = new Map<string, number>();
      for (const e of events) {
        if (e.type === 'task:attempt:dispatched' && e.taskId !== undefined && !firstStart.has(e.taskId)) {
          firstStart.set(e.taskId, e.at);
        }
      }
      runs.push({
        createdAt: run.createdAt,
        tasks: tasks.length,
        firstStarts: [...firstStart.values()],
        attempts: attemptsOf(events),
      });
    }
    cursor = runs.length >= maxRuns ? undefined : page.nextCursor;
  } while (cursor !== undefined);
  return historySeries(runs, stepSeconds);
}
