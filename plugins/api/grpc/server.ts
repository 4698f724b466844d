/**
 * The SmartQueue gRPC server: the client service over an engine, standard health checking
 * (grpc.health.v1) and server reflection. Every call's failure becomes a status (errors.ts);
 * nothing a client sends can throw out of a handler.
 */
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { SmartQueueError } from '../../../engine/errors.js';
import type { TraceCarrier } from '../../../engine/stages.js';
import type { SmartQueueHandlers } from '../../../proto/generated/smartqueue/v1/SmartQueue.js';
import { shuttingDown, toServiceError } from './errors.js';
import { resolveGrpcApiOptions } from './options.js';
import type { GrpcApiOptions } from './options.js';
import { loadContract, SERVICE_NAME } from './proto.js';
import { createQueries } from './queries.js';
import { peerKey } from './rate-limit.js';
import type { RateLimiter } from './rate-limit.js';
import { createSubmitTask } from './submit-task.js';
import { createSubmitWorkflow } from './submit-workflow.js';
import { createWatchers } from './watch-run.js';

/** A gRPC API server; create it with {@link createGrpcApi}. */
export interface GrpcApi extends AsyncDisposable {
  /** Binds and starts serving; resolves to the bound port (useful with port 0). */
  start(host: string, port: number): Promise<number>;
  /**
   * Stops: new calls get UNAVAILABLE at once, health turns NOT_SERVING, watch streams end with
   * UNAVAILABLE, calls in flight get `shutdownGraceMs` to finish. The engine is left running.
   */
  close(): Promise<void>;
}

/**
 * Checks a call before it runs: throw a SmartQueueError with code UNAUTHENTICATED or
 * PERMISSION_DENIED (or any other) to refuse it with that status. `method` is the RPC name
 * (`SubmitTask`, `Connect`, ...); `request` is the request message of unary and
 * server-streaming calls, undefined for client- and bidi-streaming ones. It may return who the
 * caller is (e.g. the token's principal), which keys the rate limit instead of the peer address.
 */
export type GrpcAuthorize = (
  metadata: grpc.Metadata,
  method: string,
  request?: unknown,
) => void | string | Promise<void | string>;

/** What else runs on the same gRPC server (and how it is secured). */
export interface GrpcServerExtras {
  /** Server credentials (TLS, mutual TLS). @default insecure */
  credentials?: grpc.ServerCredentials;
  /** Checks every call of the client API (and of the added services that honour it). @default none */
  authorize?: GrpcAuthorize;
  /**
   * Rate limit of the client API, one bucket per caller (who `authorize` says it is, else the
   * peer's host); an empty bucket is RESOURCE_EXHAUSTED. @default none
   */
  rateLimit?: RateLimiter;
  /**
   * More services on the same port (e.g. the Workers service), added before the server starts.
   * Each gets a function that tells whether the server is shutting down.
   */
  services?: ((server: grpc.Server, closing: () => boolean) => void)[];
}

/** Creates the gRPC API over an engine and its checkpoint store. */
export function createGrpcApi(raw: GrpcApiOptions, extras: GrpcServerExtras = {}): GrpcApi {
  const options = resolveGrpcApiOptions(raw);
  const authorize = extras.authorize;
  const { definition, grpcType } = loadContract();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.limits.maxMessageBytes,
  });
  const health = new HealthImplementation({ '': 'SERVING', [SERVICE_NAME]: 'SERVING' });
  const queries = createQueries(options);
  const submitWorkflow = createSubmitWorkflow(options);
  const { submitTask, submitTasks, openRunOf } = createSubmitTask(options);
  const watchers = createWatchers(options, openRunOf);
  const limiter = extras.rateLimit;
  let closing: Promise<void> | undefined;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  /** Authorizes a call, then takes a token from its caller's rate-limit bucket. */
  const admit = async (call: grpc.ServerUnaryCall<unknown, unknown>, method: string): Promise<void> => {
    const who = await authorize?.(call.metadata, method, call.request);
    if (!limiter) return;
    limiter.take(typeof who === 'string' ? `principal:${who}` : peerKey(call.getPeer()));
  };

  const tracing = options.tracing;
  /** Runs a call that starts work in its server span, when tracing is on. */
  const traced =
    <Req, Res>(method: string, fn: (req: Req, traceContext?: TraceCarrier) => Promise<Res>) =>
    (req: Req, metadata: grpc.Metadata): Promise<Res> =>
      tracing ? tracing.serve(method, traceFields(metadata), (tc) => fn(req, tc), statusCodeOf) : fn(req);

  /** Wraps an async implementation as a unary handler that always answers with a status. */
  const unary =
    <Req, Res>(method: string, fn: (req: Req, metadata: grpc.Metadata) => Promise<Res>) =>
    (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
      if (closing) {
        callback(shuttingDown());
        return;
      }
      inFlight++;
      Promise.resolve()
        .then(() => admit(call as grpc.ServerUnaryCall<unknown, unknown>, method))
        .then(() => fn(call.request, call.metadata))
        .then(
          (res) => callback(null, res),
          (err: unknown) => callback(toServiceError(err)),
        )
        .finally(() => {
          if (--inFlight === 0) idle?.();
        });
    };

  /** Wraps a server-streaming implementation: admitted first, refused with a status. */
  const streaming =
    <Req, Res>(method: string, fn: (call: grpc.ServerWritableStream<Req, Res>) => void) =>
    (call: grpc.ServerWritableStream<Req, Res>): void => {
      if (closing) {
        call.emit('error', shuttingDown());
        return;
      }
      admit(call as unknown as grpc.ServerUnaryCall<unknown, unknown>, method).then(
        () => fn(call),
        (err: unknown) => call.emit('error', toServiceError(err)),
      );
    };

  const handlers: SmartQueueHandlers = {
    SubmitWorkflow: unary('SubmitWorkflow', traced('SubmitWorkflow', submitWorkflow)),
    SubmitTask: unary('SubmitTask', traced('SubmitTask', submitTask)),
    SubmitTasks: unary('SubmitTasks', traced('SubmitTasks', submitTasks)),
    GetRun: unary('GetRun', queries.getRun),
    GetTask: unary('GetTask', queries.getTask),
    ListRuns: unary('ListRuns', queries.listRuns),
    CancelRun: unary('CancelRun', queries.cancelRun),
    CancelTask: unary('CancelTask', queries.cancelTask),
    WatchRun: streaming('WatchRun', (call) => watchers.watch(call)),
    WatchTasks: streaming('WatchTasks', (call) => watchers.watchTasks(call)),
  };
  server.addService(grpcType.smartqueue.v1.SmartQueue.service, handlers);
  health.addToServer(server);
  new ReflectionService(definition).addToServer(server);
  for (const add of extras.services ?? []) add(server, () => closing !== undefined);

  const shutdown = async (): Promise<void> => {
    for (const name of ['', SERVICE_NAME]) health.setStatus(name, 'NOT_SERVING');
    watchers.endAll(new SmartQueueError('UNAVAILABLE', 'the server is shutting down'));
    if (inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        idle = resolve;
        timer = setTimeout(resolve, options.limits.shutdownGraceMs);
      });
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, options.limits.shutdownGraceMs);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  };

  const close = (): Promise<void> => (closing ??= shutdown());

  return {
    start(host, port) {
      if (closing) return Promise.reject(new SmartQueueError('UNAVAILABLE', 'the server is closed'));
      const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
      return new Promise((resolve, reject) => {
        server.bindAsync(
          address,
          extras.credentials ?? grpc.ServerCredentials.createInsecure(),
          (err, bound) => {
            if (err)
              reject(
                new SmartQueueError('UNAVAILABLE', `cannot listen on ${address}: ${err.message}`, {
                  cause: err,
                }),
              );
            else resolve(bound);
          },
        );
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The W3C trace-context fields of a call's metadata (the tracing plugin reads them). */
function traceFields(metadata: grpc.Metadata): TraceCarrier {
  const out: TraceCarrier = {};
  for (const key of ['traceparent', 'tracestate']) {
    const v = metadata.get(key)[0];
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}

/** The gRPC status code a thrown error answers with. */
function statusCodeOf(err: unknown): number {
  return toServiceError(err).code ?? grpc.status.UNKNOWN;
}
