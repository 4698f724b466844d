/**
 * A small typed client of the SmartQueue gRPC API: promises for unary calls, async iterables
 * for WatchRun and WatchTasks. Failed calls reject with the grpc-js ServiceError (`code`, `details`,
 * `metadata`); {@link decodeBadRequest} reads its field violations.
 */
import * as grpc from '@grpc/grpc-js';
import type { CancelRunRequest } from '../../../proto/generated/smartqueue/v1/CancelRunRequest.js';
import type { CancelTaskRequest } from '../../../proto/generated/smartqueue/v1/CancelTaskRequest.js';
import type { GetRunRequest } from '../../../proto/generated/smartqueue/v1/GetRunRequest.js';
import type { GetTaskRequest } from '../../../proto/generated/smartqueue/v1/GetTaskRequest.js';
import type { ListRunsRequest } from '../../../proto/generated/smartqueue/v1/ListRunsRequest.js';
import type { ListRunsResponse__Output } from '../../../proto/generated/smartqueue/v1/ListRunsResponse.js';
import type { Run__Output } from '../../../proto/generated/smartqueue/v1/Run.js';
import type { RunEvent__Output } from '../../../proto/generated/smartqueue/v1/RunEvent.js';
import type { SmartQueueClient as RawClient } from '../../../proto/generated/smartqueue/v1/SmartQueue.js';
import type { SubmitTaskRequest } from '../../../proto/generated/smartqueue/v1/SubmitTaskRequest.js';
import type { SubmitTaskResponse__Output } from '../../../proto/generated/smartqueue/v1/SubmitTaskResponse.js';
import type { SubmitTasksRequest } from '../../../proto/generated/smartqueue/v1/SubmitTasksRequest.js';
import type { SubmitTasksResponse__Output } from '../../../proto/generated/smartqueue/v1/SubmitTasksResponse.js';
import type { TaskUpdate__Output } from '../../../proto/generated/smartqueue/v1/TaskUpdate.js';
import type { WatchTasksRequest } from '../../../proto/generated/smartqueue/v1/WatchTasksRequest.js';
import type { SubmitWorkflowRequest } from '../../../proto/generated/smartqueue/v1/SubmitWorkflowRequest.js';
import type { SubmitWorkflowResponse__Output } from '../../../proto/generated/smartqueue/v1/SubmitWorkflowResponse.js';
import type { Task__Output } from '../../../proto/generated/smartqueue/v1/Task.js';
import type { WatchRunRequest } from '../../../proto/generated/smartqueue/v1/WatchRunRequest.js';
import { loadContract } from './proto.js';

/** Per-call options. */
export interface CallOptions {
  /** Give up after this many milliseconds (DEADLINE_EXCEEDED). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface SmartQueueClient extends AsyncDisposable {
  submitWorkflow(req: SubmitWorkflowRequest, options?: CallOptions): Promise<SubmitWorkflowResponse__Output>;
  submitTask(req: SubmitTaskRequest, options?: CallOptions): Promise<SubmitTaskResponse__Output>;
  /** Several tasks into one run, all or none. */
  submitTasks(req: SubmitTasksRequest, options?: CallOptions): Promise<SubmitTasksResponse__Output>;
  getRun(req: GetRunRequest, options?: CallOptions): Promise<Run__Output>;
  getTask(req: GetTaskRequest, options?: CallOptions): Promise<Task__Output>;
  listRuns(req: ListRunsRequest, options?: CallOptions): Promise<ListRunsResponse__Output>;
  cancelRun(req: CancelRunRequest, options?: CallOptions): Promise<void>;
  cancelTask(req: CancelTaskRequest, options?: CallOptions): Promise<void>;
  /** The run's events; break out of the loop (or abort the signal) to cancel the stream. */
  watchRun(req: WatchRunRequest, options?: { signal?: AbortSignal }): AsyncIterable<RunEvent__Output>;
  /** State changes of tasks of a run; ends once the listed tasks are all final (or with the run). */
  watchTasks(req: WatchTasksRequest, options?: { signal?: AbortSignal }): AsyncIterable<TaskUpdate__Output>;
  /** The underlying grpc-js client (health checks, channel state). */
  readonly raw: RawClient;
  close(): void;
}

type Callback<Res> = (err: grpc.ServiceError | null, res?: Res) => void;
type UnaryMethod<Req, Res> = (req: Req, options: grpc.CallOptions, cb: Callback<Res>) => grpc.ClientUnaryCall;

function call<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, options: CallOptions = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const callOptions: grpc.CallOptions =
      options.timeoutMs !== undefined ? { deadline: Date.now() + options.timeoutMs } : {};
    const pending = method(req, callOptions, (err, res) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res!);
    });
    const onAbort = () => pending.cancel();
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A server stream as an async iterable; leaving the loop or aborting cancels the call. */
function iterate<T>(open: () => grpc.ClientReadableStream<unknown>, signal?: AbortSignal): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      const stream = open();
      const onAbort = () => stream.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const item of stream as AsyncIterable<T>) yield item;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        stream.cancel();
      }
    },
  };
}

/** Connects (lazily) to a SmartQueue server at `host:port`, without TLS. */
export function createSmartQueueClient(
  address: string,
  options: { credentials?: grpc.ChannelCredentials; channelOptions?: grpc.ChannelOptions } = {},
): SmartQueueClient {
  const { grpcType } = loadContract();
  const raw = new grpcType.smartqueue.v1.SmartQueue(
    address,
    options.credentials ?? grpc.credentials.createInsecure(),
    options.channelOptions,
  );
  const bind = <Req, Res>(m: unknown) => (m as UnaryMethod<Req, Res>).bind(raw);
  return {
    raw,
    submitWorkflow: (req, o) => call(bind(raw.SubmitWorkflow), req, o),
    submitTask: (req, o) => call(bind(raw.SubmitTask), req, o),
    submitTasks: (req, o) => call(bind(raw.SubmitTasks), req, o),
    getRun: (req, o) => call(bind(raw.GetRun), req, o),
    getTask: (req, o) => call(bind(raw.GetTask), req, o),
    listRuns: (req, o) => call(bind(raw.ListRuns), req, o),
    cancelRun: async (req, o) => {
      await call(bind(raw.CancelRun), req, o);
    },
    cancelTask: async (req, o) => {
      await call(bind(raw.CancelTask), req, o);
    },
    watchRun: (req, o = {}) => iterate<RunEvent__Output>(() => raw.WatchRun(req), o.signal),
    watchTasks: (req, o = {}) => iterate<TaskUpdate__Output>(() => raw.WatchTasks(req), o.signal),
    close: () => raw.close(),
    [Symbol.asyncDispose]: async () => raw.close(),
  };
}
