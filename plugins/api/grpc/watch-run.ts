/**
 * WatchRun and WatchTasks: a run's recorded events from `from_seq`, then live ones, through the
 * shared run-log follower (plugins/api/run-log-follower.ts). WatchRun sends every event;
 * WatchTasks sends the task-state changes of the tasks asked for and ends once they are all
 * final. A slow client holds back its own stream (the store is the buffer).
 */
import type * as grpc from '@grpc/grpc-js';
import { SmartQueueError } from '../../../engine/errors.js';
import { isTerminal } from '../../../engine/frontier.js';
import type { CheckpointEvent, CheckpointStore } from '../../../engine/stages.js';
import type { RunEvent } from '../../../proto/generated/smartqueue/v1/RunEvent.js';
import type { TaskUpdate } from '../../../proto/generated/smartqueue/v1/TaskUpdate.js';
import type { WatchRunRequest__Output } from '../../../proto/generated/smartqueue/v1/WatchRunRequest.js';
import type { WatchTasksRequest__Output } from '../../../proto/generated/smartqueue/v1/WatchTasksRequest.js';
import { isFinalTaskStatus, toRunEvent, toTaskUpdate } from './convert.js';
import { badRequest, toServiceError } from './errors.js';
import type { ResolvedGrpcApiOptions } from './options.js';
import { followRunLog } from '../run-log-follower.js';
import type { RunLogFollower } from '../run-log-follower.js';

type WatchRunCall = grpc.ServerWritableStream<WatchRunRequest__Output, RunEvent>;
type WatchTasksCall = grpc.ServerWritableStream<WatchTasksRequest__Output, TaskUpdate>;

/** Fallback re-read interval, for events recorded without an engine event (another process). */
const POLL_MS = 500;

/** What one stream sends: its run, where to start, and how events become messages. */
interface StreamPlan<Msg> {
  runId: string;
  from: number;
  finished: boolean;
  /** The message for an event, or undefined to skip it. */
  map(e: CheckpointEvent): Msg | undefined;
  /**
   * Asked after each sent message and whenever the stream has caught up with the log: true ends
   * the stream (everything asked for was sent).
   */
  complete?(when: 'sent' | 'caught-up'): boolean;
}

export interface Watchers {
  watch(call: WatchRunCall): void;
  watchTasks(call: WatchTasksCall): void;
  /** Ends every stream with the given error (shutdown). */
  endAll(error: unknown): void;
}

/** Finds the namespace's open run (for WatchTasks by namespace). */
export type NamespaceRunLookup = (namespace: string) => string | undefined;

async function runOf(store: CheckpointStore, runId: string) {
  const rec = await store.getRun(runId);
  if (!rec) throw new SmartQueueError('NOT_FOUND', `unknown run ${runId}`);
  return rec;
}

export function createWatchers(options: ResolvedGrpcApiOptions, namespaceRun: NamespaceRunLookup): Watchers {
  const { engine, store } = options;
  const live = new Set<(error: unknown) => void>();

  /** Streams what `setup` plans, with back-pressure, cancellation and shutdown handled once. */
  const stream = <Req, Msg>(
    call: grpc.ServerWritableStream<Req, Msg>,
    setup: (req: Req) => Promise<StreamPlan<Msg>>,
  ): void => {
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
        const plan = await setup(call.request);
        if (stopped) return;
        follower = followRunLog({
          store,
          engineEvents: engine.events,
          runId: plan.runId,
          from: plan.from,
          finished: plan.finished,
          pollMs: POLL_MS,
          send: async (e) => {
            const msg = plan.map(e);
            if (msg === undefined) return !stopped;
            if (!call.write(msg)) await drain();
            if (plan.complete?.('sent')) stop();
            return !stopped;
          },
          onCaughtUp: () => {
            if (plan.complete?.('caught-up')) stop();
          },
          onFinished: () => stop(),
          onError: (err) => stop(err),
        });
      } catch (err) {
        stop(err);
      }
    })();
  };

  const fromSeq = (n: number) => {
    if (n < 0) throw badRequest([{ field: 'from_seq', description: 'must not be negative' }]);
    return Math.max(1, n || 1);
  };

  const watch = (call: WatchRunCall): void =>
    stream(call, async (req) => {
      if (!req.runId) throw badRequest([{ field: 'run_id', description: 'is required' }]);
      const from = fromSeq(req.fromSeq);
      const rec = await runOf(store, req.runId);
      // Finished: the log is all there will be.
      return { runId: req.runId, from, finished: rec.status !== 'running', map: toRunEvent };
    });

  const watchTasks = (call: WatchTasksCall): void =>
    stream(call, async (req) => {
      const from = fromSeq(req.fromSeq);
      let runId = req.runId;
      if (!runId) {
        if (!req.namespace)
          throw badRequest([{ field: 'run_id', description: 'is required (or give namespace)' }]);
        runId = namespaceRun(req.namespace) ?? '';
        if (!runId) throw new SmartQueueError('NOT_FOUND', `namespace "${req.namespace}" has no open run`);
      }
      const rec = await runOf(store, runId);
      const wanted = new Set(req.taskIds);
      // Final as the stream saw them, and final already when the watch began.
      const done = new Set<string>();
      const doneBefore = new Set<string>();
      if (wanted.size) {
        const tasks = new Map((await store.getTasks(runId)).map((t) => [t.taskId, t]));
        const missing = [...wanted].filter(
          (id) => !tasks.has(id) && !engine.activeRuns().get(runId)?.tasks.has(id),
        );
        if (missing.length) {
          throw new SmartQueueError(
            'NOT_FOUND',
            `run ${runId} has no task(s) ${missing.map((m) => `"${m}"`).join(', ')}`,
            {
              details: { missing },
            },
          );
        }
        // Final before the watch began: their last change is already in the log, so once the
        // stream has caught up with the log the client has it (or had it, before from_seq).
        for (const id of wanted) {
          const s = tasks.get(id)?.status;
          if (s && isTerminal(s)) doneBefore.add(id);
        }
      }
      return {
        runId,
        from,
        finished: rec.status !== 'running',
        map: (e) => {
          if (wanted.size && !wanted.has(e.taskId ?? '')) return undefined;
          const update = toTaskUpdate(e);
          if (update && isFinalTaskStatus(update.status)) done.add(update.taskId!);
          return update;
        },
        complete: (when) => {
          if (wanted.size === 0) return false;
          for (const id of wanted)
            if (!done.has(id) && !(when === 'caught-up' && doneBefore.has(id))) return false;
          return true;
        },
      };
    });

  return {
    watch,
    watchTasks,
    endAll(error) {
      for (const stop of [...live]) stop(error);
    },
  };
}
