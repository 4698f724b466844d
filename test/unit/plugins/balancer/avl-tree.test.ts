import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AvlTree } from '../../../../plugins/balancer/avl/avl-tree.js';

const byNumber = (a: number, b: number): number => a - b;

/** The AVL height bound: h < 1.4405 * log2(n + 2) - 0.3277. */
function maxAvlHeight(n: number): number {
  return Math.floor(1.4405 * Math.log2(n + 2) - 0.3277);
}

describe('AvlTree', () => {
  it('keeps BST order, balance, heights and sizes under random inserts and deletes', () => {
    const opArb = fc.record({ insert: fc.boolean(), value: fc.integer({ min: 0, max: 60 }) });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400, size: 'large' }), (ops) => {
        const tree = new AvlTree<number>(byNumber);
        const model = new Set<number>();
        for (const { insert, value } of ops) {
          if (insert) {
            expect(tree.insert(value)).toBe(!model.has(value));
            model.add(value);
          } else {
            expect(tree.delete(value)).toBe(model.has(value));
            model.delete(value);
          }
          expect(tree.checkInvariants()).toEqual([]);
          expect(tree.size).toBe(model.size);
          expect(tree.height).toBeLessThanOrEqual(maxAvlHeight(model.size));
        }
        const sorted = [...model].sort(byNumber);
        expect([...tree]).toEqual(sorted);
        expect(tree.min()).toBe(sorted[0]);
        expect(tree.max()).toBe(sorted.at(-1));
        sorted.forEach((value, i) => expect(tree.at(i)).toBe(value));
        expect(tree.at(sorted.length)).toBeUndefined();
        for (let v = 0; v <= 60; v++) expect(tree.has(v)).toBe(model.has(v));
      }),
      { numRuns: 150 },
    );
  });

  it('stays logarithmic for sorted input, the worst case of an unbalanced BST', () => {
    const tree = new AvlTree<number>(byNumber);
    for (let i = 0; i < 10_000; i++) tree.insert(i);
    tree.assertInvariants();
    expect(tree.size).toBe(10_000);
    // A perfectly balanced tree of 10,000 needs 14 levels; AVL allows up to 1.44x that.
    expect(tree.height).toBeGreaterThanOrEqual(14);
    expect(tree.height).toBeLessThanOrEqual(maxAvlHeight(10_000));
    for (let i = 0; i < 10_000; i += 2) expect(tree.delete(i)).toBe(true);
    tree.assertInvariants();
    expect(tree.size).toBe(5_000);
    expect(tree.min()).toBe(1);
  });

  it('orders objects by a composite comparator and finds the stored item', () => {
    type Row = { load: number; id: string };
    const tree = new AvlTree<Row>((a, b) => a.load - b.load || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const b = { load: 0.5, id: 'b' };
    tree.insert(b);
    tree.insert({ load: 0.5, id: 'a' });
    tree.insert({ load: 0.1, id: 'z' });
    expect([...tree].map((r) => r.id)).toEqual(['z', 'a', 'b']);
    expect(tree.find({ load: 0.5, id: 'b' })).toBe(b);
    expect(tree.insert({ load: 0.5, id: 'b' })).toBe(false);
    expect(tree.find({ load: 0.5, id: 'b' })).toBe(b);
    expect(tree.find({ load: 0.4, id: 'b' })).toBeUndefined();
  });

  it('reports violations when the comparator order no longer holds', () => {
    let direction = 1;
    const tree = new AvlTree<number>((a, b) => direction * (a - b));
    for (const v of [5, 3, 8, 1, 4]) tree.insert(v);
    expect(tree.checkInvariants()).toEqual([]);
    expect(() => tree.assertInvariants()).not.toThrow();
    direction = -1;
    const problems = tree.checkInvariants();
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.startsWith('order:'))).toBe(true);
    expect(() => tree.assertInvariants()).toThrow(/AVL invariants violated/);
  });

  it('handles the empty tree and clear', () => {
    const tree = new AvlTree<number>(byNumber);
    expect(tree.size).toBe(0);
    expect(tree.height).toBe(0);
    expect(tree.min()).toBeUndefined();
    expect(tree.max()).toBeUndefined();
    expect(tree.delete(1)).toBe(false);
    expect([...tree]).toEqual([]);
    tree.insert(1);
    tree.insert(2);
    expect(tree.height).toBe(2);
    tree.clear();
    expect(tree.size).toBe(0);
    expect([...tree]).toEqual([]);
  });
});
