/** The in-process transport: the embedded default, scheduler and workers in one process. */
export { createInProcessTransport, resolveInProcessTransportOptions } from './in-process-transport.js';
export type {
  CancelRequest,
  InProcessTransport,
  InProcessTransportOptions,
  ResolvedInProcessTransportOptions,
} from './in-process-transport.js';
