/**
 * The `http` handler: one request with global fetch, a timeout, a body size cap, an optional
 * host allow-list (checked on every redirect) and status codes mapped to retry decisions.
 */
export { createHttpHandler } from './http-handler.js';
export type { HttpOutputs } from './http-handler.js';
export type { HttpArgs } from './args.js';
export { DEFAULT_EXPOSED_HEADERS, resolveHttpHandlerOptions } from './options.js';
export type { HttpHandlerOptions, ResolvedHttpHandlerOptions } from './options.js';
export { isHostAllowed } from './host-policy.js';
