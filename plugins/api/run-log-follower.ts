/**
 * Follows one run's event log: the recorded events from a sequence number, then live ones, all
 * read from the checkpoint store, so every event carries its sequence number and a resumed
 * follower neither skips nor repeats. Engine events only wake the reader up (a poll covers
 * events written by another process, and runs that finished before we subscribed). The store
 * is the buffer: a slow sink holds back its own reads and never makes the server buffer.
 * Shared by the gRPC WatchRun call and the WebSocket event stream.
 */
import type { EngineEventBus } from '../../engine/events.js';
import type { CheckpointEvent, CheckpointStore } from '../../engine/stages.js';

export interface RunLogFollowerOptions {
  store: CheckpointStore;
  engineEvents: EngineEventBus;
  runId: string;
  /** First sequence number to deliver (1-based). */
  from: number;
  /** The run is known to be over: deliver what the log holds, then finish. */
  finished: boolean;
  /** Re-read interval (ms). */
  pollMs: number;
  /** Delivers one event; resolves to false when the sink has stopped the stream. */
  send(event: CheckpointEvent): boolean | Promise<boolean>;
  /** Every event of the finished run was delivered. */
  onFinished(): void;
  /** Every event recorded so far was delivered (called after each read that reached the end). */
  onCaughtUp?(): void;
  /** The log could not be read. */
  onError(error: unknown): void;
}

export interface RunLogFollower {
  /** Stops reading and releases the engine listener and the poll timer. */
  stop(): void;
  /** The next sequence number to deliver (resume point). */
  readonly next: number;
}

export function followRunLog(o: RunLogFollowerOptions): RunLogFollower {
  let next = o.from;
  let finished = o.finished;
  let stopped = false;
  let reading = false;
  let again = false;

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    clearInterval(timer);
  };

  const read = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const endAfter = finished;
        for (const e of await o.store.getEvents(o.runId, next)) {
          if (stopped) return;
          if ((e.seq ?? 0) < next) continue;
          next = (e.seq ?? next) + 1;
          if (!(await o.send(e)) || stopped) return stop();
        }
        if (endAfter && !stopped) {
          stop();
          return o.onFinished();
        }
        if (!again && !stopped) o.onCaughtUp?.();
      } while (again && !stopped);
    } catch (err) {
      if (!stopped) {
        stop();
        o.onError(err);
      }
    } finally {
      reading = false;
    }
  };

  const unsubscribe = o.engineEvents.onAny((name, payload) => {
    if ((payload as { runId?: string }).runId !== o.runId) return;
    if (name === 'run:state:finished') finished = true;
    void read();
  });
  const poll = async (): Promise<void> => {
    try {
      if (!finished && (await o.store.getRun(o.runId))?.status !== 'running') finished = true;
    } catch {
      // read() reports store failures
    }
    await read();
  };
  const timer = setInterval(() => void poll(), o.pollMs);
  timer.unref();
  void read();
  return {
    stop,
    get next() {
      return next;
    },
  };
}
