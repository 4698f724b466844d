/**
 * The frontier: the live state of each run's tasks, and the rules that release a task when its
 * needs are done. A task becomes ready when all its needs are terminal and at least one
 * succeeded (or it has none); when all its needs were skipped it is skipped too; when a need
 * failed it is skipped ("upstream failed") under the `continue` policy. The engine applies
 * `fail-fast` (cancel everything) itself.
 */
import type { TaskIR, WorkflowIR } from '../dsl/ir.js';
import type { TaskHandler } from './handler.js';
import type { HeapHandle } from './shard-heap.js';
import type { RunStatus, TaskStatus } from './stages.js';
import { TERMINAL_TASK_STATUSES } from './stages.js';

/** One task of a live run. */
export interface RuntimeTask {
  readonly runId: string;
  readonly id: string;
  ir: TaskIR;
  status: TaskStatus;
  /** Attempt number of the current (or last) attempt; 0 before the first. */
  attempt: number;
  /** Needs not yet terminal. */
  needsLeft: number;
  needs: string[];
  dependants: string[];
  estimateMs: number;
  /** `estimateMs` is the Predictor's (the task declares none): its error is scored. */
  predictedEstimate?: boolean;
  /** Absolute latest finish time (epoch ms), Infinity when no deadline applies. */
  lftAt: number;
  /** Own absolute deadline (epoch ms), if any. */
  deadlineAt?: number;
  /** Task cost for the balancer (estimate-weighted). */
  cost: number;
  /** Whether what it runs holds `${{ }}` expressions (rendered at dispatch). */
  templated: boolean;
  /** Its success is being recorded: no other result, no cancellation. */
  completing?: boolean;
  /** Attempts made before a resume: the retry budget counts from here. */
  attemptBase?: number;
  readyAt?: number;
  dispatchedAt?: number;
  workerId?: string;
  shard?: number;
  heap?: HeapHandle;
  /** Waiting in its shard's late tier: it can no longer meet its deadline (engine/dispatcher.ts). */
  late?: boolean;
  retryTimer?: NodeJS.Timeout;
  /** The next dispatch sends the current attempt again instead of a new one (takeovers). */
  resend?: boolean;
  /** The trace of the current attempt, when it is sampled (carried by its events, for exemplars). */
  traceId?: string;
  outputs?: Record<string, unknown>;
  error?: string;
}

/** A live run. */
export interface RunState {
  readonly runId: string;
  ir: WorkflowIR;
  params: Record<string, unknown>;
  startedAt: number;
  deadlineAt?: number;
  shardKey: string;
  tasks: Map<string, RuntimeTask>;
  /** Tasks not yet terminal. */
  remaining: number;
  status: RunStatus;
  /** Open for added tasks: it does not end when its tasks are done (until closed). */
  open?: boolean;
  /** Set when the run was cancelled as a whole (or by fail-fast). */
  cancelled: boolean;
  deadlineMissed: boolean;
  deadlineTimer?: NodeJS.Timeout;
  handlers: ReadonlyMap<string, TaskHandler>;
  /** Resolvers of `waitForRun`. */
  waiters: ((status: RunStatus) => void)[];
  /** What expressions read: `params`, `run`, and `tasks.<id>.{status,outputs}` of settled tasks. */
  scope: { params: Record<string, unknown>; run: Record<string, unknown>; tasks: Record<string, unknown> };
}

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.has(status);
}

/** What a dependant should do once all its needs are terminal. */
export function releaseDecision(
  run: RunState,
  task: RuntimeTask,
): { action: 'ready' } | { action: 'skip'; reason: string } {
  let succeeded = 0;
  let failed: string | undefined;
  for (const n of task.needs) {
    const need = run.tasks.get(n)!;
    if (need.status === 'succeeded') succeeded++;
    else if (need.status !== 'skipped' && failed === undefined) failed = `${n} ${need.status}`;
  }
  if (failed !== undefined) return { action: 'skip', reason: `upstream ${failed}` };
  if (task.needs.length > 0 && succeeded === 0) return { action: 'skip', reason: 'all needs skipped' };
  return { action: 'ready' };
}

/**
 * Marks a task terminal and walks its dependants: returns those that became ready, and those that
 * were skipped in consequence (already marked terminal), with the reason.
 */
export function settle(
  run: RunState,
  task: RuntimeTask,
  status: TaskStatus,
): { ready: RuntimeTask[]; skipped: { task: RuntimeTask; reason: string }[] } {
  const ready: RuntimeTask[] = [];
  const stack: { task: RuntimeTask; status: TaskStatus }[] = [{ task, status }];
  const skipped: { task: RuntimeTask; reason: string }[] = [];
  while (stack.length) {
    const { task: t, status: s } = stack.pop()!;
    const wasTerminal = isTerminal(t.status);
    t.status = s;
    if (!wasTerminal) run.remaining--;
    for (const d of t.dependants) {
      const dep = run.tasks.get(d)!;
      if (isTerminal(dep.status)) continue;
      if (--dep.needsLeft > 0) continue;
      const decision = releaseDecision(run, dep);
      if (decision.action === 'ready') ready.push(dep);
      else {
        skipped.push({ task: dep, reason: decision.reason });
        stack.push({ task: dep, status: 'skipped' });
      }
    }
  }
  return { ready, skipped };
}

/** The final status of a run whose tasks are all terminal. */
export function finalStatus(run: RunState): RunStatus {
  let cancelled = run.cancelled;
  for (const t of run.tasks.values()) {
    if (t.status === 'failed' || t.status === 'timed-out') return 'failed';
    if (t.status === 'cancelled') cancelled = true;
  }
  return cancelled ? 'cancelled' : 'succeeded';
}
