/**
 * The HTTP API of `smartqueue serve`: /healthz, /metrics and the WebSocket event stream
 * (see README.md for the message schema).
 */
export { createHttpServer, EVENTS_PATH } from './server.js';
export type { HttpApi } from './server.js';
export type { EventStreamLimits, HttpServerOptions } from './options.js';
export { CLOSE, toEventMessage } from './events-ws.js';
export type { EventMessage } from './events-ws.js';
export { createSchedulerMetrics } from '../../telemetry/metrics/index.js';
export type { EngineMetrics, SchedulerMetricsOptions } from '../../telemetry/metrics/index.js';
