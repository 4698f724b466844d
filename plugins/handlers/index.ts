/**
 * The built-in task handlers: `run` (an argv, never a shell), `sleep`, `http` and `noop`.
 */
import type { TaskHandler } from '../../engine/handler.js';
import { createHttpHandler, type HttpHandlerOptions } from './http/index.js';
import { noopHandler } from './noop/index.js';
import { createRunHandler, type RunHandlerOptions } from './run/index.js';
import { sleepHandler } from './sleep/index.js';

export * from './http/index.js';
export * from './noop/index.js';
export * from './run/index.js';
export * from './sleep/index.js';

/** Options of {@link builtinHandlers}, per handler. */
export interface BuiltinHandlersOptions {
  /** @default {} (see {@link RunHandlerOptions}) */
  run?: RunHandlerOptions;
  /** @default {} (see {@link HttpHandlerOptions}) */
  http?: HttpHandlerOptions;
}

/**
 * Every handler checks its `ctx.args` at run time (they come from workflow files), so a handler
 * typed for its own arguments can serve in a registry of untyped ones.
 */
function untyped<Args, Out extends Record<string, unknown>>(handler: TaskHandler<Args, Out>): TaskHandler {
  return handler as unknown as TaskHandler;
}

/**
 * The built-in handlers by name: `run`, `sleep`, `http`, `noop`. A new Map on every call, so
 * the caller may add its own handlers to it.
 * @throws SmartQueueError `INVALID_OPTIONS` for bad `run` or `http` options.
 */
export function builtinHandlers(options: BuiltinHandlersOptions = {}): Map<string, TaskHandler> {
  return new Map<string, TaskHandler>([
    ['run', untyped(createRunHandler(options.run))],
    ['sleep', untyped(sleepHandler)],
    ['http', untyped(createHttpHandler(options.http))],
    ['noop', untyped(noopHandler)],
  ]);
}
