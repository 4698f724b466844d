/**
 * A least-loaded {@link Balancer} that keeps workers in an AVL tree ordered by (load, id).
 *
 * Load changes are lazy: assign/finish/report only add to a per-worker pending delta, and
 * `flush()` (once per dispatch tick, and before every read) applies each dirty worker's net
 * change with at most one delete + insert. A burst of N assignments to one worker in a tick thus
 * costs one re-insert instead of N.
 */
import { SmartQueueError } from '../../../engine/errors.js';
import type { Balancer, WorkerInfo, WorkerLoad } from '../../../engine/stages.js';
import { AvlTree } from './avl-tree.js';

/** Options of {@link createAvlBalancer}. */
export interface AvlBalancerOptions {
  /**
   * Workers known from the start, as if passed to `join` in order.
   * @default []
   */
  workers?: readonly WorkerInfo[];
}

/** Counters that show what the lazy batching saves. */
export interface AvlBalancerStats {
  /** Delete + insert pairs done to re-key workers whose load changed. */
  reinserts: number;
  /** Flushes that had pending changes to apply. */
  flushes: number;
}

/** The AVL balancer: a {@link Balancer} plus its counters. */
export interface AvlBalancer extends Balancer {
  readonly stats: Readonly<AvlBalancerStats>;
}

interface WorkerEntry {
  readonly id: string;
  capacity: number;
  /** undefined means the worker runs every handler. */
  handlers: ReadonlySet<string> | undefined;
  running: number;
  weight: number;
  reported: number;
  forecast: number;
  /** The tree key. Changed only while the entry is out of the tree. */
  load: number;
}

/** Net changes to one worker since the last flush. */
interface PendingDelta {
  readonly entry: WorkerEntry;
  running: number;
  weight: number;
  /** Latest report wins: a report is a level, not a delta. */
  reported: number | undefined;
  /** Latest forecast wins, likewise. */
  forecast: number | undefined;
}

function loadOf(entry: WorkerEntry): number {
  // A full worker sorts after every worker with a free slot (and capacity 0 never divides by 0).
  return entry.running >= entry.capacity
    ? Infinity
    : (entry.weight + entry.reported + entry.forecast) / entry.capacity;
}

function byLoadThenId(a: WorkerEntry, b: WorkerEntry): number {
  if (a.load < b.load) return -1;
  if (a.load > b.load) return 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function checkAmount(what: string, workerId: string, value: number): void {
  if (!(value >= 0 && value < Infinity)) {
    throw new SmartQueueError('INVALID_ARGUMENT', `${what} must be a finite number >= 0`, {
      details: { workerId, [what]: value },
    });
  }
}

class AvlBalancerImpl implements AvlBalancer {
  readonly stats: AvlBalancerStats = { reinserts: 0, flushes: 0 };
  readonly #workers = new Map<string, WorkerEntry>();
  readonly #tree = new AvlTree<WorkerEntry>(byLoadThenId);
  readonly #pending = new Map<string, PendingDelta>();

  get size(): number {
    return this.#workers.size;
  }

  join(worker: WorkerInfo): void {
    const { id, capacity } = worker;
    if (typeof id !== 'string' || id === '') {
      throw new SmartQueueError('INVALID_ARGUMENT', 'Worker id must be a non-empty string', {
        details: { id },
      });
    }
    if (!Number.isInteger(capacity) || capacity < 0) {
      throw new SmartQueueError('INVALID_ARGUMENT', 'Worker capacity must be an integer >= 0', {
        details: { workerId: id, capacity },
      });
    }
    const handlers = worker.handlers === undefined ? undefined : new Set(worker.handlers);
    const existing = this.#workers.get(id);
    if (existing !== undefined) {
      // A re-join (restart, scaled slots) keeps the running attempts it already has.
      existing.capacity = capacity;
      existing.handlers = handlers;
      this.#rekey(existing);
      return;
    }
    const entry: WorkerEntry = {
      id,
      capacity,
      handlers,
      running: 0,
      weight: 0,
      reported: 0,
      forecast: 0,
      load: 0,
    };
    entry.load = loadOf(entry);
    this.#workers.set(id, entry);
    this.#tree.insert(entry);
  }

  leave(workerId: string): void {
    const entry = this.#workers.get(workerId);
    if (entry === undefined) return;
    this.#tree.delete(entry);
    this.#workers.delete(workerId);
    this.#pending.delete(workerId);
  }

  pick(handler?: string): string | undefined {
    this.flush();
    if (handler === undefined) {
      const first = this.#tree.min();
      return first !== undefined && first.load !== Infinity ? first.id : undefined;
    }
    for (const entry of this.#tree) {
      // Everything from here on is full.
      if (entry.load === Infinity) return undefined;
      if (entry.handlers === undefined || entry.handlers.has(handler)) return entry.id;
    }
    return undefined;
  }

  assign(workerId: string, cost: number): void {
    checkAmount('cost', workerId, cost);
    const delta = this.#delta(workerId);
    if (delta === undefined) return;
    delta.running += 1;
    delta.weight += cost;
  }

  finish(workerId: string, cost: number): void {
    checkAmount('cost', workerId, cost);
    // A result can arrive after its worker left; there is nothing left to unload.
    const delta = this.#delta(workerId);
    if (delta === undefined) return;
    delta.running -= 1;
    delta.weight -= cost;
  }

  report(workerId: string, load: number): void {
    checkAmount('load', workerId, load);
    const delta = this.#delta(workerId);
    if (delta === undefined) return;
    delta.reported = load;
  }

  forecast(workerId: string, extra: number): void {
    checkAmount('forecast', workerId, extra);
    // Refreshed every tick with mostly unchanged values: only a change costs a flush entry.
    const entry = this.#workers.get(workerId);
    if (entry === undefined) return;
    const pending = this.#pending.get(workerId);
    if ((pending?.forecast ?? entry.forecast) === extra) return;
    this.#delta(workerId)!.forecast = extra;
  }

  flush(): void {
    if (this.#pending.size === 0) return;
    this.stats.flushes++;
    for (const delta of this.#pending.values()) {
      const entry = delta.entry;
      // Clamped: the result of an attempt assigned before the worker left and re-joined lands
      // on the fresh entry, which never counted that attempt.
      entry.running = Math.max(0, entry.running + delta.running);
      // Summing and subtracting float costs drifts; an idle worker carries exactly no weight.
      entry.weight = entry.running === 0 ? 0 : Math.max(0, entry.weight + delta.weight);
      if (delta.reported !== undefined) entry.reported = delta.reported;
      if (delta.forecast !== undefined) entry.forecast = delta.forecast;
      this.#rekey(entry);
    }
    this.#pending.clear();
  }

  snapshot(): WorkerLoad[] {
    this.flush();
    const loads: WorkerLoad[] = [];
    for (const e of this.#tree) {
      loads.push({
        id: e.id,
        capacity: e.capacity,
        running: e.running,
        weight: e.weight,
        reported: e.reported,
        forecast: e.forecast,
        load: e.load,
      });
    }
    return loads;
  }

  /** The pending delta of a known worker (created on first change since the last flush). */
  #delta(workerId: string): PendingDelta | undefined {
    let delta = this.#pending.get(workerId);
    if (delta === undefined) {
      const entry = this.#workers.get(workerId);
      if (entry === undefined) return undefined;
      delta = { entry, running: 0, weight: 0, reported: undefined, forecast: undefined };
      this.#pending.set(workerId, delta);
    }
    return delta;
  }

  /** Moves the entry to its new place in the tree, if its load changed. */
  #rekey(entry: WorkerEntry): void {
    const load = loadOf(entry);
    if (load === entry.load) return;
    this.#tree.delete(entry);
    entry.load = load;
    this.#tree.insert(entry);
    this.stats.reinserts++;
  }
}

/**
 * Creates a least-loaded balancer backed by an AVL tree keyed by (load, worker id), where
 * load = (weight + reported + forecast) / capacity, or Infinity once `running >= capacity`.
 *
 * `forecast` is the Predictor's extra load for the worker (`Balancer.forecast`, set by the engine
 * once per scheduling tick; 0 without a predictor that forecasts worker load). It makes placement
 * preemptive: a worker forecast to saturate (weight + reported + forecast >= capacity, a key of
 * 1 or more) sorts after every worker that is not, so new tasks avoid it while it still has free
 * slots, and it gets work only when every other worker is at least as badly off. A forecast never
 * blocks a pick on its own: only `running >= capacity` does (back-pressure stays exact).
 *
 * - `pick(handler?)` returns the leftmost worker with a free slot that accepts `handler` (a worker
 *   without a `handlers` list accepts all), or undefined when none has room (back-pressure).
 *   Ties go to the smaller id, so picks are deterministic.
 * - `assign`, `finish`, `report` and `forecast` for an unknown worker are ignored: the worker left, or has
 *   not joined yet.
 * - `join` of a known id updates its capacity and handlers and keeps its running attempts.
 * - `snapshot()` lists workers least-loaded first.
 * - `stats.reinserts` counts tree re-keys, to show that lazy batching costs one per dirty worker
 *   per flush.
 *
 * @throws SmartQueueError `INVALID_ARGUMENT` from `join` for an empty id or a capacity that is not
 *   an integer >= 0, and from `assign`/`finish`/`report`/`forecast` for a negative or non-finite amount.
 */
export function createAvlBalancer(options: AvlBalancerOptions = {}): AvlBalancer {
  const balancer = new AvlBalancerImpl();
  for (const worker of options.workers ?? []) balancer.join(worker);
  return balancer;
}
