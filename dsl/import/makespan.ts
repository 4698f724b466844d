/**
 * Makespan of a compiled workflow on W identical workers, by list-scheduling simulation: the
 * same ordering the engine applies to ready tasks (engine/priority.ts `orderingKey` and
 * `orderingTie`, the engine's own heap with its arrival-order tie-break), with virtual time
 * instead of a clock. No handler runs, no overhead is charged: the figure isolates the ordering
 * policy, which is what the critical-path lower bound max(critical path, work / W) is a bound of.
 */
import { DEFAULT_AGING, orderingKey, orderingTie } from '../../engine/priority.js';
import type { AgingHorizons, OrderingPolicy } from '../../engine/priority.js';
import { DaryHeap } from '../../engine/shard-heap.js';
import { compileWorkflow } from '../compiler.js';
import type { CompiledPlan } from '../compiler.js';
import type { WfCommonsImport } from './wfcommons.js';

/** Options of {@link simulateMakespan}. */
export interface SimulationOptions {
  /** Identical workers, each running one task at a time. */
  workers: number;
  /** How ready tasks are ordered, as in the engine's `ordering` option. */
  ordering: OrderingPolicy;
  /**
   * How long each task actually runs (ms). The ordering still sees the plan's estimates, so a
   * duration that differs from its estimate measures the policy under estimate error.
   * @default the plan's estimate
   */
  durationMs?: (id: string) => number;
  /** Aging horizons of tasks without a deadline. @default the engine's DEFAULT_AGING */
  aging?: AgingHorizons;
}

/** What one simulation found. */
export interface SimulationResult {
  makespanMs: number;
  /** Start time of each task (ms from run start). */
  startMs: Map<string, number>;
  /** Sum over workers of the time they had nothing to run before the makespan. */
  idleMs: number;
}

/**
 * Simulates `plan` on `options.workers` workers. A task becomes ready when its last need
 * finishes, gets the engine's key at that instant (LFT from the plan, which starts at 0), and a
 * free worker always takes the head of the ready heap.
 */
export function simulateMakespan(plan: CompiledPlan, options: SimulationOptions): SimulationResult {
  const { workers, ordering } = options;
  if (!(Number.isInteger(workers) && workers >= 1))
    throw new RangeError('workers must be a positive integer');
  const aging = options.aging ?? DEFAULT_AGING;
  const duration = options.durationMs ?? ((id: string) => plan.tasks.get(id)!.estimateMs);
  const ready = new DaryHeap<string>();
  const running = new DaryHeap<string>();
  const pending = new Map<string, number>();
  const startMs = new Map<string, number>();
  const release = (id: string, now: number) => {
    const t = plan.tasks.get(id)!;
    const priority = taskPriority(plan, id);
    ready.push(
      id,
      orderingKey(ordering, t.lftMs, t.estimateMs, priority, now, aging),
      orderingTie(ordering, priority),
    );
  };
  // Roots are released in the workflow's task order, as the engine does at run start.
  for (const t of plan.ir.tasks) {
    const needs = plan.tasks.get(t.id)!.needs.length;
    pending.set(t.id, needs);
    if (needs === 0) release(t.id, 0);
  }
  let now = 0;
  let free = workers;
  let busyMs = 0;
  let done = 0;
  for (;;) {
    while (free > 0 && ready.size > 0) {
      const id = ready.pop()!;
      const d = duration(id);
      if (!(d >= 0)) throw new RangeError(`duration of "${id}" must be >= 0, got ${d}`);
      startMs.set(id, now);
      busyMs += d;
      running.push(id, now + d);
      free--;
    }
    if (running.size === 0) break;
    now = running.peekKey()!;
    // Every task finishing at this instant completes before the freed workers pick again.
    while (running.size > 0 && running.peekKey() === now) {
      const id = running.pop()!;
      free++;
      done++;
      for (const s of plan.tasks.get(id)!.dependants) {
        const left = pending.get(s)! - 1;
        pending.set(s, left);
        if (left === 0) release(s, now);
      }
    }
  }
  if (done !== plan.tasks.size) throw new Error(`simulation finished ${done} of ${plan.tasks.size} tasks`);
  return { makespanMs: now, startMs, idleMs: workers * now - busyMs };
}

const priorities = new WeakMap<CompiledPlan, Map<string, number>>();

function taskPriority(plan: CompiledPlan, id: string): number {
  let map = priorities.get(plan);
  if (!map) {
    map = new Map(plan.ir.tasks.map((t) => [t.id, t.priority]));
    priorities.set(plan, map);
  }
  return map.get(id)!;
}

/** The makespan lower bound on `workers` workers: max(critical path, total work / workers). */
export function makespanLowerBound(criticalPathMs: number, totalWorkMs: number, workers: number): number {
  return Math.max(criticalPathMs, totalWorkMs / workers);
}

/** One row of {@link wfcommonsMakespans}: one worker count. */
export interface MakespanRow {
  workers: number;
  criticalPathMs: number;
  totalWorkMs: number;
  lowerBoundMs: number;
  /** Simulated makespan per ordering policy. */
  makespanMs: Partial<Record<OrderingPolicy, number>>;
}

/** The figures of one imported workflow for {@link wfcommonsMakespans}. */
export interface WorkflowMakespans {
  workflow: string;
  tasks: number;
  /** What the trace recorded (includes the workflow system's overheads), and on how many cores. */
  recordedMakespanMs?: number;
  recordedCores?: number;
  rows: MakespanRow[];
}

/**
 * Simulated makespans of an imported WfCommons workflow with its recorded runtimes, for each
 * worker count and ordering policy. The import must be at scale 1, so estimates are the
 * recorded runtimes (to the ms). LST needs a deadline to mean least laxity rather than aging:
 * a run deadline is added when the import has none; its value does not change the order (every
 * task's latest start moves by the same amount), only that one exists does. It is set far
 * enough out (ten times the critical path plus all the work) that no task ever becomes late,
 * so the engine's late tier (`lateTasks: 'defer'`), which this simulation does not model, would
 * not change the order either.
 */
export function wfcommonsMakespans(
  imported: WfCommonsImport,
  options: {
    workers: readonly number[];
    policies: readonly OrderingPolicy[];
    durationMs?: (id: string) => number;
  },
): WorkflowMakespans {
  if (!imported.ir) throw new Error('the import has errors: nothing to simulate');
  if (imported.options.scale !== 1) throw new Error('simulate an import at scale 1 (recorded runtimes)');
  const ir = imported.ir.deadline
    ? imported.ir
    : {
        ...imported.ir,
        deadline: {
          kind: 'relative' as const,
          ms:
            10 * Math.ceil(imported.criticalPathMs + imported.tasks.reduce((s, t) => s + t.runtimeMs, 0)) + 1,
        },
      };
  const compiled = compileWorkflow(
    ir,
    { file: '<import>', locate: () => ({ line: 1, column: 1 }) },
    { allowInfeasible: true },
  );
  if (!compiled.plan) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n'));
  const plan = compiled.plan;
  const exact = new Map(imported.tasks.map((t) => [t.id, t.runtimeMs]));
  const duration = options.durationMs ?? ((id: string) => exact.get(id)!);
  const totalWorkMs = imported.tasks.reduce((s, t) => s + duration(t.id), 0);
  const criticalPathMs = options.durationMs ? longestChain(plan, duration) : imported.criticalPathMs;
  const rows = options.workers.map((workers): MakespanRow => {
    const row: MakespanRow = {
      workers,
      criticalPathMs,
      totalWorkMs,
      lowerBoundMs: makespanLowerBound(criticalPathMs, totalWorkMs, workers),
      makespanMs: {},
    };
    for (const ordering of options.policies)
      row.makespanMs[ordering] = simulateMakespan(plan, {
        workers,
        ordering,
        durationMs: duration,
      }).makespanMs;
    return row;
  });
  const result: WorkflowMakespans = { workflow: ir.name, tasks: ir.tasks.length, rows };
  const recorded = imported.instance?.recordedMakespanMs;
  if (recorded !== undefined) result.recordedMakespanMs = recorded;
  const cores = imported.instance?.machines?.cores;
  if (cores !== undefined) result.recordedCores = cores;
  return result;
}

/** Longest chain of `duration` through a plan (its topological order). */
function longestChain(plan: CompiledPlan, duration: (id: string) => number): number {
  const finish = new Map<string, number>();
  let best = 0;
  for (const id of plan.order) {
    let start = 0;
    for (const n of plan.tasks.get(id)!.needs) start = Math.max(start, finish.get(n)!);
    const f = start + duration(id);
    finish.set(id, f);
    best = Math.max(best, f);
  }
  return best;
}
