/**
 * The dispatcher: one min-heap of ready tasks per shard (keyed by the deadline-aware priority),
 * a router that maps shard keys to shards, and a tick that hands the most urgent ready tasks to
 * the least-loaded workers. When every worker is full it stops (back-pressure) until a worker
 * frees a slot.
 *
 * With `isLate`, each shard also has a late tier: a task at the head of its heap that can no
 * longer meet its deadline moves there, and the late tier is served only when no on-time task
 * is waiting in the owned shards. Under least-laxity ordering the most urgent task is the one
 * closest to (or past) its deadline, so without the tier an overloaded queue keeps running tasks
 * that will be late anyway while the ones behind them become late in turn (the domino effect).
 */
import type { RuntimeTask } from './frontier.js';
import { handlerNameOf } from './handler.js';
import { ShardRouter } from './router.js';
import { OpSampler } from './op-sampler.js';
import { DaryHeap } from './shard-heap.js';
import type { Balancer } from './stages.js';

export interface DispatcherOptions {
  balancer: Balancer;
  /** @default 4 */
  shards: number;
  /** Heap arity. @default 4 */
  arity?: number;
  /** Dispatches per tick before yielding to the event loop. @default 512 */
  maxPerTick?: number;
  /** Hands a popped task to a worker. */
  send(task: RuntimeTask, workerId: string): void;
  /** Called once each time dispatch becomes blocked on full workers. */
  onBlocked?(ready: number): void;
  /** Called at the start of every tick, before the balancer flushes (forecast refresh). */
  beforeTick?(): void;
  /**
   * Whether a waiting task can no longer meet its deadline at `now` (epoch ms); such a task waits
   * in its shard's late tier behind every on-time task. Tasks become late in key order, so only
   * heap heads are asked. @default none (no late tier)
   */
  isLate?(task: RuntimeTask, now: number): boolean;
  /** Called when a task moves to the late tier. */
  onDeferred?(task: RuntimeTask): void;
}

export class Dispatcher {
  readonly router: ShardRouter;
  /** Sampled push/pop timings (1 in 64), read by metrics. */
  readonly timings = new OpSampler();
  private readonly heaps: DaryHeap<RuntimeTask>[] = [];
  /** Per shard, tasks that can no longer meet their deadline, in the same order. */
  private readonly late: DaryHeap<RuntimeTask>[] = [];
  private readonly options: Required<
    Omit<DispatcherOptions, 'onBlocked' | 'beforeTick' | 'isLate' | 'onDeferred'>
  > &
    Pick<DispatcherOptions, 'onBlocked' | 'beforeTick' | 'isLate' | 'onDeferred'>;
  private owned: number[];
  private scheduled = false;
  private blocked = false;
  private closed = false;
  private count = 0;
  private seq = 0;

  constructor(options: DispatcherOptions) {
    this.options = { arity: 4, maxPerTick: 512, ...options };
    this.router = new ShardRouter(options.shards);
    for (let i = 0; i < options.shards; i++) {
      this.heaps.push(new DaryHeap<RuntimeTask>({ arity: this.options.arity }));
      this.late.push(new DaryHeap<RuntimeTask>({ arity: this.options.arity, initialCapacity: 8 }));
    }
    this.owned = [...this.router.shards];
  }

  /** Ready tasks waiting in the heaps. */
  get readyCount(): number {
    return this.count;
  }

  /** Ready tasks per shard (for metrics and the progress view). */
  readyPerShard(): number[] {
    return this.heaps.map((h, s) => h.size + this.late[s]!.size);
  }

  /** Restricts dispatch to the shards this instance owns. */
  setOwnedShards(shards: number[]): void {
    this.owned = shards.filter((s) => s >= 0 && s < this.heaps.length);
    this.schedule();
  }

  /** Adds a ready task under `shardKey` with its urgency key and tie-breaker. */
  enqueue(task: RuntimeTask, shardKey: string, key: number, tie: number): void {
    const shard = this.router.shardFor(shardKey);
    task.shard = shard;
    // One arrival counter across shards, so ties between shards also go by arrival.
    if (this.timings.shouldTime('push')) {
      const t0 = performance.now();
      task.heap = this.heaps[shard]!.push(task, key, tie, this.seq++);
      this.timings.record('push', performance.now() - t0);
    } else task.heap = this.heaps[shard]!.push(task, key, tie, this.seq++);
    this.count++;
    this.schedule();
  }

  /** Removes a task that is still waiting (cancellation). */
  remove(task: RuntimeTask): boolean {
    if (task.heap === undefined || task.shard === undefined) return false;
    const removed = this.heapOf(task).remove(task.heap);
    task.heap = undefined;
    task.late = undefined;
    if (removed) this.count--;
    return removed;
  }

  /** Changes the urgency key of a waiting task in place. */
  rekey(task: RuntimeTask, key: number): void {
    if (task.heap !== undefined && task.shard !== undefined) this.heapOf(task).update(task.heap, key);
  }

  private heapOf(task: RuntimeTask): DaryHeap<RuntimeTask> {
    return (task.late ? this.late : this.heaps)[task.shard!]!;
  }

  /** Moves the heads of shard `s` that can no longer meet their deadline to its late tier. */
  private deferLate(s: number, now: number, isLate: (task: RuntimeTask, now: number) => boolean): void {
    const heap = this.heaps[s]!;
    while (heap.size > 0) {
      const task = heap.peek()!;
      if (!isLate(task, now)) return;
      const key = heap.peekKey()!;
      const tie = heap.peekTie()!;
      const seq = heap.peekSeq()!;
      heap.pop();
      task.heap = this.late[s]!.push(task, key, tie, seq);
      task.late = true;
      this.options.onDeferred?.(task);
    }
  }

  /** Asks for a tick soon (coalesced). Call when tasks became ready or workers freed slots. */
  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.tick();
    });
  }

  /** Dispatches up to `maxPerTick` tasks, most urgent first. */
  tick(): void {
    if (this.closed) return;
    const { balancer, maxPerTick, send, isLate } = this.options;
    this.options.beforeTick?.();
    balancer.flush();
    const now = isLate ? Date.now() : 0;
    let sent = 0;
    while (sent < maxPerTick && this.count > 0) {
      if (isLate) for (const s of this.owned) this.deferLate(s, now, isLate);
      // The most urgent on-time head across shards, else the most urgent late one.
      let tier = this.heaps;
      let best = this.mostUrgent(tier);
      if (best < 0 && isLate) best = this.mostUrgent((tier = this.late));
      if (best < 0) return;
      const heap = tier[best]!;
      const task = heap.peek()!;
      const workerId = balancer.pick(handlerNameOf(task.ir.handler));
      if (workerId === undefined) {
        if (!this.blocked) {
          this.blocked = true;
          this.options.onBlocked?.(this.count);
        }
        return;
      }
      this.blocked = false;
      if (this.timings.shouldTime('pop')) {
        const t0 = performance.now();
        heap.pop();
        this.timings.record('pop', performance.now() - t0);
      } else heap.pop();
      task.heap = undefined;
      task.late = undefined;
      this.count--;
      send(task, workerId);
      sent++;
    }
    if (this.count > 0 && sent >= maxPerTick) this.schedule();
  }

  /** The owned shard whose head comes first by (key, tie, seq), like inside one heap; -1 if none. */
  private mostUrgent(tier: DaryHeap<RuntimeTask>[]): number {
    let best = -1;
    let bestKey = Infinity;
    let bestTie = Infinity;
    let bestSeq = Infinity;
    for (const s of this.owned) {
      const heap = tier[s]!;
      const k = heap.peekKey();
      if (k === undefined) continue;
      if (best >= 0 && k > bestKey) continue;
      const t = heap.peekTie()!;
      const q = heap.peekSeq()!;
      if (best < 0 || k < bestKey || t < bestTie || (t === bestTie && q < bestSeq)) {
        best = s;
        bestKey = k;
        bestTie = t;
        bestSeq = q;
      }
    }
    return best;
  }

  close(): void {
    this.closed = true;
  }
}
