/** Options of the HTTP server (/healthz, /metrics, /v1/events), validated and defaulted in one place. */
import { SmartQueueError } from '../../../engine/errors.js';
import type { EngineEventBus } from '../../../engine/events.js';
import type { CheckpointStore } from '../../../engine/stages.js';
import type { Authorizer } from '../grpc/auth.js';
import type { ServerTlsOptions } from '../grpc/tls.js';
import type { EngineMetrics } from '../../telemetry/metrics/index.js';

/** Limits of the WebSocket event stream. */
export interface EventStreamLimits {
  /**
   * Bytes a connection may have queued and unsent before the stream pauses to let it drain.
   * @default 1048576 (1 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * How long a connection may stay above `maxBufferedBytes` before it is closed with 1013
   * ("try again later": resume from the last sequence number received). @default 10000
   */
  slowConsumerTimeoutMs?: number;
  /** Open event streams at most; more are closed with 1013. @default 1000 */
  maxConnections?: number;
  /** Re-read interval of the event log, for events recorded by another process (ms). @default 500 */
  pollMs?: number;
  /** Time a closing connection gets to finish its close handshake before it is cut (ms). @default 5000 */
  closeGraceMs?: number;
}

export interface HttpServerOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port to listen on; 0 picks a free one (see `start()`). @default 9464 */
  port?: number;
  /** The engine's checkpoint store: the event stream reads the run's event log from it. */
  store: CheckpointStore;
  /** The engine's events: wake-ups for the stream and the source of the metrics. */
  engineEvents: EngineEventBus;
  /**
   * Metrics served at /metrics, or `false` for none (404).
   * @default createSchedulerMetrics({ engineEvents, readyTasks })
   */
  metrics?: EngineMetrics | false;
  /** Current number of ready tasks (e.g. `() => engine.readyCount`), for the default metrics. */
  readyTasks?: () => number;
  /** Serve HTTPS / WSS (mutual TLS when `ca` is given). @default undefined (plain HTTP) */
  tls?: ServerTlsOptions;
  /**
   * Checks `Authorization: Bearer <token>` on /v1/events (kind `client`, the run's namespace).
   * /healthz and /metrics stay open for probes and scrapers. @default undefined (no auth)
   */
  authorizer?: Authorizer;
  limits?: EventStreamLimits;
}

export interface ResolvedHttpServerOptions {
  host: string;
  port: number;
  store: CheckpointStore;
  engineEvents: EngineEventBus;
  metrics: EngineMetrics | false | undefined;
  readyTasks: (() => number) | undefined;
  tls: ServerTlsOptions | undefined;
  authorizer: Authorizer | undefined;
  limits: Required<EventStreamLimits>;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new SmartQueueError('INVALID_OPTIONS', `limits.${name} must be a positive integer, got ${value}`);
  }
  return value;
}

export function resolveHttpServerOptions(raw: HttpServerOptions): ResolvedHttpServerOptions {
  if (!raw?.store || !raw.engineEvents) {
    throw new SmartQueueError('INVALID_OPTIONS', 'createHttpServer needs store and engineEvents');
  }
  const port = raw.port ?? 9464;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SmartQueueError('INVALID_OPTIONS', `port must be 0..65535, got ${port}`);
  }
  const l = raw.limits ?? {};
  return {
    host: raw.host ?? '127.0.0.1',
    port,
    store: raw.store,
    engineEvents: raw.engineEvents,
    metrics: raw.metrics,
    readyTasks: raw.readyTasks,
    tls: raw.tls,
    authorizer: raw.authorizer,
    limits: {
      maxBufferedBytes: positiveInt('maxBufferedBytes', l.maxBufferedBytes, 1024 * 1024),
      slowConsumerTimeoutMs: positiveInt('slowConsumerTimeoutMs', l.slowConsumerTimeoutMs, 10_000),
      maxConnections: positiveInt('maxConnections', l.maxConnections, 1000),
      pollMs: positiveInt('pollMs', l.pollMs, 500),
      closeGraceMs: positiveInt('closeGraceMs', l.closeGraceMs, 5000),
    },
  };
}
