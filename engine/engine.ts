/**
 * The scheduler engine: turns compiled plans into runs, releases tasks through the frontier,
 * orders them by deadline-aware priority in per-shard heaps, dispatches them to workers through
 * the Transport, records every step in the CheckpointStore, and resumes runs from it.
 *
 * It knows the stages only by their interfaces (engine/stages.ts).
 */
import { computeTimes, dynamicTaskProblems } from '../dsl/compiler.js';
import type { CompiledPlan } from '../dsl/compiler.js';
import { evaluate, hasExpression, parseCondition, renderValue, truthy } from '../dsl/expressions.js';
import { priorityClass } from '../dsl/ir.js';
import type { DeadlineIR, TaskIR, WorkflowIR } from '../dsl/ir.js';
import { MAX_TIMER_MS } from '../dsl/normalize.js';
import { resolveParams } from '../dsl/params.js';
import { Dispatcher } from './dispatcher.js';
import type { OpSampler } from './op-sampler.js';
import { SmartQueueError } from './errors.js';
import { EngineEventBus } from './events.js';
import type { EngineEvents, TaskLabels } from './events.js';
import { finalStatus, isTerminal, releaseDecision, settle } from './frontier.js';
import type { RunState, RuntimeTask } from './frontier.js';
import { handlerNameOf, MAX_PROGRESS_MESSAGE, PROGRESS_MIN_INTERVAL_MS } from './handler.js';
import type { HandlerRegistry, ProgressReport } from './handler.js';
import { resolveEngineOptions } from './options.js';
import { PredictionLoop } from './prediction.js';
import type { EngineOptions, ResolvedEngineOptions } from './options.js';
import { cannotMeetDeadline, orderingKey, orderingTie } from './priority.js';
import { canRetry, retryDelay } from './retry.js';
import type {
  HandlerSpec,
  RunRecord,
  RunStatus,
  TaskAssignment,
  TaskRecord,
  TaskResult,
  TaskStatus,
  TraceCarrier,
} from './stages.js';
import { withAddedTasks } from './stored-workflow.js';
import type { StoredWorkflow } from './stored-workflow.js';

export { storedWorkflowTasks, withAddedTasks } from './stored-workflow.js';
export type { StoredWorkflow } from './stored-workflow.js';

export interface StartRunOptions {
  /** Param values; declared defaults fill the rest. Strings are coerced to the declared type. */
  params?: Record<string, unknown>;
  runId?: string;
  /** Inline handlers of this run (DSL workflows). */
  handlers?: HandlerRegistry;
  /** Source file, recorded for replays. */
  file?: string;
  /** Labels recorded with the run, added to the workflow's own. */
  labels?: Record<string, string>;
  /**
   * Keep the run open when all its tasks are done, so tasks can still be added to it
   * (`addTask`, the gRPC SubmitTask); `closeRun` ends it once its tasks are done.
   */
  keepOpen?: boolean;
  /** The submitter's trace context (W3C fields): the run's trace continues it. */
  traceContext?: TraceCarrier;
}

/** What a resume would do (and did). */
export interface ResumePlan {
  runId: string;
  /** Tasks kept as they are (succeeded). */
  kept: string[];
  /** Tasks that will run again from scratch. */
  rerun: string[];
  /** Of those, the ones that were dispatched or running when the run stopped. */
  redispatched: string[];
}

const deadlineAt = (d: DeadlineIR | undefined, start: number) =>
  d === undefined ? undefined : d.kind === 'relative' ? start + d.ms : d.epochMs;

/** Resolves expressions in what a task runs; argv and env entries stay strings. */
function renderHandler(spec: HandlerSpec, scope: Record<string, unknown>): HandlerSpec {
  if (spec.kind === 'uses') {
    return Object.keys(spec.with).length === 0
      ? spec
      : { ...spec, with: renderValue(spec.with, scope) as Record<string, unknown> };
  }
  const str = (v: unknown) =>
    typeof v === 'string'
      ? v
      : v === undefined || v === null
        ? ''
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  const out: HandlerSpec = { kind: 'run', argv: spec.argv.map((a) => str(renderValue(a, scope))) };
  if (spec.cwd !== undefined) out.cwd = str(renderValue(spec.cwd, scope));
  if (spec.env !== undefined)
    out.env = Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, str(renderValue(v, scope))]));
  return out;
}

/** Task id → ids of the tasks that need it. */
function dependantsOf(tasks: readonly TaskIR[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of tasks) {
    for (const n of t.needs) {
      const list = out.get(n);
      if (list) list.push(t.id);
      else out.set(n, [t.id]);
    }
  }
  return out;
}

/** Task ids with every need before its dependants (a stored IR keeps file order, which need not be). */
function topologicalOrder(tasks: readonly TaskIR[]): string[] {
  const left = new Map(tasks.map((t) => [t.id, t.needs.length]));
  const dependants = dependantsOf(tasks);
  const order = tasks.filter((t) => t.needs.length === 0).map((t) => t.id);
  for (let i = 0; i < order.length; i++) {
    for (const d of dependants.get(order[i]!) ?? []) {
      const n = left.get(d)! - 1;
      left.set(d, n);
      if (n === 0) order.push(d);
    }
  }
  return order;
}

export class Engine {
  readonly events = new EngineEventBus();
  readonly options: ResolvedEngineOptions;
  private readonly runs = new Map<string, RunState>();
  /**
   * The run record's `workflow` of each live run, as stored (its IR without the tasks added
   * since, which live in the task rows): what `closeRun` writes back with `open` cleared.
   */
  private readonly storedWorkflows = new Map<string, StoredWorkflow>();
  private readonly inflight = new Map<string, { workerId: string; cost: number; progressAt?: number }>();
  private readonly dispatcher: Dispatcher;
  /** Load history, forecasts into the balancer, recommendations (engine/prediction.ts). */
  readonly prediction: PredictionLoop;
  private readonly stopResults: () => void;
  private closed = false;

  constructor(options: EngineOptions) {
    this.options = resolveEngineOptions(options);
    const { balancer, shards, heapArity, maxPerTick } = this.options;
    this.dispatcher = new Dispatcher({
      balancer,
      shards,
      arity: heapArity,
      maxPerTick,
      send: (task, workerId) => this.send(task, workerId),
      onBlocked: (ready) => this.events.emit('scheduler:dispatch:blocked', { at: Date.now(), ready }),
      // Forecasts change once per load step at most: refreshed per tick, never per dispatch.
      beforeTick: () => this.prediction.refreshForecasts(),
      ...(this.options.ordering === 'lst' && this.options.lateTasks === 'defer'
        ? {
            isLate: (task: RuntimeTask, now: number) => cannotMeetDeadline(task.lftAt, task.estimateMs, now),
            onDeferred: (task: RuntimeTask) => {
              if (this.events.has('task:state:late'))
                this.events.emit('task:state:late', {
                  runId: task.runId,
                  taskId: task.id,
                  at: Date.now(),
                  ...labelsOf(task),
                });
            },
          }
        : {}),
    });
    this.prediction = new PredictionLoop(this.options.prediction, {
      predictor: this.options.predictor,
      balancer,
      shards,
      readyCount: () => this.dispatcher.readyCount,
      onRow: (row) => {
        if (this.events.has('scheduler:load:sampled')) this.events.emit('scheduler:load:sampled', row);
      },
    });
    this.prediction.start();
    this.stopResults = this.options.transport.onResult((r) => void this.onResult(r));
  }

  /** Live runs (not yet finished) by id. */
  activeRuns(): ReadonlyMap<string, RunState> {
    return this.runs;
  }

  /** Ready tasks waiting in the heaps. */
  get readyCount(): number {
    return this.dispatcher.readyCount;
  }

  /** Ready tasks per shard (metrics). */
  readyPerShard(): number[] {
    return this.dispatcher.readyPerShard();
  }

  /** Sampled timings of heap push/pop (metrics drain them at scrape time). */
  get heapTimings(): OpSampler {
    return this.dispatcher.timings;
  }

  /** A new run id from the coordinator, as startRun draws one (for callers that must know it first). */
  newRunId(): string {
    return this.options.coordinator.nextId('run');
  }

  /** Starts a run of a compiled plan; resolves to the run id once the run is durably recorded. */
  async startRun(plan: CompiledPlan, options: StartRunOptions = {}): Promise<string> {
    this.assertOpen();
    const runId = options.runId ?? this.options.coordinator.nextId('run');
    if (this.runs.has(runId)) throw new SmartQueueError('ALREADY_EXISTS', `run ${runId} is already active`);
    const now = Date.now();
    const ir = plan.ir;
    // Declared defaults apply; overrides are type-checked (strings from a CLI are coerced).
    const params = resolveParams(ir.params, options.params ?? {});
    // The run's own tasks array: addTask appends to it, and the plan may start other runs.
    const run = this.newRun(runId, { ...ir, tasks: [...ir.tasks] }, params, now, options.handlers);
    const byId = new Map(ir.tasks.map((t) => [t.id, t]));
    for (const id of plan.order)
      run.tasks.set(id, this.newTask(run, byId.get(id)!, plan.tasks.get(id)!.dependants));
    run.remaining = run.tasks.size;
    this.computeLft(run, plan.order);
    run.open = options.keepOpen === true;
    const stored: StoredWorkflow = {
      ir,
      ...(options.file !== undefined && { file: options.file }),
      ...(run.open && { open: true }),
    };
    const record: RunRecord = {
      runId,
      workflowName: ir.name,
      workflow: stored,
      params,
      status: 'running',
      shardKey: run.shardKey,
      createdAt: now,
      labels: { ...ir.labels, ...options.labels },
      ...(run.deadlineAt !== undefined && { deadlineAt: run.deadlineAt }),
    };
    await this.options.store.createRun(record, plan.order);
    this.storedWorkflows.set(runId, stored);
    this.activate(run, true, options.traceContext && { traceContext: options.traceContext });
    for (const id of plan.order) {
      const t = run.tasks.get(id)!;
      if (t.needsLeft === 0 && t.status === 'pending') this.makeReady(run, t);
    }
    return runId;
  }

  /** Resolves with the final status when the run finishes. */
  waitForRun(runId: string): Promise<RunStatus> {
    const run = this.runs.get(runId);
    if (!run) {
      return this.options.store.getRun(runId).then((r) => {
        if (!r) throw new SmartQueueError('NOT_FOUND', `unknown run ${runId}`);
        return r.status;
      });
    }
    return new Promise((resolve) => run.waiters.push(resolve));
  }

  /**
   * Computes what resuming a run would do: succeeded tasks are kept; everything else runs again
   * (tasks that were dispatched get a new attempt). With `from`, that task and everything
   * downstream of it run again too.
   */
  async planResume(
    runId: string,
    from?: string,
  ): Promise<ResumePlan & { record: RunRecord; stored: StoredWorkflow; tasks: TaskRecord[] }> {
    const record = await this.options.store.getRun(runId);
    if (!record) throw new SmartQueueError('NOT_FOUND', `unknown run ${runId}`);
    const tasks = await this.options.store.getTasks(runId);
    // Tasks added to the run after it started are kept in their task rows, not in the record.
    const stored = withAddedTasks(record.workflow as StoredWorkflow, tasks);
    const byId = new Map(tasks.map((t) => [t.taskId, t]));
    const reset = new Set<string>();
    if (from !== undefined) {
      if (!byId.has(from)) throw new SmartQueueError('NOT_FOUND', `run ${runId} has no task "${from}"`);
      const dependants = dependantsOf(stored.ir.tasks);
      const stack = [from];
      while (stack.length) {
        const id = stack.pop()!;
        if (reset.has(id)) continue;
        reset.add(id);
        stack.push(...(dependants.get(id) ?? []));
      }
    }
    for (const t of tasks) if (t.status !== 'succeeded') reset.add(t.taskId);
    const order = stored.ir.tasks.map((t) => t.id);
    return {
      runId,
      record,
      stored,
      tasks,
      kept: order.filter((id) => !reset.has(id)),
      rerun: order.filter((id) => reset.has(id)),
      redispatched: order.filter(
        (id) => reset.has(id) && ['dispatched', 'running'].includes(byId.get(id)?.status ?? ''),
      ),
    };
  }

  /**
   * Resumes an interrupted (or finished) run from its checkpoint. See {@link planResume}.
   *
   * `awaitInFlightMs` (cluster takeovers, where the attempts of the dead scheduler may still be
   * running on live workers and their results still coming): the attempts that were in flight
   * are awaited that long under their own attempt numbers, and dispatched anew only if no
   * result came. Without it they are dispatched anew at once (a lone process that crashed took
   * its workers with it).
   */
  async resumeRun(
    runId: string,
    options: { from?: string; handlers?: HandlerRegistry; awaitInFlightMs?: number } = {},
  ): Promise<ResumePlan> {
    this.assertOpen();
    if (this.runs.has(runId))
      throw new SmartQueueError('FAILED_PRECONDITION', `run ${runId} is already active here`);
    const plan = await this.planResume(runId, options.from);
    const { record, stored } = plan;
    const summary: ResumePlan = {
      runId,
      kept: plan.kept,
      rerun: plan.rerun,
      redispatched: plan.redispatched,
    };
    if (plan.rerun.length === 0 && !stored.open) {
      // Every task succeeded but the run was not closed (the process died after the last
      // completion): close it now.
      if (record.status === 'running') {
        await this.options.store.updateRun(runId, { status: 'succeeded', finishedAt: Date.now() });
      }
      return summary;
    }
    const stateById = new Map(plan.tasks.map((t) => [t.taskId, t]));
    // stored.ir is a fresh object holding every task (added ones too): the run may own it.
    const run = this.newRun(runId, stored.ir, record.params, record.createdAt, options.handlers);
    run.open = stored.open === true;
    const dependants = dependantsOf(stored.ir.tasks);
    const rerun = new Set(plan.rerun);
    const order = topologicalOrder(stored.ir.tasks);
    const irById = new Map(stored.ir.tasks.map((t) => [t.id, t]));
    // Inserted needs-first, so that walking the run's tasks backwards visits dependants first.
    for (const t of order.map((id) => irById.get(id)!)) {
      const task = this.newTask(run, t, dependants.get(t.id) ?? []);
      const saved = stateById.get(t.id);
      task.attempt = saved?.attempt ?? 0;
      task.attemptBase = task.attempt;
      if (!rerun.has(t.id)) {
        task.status = 'succeeded';
        task.outputs = saved?.outputs ?? {};
        this.exposeOutputs(run, task);
      }
      run.tasks.set(t.id, task);
    }
    for (const t of run.tasks.values()) {
      t.needsLeft = t.needs.filter((n) => !isTerminal(run.tasks.get(n)!.status)).length;
    }
    run.remaining = rerun.size;
    this.computeLft(run, order);
    await this.options.store.resetTasks(runId, plan.rerun);
    await this.options.store.updateRun(runId, { status: 'running' });
    this.storedWorkflows.set(runId, record.workflow as StoredWorkflow);
    this.options.store.record({
      runId,
      type: 'run:state:resumed',
      at: Date.now(),
      data: { rerun: plan.rerun.length, from: options.from },
    });
    // The trace of the attempt that started last: the resumed run's new trace links to it.
    const previous = plan.tasks.reduce<TaskRecord | undefined>(
      (a, t) => (t.traceId !== undefined && (t.startedAt ?? 0) >= (a?.startedAt ?? 0) ? t : a),
      undefined,
    );
    this.activate(run, false, { resumed: true, ...(previous && { previousTraceId: previous.traceId! }) });
    const awaitMs = options.from === undefined ? options.awaitInFlightMs : undefined;
    const inFlight = new Set(awaitMs !== undefined ? plan.redispatched : []);
    for (const t of run.tasks.values()) {
      if (t.status !== 'pending' || t.needsLeft > 0) continue;
      if (inFlight.has(t.id) && t.attempt > 0) {
        this.awaitResumedAttempt(t, awaitMs!);
        continue;
      }
      const decision = t.needs.length ? releaseDecision(run, t) : { action: 'ready' as const };
      if (decision.action === 'ready') this.makeReady(run, t);
      else this.finishTask(run, t, 'skipped', decision.reason);
    }
    return summary;
  }

  /**
   * Adds a task to a live run (dynamic DAGs). Its needs must exist in the run; it may tighten the
   * latest finish times of the tasks it needs (they are re-keyed in place).
   */
  async addTask(runId: string, task: TaskIR): Promise<void> {
    await this.addTasks(runId, [task]);
  }

  /**
   * Adds several tasks to a live run, all or none: each is checked as {@link addTask} checks one
   * (a task may need earlier tasks of the same batch), then all are recorded in one store write.
   * A refusal names the task and carries its position in `details.index`.
   */
  async addTasks(
    runId: string,
    tasks: readonly TaskIR[],
    options: { traceContext?: TraceCarrier } = {},
  ): Promise<void> {
    this.assertOpen();
    const run = this.runs.get(runId);
    if (!run) throw new SmartQueueError('NOT_FOUND', `run ${runId} is not active`);
    const added: RuntimeTask[] = [];
    const refuse = (err: SmartQueueError): never => {
      for (const rt of added.reverse()) this.removeAdded(run, rt);
      throw err;
    };
    tasks.forEach((task, index) => {
      const where = tasks.length > 1 ? `task "${task.id}" (tasks[${index}]): ` : '';
      if (run.tasks.has(task.id)) {
        refuse(
          new SmartQueueError('ALREADY_EXISTS', `${where}run ${runId} already has a task "${task.id}"`, {
            details: { index },
          }),
        );
      }
      const missing = task.needs.filter((n) => !run.tasks.has(n));
      if (missing.length) {
        refuse(
          new SmartQueueError(
            'NOT_FOUND',
            `${where}unknown need(s) ${missing.map((m) => `"${m}"`).join(', ')} in run ${runId}`,
            { details: { missing, index } },
          ),
        );
      }
      const problems = this.addedTaskProblems(run, task);
      if (problems.length) {
        refuse(
          new SmartQueueError('INVALID_ARGUMENT', `task "${task.id}": ${problems.join('; ')}`, {
            details: { problems, index },
          }),
        );
      }
      const rt = this.newTask(run, task, []);
      // Its needs must not release it before it is recorded below (they may finish meanwhile).
      rt.needsLeft = Infinity;
      run.tasks.set(task.id, rt);
      // In place (the run owns the array): copying it would make each added task cost O(run).
      run.ir.tasks.push(task);
      run.remaining++;
      rt.lftAt = Math.min(rt.deadlineAt ?? Infinity, run.deadlineAt ?? Infinity);
      for (const n of task.needs) run.tasks.get(n)!.dependants.push(task.id);
      added.push(rt);
    });
    try {
      // Each task's IR goes with its row; the run record's workflow is not rewritten.
      await this.options.store.addTasks(
        runId,
        tasks.map((task) => ({ taskId: task.id, spec: task })),
      );
    } catch (err) {
      // Not recorded: the run goes on as if the tasks had never been submitted.
      for (const rt of added.reverse()) this.removeAdded(run, rt);
      if (run.remaining === 0 && !run.open) this.finishRun(run);
      throw err;
    }
    const now = Date.now();
    // Only recorded tasks may make their needs more urgent (later ones first: they are the
    // dependants of earlier ones, whose tightening then covers them).
    for (const rt of [...added].reverse()) this.tightenUpstream(run, rt);
    for (const rt of added) {
      this.events.emit('task:state:added', {
        runId,
        taskId: rt.id,
        at: now,
        ...labelsOf(rt),
        ...(options.traceContext && { traceContext: options.traceContext }),
      });
      if (rt.status !== 'pending') continue; // cancelled or skipped while being recorded
      rt.needsLeft = rt.needs.filter((n) => !isTerminal(run.tasks.get(n)!.status)).length;
      if (rt.needsLeft === 0) {
        const decision = rt.needs.length ? releaseDecision(run, rt) : { action: 'ready' as const };
        if (decision.action === 'ready') this.makeReady(run, rt);
        else this.finishTask(run, rt, 'skipped', decision.reason);
      }
    }
  }

  /** Takes back a task added to a run but not recorded. */
  private removeAdded(run: RunState, rt: RuntimeTask): void {
    run.tasks.delete(rt.id);
    // Tasks added meanwhile may follow it: search from the end (it is near there).
    run.ir.tasks.splice(run.ir.tasks.lastIndexOf(rt.ir), 1);
    run.remaining--;
    for (const n of rt.needs) {
      const deps = run.tasks.get(n)?.dependants;
      if (deps) deps.splice(deps.indexOf(rt.id), 1);
    }
  }

  /**
   * What is wrong with `task` as an addition to `run`. dynamicTaskProblems copies and indexes
   * the workflow it is given, O(run) per call; against a workflow cut down to the task's direct
   * needs it can only find more problems, never fewer (a reference to any other task reads as
   * unknown). So the whole run is consulted only when that finds some: for the exact messages
   * of a bad task, or for a reference to an indirect ancestor.
   */
  private addedTaskProblems(run: RunState, task: TaskIR): string[] {
    const needsOf = (id: string) => run.tasks.get(id)?.needs ?? [];
    const near: WorkflowIR = { ...run.ir, tasks: task.needs.map((n) => run.tasks.get(n)!.ir) };
    const problems = dynamicTaskProblems(near, task, needsOf);
    return problems.length === 0 ? problems : dynamicTaskProblems(run.ir, task, needsOf);
  }

  /** Cancels a whole run: waiting tasks are dropped, running attempts are aborted. */
  async cancelRun(runId: string, reason = 'cancelled by request'): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) {
      const rec = await this.options.store.getRun(runId);
      if (!rec) throw new SmartQueueError('NOT_FOUND', `unknown run ${runId}`);
      throw new SmartQueueError('FAILED_PRECONDITION', `run ${runId} is not active (status ${rec.status})`);
    }
    this.cancelAll(run, reason);
  }

  /** Closes a run opened with `keepOpen`: it ends once its tasks are done. */
  async closeRun(runId: string): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) throw new SmartQueueError('NOT_FOUND', `run ${runId} is not active`);
    if (!run.open) throw new SmartQueueError('FAILED_PRECONDITION', `run ${runId} is not open`);
    run.open = false;
    // Only the flag changes: the added tasks stay in their task rows (see addTask).
    const { open: _open, ...stored } = this.storedWorkflows.get(runId) ?? { ir: run.ir };
    await this.options.store.updateRun(runId, { workflow: stored });
    if (run.remaining === 0) this.finishRun(run);
  }

  /** Cancels one task; the tasks that need it are skipped. */
  async cancelTask(runId: string, taskId: string, reason = 'cancelled by request'): Promise<void> {
    const run = this.runs.get(runId);
    if (!run) throw new SmartQueueError('NOT_FOUND', `run ${runId} is not active`);
    const task = run.tasks.get(taskId);
    if (!task) throw new SmartQueueError('NOT_FOUND', `run ${runId} has no task "${taskId}"`);
    if (isTerminal(task.status)) {
      throw new SmartQueueError('FAILED_PRECONDITION', `task "${taskId}" already ${task.status}`);
    }
    if (task.completing) {
      throw new SmartQueueError(
        'FAILED_PRECONDITION',
        `task "${taskId}" has finished and its success is being recorded`,
      );
    }
    this.stopTask(task);
    this.finishTask(run, task, 'cancelled', reason);
  }

  /** New capacity appeared (a worker joined): dispatch ready tasks now. */
  wake(): void {
    this.dispatcher.schedule();
  }

  /**
   * Records a handler's progress report (`ctx.progress`) in the run's log and tells watchers.
   * Only the current attempt's, from the worker it was sent to, counts; reports of one attempt
   * closer together than PROGRESS_MIN_INTERVAL_MS / 2 are dropped (workers coalesce them, so
   * only a misbehaving one sends that many). Returns whether it was recorded.
   */
  recordProgress(p: ProgressReport): boolean {
    const slot = this.inflight.get(`${p.runId}\u0000${p.taskId}\u0000${p.attempt}`);
    const task = this.runs.get(p.runId)?.tasks.get(p.taskId);
    if (!slot || slot.workerId !== p.workerId || task?.status !== 'dispatched' || task.attempt !== p.attempt)
      return false;
    const now = Date.now();
    if (slot.progressAt !== undefined && now - slot.progressAt < PROGRESS_MIN_INTERVAL_MS / 2) return false;
    slot.progressAt = now;
    const data: { workerId: string; fraction?: number; message?: string } = { workerId: p.workerId };
    if (typeof p.fraction === 'number' && Number.isFinite(p.fraction))
      data.fraction = Math.min(1, Math.max(0, p.fraction));
    if (typeof p.message === 'string' && p.message) data.message = p.message.slice(0, MAX_PROGRESS_MESSAGE);
    this.options.store.record({
      runId: p.runId,
      type: 'task:attempt:progress',
      at: now,
      taskId: p.taskId,
      attempt: p.attempt,
      data,
    });
    this.events.emit('task:attempt:progress', {
      runId: p.runId,
      taskId: p.taskId,
      at: now,
      attempt: p.attempt,
      ...data,
    });
    return true;
  }

  /**
   * A worker is gone (missed heartbeats, closed connection): its attempts in flight go back to
   * the ready heaps at once (worker loss does not count against a task's retries), and a late
   * result from one of those attempts is discarded as stale. The caller removes the worker
   * from the balancer. Returns the tasks re-queued.
   */
  workerLost(workerId: string, reason = 'worker lost'): { runId: string; taskId: string; attempt: number }[] {
    const lost: { runId: string; taskId: string; attempt: number }[] = [];
    for (const [key, slot] of this.inflight) {
      if (slot.workerId !== workerId) continue;
      const requeued = this.requeueLost(key, reason);
      if (requeued) lost.push(requeued);
    }
    this.dispatcher.schedule();
    return lost;
  }

  /** Puts the attempt in flight under `key` back in the ready heaps; returns it if it was live. */
  private requeueLost(
    key: string,
    reason: string,
    resend = false,
  ): { runId: string; taskId: string; attempt: number } | undefined {
    const slot = this.inflight.get(key);
    if (!slot) return undefined;
    this.inflight.delete(key);
    this.options.balancer.finish(slot.workerId, slot.cost);
    const [runId, taskId, attempt] = key.split('\u0000') as [string, string, string];
    const run = this.runs.get(runId);
    const task = run?.tasks.get(taskId);
    if (!run || !task || task.status !== 'dispatched' || task.completing || task.attempt !== Number(attempt))
      return undefined;
    const at = Date.now();
    task.status = 'pending';
    this.options.store.record(
      {
        runId,
        type: 'task:attempt:lost',
        at,
        taskId,
        attempt: task.attempt,
        data: { workerId: slot.workerId, reason },
      },
      { runId, taskId, status: 'pending' },
    );
    this.events.emit('task:attempt:lost', {
      runId,
      taskId,
      at,
      attempt: task.attempt,
      workerId: slot.workerId,
      reason,
      ...labelsOf(task),
    });
    task.resend = resend;
    if (!run.cancelled) this.enqueue(run, task);
    return { runId, taskId, attempt: task.attempt };
  }

  /**
   * A resumed task whose attempt was in flight when its scheduler died: waits `ms` for that
   * attempt's result (it counts as dispatched, to no worker this balancer knows), then sends the
   * same attempt again rather than a new one. The dead scheduler may never have sent it; or it
   * did and the result is late (a broker outage): then the copy reaches the worker that has the
   * attempt (same shard, same partition), which answers from its record of finished attempts
   * instead of running it twice, and a result of either copy completes the attempt.
   */
  private awaitResumedAttempt(task: RuntimeTask, ms: number): void {
    const attempt = task.attempt;
    const key = `${task.runId}\u0000${task.id}\u0000${attempt}`;
    task.status = 'dispatched';
    task.workerId = RESUMED_ATTEMPT_WORKER;
    task.dispatchedAt = Date.now();
    this.inflight.set(key, { workerId: RESUMED_ATTEMPT_WORKER, cost: task.cost });
    task.retryTimer = setTimeout(() => {
      task.retryTimer = undefined;
      if (task.status !== 'dispatched' || task.attempt !== attempt || !this.inflight.has(key)) return;
      this.requeueLost(
        key,
        `no result within ${ms} ms of the takeover: sending attempt ${attempt} again`,
        true,
      );
      this.dispatcher.schedule();
    }, ms);
  }

  /**
   * Lets go of a live run without recording anything (cluster mode: another scheduler owns its
   * shard now and resumes it from the store): its queued tasks leave the heaps, its retry and
   * deadline timers stop, its attempts' worker slots are freed, later results for it are
   * discarded, and its waiters learn it is still `running`. Returns false for a run not live here.
   */
  detachRun(runId: string): boolean {
    const run = this.runs.get(runId);
    if (!run) return false;
    this.runs.delete(runId);
    this.storedWorkflows.delete(runId);
    if (run.deadlineTimer) clearTimeout(run.deadlineTimer);
    for (const t of run.tasks.values()) {
      this.dispatcher.remove(t);
      if (t.retryTimer) clearTimeout(t.retryTimer);
      const key = `${runId}\u0000${t.id}\u0000${t.attempt}`;
      const slot = this.inflight.get(key);
      if (slot) {
        this.inflight.delete(key);
        this.options.balancer.finish(slot.workerId, slot.cost);
      }
    }
    for (const w of run.waiters) w(run.status);
    run.waiters = [];
    this.dispatcher.schedule();
    this.events.emit('run:state:detached', { runId, at: Date.now() });
    return true;
  }

  /** Stops dispatching and result handling; flushes the store. Runs stay resumable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dispatcher.close();
    this.prediction.close();
    this.stopResults();
    for (const run of this.runs.values()) {
      // Waiters learn the run is still running (interrupted here, resumable from the store).
      for (const w of run.waiters) w(run.status);
      run.waiters = [];
      if (run.deadlineTimer) clearTimeout(run.deadlineTimer);
      for (const t of run.tasks.values()) if (t.retryTimer) clearTimeout(t.retryTimer);
    }
    await this.options.store.flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // -------------------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new SmartQueueError('UNAVAILABLE', 'the engine is shutting down');
  }

  private newRun(
    runId: string,
    ir: WorkflowIR,
    params: Record<string, unknown>,
    start: number,
    handlers?: HandlerRegistry,
  ): RunState {
    const run: RunState = {
      runId,
      ir,
      params,
      startedAt: start,
      shardKey: runId,
      tasks: new Map(),
      remaining: 0,
      status: 'running',
      cancelled: false,
      deadlineMissed: false,
      handlers: handlers ?? new Map(),
      waiters: [],
      scope: {
        params,
        run: { id: runId, name: ir.name, startedAt: start },
        tasks: Object.create(null) as Record<string, unknown>,
      },
    };
    const d = deadlineAt(ir.deadline, start);
    if (d !== undefined) run.deadlineAt = d;
    if (ir.shardKey) run.shardKey = String(renderValue(ir.shardKey, run.scope));
    return run;
  }

  private newTask(run: RunState, t: TaskIR, dependants: readonly string[]): RuntimeTask {
    // A declared estimate wins; else the predictor's (it then feeds LFT/LST like a declared one).
    const predicted =
      t.estimateMs === undefined
        ? this.options.predictor?.estimateDuration({
            handler: handlerNameOf(t.handler),
            priority: t.priority,
          })
        : undefined;
    const usable = predicted !== undefined && predicted >= 0 && predicted < Infinity;
    const estimate = t.estimateMs ?? (usable ? predicted : this.options.defaultEstimateMs);
    const task: RuntimeTask = {
      runId: run.runId,
      id: t.id,
      ir: t,
      status: 'pending',
      attempt: 0,
      needsLeft: t.needs.length,
      needs: t.needs,
      dependants: [...dependants],
      estimateMs: estimate,
      lftAt: Infinity,
      cost: Math.max(estimate, 1) / 1000,
      templated: hasExpression(JSON.stringify(t.handler)),
      ...(usable && { predictedEstimate: true }),
    };
    const d = deadlineAt(t.deadline, run.startedAt);
    if (d !== undefined) task.deadlineAt = d;
    return task;
  }

  /** LFT of every task, in absolute time (DESIGN.md "Deadline-aware priority"). */
  private computeLft(run: RunState, order: readonly string[]): void {
    const times = computeTimes(
      order,
      (id) => run.tasks.get(id)!.estimateMs,
      (id) => run.tasks.get(id)!.deadlineAt,
      (id) => run.tasks.get(id)!.dependants,
      run.deadlineAt,
    );
    for (const [id, { lft }] of times) run.tasks.get(id)!.lftAt = lft;
  }

  /** A new dependant can only tighten its ancestors' LFT; re-key those still waiting. */
  private tightenUpstream(run: RunState, task: RuntimeTask): void {
    const stack = [task];
    while (stack.length) {
      const t = stack.pop()!;
      const lst = t.lftAt - t.estimateMs;
      for (const n of t.needs) {
        const need = run.tasks.get(n)!;
        if (lst >= need.lftAt) continue;
        need.lftAt = lst;
        if (need.heap !== undefined) {
          this.dispatcher.rekey(
            need,
            orderingKey(
              this.options.ordering,
              need.lftAt,
              need.estimateMs,
              need.ir.priority,
              need.readyAt ?? Date.now(),
              this.options.aging,
            ),
          );
        }
        stack.push(need);
      }
    }
  }

  private activate(
    run: RunState,
    isNew = false,
    trace?: Pick<EngineEvents['run:state:started'], 'traceContext' | 'resumed' | 'previousTraceId'>,
  ): void {
    this.runs.set(run.runId, run);
    const now = Date.now();
    let submitted: Record<string, number> | undefined;
    if (isNew && this.events.has('run:state:started')) {
      submitted = {};
      for (const t of run.tasks.values()) {
        const c = priorityClass(t.ir.priority);
        submitted[c] = (submitted[c] ?? 0) + 1;
      }
    }
    this.events.emit('run:state:started', {
      runId: run.runId,
      workflow: run.ir.name,
      at: now,
      tasks: run.tasks.size,
      ...(run.deadlineAt !== undefined && { deadlineAt: run.deadlineAt }),
      ...(submitted && { submitted }),
      ...trace,
    });
    if (run.deadlineAt !== undefined) {
      const deadline = run.deadlineAt;
      const arm = (): void => {
        const delay = deadline - Date.now();
        // Timers hold at most ~24.8 days (a longer wait re-arms) and may fire a millisecond
        // early by the wall clock (then re-arm for the rest).
        if (delay > 0) {
          run.deadlineTimer = setTimeout(arm, Math.min(delay, MAX_TIMER_MS)).unref();
          return;
        }
        if (run.status !== 'running' || run.deadlineMissed) return;
        run.deadlineMissed = true;
        const at = Date.now();
        this.events.emit('run:deadline:missed', { runId: run.runId, at, deadlineAt: deadline });
        this.options.store.record({
          runId: run.runId,
          type: 'run:deadline:missed',
          at,
          data: { deadlineAt: deadline },
        });
        void this.options.store.updateRun(run.runId, { deadlineMissed: true }).catch(() => {});
      };
      arm();
    }
  }

  /** Evaluates `when`, then queues the task (or skips it). */
  private makeReady(run: RunState, task: RuntimeTask): void {
    if (task.ir.when !== undefined) {
      let ok: boolean;
      try {
        ok = truthy(evaluate(parseCondition(task.ir.when), run.scope));
      } catch {
        ok = false;
      }
      if (!ok) {
        this.finishTask(run, task, 'skipped', `condition is false: ${task.ir.when}`);
        return;
      }
    }
    this.enqueue(run, task);
  }

  private enqueue(run: RunState, task: RuntimeTask): void {
    const now = Date.now();
    task.status = 'ready';
    task.readyAt = now;
    const shardKey =
      task.ir.shardKey !== undefined ? String(renderValue(task.ir.shardKey, run.scope)) : run.shardKey;
    const { ordering, aging } = this.options;
    const key = orderingKey(ordering, task.lftAt, task.estimateMs, task.ir.priority, now, aging);
    this.dispatcher.enqueue(task, shardKey, key, orderingTie(ordering, task.ir.priority));
    this.prediction.arrival(task.ir.priority);
    if (this.events.has('task:state:ready'))
      this.events.emit('task:state:ready', { runId: run.runId, taskId: task.id, at: now });
  }

  /** Dispatcher callback: one attempt of `task` goes to `workerId`. */
  private send(task: RuntimeTask, workerId: string): void {
    const run = this.runs.get(task.runId)!;
    const now = Date.now();
    const attempt = task.resend && task.attempt > 0 ? task.attempt : task.attempt + 1;
    task.resend = false;
    // Resolve expressions before taking a worker slot: a failure here fails the task for good.
    let handler: HandlerSpec;
    let idempotencyKey: string;
    try {
      // Most tasks hold no expression: skip building a scope and walking their arguments.
      const scope = task.templated
        ? { ...run.scope, run: { ...(run.scope.run as object), attempt } }
        : run.scope;
      handler = task.templated ? renderHandler(task.ir.handler, scope) : task.ir.handler;
      idempotencyKey =
        task.ir.idempotencyKey !== undefined
          ? String(renderValue(task.ir.idempotencyKey, scope))
          : `${task.runId}/${task.id}`;
    } catch (err) {
      task.attempt = attempt;
      this.onFailure(run, task, {
        runId: task.runId,
        taskId: task.id,
        attempt,
        workerId,
        ok: false,
        startedAt: now,
        finishedAt: now,
        error: {
          message: `cannot resolve expressions: ${err instanceof Error ? err.message : String(err)}`,
          retryable: false,
        },
      });
      this.dispatcher.schedule();
      return;
    }
    task.attempt = attempt;
    task.status = 'dispatched';
    task.workerId = workerId;
    task.dispatchedAt = now;
    const inflightKey = `${task.runId}\u0000${task.id}\u0000${task.attempt}`;
    this.inflight.set(inflightKey, { workerId, cost: task.cost });
    this.options.balancer.assign(workerId, task.cost);
    this.prediction.assigned(workerId);
    const inputs: Record<string, Record<string, unknown>> = {};
    for (const n of task.needs) inputs[n] = run.tasks.get(n)!.outputs ?? {};
    const assignment: TaskAssignment = {
      runId: task.runId,
      taskId: task.id,
      attempt: task.attempt,
      workerId,
      shard: task.shard ?? 0,
      idempotencyKey,
      handler,
      inputs,
      params: run.params,
      ...(task.ir.timeoutMs !== undefined && { timeoutMs: task.ir.timeoutMs }),
      ...(Number.isFinite(task.lftAt) && { deadlineAt: task.lftAt }),
      ...(task.ir.thread && { thread: true, estimateMs: task.estimateMs }),
    };
    const slackMs = task.lftAt - task.estimateMs - now;
    const trace = this.options.tracing?.attemptContext({
      runId: task.runId,
      taskId: task.id,
      attempt: task.attempt,
      workerId,
      shard: task.shard ?? 0,
      at: now,
    });
    if (trace) assignment.headers = { ...assignment.headers, ...trace.headers };
    task.traceId = trace?.traceId;
    this.options.store.record(
      {
        runId: task.runId,
        type: 'task:attempt:dispatched',
        at: now,
        taskId: task.id,
        attempt: task.attempt,
        data: { workerId },
      },
      {
        runId: task.runId,
        taskId: task.id,
        status: 'dispatched',
        attempt: task.attempt,
        workerId,
        startedAt: now,
        ...(task.readyAt !== undefined && { readyAt: task.readyAt }),
        ...(trace?.traceId !== undefined && { traceId: trace.traceId }),
      },
    );
    if (this.events.has('task:attempt:dispatched')) {
      this.events.emit('task:attempt:dispatched', {
        runId: task.runId,
        taskId: task.id,
        at: now,
        attempt: task.attempt,
        workerId,
        shard: task.shard ?? 0,
        slackMs,
        ...(task.readyAt !== undefined && { readyAt: task.readyAt }),
        ...labelsOf(task),
        ...traceOf(task),
      });
    }
    // The transport could not deliver it (the worker went between pick and send): the attempt
    // goes back to the heaps like a lost worker's, without spending the task's retries.
    this.options.transport.dispatch(assignment).catch((err: unknown) => {
      this.requeueLost(inflightKey, `dispatch failed: ${err instanceof Error ? err.message : String(err)}`);
      this.dispatcher.schedule();
    });
  }

  private async onResult(r: TaskResult): Promise<void> {
    const inflightKey = `${r.runId}\u0000${r.taskId}\u0000${r.attempt}`;
    const slot = this.inflight.get(inflightKey);
    if (slot) {
      this.inflight.delete(inflightKey);
      this.options.balancer.finish(slot.workerId, slot.cost);
      this.dispatcher.schedule();
    }
    const run = this.runs.get(r.runId);
    const task = run?.tasks.get(r.taskId);
    if (!run || !task || task.attempt !== r.attempt || task.status !== 'dispatched' || !slot) {
      this.events.emit('task:result:discarded', {
        runId: r.runId,
        taskId: r.taskId,
        at: Date.now(),
        attempt: r.attempt,
        reason: !task
          ? 'unknown task'
          : task.attempt !== r.attempt
            ? `stale attempt (current ${task.attempt})`
            : `task is ${task.status}`,
      });
      return;
    }
    if (task.completing) return; // a duplicate of the result being recorded
    if (r.ok) {
      // While the success is being recorded, cancellation leaves the task alone: once durable,
      // a success must stand (a replay would otherwise run the task again).
      task.completing = true;
      let won: boolean;
      const fence = this.options.fenceOf?.(r.runId);
      try {
        won = await this.options.store.completeTask({
          ...(fence && { fence }),
          runId: r.runId,
          taskId: r.taskId,
          attempt: r.attempt,
          workerId: r.workerId,
          outputs: r.outputs ?? {},
          startedAt: r.startedAt,
          finishedAt: r.finishedAt,
          ...(task.deadlineAt !== undefined && { deadlineMissed: r.finishedAt > task.deadlineAt }),
        });
      } catch (err) {
        task.completing = false;
        if (isFencedRefusal(err)) {
          // Another scheduler owns the run's shard now: it resumes the run; this one lets go.
          this.detachRun(r.runId);
          return;
        }
        this.onFailure(run, task, {
          ...r,
          ok: false,
          error: { message: `checkpoint failed: ${String(err)}`, retryable: true },
        });
        return;
      }
      task.completing = false;
      if (!won) {
        await this.onCompletionLost(run, task, r);
        return;
      }
      task.outputs = r.outputs ?? {};
      this.prediction.completed(
        {
          handler: handlerNameOf(task.ir.handler),
          durationMs: r.finishedAt - r.startedAt,
          at: r.finishedAt,
          workerId: r.workerId,
          estimateMs: task.estimateMs,
        },
        task.predictedEstimate === true,
      );
      this.events.emit('task:attempt:succeeded', {
        runId: r.runId,
        taskId: r.taskId,
        at: r.finishedAt,
        attempt: r.attempt,
        workerId: r.workerId,
        durationMs: r.finishedAt - r.startedAt,
        runStartedAt: run.startedAt,
        ...labelsOf(task),
        ...traceOf(task),
      });
      if (task.deadlineAt !== undefined && r.finishedAt > task.deadlineAt) {
        this.events.emit('task:deadline:missed', {
          runId: r.runId,
          taskId: r.taskId,
          at: r.finishedAt,
          deadlineAt: task.deadlineAt,
          lateByMs: r.finishedAt - task.deadlineAt,
          ...labelsOf(task),
        });
      }
      this.finishTask(run, task, 'succeeded', undefined, true);
    } else this.onFailure(run, task, r);
  }

  /**
   * The store refused the completion: the task already succeeded (another process recorded it:
   * adopt its outputs), or the store holds another attempt (this result is stale: retry).
   */
  private async onCompletionLost(run: RunState, task: RuntimeTask, r: TaskResult): Promise<void> {
    const stored = (await this.options.store.getTasks(run.runId).catch(() => [])).find(
      (t) => t.taskId === task.id,
    );
    this.events.emit('task:result:discarded', {
      runId: r.runId,
      taskId: r.taskId,
      at: Date.now(),
      attempt: r.attempt,
      reason:
        stored?.status === 'succeeded'
          ? 'completion already recorded'
          : `the store holds attempt ${stored?.attempt ?? '?'}`,
    });
    if (isTerminal(task.status)) return;
    if (stored?.status === 'succeeded') {
      task.outputs = stored.outputs ?? {};
      this.finishTask(run, task, 'succeeded', undefined, true);
      return;
    }
    if (stored && stored.attempt > task.attempt) task.attempt = stored.attempt;
    this.onFailure(run, task, {
      ...r,
      ok: false,
      error: {
        message: `completion not recorded: the store holds attempt ${stored?.attempt ?? '?'}`,
        retryable: true,
      },
    });
  }

  private onFailure(run: RunState, task: RuntimeTask, r: TaskResult): void {
    const error = r.error ?? { message: 'failed', retryable: true };
    // Attempts made before a resume do not count against the retry budget of this run-through.
    const attemptsHere = task.attempt - (task.attemptBase ?? 0);
    const retry = error.retryable && !run.cancelled && canRetry(task.ir.retries, attemptsHere);
    const now = Date.now();
    this.events.emit('task:attempt:failed', {
      runId: run.runId,
      taskId: task.id,
      at: now,
      attempt: task.attempt,
      workerId: r.workerId,
      error: error.message,
      timedOut: Boolean(error.timedOut),
      willRetry: retry,
      ...(error.cancelled && { cancelled: true }),
      ...labelsOf(task),
      ...traceOf(task),
    });
    task.error = error.message;
    if (retry) {
      // A handler's RetryAfterError may ask for any delay; a timer holds at most ~24.8 days.
      const delayMs = Math.min(
        error.retryAfterMs ?? retryDelay(task.ir.retries, attemptsHere, this.options.random),
        MAX_TIMER_MS,
      );
      task.status = 'pending';
      this.options.store.record(
        {
          runId: run.runId,
          type: 'task:attempt:failed',
          at: now,
          taskId: task.id,
          attempt: task.attempt,
          data: { error: error.message, retryInMs: delayMs },
        },
        { runId: run.runId, taskId: task.id, status: 'pending', error: error.message },
      );
      this.events.emit('task:retry:scheduled', {
        runId: run.runId,
        taskId: task.id,
        at: now,
        attempt: task.attempt + 1,
        delayMs,
        ...labelsOf(task),
      });
      task.retryTimer = setTimeout(() => {
        task.retryTimer = undefined;
        if (task.status === 'pending' && run.status === 'running') this.enqueue(run, task);
      }, delayMs);
      return;
    }
    const status: TaskStatus = error.cancelled ? 'cancelled' : error.timedOut ? 'timed-out' : 'failed';
    this.options.store.record({
      runId: run.runId,
      type: 'task:attempt:failed',
      at: now,
      taskId: task.id,
      attempt: task.attempt,
      data: { error: error.message, final: true },
    });
    this.finishTask(run, task, status, error.message);
    if (
      (status === 'failed' || status === 'timed-out') &&
      run.ir.failurePolicy === 'fail-fast' &&
      run.status === 'running'
    ) {
      this.cancelAll(run, `fail-fast: task "${task.id}" ${status}`);
    }
  }

  /** Makes a task terminal, records it, releases or skips its dependants, and ends the run when done. */
  private finishTask(
    run: RunState,
    task: RuntimeTask,
    status: TaskStatus,
    reason?: string,
    completionRecorded = false,
  ): void {
    const now = Date.now();
    if (!completionRecorded) {
      this.options.store.record(
        {
          runId: run.runId,
          type: `task:state:${status}`,
          at: now,
          taskId: task.id,
          ...(reason !== undefined && { data: { reason } }),
        },
        {
          runId: run.runId,
          taskId: task.id,
          status,
          finishedAt: now,
          ...(reason !== undefined && status !== 'skipped' && { error: reason }),
        },
      );
    }
    if (status === 'skipped')
      this.events.emit('task:state:skipped', {
        runId: run.runId,
        taskId: task.id,
        at: now,
        reason: reason ?? '',
      });
    if (status === 'cancelled')
      this.events.emit('task:state:cancelled', {
        runId: run.runId,
        taskId: task.id,
        at: now,
        reason: reason ?? '',
      });
    const { ready, skipped } = settle(run, task, status);
    this.exposeOutputs(run, task);
    for (const s of skipped) {
      this.exposeOutputs(run, s.task);
      this.options.store.record(
        {
          runId: run.runId,
          type: 'task:state:skipped',
          at: now,
          taskId: s.task.id,
          data: { reason: s.reason },
        },
        { runId: run.runId, taskId: s.task.id, status: 'skipped', finishedAt: now },
      );
      this.events.emit('task:state:skipped', {
        runId: run.runId,
        taskId: s.task.id,
        at: now,
        reason: s.reason,
      });
    }
    for (const t of ready) {
      if (!run.cancelled) this.makeReady(run, t);
      // A success recorded while the run was being cancelled releases dependants: cancel them.
      else if (!isTerminal(t.status)) this.finishTask(run, t, 'cancelled', 'run cancelled');
    }
    if (run.remaining === 0 && !run.open) this.finishRun(run);
  }

  private exposeOutputs(run: RunState, task: RuntimeTask): void {
    (run.scope.tasks as Record<string, unknown>)[task.id] = {
      status: task.status,
      outputs: task.outputs ?? {},
    };
  }

  /** Drops a task from the heap or its retry timer, and aborts its running attempt. */
  private stopTask(task: RuntimeTask): void {
    this.dispatcher.remove(task);
    if (task.retryTimer) {
      clearTimeout(task.retryTimer);
      task.retryTimer = undefined;
    }
    if (task.status === 'dispatched' && task.workerId) {
      const { runId, id: taskId, attempt } = task;
      void this.options.transport.cancel(task.workerId, { runId, taskId, attempt }).catch(() => {});
    }
  }

  private cancelAll(run: RunState, reason: string): void {
    run.cancelled = true;
    run.open = false; // a cancelled run takes no more tasks
    if (run.remaining === 0) this.finishRun(run);
    // Dependants first (tasks are held needs-first), so each open task ends `cancelled` itself
    // rather than `skipped` because a need was cancelled before it.
    const open = [...run.tasks.values()].filter((t) => !isTerminal(t.status) && !t.completing).reverse();
    for (const t of open) this.stopTask(t);
    for (const t of open) if (!isTerminal(t.status)) this.finishTask(run, t, 'cancelled', reason);
  }

  private finishRun(run: RunState): void {
    if (run.status !== 'running') return;
    const now = Date.now();
    run.status = finalStatus(run);
    if (run.deadlineTimer) clearTimeout(run.deadlineTimer);
    if (run.deadlineAt !== undefined && now > run.deadlineAt && !run.deadlineMissed) {
      run.deadlineMissed = true;
      this.events.emit('run:deadline:missed', { runId: run.runId, at: now, deadlineAt: run.deadlineAt });
    }
    this.runs.delete(run.runId);
    this.storedWorkflows.delete(run.runId);
    const status = run.status;
    this.options.store.record({
      runId: run.runId,
      type: `run:state:${status}`,
      at: now,
      data: { deadlineMissed: run.deadlineMissed },
    });
    void this.options.store
      .updateRun(run.runId, { status, finishedAt: now, deadlineMissed: run.deadlineMissed })
      .then(() => this.options.store.flush())
      .catch(() => {})
      .finally(() => {
        this.events.emit('run:state:finished', {
          runId: run.runId,
          status,
          at: now,
          deadlineMissed: run.deadlineMissed,
          durationMs: now - run.startedAt,
        });
        for (const w of run.waiters) w(status);
      });
  }
}

/** The metric labels of a task's events (see TaskLabels). */
function labelsOf(task: RuntimeTask): TaskLabels {
  return { priorityClass: priorityClass(task.ir.priority), handler: handlerNameOf(task.ir.handler) };
}

/** The attempt's trace id for its events (exemplars), when it has one. */
function traceOf(task: RuntimeTask): { traceId?: string } {
  return task.traceId === undefined ? {} : { traceId: task.traceId };
}

/** The "worker" of a resumed attempt awaited after a takeover (see awaitResumedAttempt). */
const RESUMED_ATTEMPT_WORKER = '(resumed)';

/** The store refused a completion because another scheduler fenced the run's shard. */
function isFencedRefusal(err: unknown): boolean {
  return (
    err instanceof SmartQueueError &&
    err.code === 'FAILED_PRECONDITION' &&
    (err.details as { fenced?: unknown }).fenced === true
  );
}
