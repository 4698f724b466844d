/**
 * One WebSocket event stream (`/v1/events?run=<id>&from=<seq>`): the run's recorded events from
 * `from`, then live ones, through the shared run-log follower (plugins/api/run-log-follower.ts).
 * A consumer that stays more than `maxBufferedBytes` behind for
 * `slowConsumerTimeoutMs` is closed with 1013 instead of buffered without bound.
 */
import type { WebSocket } from 'ws';
import { errorMessage, SmartQueueError } from '../../../engine/errors.js';
import type { EngineEventBus } from '../../../engine/events.js';
import type { CheckpointEvent, CheckpointStore } from '../../../engine/stages.js';
import type { ResolvedHttpServerOptions } from './options.js';
import { followRunLog } from '../run-log-follower.js';

/**
 * One message of the event stream (JSON text frame). See README.md in this folder.
 */
export interface EventMessage {
  /** Position in the run's event log, from 1; resume with `from=<seq + 1>`. */
  seq: number;
  runId: string;
  /** Event name, `area:noun:verb` (`task:attempt:dispatched`, `run:state:finished`, ...). */
  type: string;
  /** When it happened (RFC 3339, UTC, milliseconds). */
  at: string;
  /** The task it is about; absent for run events. */
  taskId?: string;
  /** Attempt number, for attempt events. */
  attempt?: number;
  /** Event details (worker id, error message, reason, ...). */
  data?: Record<string, unknown>;
}

/** Close codes of the stream (RFC 6455 registry). */
export const CLOSE = {
  /** The run finished and every event was sent. */
  RUN_FINISHED: 1000,
  /** The server is shutting down: reconnect (elsewhere) with `from`. */
  GOING_AWAY: 1001,
  /** Bad request: missing or unknown run, bad `from`. */
  POLICY: 1008,
  /** Failed reading the log. */
  INTERNAL: 1011,
  /** Slow consumer or too many streams: try again later with `from`. */
  TRY_AGAIN_LATER: 1013,
} as const;

export function toEventMessage(e: CheckpointEvent): EventMessage {
  const msg: EventMessage = {
    seq: e.seq ?? 0,
    runId: e.runId,
    type: e.type,
    at: new Date(e.at).toISOString(),
  };
  if (e.taskId !== undefined) msg.taskId = e.taskId;
  if (e.attempt !== undefined) msg.attempt = e.attempt;
  if (e.data !== undefined && Object.keys(e.data).length) msg.data = e.data;
  return msg;
}

/** Close reasons are limited to 123 bytes by the protocol. */
function reasonText(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= 123
    ? text
    : buf
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD$/, '') + '...';
}

/** The parsed query of a stream request; throws INVALID_ARGUMENT for bad values. */
export function parseStreamQuery(url: URL): { runId: string; from: number } {
  const runId = url.searchParams.get('run') ?? '';
  if (!runId) throw new SmartQueueError('INVALID_ARGUMENT', 'query parameter run is required');
  if (runId.length > 256) throw new SmartQueueError('INVALID_ARGUMENT', 'run is longer than 256 characters');
  const fromText = url.searchParams.get('from');
  let from = 1;
  if (fromText !== null && fromText !== '') {
    if (!/^\d{1,15}$/.test(fromText)) {
      throw new SmartQueueError(
        'INVALID_ARGUMENT',
        `from must be a sequence number (0 or more), got ${fromText}`,
      );
    }
    from = Math.max(1, Number(fromText));
  }
  return { runId, from };
}

interface StreamDeps {
  store: CheckpointStore;
  engineEvents: EngineEventBus;
  limits: ResolvedHttpServerOptions['limits'];
}

/** A live stream; `stop` closes it with the given code and reason. */
export interface EventStream {
  stop(code: number, reason: string): void;
  readonly done: Promise<void>;
}

/** Streams a run's events to an accepted WebSocket. `finished`: the run is known to be over. */
export function streamRunEvents(
  ws: WebSocket,
  query: { runId: string; from: number; finished: boolean },
  deps: StreamDeps,
): EventStream {
  const { store, engineEvents, limits } = deps;
  let stopped = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const stop = (code: number, reason: string): void => {
    if (stopped) return;
    stopped = true;
    follower.stop();
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      ws.close(code, reasonText(reason));
      // A consumer that never reads never answers the close frame either.
      setTimeout(() => ws.terminate(), limits.closeGraceMs).unref();
    }
    resolveDone();
  };

  /** Waits until the socket's queue is back under half the limit; false when it stays behind. */
  const drained = async (): Promise<boolean> => {
    const until = Date.now() + limits.slowConsumerTimeoutMs;
    while (ws.bufferedAmount > limits.maxBufferedBytes / 2) {
      if (stopped || ws.readyState !== ws.OPEN) return false;
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  };

  const follower = followRunLog({
    store,
    engineEvents,
    runId: query.runId,
    from: query.from,
    finished: query.finished,
    pollMs: limits.pollMs,
    send: async (e) => {
      ws.send(JSON.stringify(toEventMessage(e)));
      if (ws.bufferedAmount > limits.maxBufferedBytes && !(await drained())) {
        if (!stopped) {
          stop(
            CLOSE.TRY_AGAIN_LATER,
            `slow consumer: over ${limits.maxBufferedBytes} bytes unsent for ${limits.slowConsumerTimeoutMs} ms; resume with from=${follower.next}`,
          );
        }
        return false;
      }
      return !stopped;
    },
    onFinished: () => stop(CLOSE.RUN_FINISHED, 'run finished'),
    onError: (err) => stop(CLOSE.INTERNAL, `cannot read the event log: ${errorMessage(err)}`),
  });
  ws.on('close', () => stop(CLOSE.GOING_AWAY, 'closed'));
  ws.on('error', () => stop(CLOSE.GOING_AWAY, 'error'));
  return { stop, done };
}
