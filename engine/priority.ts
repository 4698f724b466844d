/**
 * The deadline-aware priority of DESIGN.md, in one place.
 *
 * A task's heap key is its latest start time LST = LFT - est, where LFT is the tightest of its own
 * deadline, the run deadline and its dependants' latest start times (computed by
 * `computeTimes` in dsl/compiler.ts, in absolute epoch milliseconds here). The most urgent task
 * (smallest LST: its slack runs out first) is dispatched first: least-laxity / EDF on the DAG.
 *
 * A task with no deadline anywhere downstream gets a virtual deadline: the time it became ready
 * plus an aging horizon of its priority class. Its key therefore stops growing while newer tasks'
 * keys keep growing, so a low-priority task eventually outranks newer high-priority work and
 * never starves. Ties break by priority (higher first), then arrival order.
 *
 * Two simpler orderings exist as baselines (bench/scenarios/overload.ts measures LST against
 * them, and users who want strict classes can pick one): `priority` (higher class first, FIFO
 * within a priority, deadlines ignored, no aging: low priority can starve) and `fifo` (arrival
 * order only).
 */
import { priorityClass } from '../dsl/ir.js';

/** How long a task without a deadline may wait, by priority class, before it outranks newer work. */
export interface AgingHorizons {
  /** @default 60_000 (1 minute) */
  high: number;
  /** @default 300_000 (5 minutes) */
  medium: number;
  /** @default 900_000 (15 minutes) */
  low: number;
}

export const DEFAULT_AGING: AgingHorizons = { high: 60_000, medium: 300_000, low: 900_000 };

/**
 * The heap key of a ready task (smaller = more urgent).
 * @param lftAt absolute latest finish time (epoch ms), Infinity when no deadline applies
 * @param estimateMs expected duration
 * @param priority 0..100
 * @param readyAt when the task became ready (epoch ms), for aging
 */
export function urgencyKey(
  lftAt: number,
  estimateMs: number,
  priority: number,
  readyAt: number,
  aging: AgingHorizons = DEFAULT_AGING,
): number {
  const finish = Number.isFinite(lftAt) ? lftAt : readyAt + aging[priorityClass(priority)];
  return finish - estimateMs;
}

/** Tie-breaker passed to the heap (smaller first): higher priority wins. */
export function priorityTie(priority: number): number {
  return -priority;
}

/**
 * How the engine orders ready tasks:
 * - `lst`: least laxity first, the deadline-aware key of {@link urgencyKey} (ties: priority, then arrival);
 * - `priority`: higher priority first, then arrival order; deadlines and estimates are ignored;
 * - `fifo`: arrival order (the order tasks became ready), nothing else.
 */
export type OrderingPolicy = 'lst' | 'priority' | 'fifo';

/**
 * What `lst` ordering does with a ready task that can no longer meet its deadline (its latest
 * start time has passed):
 * - `defer`: it waits behind every task that still can, and runs (most overdue first) when no
 *   on-time task is waiting. Under overload, least laxity alone keeps serving tasks that will be
 *   late anyway while the ones behind them become late in turn (the domino effect);
 * - `keep`: it keeps its place (pure least laxity: least tardiness, more deadlines missed).
 * Only tasks under a real deadline are deferred, never those aging on a virtual one.
 */
export type LatePolicy = 'defer' | 'keep';

/** Every {@link LatePolicy}, for validation. */
export const LATE_POLICIES: readonly LatePolicy[] = ['defer', 'keep'];

/** Whether a ready task under a real deadline can no longer meet it if it starts at `now`. */
export function cannotMeetDeadline(lftAt: number, estimateMs: number, now: number): boolean {
  return lftAt !== Infinity && lftAt - estimateMs < now;
}

/** Every {@link OrderingPolicy}, for validation and help texts. */
export const ORDERING_POLICIES: readonly OrderingPolicy[] = ['lst', 'priority', 'fifo'];

/**
 * The heap key of a ready task under `policy` (smaller = dispatched sooner). The heap breaks equal
 * keys by {@link orderingTie}, then by arrival sequence, so `fifo` needs only a constant key and
 * `priority` only the negated priority: both fall through to arrival order.
 */
export function orderingKey(
  policy: OrderingPolicy,
  lftAt: number,
  estimateMs: number,
  priority: number,
  readyAt: number,
  aging: AgingHorizons = DEFAULT_AGING,
): number {
  switch (policy) {
    case 'lst':
      return urgencyKey(lftAt, estimateMs, priority, readyAt, aging);
    case 'priority':
      return -priority;
    case 'fifo':
      return 0;
  }
}

/** The tie-breaker under `policy`: priority for `lst`; none (arrival order decides) otherwise. */
export function orderingTie(policy: OrderingPolicy, priority: number): number {
  return policy === 'lst' ? priorityTie(priority) : 0;
}
