/**
 * A generic AVL tree: a self-balancing binary search tree ordered by a comparator, with subtree
 * sizes for rank queries. Height stays below 1.45 * log2(n + 2), so insert, delete, min and
 * `at` are O(log n) even when keys arrive sorted (which worker loads often do).
 */

/** Orders two items: negative when `a` comes first, positive when `b` does, 0 when equal. */
export type Comparator<T> = (a: T, b: T) => number;

interface AvlNode<T> {
  item: T;
  left: AvlNode<T> | null;
  right: AvlNode<T> | null;
  height: number;
  size: number;
}

function heightOf<T>(node: AvlNode<T> | null): number {
  return node === null ? 0 : node.height;
}

function sizeOf<T>(node: AvlNode<T> | null): number {
  return node === null ? 0 : node.size;
}

function refresh<T>(node: AvlNode<T>): void {
  const hl = heightOf(node.left);
  const hr = heightOf(node.right);
  node.height = (hl > hr ? hl : hr) + 1;
  node.size = sizeOf(node.left) + sizeOf(node.right) + 1;
}

function rotateRight<T>(node: AvlNode<T>): AvlNode<T> {
  const pivot = node.left!;
  node.left = pivot.right;
  pivot.right = node;
  refresh(node);
  refresh(pivot);
  return pivot;
}

function rotateLeft<T>(node: AvlNode<T>): AvlNode<T> {
  const pivot = node.right!;
  node.right = pivot.left;
  pivot.left = node;
  refresh(node);
  refresh(pivot);
  return pivot;
}

/** Restores the AVL property at `node` after one of its subtrees changed height by at most 1. */
function rebalance<T>(node: AvlNode<T>): AvlNode<T> {
  refresh(node);
  const balance = heightOf(node.left) - heightOf(node.right);
  if (balance > 1) {
    const left = node.left!;
    if (heightOf(left.left) < heightOf(left.right)) node.left = rotateLeft(left);
    return rotateRight(node);
  }
  if (balance < -1) {
    const right = node.right!;
    if (heightOf(right.right) < heightOf(right.left)) node.right = rotateRight(right);
    return rotateLeft(node);
  }
  return node;
}

/** Removes the leftmost node of a non-empty subtree; the caller already holds that node. */
function withoutMin<T>(node: AvlNode<T>): AvlNode<T> | null {
  if (node.left === null) return node.right;
  node.left = withoutMin(node.left);
  return rebalance(node);
}

/**
 * An AVL tree of unique items (by the comparator). The comparator must be consistent while an
 * item is in the tree: to change an item's sort key, delete it, change it, insert it again.
 */
export class AvlTree<T> implements Iterable<T> {
  #root: AvlNode<T> | null = null;
  readonly #compare: Comparator<T>;
  /** Whether the last recursive insert/delete changed the tree; saves a closure per call. */
  #changed = false;

  constructor(compare: Comparator<T>) {
    this.#compare = compare;
  }

  /** Number of items. */
  get size(): number {
    return sizeOf(this.#root);
  }

  /** Height of the tree: 0 when empty, 1 for a single item. */
  get height(): number {
    return heightOf(this.#root);
  }

  /**
   * Adds `item` unless an equal item is already present (which is kept).
   * @returns whether the item was added.
   */
  insert(item: T): boolean {
    this.#changed = false;
    this.#root = this.#insert(this.#root, item);
    return this.#changed;
  }

  /**
   * Removes the item equal to `item`.
   * @returns whether an item was removed.
   */
  delete(item: T): boolean {
    this.#changed = false;
    this.#root = this.#delete(this.#root, item);
    return this.#changed;
  }

  /** Whether an item equal to `item` is present. */
  has(item: T): boolean {
    return this.find(item) !== undefined;
  }

  /** The stored item equal to `item`, or undefined. */
  find(item: T): T | undefined {
    let node = this.#root;
    while (node !== null) {
      const c = this.#compare(item, node.item);
      if (c === 0) return node.item;
      node = c < 0 ? node.left : node.right;
    }
    return undefined;
  }

  /** The smallest item, or undefined when empty. */
  min(): T | undefined {
    let node = this.#root;
    if (node === null) return undefined;
    while (node.left !== null) node = node.left;
    return node.item;
  }

  /** The largest item, or undefined when empty. */
  max(): T | undefined {
    let node = this.#root;
    if (node === null) return undefined;
    while (node.right !== null) node = node.right;
    return node.item;
  }

  /** The item at in-order position `index` (0 = smallest), or undefined when out of range. */
  at(index: number): T | undefined {
    let node = this.#root;
    let i = index;
    while (node !== null) {
      const leftSize = sizeOf(node.left);
      if (i < leftSize) node = node.left;
      else if (i === leftSize) return node.item;
      else {
        i -= leftSize + 1;
        node = node.right;
      }
    }
    return undefined;
  }

  /** Removes every item. */
  clear(): void {
    this.#root = null;
  }

  /** Items in ascending order. Do not modify the tree while iterating. */
  *[Symbol.iterator](): Iterator<T> {
    // An explicit stack instead of recursive generators: one generator object per walk, not per node.
    const stack: AvlNode<T>[] = [];
    let node = this.#root;
    while (node !== null || stack.length > 0) {
      while (node !== null) {
        stack.push(node);
        node = node.left;
      }
      const top = stack.pop()!;
      yield top.item;
      node = top.right;
    }
  }

  /**
   * Checks every structural invariant: strict comparator order in-order, |balance| <= 1, and
   * stored heights and sizes equal to the recomputed ones. O(n); meant for tests.
   * @returns a description of each violation; empty when the tree is sound.
   */
  checkInvariants(): string[] {
    const problems: string[] = [];
    let previous: { item: T } | undefined;
    const walk = (node: AvlNode<T> | null, path: string): { height: number; size: number } => {
      if (node === null) return { height: 0, size: 0 };
      const left = walk(node.left, `${path}L`);
      if (previous !== undefined && !(this.#compare(previous.item, node.item) < 0)) {
        problems.push(`order: item at ${path || 'root'} does not come after its in-order predecessor`);
      }
      previous = { item: node.item };
      const right = walk(node.right, `${path}R`);
      const height = Math.max(left.height, right.height) + 1;
      const size = left.size + right.size + 1;
      const where = path || 'root';
      if (Math.abs(left.height - right.height) > 1) {
        problems.push(`balance: ${where} has balance factor ${left.height - right.height}`);
      }
      if (node.height !== height) problems.push(`height: ${where} stores ${node.height}, actual ${height}`);
      if (node.size !== size) problems.push(`size: ${where} stores ${node.size}, actual ${size}`);
      return { height, size };
    };
    walk(this.#root, '');
    return problems;
  }

  /**
   * Throws when {@link checkInvariants} finds a violation.
   * @throws Error listing every violation.
   */
  assertInvariants(): void {
    const problems = this.checkInvariants();
    if (problems.length > 0) throw new Error(`AVL invariants violated:\n${problems.join('\n')}`);
  }

  #insert(node: AvlNode<T> | null, item: T): AvlNode<T> {
    if (node === null) {
      this.#changed = true;
      return { item, left: null, right: null, height: 1, size: 1 };
    }
    const c = this.#compare(item, node.item);
    if (c < 0) node.left = this.#insert(node.left, item);
    else if (c > 0) node.right = this.#insert(node.right, item);
    else return node;
    return this.#changed ? rebalance(node) : node;
  }

  #delete(node: AvlNode<T> | null, item: T): AvlNode<T> | null {
    if (node === null) return null;
    const c = this.#compare(item, node.item);
    if (c < 0) node.left = this.#delete(node.left, item);
    else if (c > 0) node.right = this.#delete(node.right, item);
    else {
      this.#changed = true;
      if (node.left === null) return node.right;
      if (node.right === null) return node.left;
      // Two children: the in-order successor takes the node's place.
      let successor = node.right;
      while (successor.left !== null) successor = successor.left;
      successor.right = withoutMin(node.right);
      successor.left = node.left;
      return rebalance(successor);
    }
    return this.#changed ? rebalance(node) : node;
  }
}
