/** Options of the gRPC API, validated and defaulted in one place. */
import { SmartQueueError } from '../../../engine/errors.js';
import type { Engine } from '../../../engine/engine.js';
import type { CheckpointStore, TraceCarrier } from '../../../engine/stages.js';

/**
 * Traces the calls that start work (plugins/telemetry/tracing `createRpcTracer`): runs `fn` in
 * the call's server span, continuing the caller's trace from `metadata` (W3C `traceparent`);
 * `fn` gets that span's context to hand to the engine. `statusOf` maps a thrown error to its
 * gRPC status code.
 */
export interface RpcTracing {
  serve<T>(
    method: string,
    metadata: TraceCarrier,
    fn: (traceContext: TraceCarrier) => Promise<T>,
    statusOf: (err: unknown) => number,
  ): Promise<T>;
}

/** Limits that protect the server from oversized requests. */
export interface GrpcApiLimits {
  /** Largest request message accepted (bytes); larger ones get RESOURCE_EXHAUSTED. @default 4194304 (4 MiB) */
  maxMessageBytes?: number;
  /** Most tasks one SubmitWorkflow may start; more is RESOURCE_EXHAUSTED. @default 10000 */
  maxTasksPerSubmission?: number;
  /** Idempotency keys remembered (per kind); the oldest are forgotten first. @default 100000 */
  maxIdempotencyKeys?: number;
  /** How long `close()` waits for calls in flight before cutting them off (ms). @default 5000 */
  shutdownGraceMs?: number;
}

export interface GrpcApiOptions {
  engine: Engine;
  /** The engine's checkpoint store (reads: runs, tasks, the event log). */
  store: CheckpointStore;
  limits?: GrpcApiLimits;
  /** Server spans of SubmitWorkflow/SubmitTask/SubmitTasks. @default none (untraced) */
  tracing?: RpcTracing;
  /**
   * Shares SubmitWorkflow's idempotency keys across the instances of a cluster. Without it, keys
   * are remembered by this process only. @default none
   */
  sharedKeys?: SharedIdempotencyKeys;
}

/** Idempotency keys held for all instances (a Coordinator's `reserve`, e.g. etcd). */
export interface SharedIdempotencyKeys {
  /** This instance's id (a key it reserved but has no run for yet is its own to finish). */
  instanceId: string;
  /** The coordinator's `reserve`: the first value for a key wins. */
  reserve(key: string, value: string, options: { ttlMs: number }): Promise<string>;
  /** How long a key is held. @default 86400000 (24 h) */
  ttlMs?: number;
  /** How long to wait for another instance to create the run of a key it reserved. @default 10000 */
  waitMs?: number;
}

export interface ResolvedGrpcApiOptions {
  engine: Engine;
  store: CheckpointStore;
  limits: Required<GrpcApiLimits>;
  tracing?: RpcTracing;
  sharedKeys?: SharedIdempotencyKeys;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new SmartQueueError('INVALID_OPTIONS', `limits.${name} must be a positive integer, got ${value}`);
  }
  return value;
}

export function resolveGrpcApiOptions(raw: GrpcApiOptions): ResolvedGrpcApiOptions {
  if (!raw?.engine || !raw.store)
    throw new SmartQueueError('INVALID_OPTIONS', 'createGrpcApi needs engine and store');
  const l = raw.limits ?? {};
  return {
    engine: raw.engine,
    store: raw.store,
    limits: {
      maxMessageBytes: positiveInt('maxMessageBytes', l.maxMessageBytes, 4 * 1024 * 1024),
      maxTasksPerSubmission: positiveInt('maxTasksPerSubmission', l.maxTasksPerSubmission, 10_000),
      maxIdempotencyKeys: positiveInt('maxIdempotencyKeys', l.maxIdempotencyKeys, 100_000),
      shutdownGraceMs: positiveInt('shutdownGraceMs', l.shutdownGraceMs, 5000),
    },
    ...(raw.tracing && { tracing: raw.tracing }),
    ...(raw.sharedKeys && { sharedKeys: raw.sharedKeys }),
  };
}
