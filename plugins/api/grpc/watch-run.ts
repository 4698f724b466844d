/**
 * WatchRun: the run's recorded events from `from_seq`, then live ones, all read from the store's
 * event log (so every message has its sequence number and a resumed stream neither skips nor
 * repeats). Engine events only wake the reader up; the store is the buffer, so a slow client
 * holds back its own stream and never makes the server buffer without bound.
 */
import type * as grpc from '@grpc/grpc-js';
import { SmartQueueError } from '../../../engine/errors.js';
import type { RunEvent } from '../../../proto/generated/smartqueue/v1/RunEvent.js';
import type { WatchRunRequest__Output } from '../../../proto/generated/smartqueue/v1/WatchRunRequest.js';
import { toRunEvent } from './convert.js';
import { badRequest, toServiceError } from './errors.js';
import type { ResolvedGrpcApiOptions } from './options.js';

type WatchCall = grpc.ServerWritableStream<WatchRunRequest__Output, RunEvent>;

/** Fallback re-read interval, for events recorded without an engine event (another process). */
const POLL_MS = 500;

export interface Watchers {
  watch(call: WatchCall): void;
  /** Ends every stream with the given error (shutdown). */
  endAll(error: unknown): void;
}

export function createWatchers(options: ResolvedGrpcApiOptions): Watchers {
  const { engine, store } = options;
  const live = new Set<(error: unknown) => void>();

  const watch = (call: WatchCall): void => {
    const req = call.request;
    let next = Math.max(1, req.fromSeq || 1);
    let finished = false;
    let stopped = false;
    let reading = false;
    let again = false;

    const stop = (error?: unknown): void => {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      clearInterval(timer);
      live.delete(stop);
      if (call.cancelled) return;
      if (error === undefined) call.end();
      else call.emit('error', toServiceError(error));
    };

    // Also settles when the client goes away, so a stalled read never outlives its stream.
    // Waits for the client to read (or leave); removes its listeners either way, so a slow
    // reader does not pile up listeners on the call.
    const drain = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          call.off('drain', done);
          call.off('cancelled', done);
          call.off('close', done);
          resolve();
        };
        call.on('drain', done);
        call.on('cancelled', done);
        call.on('close', done);
      });

    /** Sends what the log holds from `next`; ends the stream once the finished run is sent. */
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
          for (const e of await store.getEvents(req.runId, next)) {
            if (stopped) return;
            if ((e.seq ?? 0) < next) continue;
            next = (e.seq ?? next) + 1;
            if (!call.write(toRunEvent(e))) await drain();
          }
          if (endAfter) return stop();
        } while (again && !stopped);
      } catch (err) {
        stop(err);
      } finally {
        reading = false;
      }
    };

    const unsubscribe = engine.events.onAny((name, payload) => {
      if ((payload as { runId?: string }).runId !== req.runId) return;
      if (name === 'run:state:finished') finished = true;
      void read();
    });
    const timer = setInterval(() => void read(), POLL_MS).unref();
    live.add(stop);
    call.on('cancelled', () => stop());

    void (async () => {
      try {
        if (!req.runId) throw badRequest([{ field: 'run_id', description: 'is required' }]);
        if (req.fromSeq < 0) throw badRequest([{ field: 'from_seq', description: 'must not be negative' }]);
        const rec = await store.getRun(req.runId);
        if (!rec) throw new SmartQueueError('NOT_FOUND', `unknown run ${req.runId}`);
        if (rec.status !== 'running' || !engine.activeRuns().has(req.runId)) {
          // Finished (or interrupted and not live here): the log is all there will be.
          if (rec.status !== 'running') finished = true;
        }
        await read();
      } catch (err) {
        stop(err);
      }
    })();
  };

  return {
    watch,
    endAll(error) {
      for (const stop of [...live]) stop(error);
    },
  };
}
