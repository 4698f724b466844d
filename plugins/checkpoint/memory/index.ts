/** The in-process checkpoint store: the reference implementation and "durability off" mode. */
export { createMemoryCheckpointStore } from './memory-store.js';
export type { MemoryCheckpointStore } from './memory-store.js';
