/**
 * The `noop` handler: succeeds at once with no outputs. It measures the engine itself
 * (scheduling, dispatch, checkpointing) in benchmarks, with no handler cost in the way.
 */
import type { TaskHandler } from '../../../engine/handler.js';

/** Returns `{}` synchronously: no promise, no timer, no I/O. */
export const noopHandler: TaskHandler<unknown, Record<string, never>> = () => ({});
