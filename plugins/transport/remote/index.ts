/**
 * Remote workers: the server-side transport for worker processes connected over gRPC
 * ({@link createRemoteTransport}), the transport that routes between it and the in-process one
 * ({@link createRoutingTransport}), and the worker side ({@link createRemoteWorker}).
 */
export { createRemoteTransport, resolveRemoteTransportOptions } from './remote-transport.js';
export type {
  CancelRequest,
  HeartbeatReport,
  RemoteConnection,
  RemoteSession,
  RemoteTransport,
  RemoteTransportOptions,
  ReportedWorkerLoad,
  ResolvedRemoteTransportOptions,
  WorkerLossListener,
} from './remote-transport.js';
export { createRoutingTransport } from './routing-transport.js';
export type { RoutingTransportOptions } from './routing-transport.js';
export { createRemoteWorker } from './remote-worker.js';
export type { RemoteWorker, RemoteWorkerOptions } from './remote-worker.js';
