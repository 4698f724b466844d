/**
 * Test harness for the engine: an Engine wired to the in-process stages (memory checkpoint store,
 * in-process transport, AVL balancer, in-process coordinator) and N LocalWorkers running a
 * custom handler registry, plus small helpers to compile YAML, record events and wait.
 *
 * Every harness is tracked so `closeAllHarnesses()` (called in `afterEach`) can check that
 * nothing was left running and close it.
 */
export { mulberry32 } from '../../support/random.js';
import { stringify } from 'yaml';
import { compileWorkflow } from '../../../dsl/compiler.js';
import type { CompiledPlan, CompileOptions } from '../../../dsl/compiler.js';
import { IR_DEFAULTS } from '../../../dsl/ir.js';
import type { TaskIR } from '../../../dsl/ir.js';
import { loadYamlText } from '../../../dsl/load.js';
import { Engine } from '../../../engine/engine.js';
import { formatDiagnostic } from '../../../engine/errors.js';
import type { EngineEventName, EngineEvents } from '../../../engine/events.js';
import type { TaskHandler } from '../../../engine/handler.js';
import type { EngineOptions } from '../../../engine/options.js';
import type { Balancer, CheckpointStore, Coordinator, RunStatus, Transport } from '../../../engine/stages.js';
import { LocalWorker } from '../../../engine/worker.js';
import { createAvlBalancer } from '../../../plugins/balancer/avl/index.js';
import { createMemoryCheckpointStore } from '../../../plugins/checkpoint/memory/index.js';
import { createInProcessCoordinator } from '../../../plugins/coordinator/in-process/index.js';
import { createInProcessTransport } from '../../../plugins/transport/in-process/index.js';

export interface HarnessOptions {
  /** Local workers. @default 1 */
  workers?: number;
  /** Attempts each worker runs at once. @default 4 */
  capacity?: number;
  /** Handlers by name (tasks reach them with `uses: <name>`). */
  handlers?: Record<string, TaskHandler>;
  /** A store to use (and keep open on close), e.g. to resume a run in a second engine. */
  store?: CheckpointStore;
  /** A coordinator to use instead of a new in-process one (closed with the harness). */
  coordinator?: Coordinator;
  /** Engine options other than the stages. */
  engine?: Partial<Omit<EngineOptions, 'store' | 'transport' | 'balancer' | 'coordinator'>>;
}

export interface Harness {
  engine: Engine;
  store: CheckpointStore;
  transport: Transport;
  balancer: Balancer;
  workers: LocalWorker[];
  /** Closes engine, workers, transport, coordinator, and the store unless it was passed in. */
  close(): Promise<void>;
}

const open = new Set<Harness>();

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const store = options.store ?? createMemoryCheckpointStore();
  const ownStore = options.store === undefined;
  const transport = createInProcessTransport();
  const balancer = createAvlBalancer();
  const coordinator = options.coordinator ?? createInProcessCoordinator();
  const engine = new Engine({ ...options.engine, store, transport, balancer, coordinator });
  const handlers = new Map<string, TaskHandler>(Object.entries(options.handlers ?? {}));
  const capacity = options.capacity ?? 4;
  const workers: LocalWorker[] = [];
  for (let i = 0; i < (options.workers ?? 1); i++) {
    const id = `w${i + 1}`;
    const worker = new LocalWorker({
      id,
      capacity,
      transport,
      handlers,
      runHandlers: (runId) => engine.activeRuns().get(runId)?.handlers,
      progress: (report) => engine.recordProgress(report),
    });
    await worker.start();
    balancer.join({ id, capacity });
    workers.push(worker);
  }
  let closed = false;
  const harness: Harness = {
    engine,
    store,
    transport,
    balancer,
    workers,
    async close() {
      if (closed) return;
      closed = true;
      open.delete(harness);
      await engine.close();
      await Promise.all(workers.map((w) => w.close()));
      await transport.close();
      await coordinator.close();
      if (ownStore) await store.close();
    },
  };
  open.add(harness);
  return harness;
}

/**
 * Closes every harness still open; returns the ids of runs that were still active in them (a
 * test that leaves a run running should say so by cancelling it, or by closing its harness).
 */
export async function closeAllHarnesses(): Promise<string[]> {
  const leftovers: string[] = [];
  for (const h of [...open]) {
    leftovers.push(...h.engine.activeRuns().keys());
    await h.close();
  }
  return leftovers;
}

/** Compiles YAML text to a plan; throws with every diagnostic when it does not compile. */
export function compileYaml(text: string, options: CompileOptions = {}): CompiledPlan {
  const loaded = loadYamlText(text, 'test.yaml');
  const wf = loaded.workflows[0];
  if (loaded.diagnostics.some((d) => d.severity === 'error') || !wf) {
    throw new Error(`workflow does not load:\n${loaded.diagnostics.map(formatDiagnostic).join('\n')}`);
  }
  const r = compileWorkflow(wf.ir, wf.source, { ...options, taskIndex: wf.taskIndex, partial: wf.partial });
  if (!r.plan)
    throw new Error(`workflow does not compile:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
  return r.plan;
}

/** A workflow document around `spec` (tasks, deadline, failurePolicy, ...), as YAML text. */
export function workflowYaml(spec: Record<string, unknown>, name = 'test-flow'): string {
  return stringify({ apiVersion: 'smartqueue/v1', kind: 'Workflow', metadata: { name }, spec });
}

/** Shorthand: `compileYaml(workflowYaml(spec))`. */
export function plan(spec: Record<string, unknown>, options: CompileOptions = {}): CompiledPlan {
  return compileYaml(workflowYaml(spec), options);
}

/** A task IR for `addTask`, with the defaults a YAML task would get. */
export function taskIr(
  id: string,
  handler: string,
  extra: Partial<TaskIR> & { with?: Record<string, unknown> } = {},
): TaskIR {
  const { with: args = {}, ...rest } = extra;
  return {
    id,
    needs: [],
    handler: { kind: 'uses', name: handler, with: args },
    priority: IR_DEFAULTS.priority,
    retries: { ...IR_DEFAULTS.retries },
    ...rest,
  };
}

/** Records every payload of one event while the test runs. */
export function record<K extends EngineEventName>(engine: Engine, name: K): EngineEvents[K][] {
  const seen: EngineEvents[K][] = [];
  engine.events.on(name, (p) => seen.push(p));
  return seen;
}

/** Task ids in the order their attempts were dispatched. */
export function dispatchOrder(engine: Engine): string[] {
  const order: string[] = [];
  engine.events.on('task:attempt:dispatched', (p) => order.push(p.taskId));
  return order;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` until it holds; fails after `timeoutMs` (generous: these are not timing tests). */
export async function eventually(
  predicate: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Resolves with the run's final status, or rejects if it takes longer than `timeoutMs`. */
export async function finish(engine: Engine, runId: string, timeoutMs = 5000): Promise<RunStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`run ${runId} did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([engine.waitForRun(runId), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with its resolver, to hold a handler until the test lets it go. */
export interface Gate {
  promise: Promise<void>;
  open(): void;
  opened: boolean;
}

export function gate(): Gate {
  let open!: () => void;
  const g: Gate = {
    promise: new Promise<void>((resolve) => (open = resolve)),
    open: () => {
      g.opened = true;
      open();
    },
    opened: false,
  };
  return g;
}

/** Waits until `signal` aborts (or the gate opens); for handlers that honour cancellation. */
export function untilAborted(signal: AbortSignal, g?: Gate): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    void g?.promise.then(resolve);
  });
}

/** Task records of a run by task id. */
export async function tasksById(store: CheckpointStore, runId: string) {
  return new Map((await store.getTasks(runId)).map((t) => [t.taskId, t]));
}

/** How many `task:attempt:succeeded` events the store holds per task. */
export async function successesInStore(store: CheckpointStore, runId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const e of await store.getEvents(runId)) {
    if (e.type === 'task:attempt:succeeded' && e.taskId)
      counts.set(e.taskId, (counts.get(e.taskId) ?? 0) + 1);
  }
  return counts;
}
