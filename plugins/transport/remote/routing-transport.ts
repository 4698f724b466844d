/**
 * One {@link Transport} over two: the in-process one for the server's own workers and the remote
 * one for connected worker processes. Assignments and cancels go by worker id; results of both
 * reach every listener.
 */
import type {
  CallOptions,
  TaskAssignment,
  TaskResult,
  Transport,
  WorkerEndpoint,
} from '../../../engine/stages.js';

/** Options of {@link createRoutingTransport}. */
export interface RoutingTransportOptions {
  /** Carries work to the workers for which `isLocal(id)` is true. */
  local: Transport;
  /** Carries work to every other worker. */
  remote: Transport;
  isLocal(workerId: string): boolean;
}

/**
 * Creates the routing transport. `subscribe` and `publishResult` (the worker side) go to the
 * local transport; `close()` closes both.
 */
export function createRoutingTransport(options: RoutingTransportOptions): Transport & AsyncDisposable {
  const { local, remote, isLocal } = options;
  const pick = (workerId: string) => (isLocal(workerId) ? local : remote);
  const close = async () => {
    await Promise.all([local.close(), remote.close()]);
  };
  return {
    name: `routing(${local.name}+${remote.name})`,
    dispatch: (a: TaskAssignment, o?: CallOptions) => pick(a.workerId).dispatch(a, o),
    cancel: (workerId, c) => pick(workerId).cancel(workerId, c),
    onResult(listener: (r: TaskResult) => void) {
      const offLocal = local.onResult(listener);
      const offRemote = remote.onResult(listener);
      return () => {
        offLocal();
        offRemote();
      };
    },
    subscribe: (workerId: string, endpoint: WorkerEndpoint) => pick(workerId).subscribe(workerId, endpoint),
    publishResult: (r, o) => pick(r.workerId).publishResult(r, o),
    close,
    [Symbol.asyncDispose]: close,
  };
}
