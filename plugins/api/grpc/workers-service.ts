/**
 * The `smartqueue.v1.Workers` service: turns each `Connect` stream into a session of the remote
 * transport (plugins/transport/remote/), and `ReportResult` into a late result. Nothing a worker
 * sends can throw out of a handler: a malformed message ends its stream with a status.
 */
import type * as grpc from '@grpc/grpc-js';
import { SmartQueueError } from '../../../engine/errors.js';
import type { ServerMessage } from '../../../proto/generated/smartqueue/v1/ServerMessage.js';
import type { WorkerMessage__Output } from '../../../proto/generated/smartqueue/v1/WorkerMessage.js';
import type { WorkersHandlers } from '../../../proto/generated/smartqueue/v1/Workers.js';
import type { RemoteSession, RemoteTransport } from '../../transport/remote/remote-transport.js';
import { toServiceError } from './errors.js';
import { fromWireResult, toWireAssignment } from './workers-convert.js';
import { loadWorkersContract } from './workers-proto.js';

/** Options of {@link addWorkersService}. */
export interface WorkersServiceOptions {
  transport: RemoteTransport;
  /** Checks a call's metadata; throw a SmartQueueError (UNAUTHENTICATED, PERMISSION_DENIED) to refuse it. */
  authorize?: (metadata: grpc.Metadata, method: string, request?: unknown) => unknown;
  /** Whether the server is shutting down (new streams get UNAVAILABLE). */
  closing?: () => boolean;
}

type Stream = grpc.ServerDuplexStream<WorkerMessage__Output, ServerMessage>;

function fail(call: Stream, err: unknown): void {
  const status = toServiceError(err);
  try {
    call.emit('error', status);
  } catch {
    // Already closed.
  }
}

function session(call: Stream, options: WorkersServiceOptions): void {
  const { transport } = options;
  let current: RemoteSession | undefined;
  let done = false;
  const finish = (reason: string) => {
    if (done) return;
    done = true;
    current?.closed(reason);
  };
  call.on('data', (msg: WorkerMessage__Output) => {
    if (done) return;
    try {
      if (!current) {
        if (msg.kind !== 'register' || !msg.register)
          throw new SmartQueueError(
            'INVALID_ARGUMENT',
            'the first message of a worker stream must be register',
          );
        const r = msg.register;
        const workerId = r.workerId;
        current = transport.connect(
          { id: workerId, capacity: r.capacity, handlers: r.handlers, labels: r.labels },
          {
            sendTask: (a) => {
              if (!done) call.write({ assignment: toWireAssignment(a) });
            },
            sendCancel: (c) => {
              if (!done) call.write({ cancel: c });
            },
            sendSettings: (settings) => {
              if (!done) call.write({ settings });
            },
            end: (reason) => {
              if (done) return;
              done = true;
              fail(call, reason);
            },
          },
        );
        call.write({ registered: { workerId, heartbeatIntervalMs: transport.heartbeatIntervalMs } });
        return;
      }
      switch (msg.kind) {
        case 'heartbeat': {
          const h = msg.heartbeat;
          // Fields a worker does not send read as 0 (proto3 defaults); the transport checks ranges.
          current.heartbeat({
            running: h?.running ?? 0,
            load: h?.load ?? 0,
            threads: h?.threads ?? 0,
            busyThreads: h?.busyThreads ?? 0,
            queued: h?.queued ?? 0,
            cpu: h?.cpu ?? 0,
            memoryBytes: Number(h?.memoryBytes ?? 0),
            eventLoopLagMs: h?.eventLoopLagMs ?? 0,
          });
          break;
        }
        case 'result':
          if (!msg.result) throw new SmartQueueError('INVALID_ARGUMENT', 'result message without a result');
          current.result(fromWireResult(msg.result));
          break;
        case 'drain':
          current.drain(msg.drain?.reason || 'drain requested');
          break;
        case 'progress': {
          const p = msg.progress;
          if (!p?.runId || !p.taskId || !(p.attempt > 0))
            throw new SmartQueueError('INVALID_ARGUMENT', 'progress needs run_id, task_id and attempt');
          current.progress({
            runId: p.runId,
            taskId: p.taskId,
            attempt: p.attempt,
            ...(p.fraction !== undefined && { fraction: p.fraction }),
            ...(p.message && { message: p.message }),
          });
          break;
        }
        case 'register':
          throw new SmartQueueError('INVALID_ARGUMENT', 'register may only be sent once per stream');
        default:
          throw new SmartQueueError('INVALID_ARGUMENT', 'empty worker message');
      }
    } catch (err) {
      finish(err instanceof Error ? err.message : String(err));
      fail(call, err);
    }
  });
  call.on('end', () => {
    finish('the worker closed its stream');
    try {
      call.end();
    } catch {
      // Already closed.
    }
  });
  call.on('error', (err: Error) => finish(`stream error: ${err.message}`));
  call.on('cancelled', () => finish('the stream was cancelled'));
  call.on('close', () => finish('the connection closed'));
}

/** Adds the Workers service to a grpc-js server. */
export function addWorkersService(server: grpc.Server, options: WorkersServiceOptions): void {
  const { grpcType } = loadWorkersContract();
  const handlers: WorkersHandlers = {
    Connect: (call) => {
      if (options.closing?.()) {
        fail(call, new SmartQueueError('UNAVAILABLE', 'the server is shutting down'));
        return;
      }
      Promise.resolve()
        .then(() => options.authorize?.(call.metadata, 'Connect'))
        .then(
          () => session(call, options),
          (err: unknown) => fail(call, err),
        );
    },
    ReportResult: (call, callback) => {
      Promise.resolve()
        .then(async () => {
          if (options.closing?.()) throw new SmartQueueError('UNAVAILABLE', 'the server is shutting down');
          await options.authorize?.(call.metadata, 'ReportResult', call.request);
          const { workerId, result } = call.request;
          if (!workerId || !result)
            throw new SmartQueueError('INVALID_ARGUMENT', 'worker_id and result are required', {
              details: {
                fieldViolations: [
                  ...(workerId ? [] : [{ field: 'worker_id', description: 'required' }]),
                  ...(result ? [] : [{ field: 'result', description: 'required' }]),
                ],
              },
            });
          options.transport.reportResult(workerId, fromWireResult(result));
        })
        .then(
          () => callback(null, {}),
          (err: unknown) => callback(toServiceError(err)),
        );
    },
  };
  server.addService(grpcType.smartqueue.v1.Workers.service, handlers);
}
