/**
 * What a task handler is and what it receives. Handlers are plain async functions; built-in ones
 * (`run`, `sleep`, `http`, `noop`) live in plugins/handlers/, users register their own by name or
 * define them inline in the TypeScript DSL.
 */

import type { HandlerSpec } from './stages.js';

/** The handler name a spec runs: `run` for argv tasks, else the `uses` name. */
export function handlerNameOf(spec: HandlerSpec): string {
  return spec.kind === 'run' ? 'run' : spec.name;
}

/** A minimal structured logger handed to handlers. */
export interface TaskLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Everything a handler gets for one attempt. */
export interface HandlerContext<Args = Record<string, unknown>> {
  runId: string;
  taskId: string;
  /** 1-based attempt number. */
  attempt: number;
  /** Stable across attempts of this task in this run: key your side effects with it. */
  idempotencyKey: string;
  /** Arguments (`with:`), expressions already resolved. */
  args: Args;
  /** Outputs of the tasks this one needs, by task id. */
  inputs: Record<string, Record<string, unknown>>;
  params: Record<string, unknown>;
  /** Aborts on timeout, cancellation or shutdown. */
  signal: AbortSignal;
  log: TaskLogger;
  /**
   * Reports how far the attempt got: a fraction 0..1 and/or a short message. Recorded in the
   * run's event log (`task:attempt:progress`) and streamed to watchers (WatchTasks, WatchRun,
   * the WebSocket). Cheap to call often: reports closer than {@link PROGRESS_MIN_INTERVAL_MS}
   * are coalesced (the latest wins). Best effort: never throws, never fails the attempt.
   */
  progress(fraction?: number, message?: string): void;
}

/** Reports of one attempt closer together than this are coalesced (ms). */
export const PROGRESS_MIN_INTERVAL_MS = 250;
/** Longest progress message kept (characters). */
export const MAX_PROGRESS_MESSAGE = 1024;

/** A progress report of one attempt, on its way from a worker to the engine. */
export interface ProgressReport {
  runId: string;
  taskId: string;
  attempt: number;
  workerId: string;
  /** 0..1, when the handler gave one. */
  fraction?: number;
  message?: string;
}

/** Outputs a handler returns (JSON-serializable). */
export type HandlerOutputs = Record<string, unknown>;

/** A task handler: resolves to its outputs (or nothing); throws to fail the attempt. */
export type TaskHandler<
  Args = Record<string, unknown>,
  Out extends HandlerOutputs | void = HandlerOutputs | void,
> = (ctx: HandlerContext<Args>) => Promise<Out> | Out;

/** Handlers by name. */
export type HandlerRegistry = ReadonlyMap<string, TaskHandler>;
