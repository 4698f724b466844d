import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../engine/errors.js';
import { DaryHeap, type HeapHandle } from '../../../engine/shard-heap.js';

/** One queued entry as the reference model sees it. */
interface ModelEntry {
  id: number;
  key: number;
  tie: number;
  seq: number;
  handle: HeapHandle;
}

function compareEntries(a: ModelEntry, b: ModelEntry): number {
  return a.key - b.key || a.tie - b.tie || a.seq - b.seq;
}

type Op =
  | { op: 'push'; key: number; tie: number; seq: number | undefined }
  | { op: 'pop' }
  | { op: 'remove'; pick: number }
  | { op: 'removeStale'; pick: number }
  | { op: 'update'; pick: number; key: number; tie: number | undefined };

// Small key and tie ranges so equal keys (and so the tie and seq tie-breakers) are common.
const keyArb = fc.integer({ min: -5, max: 20 });
const tieArb = fc.integer({ min: -3, max: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('push' as const),
      key: keyArb,
      tie: tieArb,
      // Mostly arrival order (auto seq), sometimes an explicit seq, which may repeat one in use.
      seq: fc.oneof(
        { weight: 3, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 400 }) },
      ),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('pop' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeStale' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      pick: fc.nat(),
      key: keyArb,
      tie: fc.option(tieArb, { nil: undefined }),
    }),
  },
);

/** Runs `ops` against the heap and a sorted-array model, comparing after every step. */
function runAgainstModel(arity: number, initialCapacity: number, ops: Op[]): void {
  const heap = new DaryHeap<number>({ arity, initialCapacity });
  let model: ModelEntry[] = [];
  const stale: HeapHandle[] = [];
  let nextId = 0;
  let nextSeq = 0;

  /** The model's first entry (any one of them when several compare equal). */
  const modelMin = (): ModelEntry | undefined =>
    model.reduce<ModelEntry | undefined>(
      (m, e) => (m === undefined || compareEntries(e, m) < 0 ? e : m),
      undefined,
    );

  const checkTop = (): void => {
    expect(heap.size).toBe(model.length);
    const first = modelMin();
    expect(heap.peekKey()).toBe(first?.key);
    if (first !== undefined) {
      // Several entries may share (key, tie, seq) when seqs were given explicitly; any of them is right.
      const peeked = model.find((e) => e.id === heap.peek());
      expect(peeked).toBeDefined();
      expect(compareEntries(peeked!, first)).toBe(0);
    }
  };

  for (const op of ops) {
    switch (op.op) {
      case 'push': {
        const seq = op.seq ?? nextSeq;
        nextSeq = Math.max(nextSeq, seq + 1);
        const id = nextId++;
        const handle = heap.push(id, op.key, op.tie, op.seq);
        expect(heap.has(handle)).toBe(true);
        model.push({ id, key: op.key, tie: op.tie, seq, handle });
        break;
      }
      case 'pop': {
        const value = heap.pop();
        if (model.length === 0) {
          expect(value).toBeUndefined();
          break;
        }
        const popped = model.find((e) => e.id === value);
        expect(popped).toBeDefined();
        expect(compareEntries(popped!, modelMin()!)).toBe(0);
        model = model.filter((e) => e !== popped);
        expect(heap.has(popped!.handle)).toBe(false);
        stale.push(popped!.handle);
        break;
      }
      case 'remove': {
        if (model.length === 0) break;
        const target = model[op.pick % model.length]!;
        expect(heap.get(target.handle)).toBe(target.id);
        expect(heap.remove(target.handle)).toBe(true);
        expect(heap.has(target.handle)).toBe(false);
        expect(heap.remove(target.handle)).toBe(false);
        model = model.filter((e) => e !== target);
        stale.push(target.handle);
        break;
      }
      case 'removeStale': {
        if (stale.length === 0) break;
        const handle = stale[op.pick % stale.length]!;
        // The slot may hold a newer entry by now; the generation must still reject this handle.
        expect(heap.has(handle)).toBe(false);
        expect(heap.remove(handle)).toBe(false);
        expect(heap.update(handle, 0)).toBe(false);
        break;
      }
      case 'update': {
        if (model.length === 0) break;
        const target = model[op.pick % model.length]!;
        expect(heap.update(target.handle, op.key, op.tie)).toBe(true);
        target.key = op.key;
        if (op.tie !== undefined) target.tie = op.tie;
        expect(heap.keyOf(target.handle)).toBe(op.key);
        break;
      }
    }
    checkTop();
  }

  expect([...heap].sort((a, b) => a - b)).toEqual(model.map((e) => e.id).sort((a, b) => a - b));
  // Draining yields the model's full order.
  const sorted = [...model].sort(compareEntries);
  for (const expected of sorted) {
    const value = heap.pop();
    const popped = model.find((e) => e.id === value);
    expect(popped).toBeDefined();
    expect(compareEntries(popped!, expected)).toBe(0);
  }
  expect(heap.size).toBe(0);
  expect(heap.pop()).toBeUndefined();
}

describe('DaryHeap', () => {
  it('matches a sorted-array model under random push/pop/remove/update, arities 2..8', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        // size 'large': the default 'small' size would cap sequences at about 10 ops.
        fc.array(opArb, { maxLength: 300, size: 'large' }),
        (arity, initialCapacity, ops) => runAgainstModel(arity, initialCapacity, ops),
      ),
      { numRuns: 150 },
    );
  });

  it('orders by key, then tie, then seq', () => {
    const heap = new DaryHeap<string>();
    heap.push('late', 30, 0);
    heap.push('urgent-low-priority', 10, 0);
    heap.push('urgent-high-priority', 10, -5);
    heap.push('urgent-low-priority-2', 10, 0);
    heap.push('explicit-seq-first', 10, 0, -1);
    const order: (string | undefined)[] = [];
    while (heap.size > 0) order.push(heap.pop());
    expect(order).toEqual([
      'urgent-high-priority',
      'explicit-seq-first',
      'urgent-low-priority',
      'urgent-low-priority-2',
      'late',
    ]);
  });

  it('is FIFO for equal keys and ties across growth', () => {
    const heap = new DaryHeap<number>({ arity: 3, initialCapacity: 1 });
    for (let i = 0; i < 1000; i++) heap.push(i, 7, 1);
    expect(heap.size).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(heap.pop()).toBe(i);
  });

  it('gives omitted seqs values after the largest explicit seq', () => {
    const heap = new DaryHeap<string>();
    heap.push('explicit-100', 1, 0, 100);
    heap.push('auto', 1, 0);
    heap.push('explicit-50', 1, 0, 50);
    expect([heap.pop(), heap.pop(), heap.pop()]).toEqual(['explicit-50', 'explicit-100', 'auto']);
  });

  it('keeps handles valid while other entries move, and sifts updates both ways', () => {
    const heap = new DaryHeap<string>({ arity: 2, initialCapacity: 2 });
    const handles = new Map<string, HeapHandle>();
    for (let i = 0; i < 50; i++) handles.set(`t${i}`, heap.push(`t${i}`, 100 - i, 0));
    expect(heap.peek()).toBe('t49');
    // Move the current maximum to the front, then the front to the back.
    expect(heap.update(handles.get('t0')!, -1)).toBe(true);
    expect(heap.peek()).toBe('t0');
    expect(heap.peekKey()).toBe(-1);
    expect(heap.update(handles.get('t0')!, 1000)).toBe(true);
    expect(heap.peek()).toBe('t49');
    expect(heap.keyOf(handles.get('t0')!)).toBe(1000);
    expect(heap.remove(handles.get('t25')!)).toBe(true);
    for (const [name, handle] of handles) {
      expect(heap.has(handle)).toBe(name !== 't25');
      if (name !== 't25') expect(heap.get(handle)).toBe(name);
    }
  });

  it('can update tie only through the optional argument', () => {
    const heap = new DaryHeap<string>();
    heap.push('a', 5, 0);
    const b = heap.push('b', 5, 0);
    expect(heap.update(b, 5, -1)).toBe(true);
    expect(heap.pop()).toBe('b');
    expect(heap.pop()).toBe('a');
  });

  it('invalidates handles on pop, remove and clear, even when slots are reused', () => {
    const heap = new DaryHeap<string>({ initialCapacity: 1 });
    const a = heap.push('a', 1);
    expect(heap.pop()).toBe('a');
    expect(heap.has(a)).toBe(false);
    const b = heap.push('b', 1); // reuses a's slot
    expect(b).not.toBe(a);
    expect(heap.has(a)).toBe(false);
    expect(heap.remove(a)).toBe(false);
    expect(heap.get(a)).toBeUndefined();
    expect(heap.has(b)).toBe(true);
    const c = heap.push('c', 2);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(heap.peekKey()).toBeUndefined();
    expect(heap.has(b)).toBe(false);
    expect(heap.has(c)).toBe(false);
    expect(heap.update(c, 0)).toBe(false);
    heap.push('d', 3);
    expect(heap.pop()).toBe('d');
  });

  it('orders correctly after clear and after draining, when positions and slots are reused', () => {
    const heap = new DaryHeap<number>({ initialCapacity: 4 });
    for (let i = 0; i < 40; i++) heap.push(i, i - 100);
    heap.clear();
    // The cleared keys were all smaller than these; none may resurface.
    for (const k of [7, 3, 5]) heap.push(k, k);
    expect([heap.pop(), heap.pop(), heap.pop(), heap.pop()]).toEqual([3, 5, 7, undefined]);
    const stale = heap.push(1, 1);
    expect(heap.pop()).toBe(1);
    for (let i = 0; i < 9; i++) heap.push(i, 9 - i);
    expect(heap.has(stale)).toBe(false);
    expect(Array.from({ length: 9 }, () => heap.pop())).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0]);
  });

  it('rejects numbers that were never handles', () => {
    const heap = new DaryHeap<string>();
    const h = heap.push('x', 1);
    for (const forged of [-1, 0.5, h + 1, 2 ** 40, Number.NaN, Infinity]) {
      expect(heap.has(forged as HeapHandle)).toBe(false);
      expect(heap.remove(forged as HeapHandle)).toBe(false);
    }
    expect(heap.size).toBe(1);
  });

  it('iterates over every value', () => {
    const heap = new DaryHeap<number>({ arity: 5 });
    for (let i = 0; i < 37; i++) heap.push(i, (i * 7919) % 13);
    expect([...heap].sort((a, b) => a - b)).toEqual(Array.from({ length: 37 }, (_, i) => i));
  });

  it('accepts infinite keys and rejects NaN', () => {
    const heap = new DaryHeap<string>();
    heap.push('never', Infinity);
    heap.push('now', -Infinity);
    expect(heap.pop()).toBe('now');
    expect(() => heap.push('bad', Number.NaN)).toThrow(SmartQueueError);
    expect(() => heap.push('bad', 1, Number.NaN)).toThrow(SmartQueueError);
    expect(() => heap.push('bad', 1, 0, Number.NaN)).toThrow(SmartQueueError);
    const h = heap.push('ok', 1);
    expect(() => heap.update(h, Number.NaN)).toThrow(SmartQueueError);
    expect(heap.keyOf(h)).toBe(1);
    expect(heap.size).toBe(2);
  });

  it('validates its options', () => {
    expect(new DaryHeap().arity).toBe(4);
    for (const arity of [0, 1, 2.5, Number.NaN]) {
      expect(() => new DaryHeap({ arity })).toThrow(/arity/);
    }
    for (const initialCapacity of [0, -1, 1.5]) {
      expect(() => new DaryHeap({ initialCapacity })).toThrow(/initialCapacity/);
    }
  });
});
