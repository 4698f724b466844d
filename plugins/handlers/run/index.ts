/**
 * The `run` handler: runs an argv (never a shell) with an allow-listed environment, captured
 * output and abort support. A JSON object on stdout's last line becomes named outputs.
 */
export { createRunHandler, RunExitError } from './run-handler.js';
export type { RunOutputs } from './run-handler.js';
export type { RunArgs } from './args.js';
export { DEFAULT_ENV_ALLOW_LIST, resolveRunHandlerOptions } from './options.js';
export type { ResolvedRunHandlerOptions, RunHandlerOptions } from './options.js';
export { parseLastLineOutputs } from './json-outputs.js';
