/**
 * One pool thread: takes task slots from its own deque (or steals a batch from the most loaded
 * other one), fetches each task from the main thread, runs its handler with `runAttempt` (the
 * same context, timeout and error rules as every other worker), and reports the result. Handler
 * modules are imported once per thread and cached.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { HandlerRegistry, TaskHandler } from '../handler.js';
import type { TaskAssignment } from '../stages.js';
import { runAttempt } from '../worker.js';
import {
  C_BUSY,
  C_COMPLETED,
  C_LAST_DONE,
  C_QUEUED_WORK_US,
  C_RATE_MILLI,
  C_RUNNING_EST_US,
  C_RUNNING_SINCE,
  C_STEALS_ATTEMPTED,
  C_STEALS_SUCCEEDED,
  C_STOLEN_TASKS,
  SharedState,
  SLOT_CANCELLED,
  SLOT_QUEUED,
  SLOT_TAKEN,
} from './shared-state.js';
import type { SharedLayout } from './shared-state.js';
import type { PoolMode, ThreadTask } from './types.js';
import type { FromThread, ToThread } from './messages.js';

interface ThreadData {
  buffer: SharedArrayBuffer;
  arena: SharedArrayBuffer;
  layout: SharedLayout;
  index: number;
  mode: PoolMode;
  seed: number;
  epoch: number;
}

const data = workerData as ThreadData;
const port = parentPort!;
const shared = new SharedState(data.buffer, data.layout, data.arena);
const me = data.index;
const post = (m: FromThread) => port.postMessage(m);

/** Small seeded PRNG (mulberry32) for victim ties and backoff jitter. */
let seed = data.seed >>> 0;
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const now = () => Date.now() - data.epoch;

// ---- talking to the main thread --------------------------------------------------------------

const waiting = new Map<number, (task: ThreadTask | undefined) => void>();
const cancels = new Map<number, () => void>();

port.on('message', (m: ToThread) => {
  if (m.type === 'payload') {
    waiting.get(m.slot)?.(m.task);
    waiting.delete(m.slot);
  } else if (m.type === 'abort') cancels.get(m.slot)?.();
});

function fetchTask(slot: number): Promise<ThreadTask | undefined> {
  return new Promise((resolve) => {
    waiting.set(slot, resolve);
    post({ type: 'fetch', slot });
  });
}

// ---- handlers --------------------------------------------------------------------------------

const modules = new Map<string, Promise<Record<string, unknown>>>();

function importModule(specifier: string): Promise<Record<string, unknown>> {
  let p = modules.get(specifier);
  if (!p) {
    const url = specifier.startsWith('file:') ? specifier : pathToFileURL(specifier).href;
    p = /\.m?ts$/.test(url)
      ? import('tsx/esm/api').then(
          ({ tsImport }) => tsImport(url, import.meta.url) as Promise<Record<string, unknown>>,
        )
      : (import(url) as Promise<Record<string, unknown>>);
    // A module that fails to load is retried by the next task that needs it.
    p.catch(() => modules.delete(specifier));
    modules.set(specifier, p);
  }
  return p;
}

/**
 * The handler `name` of a module: a named export, or a member of its `handlers` or default
 * export (an object or a Map), as `--handlers` modules are written.
 */
async function handlerOf(task: ThreadTask): Promise<{ registry: HandlerRegistry; name: string }> {
  const name = task.export ?? 'default';
  const mod = await importModule(task.module);
  const member = (holder: unknown): unknown =>
    holder instanceof Map
      ? holder.get(name)
      : holder && typeof holder === 'object'
        ? (holder as Record<string, unknown>)[name]
        : undefined;
  const fn = (mod[name] ?? member(mod.handlers) ?? member(mod.default)) as TaskHandler | undefined;
  return { registry: new Map(typeof fn === 'function' ? [[name, fn]] : []), name };
}

// ---- running ---------------------------------------------------------------------------------

let rate = 0;
let lastDone = now();

async function execute(slot: number): Promise<void> {
  // From the payload arena when it fits there, else from the main thread.
  const json = shared.readPayload(slot);
  const task = json !== undefined ? (JSON.parse(json) as ThreadTask) : await fetchTask(slot);
  if (!task) return; // cancelled meanwhile: the main thread has answered it
  shared.setCounter(me, C_RUNNING_EST_US, shared.slotEstimate(slot));
  shared.setCounter(me, C_RUNNING_SINCE, now());
  shared.setCounter(me, C_BUSY, 1);
  post({ type: 'start', slot, at: Date.now() });
  const assignment: TaskAssignment = {
    runId: task.runId,
    taskId: task.taskId,
    attempt: task.attempt,
    workerId: `thread-${me}`,
    shard: 0,
    idempotencyKey: task.idempotencyKey,
    handler: { kind: 'uses', name: task.export ?? 'default', with: task.args },
    inputs: task.inputs,
    params: task.params,
    ...(task.timeoutMs !== undefined && { timeoutMs: task.timeoutMs }),
  };
  let result;
  try {
    const { registry } = await handlerOf(task);
    const log = (level: 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) =>
      post({ type: 'log', slot, level, message, ...(fields && { fields }) });
    result = await runAttempt(assignment, registry, {
      bindCancel: (cancel) => cancels.set(slot, cancel),
      log: { info: log('info'), warn: log('warn'), error: log('error') },
      progress: (p) => post({ type: 'progress', slot, fraction: p.fraction, message: p.message }),
    });
  } catch (err) {
    const at = Date.now();
    result = {
      ...assignment,
      ok: false as const,
      error: {
        message: `cannot load ${task.module}: ${err instanceof Error ? err.message : String(err)}`,
        retryable: false,
      },
      startedAt: at,
      finishedAt: at,
    };
  }
  cancels.delete(slot);
  shared.setCounter(me, C_BUSY, 0);
  shared.addCounter(me, C_COMPLETED, 1);
  const t = now();
  const instant = 1000 / Math.max(1, t - lastDone);
  rate = rate === 0 ? instant : 0.8 * rate + 0.2 * instant;
  lastDone = t;
  shared.setCounter(me, C_RATE_MILLI, Math.round(rate * 1000));
  shared.setCounter(me, C_LAST_DONE, t);
  post({
    type: 'done',
    slot,
    result: result.ok
      ? {
          ok: true,
          outputs: result.outputs ?? {},
          startedAt: result.startedAt,
          finishedAt: result.finishedAt,
        }
      : { ok: false, error: result.error!, startedAt: result.startedAt, finishedAt: result.finishedAt },
  });
}

/** A thread's completion rate now: its EWMA, decayed by how long it has been on one task. */
function rateOf(thread: number, at: number): number {
  const ewma = shared.counter(thread, C_RATE_MILLI) / 1000;
  const since = Math.max(1, at - shared.counter(thread, C_LAST_DONE));
  return Math.min(ewma, 1000 / since);
}

/**
 * Steals from the most loaded other deque (ties at random): a window sized to its backlog and
 * to the two threads' recent completion rates, so a victim stuck on a long task gives up
 * nearly all of its queue, and an equally fast one about half. The first slot is returned to
 * run; the rest go to this thread's deque.
 */
function steal(): number {
  let victim = -1;
  let most = 0;
  for (let d = 0; d < shared.layout.deques; d++) {
    if (d === me) continue;
    const len = shared.length(d);
    if (len > most || (len === most && len > 0 && random() < 0.5)) {
      most = len;
      victim = d;
    }
  }
  if (victim < 0) return -1;
  shared.addCounter(me, C_STEALS_ATTEMPTED, 1);
  const at = now();
  const mine = rateOf(me, at);
  const theirs = rateOf(victim, at);
  const share = mine + theirs > 0 ? mine / (mine + theirs) : 0.5;
  const window = Math.max(1, Math.min(most, Math.ceil(most * Math.max(0.5, share))));
  const got = shared.stealBottom(victim, window);
  if (got.length === 0) return -1;
  // Their expected work moves with them (the first one is run now, not queued here).
  for (let i = 0; i < got.length; i++) {
    const est = shared.slotEstimate(got[i]!);
    shared.addCounter(victim, C_QUEUED_WORK_US, -est);
    if (i > 0) shared.addCounter(me, C_QUEUED_WORK_US, est);
  }
  shared.addCounter(me, C_STEALS_SUCCEEDED, 1);
  shared.addCounter(me, C_STOLEN_TASKS, got.length);
  for (let i = 1; i < got.length; i++) {
    if (!shared.push(me, got[i]!)) {
      // Our own deque is full (cannot really happen: we were idle): give it back.
      shared.push(victim, got[i]!);
    }
  }
  return got[0]!;
}

/** Takes the next slot to run, or -1. */
function take(): number {
  if (data.mode === 'shared-queue') return shared.popTop(0);
  const own = shared.popTop(me);
  if (own >= 0) shared.addCounter(me, C_QUEUED_WORK_US, -shared.slotEstimate(own));
  if (own >= 0 || data.mode === 'static') return own;
  return steal();
}

async function loop(): Promise<void> {
  let failures = 0;
  while (!shared.stopping) {
    const seen = shared.signalValue(me);
    const slot = take();
    if (slot < 0) {
      // Nothing here: back off exponentially with jitter (capped, so a busy peer's backlog
      // is found soon); a push to this thread's deque wakes it at once.
      failures++;
      const idleEverywhere = shared.queued() === 0;
      const ms = idleEverywhere ? 100 : Math.min(2, 0.05 * 2 ** Math.min(failures, 6)) * (0.5 + random());
      await shared.waitSignal(me, seen, ms);
      continue;
    }
    failures = 0;
    if (!shared.transition(slot, SLOT_QUEUED, SLOT_TAKEN)) {
      if (shared.slotState(slot) === SLOT_CANCELLED) post({ type: 'discarded', slot });
      continue;
    }
    shared.setSlotOwner(slot, me + 1);
    await execute(slot);
  }
}

post({ type: 'ready' });
void loop();
