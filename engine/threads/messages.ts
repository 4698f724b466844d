/** Messages between the pool (main thread) and its threads. */
import type { TaskResult } from '../stages.js';
import type { ThreadTask } from './types.js';

export type ToThread =
  /** The task of a slot the thread took (undefined: it was cancelled meanwhile). */
  | { type: 'payload'; slot: number; task: ThreadTask | undefined }
  /** Abort the slot's running attempt (timeout or cancel). */
  | { type: 'abort'; slot: number };

export type FromThread =
  | { type: 'ready' }
  /** The thread took a slot and needs its task. */
  | { type: 'fetch'; slot: number }
  | { type: 'start'; slot: number; at: number }
  | {
      type: 'done';
      slot: number;
      result:
        | { ok: true; outputs: Record<string, unknown>; startedAt: number; finishedAt: number }
        | { ok: false; error: NonNullable<TaskResult['error']>; startedAt: number; finishedAt: number };
    }
  /** The thread popped a slot cancelled while queued: the slot is free again. */
  | { type: 'discarded'; slot: number }
  | { type: 'progress'; slot: number; fraction: number | undefined; message: string | undefined }
  | {
      type: 'log';
      slot: number;
      level: 'info' | 'warn' | 'error';
      message: string;
      fields?: Record<string, unknown>;
    };
