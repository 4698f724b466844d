/**
 * The balancers scenario 5 compares with the AVL balancer, each a complete {@link Balancer}
 * (join, leave, pick, assign, finish, report) with the AVL balancer's load definition:
 * (weight + reported) / capacity, or Infinity once every slot is busy; ties go to the smaller id.
 * - skip list: an ordered index like the AVL tree, probabilistic instead of balanced, updated
 *   eagerly (every change re-positions the worker);
 * - linear scan: no index, O(1) updates, pick scans every worker;
 * - power of two choices: O(1) updates, pick samples two workers and takes the less loaded
 *   (the classic approximate balancer: fast, not always the least loaded).
 * They live in the bench because the engine needs only the AVL balancer.
 */
import type { Balancer, WorkerInfo, WorkerLoad } from '../../engine/stages.js';

interface Entry {
  readonly id: string;
  capacity: number;
  handlers: ReadonlySet<string> | undefined;
  running: number;
  weight: number;
  reported: number;
  load: number;
}

function loadOf(e: Entry): number {
  return e.running >= e.capacity ? Infinity : (e.weight + e.reported) / e.capacity;
}

function before(a: Entry, b: Entry): boolean {
  return a.load < b.load || (a.load === b.load && a.id < b.id);
}

function accepts(e: Entry, handler: string | undefined): boolean {
  return handler === undefined || e.handlers === undefined || e.handlers.has(handler);
}

/** Worker bookkeeping shared by the three; subclasses keep their index in step via `moved`. */
abstract class TableBalancer implements Balancer {
  protected readonly workers = new Map<string, Entry>();
  protected list: Entry[] = [];

  get size(): number {
    return this.workers.size;
  }
  protected abstract added(e: Entry): void;
  protected abstract removed(e: Entry): void;
  /** Called with the entry out of its old position: `update` changes it, then it goes back. */
  protected abstract moved(e: Entry, update: () => void): void;
  abstract pick(handler?: string): string | undefined;

  join(w: WorkerInfo): void {
    const handlers = w.handlers === undefined ? undefined : new Set(w.handlers);
    const old = this.workers.get(w.id);
    if (old) {
      this.moved(old, () => {
        old.capacity = w.capacity;
        old.handlers = handlers;
      });
      return;
    }
    const e: Entry = {
      id: w.id,
      capacity: w.capacity,
      handlers,
      running: 0,
      weight: 0,
      reported: 0,
      load: 0,
    };
    e.load = loadOf(e);
    this.workers.set(w.id, e);
    this.list.push(e);
    this.added(e);
  }
  leave(id: string): void {
    const e = this.workers.get(id);
    if (!e) return;
    this.workers.delete(id);
    this.list.splice(this.list.indexOf(e), 1);
    this.removed(e);
  }
  assign(id: string, cost: number): void {
    const e = this.workers.get(id);
    if (e) this.moved(e, () => ((e.running += 1), (e.weight += cost)));
  }
  finish(id: string, cost: number): void {
    const e = this.workers.get(id);
    if (e) {
      this.moved(e, () => {
        e.running = Math.max(0, e.running - 1);
        e.weight = e.running === 0 ? 0 : Math.max(0, e.weight - cost);
      });
    }
  }
  report(id: string, load: number): void {
    const e = this.workers.get(id);
    if (e) this.moved(e, () => (e.reported = load));
  }
  flush(): void {
    // Every update is applied at once.
  }
  snapshot(): WorkerLoad[] {
    return [...this.list]
      .sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0))
      .map(({ id, capacity, running, weight, reported, load }) => ({
        id,
        capacity,
        running,
        weight,
        reported,
        load,
      }));
  }
}

/** Linear scan: updates touch one entry; pick looks at all of them. */
export class LinearScanBalancer extends TableBalancer {
  protected added(): void {}
  protected removed(): void {}
  protected moved(e: Entry, update: () => void): void {
    update();
    e.load = loadOf(e);
  }
  pick(handler?: string): string | undefined {
    let best: Entry | undefined;
    for (const e of this.list) {
      if (e.load !== Infinity && accepts(e, handler) && (best === undefined || before(e, best))) best = e;
    }
    return best?.id;
  }
}

/** Power of two choices: two random workers, the less loaded one wins. */
export class PowerOfTwoBalancer extends TableBalancer {
  constructor(private readonly random: () => number) {
    super();
  }
  protected added(): void {}
  protected removed(): void {}
  protected moved(e: Entry, update: () => void): void {
    update();
    e.load = loadOf(e);
  }
  pick(handler?: string): string | undefined {
    const n = this.list.length;
    // A few samples find a free worker when most are free; when none of them is, fall back to a
    // scan so back-pressure (undefined) means "every worker is full", as for the others.
    for (let tries = 0; tries < 4 && n > 0; tries++) {
      const a = this.list[(this.random() * n) | 0]!;
      const b = this.list[(this.random() * n) | 0]!;
      const okA = a.load !== Infinity && accepts(a, handler);
      const okB = b.load !== Infinity && accepts(b, handler);
      if (okA && okB) return before(a, b) ? a.id : b.id;
      if (okA) return a.id;
      if (okB) return b.id;
    }
    return this.list.find((e) => e.load !== Infinity && accepts(e, handler))?.id;
  }
}

const MAX_LEVEL = 24;

interface SkipNode {
  entry: Entry | null;
  next: (SkipNode | null)[];
}

/** A skip list ordered by (load, id), p = 1/2; an update is a delete and a re-insert. */
export class SkipListBalancer extends TableBalancer {
  readonly #head: SkipNode = { entry: null, next: new Array<SkipNode | null>(MAX_LEVEL).fill(null) };
  readonly #nodes = new Map<Entry, SkipNode>();
  readonly #update = new Array<SkipNode>(MAX_LEVEL);
  #level = 1;
  constructor(private readonly random: () => number) {
    super();
  }
  #find(e: Entry): void {
    let x = this.#head;
    for (let i = this.#level - 1; i >= 0; i--) {
      let nx = x.next[i];
      while (nx && before(nx.entry!, e)) {
        x = nx;
        nx = x.next[i];
      }
      this.#update[i] = x;
    }
  }
  protected added(e: Entry): void {
    let level = 1;
    while (level < MAX_LEVEL && this.random() < 0.5) level++;
    for (let i = this.#level; i < level; i++) this.#update[i] = this.#head;
    if (level > this.#level) this.#level = level;
    this.#find(e);
    const node: SkipNode = { entry: e, next: new Array<SkipNode | null>(level).fill(null) };
    for (let i = 0; i < level; i++) {
      node.next[i] = this.#update[i]!.next[i]!;
      this.#update[i]!.next[i] = node;
    }
    this.#nodes.set(e, node);
  }
  protected removed(e: Entry): void {
    this.#unlink(e);
    this.#nodes.delete(e);
  }
  #unlink(e: Entry): SkipNode {
    const node = this.#nodes.get(e)!;
    this.#find(e);
    for (let i = 0; i < node.next.length; i++) {
      if (this.#update[i]!.next[i] === node) this.#update[i]!.next[i] = node.next[i]!;
    }
    return node;
  }
  #link(node: SkipNode): void {
    this.#find(node.entry!);
    for (let i = 0; i < node.next.length; i++) {
      node.next[i] = this.#update[i]!.next[i]!;
      this.#update[i]!.next[i] = node;
    }
  }
  protected moved(e: Entry, update: () => void): void {
    const node = this.#unlink(e);
    update();
    e.load = loadOf(e);
    this.#link(node);
  }
  pick(handler?: string): string | undefined {
    for (let x = this.#head.next[0]; x; x = x.next[0]!) {
      if (x.entry!.load === Infinity) return undefined;
      if (accepts(x.entry!, handler)) return x.entry!.id;
    }
    return undefined;
  }
}
