/**
 * The gRPC API (proto/smartqueue/v1): a server over an engine ({@link createGrpcApi}) and a typed
 * client ({@link createSmartQueueClient}).
 */
export { createGrpcApi } from './server.js';
export type { GrpcApi } from './server.js';
export type { GrpcApiLimits, GrpcApiOptions } from './options.js';
export { createSmartQueueClient } from './client.js';
export type { SmartQueueClient } from './client.js';
export { decodeBadRequest } from './errors.js';
export type { FieldViolation } from './errors.js';
export { NAMESPACE_LABEL } from './submit-task.js';
