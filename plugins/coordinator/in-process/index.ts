/** The in-process coordinator: membership, locks, reservations and ids for a single instance. */
export { createInProcessCoordinator, resolveInProcessCoordinatorOptions } from './in-process-coordinator.js';
export type {
  InProcessCoordinator,
  InProcessCoordinatorOptions,
  ResolvedInProcessCoordinatorOptions,
} from './in-process-coordinator.js';
export { IdGenerator } from './id-generator.js';
