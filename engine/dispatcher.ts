/**
 * The dispatcher: one min-heap of ready tasks per shard (keyed by the deadline-aware priority),
 * a router that maps shard keys to shards, and a tick that hands the most urgent ready tasks to
 * the least-loaded workers. When every worker is full it stops (back-pressure) until a worker
 * frees a slot.
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
}

export class Dispatcher {
  readonly router: ShardRouter;
  /** Sampled push/pop timings (1 in 64), read by metrics. */
  readonly timings = new OpSampler();
  private readonly heaps: DaryHeap<RuntimeTask>[] = [];
  private readonly options: Required<Omit<DispatcherOptions, 'onBlocked' | 'beforeTick'>> &
    Pick<DispatcherOptions, 'onBlocked' | 'beforeTick'>;
  private owned: number[];
  private scheduled = false;
  private blocked = false;
  private closed = false;
  private count = 0;
  private seq = 0;

  constructor(options: DispatcherOptions) {
    this.options = { arity: 4, maxPerTick: 512, ...options };
    this.router = new ShardRouter(options.shards);
    for (let i = 0; i < options.shards; i++)
      this.heaps.push(new DaryHeap<RuntimeTask>({ arity: this.options.arity }));
    this.owned = [...this.router.shards];
  }

  /** Ready tasks waiting in the heaps. */
  get readyCount(): number {
    return this.count;
  }

  /** Ready tasks per shard (for metrics and the progress view). */
  readyPerShard(): number[] {
    return this.heaps.map((h) => h.size);
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
    const removed = this.heaps[task.shard]!.remove(task.heap);
    task.heap = undefined;
    if (removed) this.count--;
    return removed;
  }

  /** Changes the urgency key of a waiting task in place. */
  rekey(task: RuntimeTask, key: number): void {
    if (task.heap !== undefined && task.shard !== undefined) this.heaps[task.shard]!.update(task.heap, key);
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
    const { balancer, maxPerTick, send } = this.options;
    this.options.beforeTick?.();
    balancer.flush();
    let sent = 0;
    while (sent < maxPerTick && this.count > 0) {
      // The most urgent head across shards, by (key, tie, seq) like inside one heap.
      let best = -1;
      let bestKey = Infinity;
      let bestTie = Infinity;
      let bestSeq = Infinity;
      for (const s of this.owned) {
        const heap = this.heaps[s]!;
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
      if (best < 0) return;
      const heap = this.heaps[best]!;
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
      this.count--;
      send(task, workerId);
      sent++;
    }
    if (this.count > 0 && sent >= maxPerTick) this.schedule();
  }

  close(): void {
    this.closed = true;
  }
}
