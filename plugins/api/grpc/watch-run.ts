/**
 * WatchRun: the run's recorded events from `from_seq`, then live ones, through the shared
 * run-log follower (plugins/api/run-log-follower.ts); a slow client holds back its own stream.
 */
import type * as grpc from '@grpc/grpc-js';
import { SmartQueueError } from '../../../engine/errors.js';
import type { RunEvent } from '../../../proto/generated/smartqueue/v1/RunEvent.js';
import type { WatchRunRequest__Output } from '../../../proto/generated/smartqueue/v1/WatchRunRequest.js';
import { toRunEvent } from './convert.js';
import { badRequest, toServiceError } from './errors.js';
import type { ResolvedGrpcApiOptions } from './options.js';
import { followRunLog } from '../run-log-follower.js';
import type { RunLogFollower } from '../run-log-follower.js';

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
    let follower: RunLogFollower | undefined;
    let stopped = false;

    const stop = (error?: unknown): void => {
      if (stopped) return;
      stopped = true;
      follower?.stop();
      live.delete(stop);
      if (call.cancelled) return;
      if (error === undefined) call.end();
      else call.emit('error', toServiceError(error));
    };

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

    live.add(stop);
    call.on('cancelled', () => stop());

    void (async () => {
      try {
        if (!req.runId) throw badRequest([{ field: 'run_id', description: 'is required' }]);
        if (req.fromSeq < 0) throw badRequest([{ field: 'from_seq', description: 'must not be negative' }]);
        const rec = await store.getRun(req.runId);
        if (!rec) throw new SmartQueueError('NOT_FOUND', `unknown run ${req.runId}`);
        if (stopped) return;
        follower = followRunLog({
          store,
          engineEvents: engine.events,
          runId: req.runId,
          from: Math.max(1, req.fromSeq || 1),
          // Finished: the log is all there will be.
          finished: rec.status !== 'running',
          pollMs: POLL_MS,
          send: async (e) => {
            if (!call.write(toRunEvent(e))) await drain();
            return !stopped;
          },
          onFinished: () => stop(),
          onError: (err) => stop(err),
        });
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
