/**
 * The in-process {@link Transport}: the embedded default, where scheduler and workers share one
 * process. It is on the hot path (100k tasks/s), so deliveries wait in one FIFO of parallel
 * arrays, drained by a single microtask: no closure or wrapper object per message, and the
 * order between an assignment and a later cancel of it is kept.
 */
import { SmartQueueError } from '../../../engine/errors.js';
import type {
  CallOptions,
  TaskAssignment,
  TaskResult,
  Transport,
  WorkerEndpoint,
} from '../../../engine/stages.js';

/** A cancel request, as passed to `Transport.cancel` and `WorkerEndpoint.onCancel`. */
export type CancelRequest = { runId: string; taskId: string; attempt: number };

/** Options of {@link createInProcessTransport}. */
export interface InProcessTransportOptions {
  /**
   * Called when a worker endpoint or a result listener throws. The error does not stop the
   * delivery of other messages.
   * @default rethrows the error from a fresh task, so it surfaces as an uncaught exception
   */
  onListenerError?: (error: unknown) => void;
}

/** {@link InProcessTransportOptions} with every default applied. */
export interface ResolvedInProcessTransportOptions {
  onListenerError: (error: unknown) => void;
}

/** The in-process transport; `await using` closes it. */
export interface InProcessTransport extends Transport, AsyncDisposable {}

function rethrowLater(error: unknown): void {
  setImmediate(() => {
    throw error;
  });
}

/** Validates options and applies defaults; throws `INVALID_OPTIONS` for bad options. */
export function resolveInProcessTransportOptions(
  raw: InProcessTransportOptions = {},
): ResolvedInProcessTransportOptions {
  const onListenerError = raw.onListenerError ?? rethrowLater;
  if (typeof onListenerError !== 'function') {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      'invalid in-process transport options: onListenerError must be a function',
    );
  }
  return { onListenerError };
}

const TASK = 0;
const CANCEL = 1;
const RESULT = 2;
type Kind = typeof TASK | typeof CANCEL | typeof RESULT;

function closedError(): SmartQueueError {
  return new SmartQueueError('UNAVAILABLE', 'the in-process transport is closed');
}

class InProcessTransportImpl implements InProcessTransport {
  readonly name = 'in-process';
  readonly #options: ResolvedInProcessTransportOptions;
  readonly #endpoints = new Map<string, WorkerEndpoint>();
  readonly #listeners = new Set<(result: TaskResult) => void>();
  // The delivery queue, as parallel arrays: kind, target endpoint (undefined for results), payload.
  readonly #kinds: Kind[] = [];
  readonly #targets: (WorkerEndpoint | undefined)[] = [];
  readonly #workerIds: (string | undefined)[] = [];
  readonly #payloads: (TaskAssignment | CancelRequest | TaskResult)[] = [];
  #drainScheduled = false;
  #closed = false;
  readonly #drain = (): void => this.#deliverQueued();

  constructor(options: ResolvedInProcessTransportOptions) {
    this.#options = options;
  }

  dispatch(assignment: TaskAssignment, options?: CallOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    const endpoint = this.#endpoints.get(assignment.workerId);
    if (endpoint === undefined) {
      return Promise.reject(
        new SmartQueueError(
          'UNAVAILABLE',
          `worker ${assignment.workerId} is not subscribed to the transport`,
          {
            details: { workerId: assignment.workerId, runId: assignment.runId, taskId: assignment.taskId },
          },
        ),
      );
    }
    this.#enqueue(TASK, endpoint, assignment.workerId, assignment);
    return Promise.resolve();
  }

  cancel(workerId: string, cancel: CancelRequest): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    const endpoint = this.#endpoints.get(workerId);
    // Nothing of a worker that is gone is still running here: there is nothing to cancel.
    if (endpoint !== undefined) this.#enqueue(CANCEL, endpoint, workerId, cancel);
    return Promise.resolve();
  }

  onResult(listener: (result: TaskResult) => void): () => void {
    // A listener added twice is one subscription; wrap it if it should hear each result twice.
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  subscribe(workerId: string, endpoint: WorkerEndpoint): Promise<() => Promise<void>> {
    if (this.#closed) return Promise.reject(closedError());
    const current = this.#endpoints.get(workerId);
    if (current !== undefined && current !== endpoint) {
      return Promise.reject(
        new SmartQueueError('ALREADY_EXISTS', `worker ${workerId} is already subscribed to the transport`, {
          details: { workerId },
        }),
      );
    }
    this.#endpoints.set(workerId, endpoint);
    return Promise.resolve(() => {
      if (this.#endpoints.get(workerId) === endpoint) this.#endpoints.delete(workerId);
      return Promise.resolve();
    });
  }

  publishResult(result: TaskResult, options?: CallOptions): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    if (options?.signal?.aborted) return Promise.reject(options.signal.reason);
    this.#enqueue(RESULT, undefined, undefined, result);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#endpoints.clear();
    this.#listeners.clear();
    this.#kinds.length = 0;
    this.#targets.length = 0;
    this.#workerIds.length = 0;
    this.#payloads.length = 0;
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #enqueue(
    kind: Kind,
    target: WorkerEndpoint | undefined,
    workerId: string | undefined,
    payload: TaskAssignment | CancelRequest | TaskResult,
  ): void {
    this.#kinds.push(kind);
    this.#targets.push(target);
    this.#workerIds.push(workerId);
    this.#payloads.push(payload);
    if (!this.#drainScheduled) {
      this.#drainScheduled = true;
      queueMicrotask(this.#drain);
    }
  }

  /**
   * Delivers everything queued, including messages queued by the listeners while it runs (in
   * the same loop, so a burst costs one microtask), then empties the arrays for reuse.
   */
  #deliverQueued(): void {
    const kinds = this.#kinds;
    const targets = this.#targets;
    const workerIds = this.#workerIds;
    const payloads = this.#payloads;
    try {
      // close() empties the arrays, which ends the loop.
      for (let i = 0; i < kinds.length; i++) {
        const kind = kinds[i];
        if (kind === RESULT) {
          for (const listener of this.#listeners) this.#call(listener, payloads[i]);
          continue;
        }
        const endpoint = targets[i]!;
        // Dropped when the worker unsubscribed (or was replaced) after the message was queued.
        if (this.#endpoints.get(workerIds[i]!) !== endpoint) continue;
        if (kind === TASK) this.#callTask(endpoint, payloads[i] as TaskAssignment);
        else this.#callCancel(endpoint, payloads[i] as CancelRequest);
      }
    } finally {
      kinds.length = 0;
      targets.length = 0;
      workerIds.length = 0;
      payloads.length = 0;
      this.#drainScheduled = false;
    }
  }

  #call(listener: (result: TaskResult) => void, payload: unknown): void {
    try {
      listener(payload as TaskResult);
    } catch (err) {
      this.#options.onListenerError(err);
    }
  }

  #callTask(endpoint: WorkerEndpoint, assignment: TaskAssignment): void {
    try {
      endpoint.onTask(assignment);
    } catch (err) {
      this.#options.onListenerError(err);
    }
  }

  #callCancel(endpoint: WorkerEndpoint, cancel: CancelRequest): void {
    try {
      endpoint.onCancel(cancel);
    } catch (err) {
      this.#options.onListenerError(err);
    }
  }
}

/**
 * Creates the in-process transport. `dispatch` resolves once the assignment is queued and
 * delivers it in a microtask; it rejects with `UNAVAILABLE` when the worker is not subscribed
 * or the transport is closed. Results go to every `onResult` listener. After `close()` nothing
 * more is delivered and every call but `onResult` rejects with `UNAVAILABLE`.
 */
export function createInProcessTransport(options: InProcessTransportOptions = {}): InProcessTransport {
  return new InProcessTransportImpl(resolveInProcessTransportOptions(options));
}
