/**
 * The AVL balancer plugin: a least-loaded worker picker with lazily batched load updates.
 */
export { createAvlBalancer } from './avl-balancer.js';
export type { AvlBalancer, AvlBalancerOptions, AvlBalancerStats } from './avl-balancer.js';
export { AvlTree } from './avl-tree.js';
export type { Comparator } from './avl-tree.js';
