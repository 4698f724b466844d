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
