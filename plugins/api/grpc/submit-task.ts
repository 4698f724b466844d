/**
 * SubmitTask and SubmitTasks: tasks into an open run, one at a time or in all-or-none batches.
 * Each namespace has one open run, started on first use (`keepOpen`, failure policy
 * `continue`, so one failed task does not cancel the namespace); tasks may instead join any live
 * run by id. Needs name earlier tasks of that run (or of the same batch).
 */
import { compileWorkflow } from '../../../dsl/compiler.js';
import type { CompiledPlan } from '../../../dsl/compiler.js';
import { parseDuration, parseInstant } from '../../../dsl/duration.js';
import { IR_DEFAULTS } from '../../../dsl/ir.js';
import type { DeadlineIR, TaskIR, WorkflowIR } from '../../../dsl/ir.js';
import { MAX_TIMER_MS } from '../../../dsl/normalize.js';
import { ID_PATTERN } from '../../../dsl/schema.js';
import { SmartQueueError } from '../../../engine/errors.js';
import type { TraceCarrier } from '../../../engine/stages.js';
import type { SubmitTaskRequest__Output } from '../../../proto/generated/smartqueue/v1/SubmitTaskRequest.js';
import type { SubmitTaskResponse } from '../../../proto/generated/smartqueue/v1/SubmitTaskResponse.js';
import type { SubmitTasksRequest__Output } from '../../../proto/generated/smartqueue/v1/SubmitTasksRequest.js';
import type { SubmitTasksResponse } from '../../../proto/generated/smartqueue/v1/SubmitTasksResponse.js';
import { fromStruct } from './convert.js';
import { badRequest } from './errors.js';
import type { FieldViolation } from './errors.js';
import { fingerprint, IdempotencyCache } from './idempotency.js';
import type { ResolvedGrpcApiOptions } from './options.js';

/** Label naming the namespace of a run that takes submitted tasks. */
export const NAMESPACE_LABEL = 'smartqueue.io/namespace';
/** Event recorded in a run's log with the metadata of a submitted task. */
export const METADATA_EVENT = 'task:metadata:recorded';

const NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const TASK_ID_RE = new RegExp(ID_PATTERN);

function checkNamespace(runId: string, namespace: string): void {
  if (!runId && namespace && !NAMESPACE_RE.test(namespace)) {
    throw badRequest([
      {
        field: 'namespace',
        description: `invalid namespace "${namespace.slice(0, 80)}": letters, digits, ".", "_", "-" (at most 63)`,
      },
    ]);
  }
}

/** A plan with no task: the start of a namespace's open run. */
function emptyPlan(namespace: string): CompiledPlan {
  const ir: WorkflowIR = {
    apiVersion: 'smartqueue/v1',
    name: `namespace-${namespace}`,
    labels: {},
    priority: IR_DEFAULTS.priority,
    failurePolicy: 'continue',
    params: {},
    tasks: [],
  };
  return compileWorkflow(ir, { file: '<api>', locate: () => ({ line: 1, column: 1 }) }).plan!;
}

function parseDeadline(text: string): DeadlineIR | undefined {
  const ms = parseDuration(text);
  if (ms !== undefined) return { kind: 'relative', ms };
  const at = parseInstant(text);
  return at === undefined ? undefined : { kind: 'absolute', epochMs: at, text };
}

/** Turns the request into a task IR, collecting every wrong field. */
export function taskFromRequest(req: SubmitTaskRequest__Output, taskId: string, prefix = ''): TaskIR {
  const wrong: FieldViolation[] = [];
  violations(req, wrong);
  const task = buildTask(req, taskId, wrong);
  if (wrong.length) throw badRequest(wrong.map((w) => ({ ...w, field: prefix + w.field })));
  return task;
}

/** Checks the fields of a task that are not part of its IR. */
function violations(req: SubmitTaskRequest__Output, wrong: FieldViolation[]): void {
  if (req.taskId && !TASK_ID_RE.test(req.taskId))
    wrong.push({
      field: 'task_id',
      description: `invalid task id "${req.taskId.slice(0, 140)}": letters, digits, "_" and "-", starting with a letter or "_" (at most 128)`,
    });
}

function buildTask(req: SubmitTaskRequest__Output, taskId: string, wrong: FieldViolation[]): TaskIR {
  if (!req.handler)
    wrong.push({ field: 'handler', description: 'is required (a handler name such as noop)' });
  const duration = (field: string, text: string): number | undefined => {
    if (!text) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined)
      wrong.push({ field, description: `invalid duration "${text}" (use 250ms, 30s, 5m, PT1H)` });
    else if (ms > MAX_TIMER_MS)
      wrong.push({ field, description: `"${text}" is longer than ${MAX_TIMER_MS} ms` });
    return ms;
  };
  const estimateMs = duration('estimate', req.estimate);
  const timeoutMs = duration('timeout', req.timeout);
  const deadline = req.deadline ? parseDeadline(req.deadline) : undefined;
  if (req.deadline && !deadline) {
    wrong.push({
      field: 'deadline',
      description: `invalid deadline "${req.deadline}": use a duration (30s, PT5M) or an RFC 3339 instant`,
    });
  }
  const priority = req.priority ?? IR_DEFAULTS.priority;
  if (!Number.isInteger(priority) || priority < 0 || priority > 100)
    wrong.push({ field: 'priority', description: `must be 0..100, got ${priority}` });
  const retries = req.retriesMax ?? 0;
  if (retries < 0 || retries > 100)
    wrong.push({ field: 'retries_max', description: `must be 0..100, got ${retries}` });
  const args = fromStruct(req.args, 'args');
  return {
    id: taskId,
    needs: [...req.needs],
    handler: { kind: 'uses', name: req.handler, with: args },
    priority,
    retries: { ...IR_DEFAULTS.retries, max: retries },
    ...(deadline && { deadline }),
    ...(estimateMs !== undefined && { estimateMs }),
    ...(timeoutMs !== undefined && { timeoutMs }),
    ...(req.idempotencyKey && { idempotencyKey: req.idempotencyKey }),
    ...(req.shardKey && { shardKey: req.shardKey }),
  };
}

type TaskAnswer = { taskId: string; runId: string };

/** The SubmitTask and SubmitTasks handlers, sharing the namespaces' runs and idempotency keys. */
export function createSubmitTask(options: ResolvedGrpcApiOptions) {
  const { engine, store, limits } = options;
  const namespaces = new Map<string, Promise<string>>();
  // The run each namespace's promise resolved to (for WatchTasks by namespace).
  const started = new Map<string, string>();
  const keys = new IdempotencyCache<TaskAnswer>(limits.maxIdempotencyKeys);

  const isOpen = (runId: string) => engine.activeRuns().get(runId)?.open === true;

  /** The namespace's open run, started on first use (concurrent first calls share one start). */
  const runOf = async (namespace: string): Promise<string> => {
    for (let tries = 0; tries < 3; tries++) {
      let pending = namespaces.get(namespace);
      if (!pending) {
        pending = engine.startRun(emptyPlan(namespace), {
          keepOpen: true,
          labels: { [NAMESPACE_LABEL]: namespace },
        });
        namespaces.set(namespace, pending);
        pending.then(
          (id) => started.set(namespace, id),
          () => {},
        );
      }
      const runId = await pending.catch((err: unknown) => {
        if (namespaces.get(namespace) === pending) namespaces.delete(namespace);
        throw err;
      });
      if (isOpen(runId)) return runId;
      // Cancelled or closed since: the next task starts a new run for the namespace.
      if (namespaces.get(namespace) === pending) namespaces.delete(namespace);
    }
    throw new SmartQueueError('UNAVAILABLE', `cannot open a run for namespace "${namespace}"`);
  };

  /** The live run tasks join; FAILED_PRECONDITION for a finished one, NOT_FOUND for none. */
  const targetRun = async (runId: string, namespace: string): Promise<string> => {
    if (!runId) return runOf(namespace || 'default');
    if (engine.activeRuns().has(runId)) return runId;
    const rec = await store.getRun(runId);
    if (!rec) throw new SmartQueueError('NOT_FOUND', `unknown run ${runId}`);
    throw new SmartQueueError(
      'FAILED_PRECONDITION',
      `run ${runId} takes no more tasks (status ${rec.status})`,
    );
  };

  const recordMetadata = (runId: string, taskId: string, metadata: Record<string, string>): void => {
    if (Object.keys(metadata).length === 0) return;
    store.record({ runId, type: METADATA_EVENT, at: Date.now(), taskId, data: { metadata } });
  };

  // A namespace's open run outlives any one call, so its span is a root; each task's attempts
  // hang under the call that submitted it (traceContext).
  const submit = async (req: SubmitTaskRequest__Output, traceContext?: TraceCarrier): Promise<TaskAnswer> => {
    const runId = await targetRun(req.runId, req.namespace);
    const taskId = req.taskId || engine.options.coordinator.nextId('task');
    await engine.addTasks(runId, [taskFromRequest(req, taskId)], { ...(traceContext && { traceContext }) });
    recordMetadata(runId, taskId, req.metadata);
    return { taskId, runId };
  };

  const scopeOf = (runId: string, namespace: string) =>
    runId ? `run:${runId}` : `ns:${namespace || 'default'}`;

  const submitTask = async (
    req: SubmitTaskRequest__Output,
    traceContext?: TraceCarrier,
  ): Promise<SubmitTaskResponse> => {
    checkNamespace(req.runId, req.namespace);
    // Fail fast on wrong fields, before a namespace run is started for nothing.
    taskFromRequest(req, req.taskId || 'probe');
    if (!req.idempotencyKey) return { ...(await submit(req, traceContext)), deduplicated: false };
    const key = `${scopeOf(req.runId, req.namespace)}\u0000${req.idempotencyKey}`;
    const r = await keys.run(key, fingerprint(req), () => submit(req, traceContext));
    return { ...r.value, deduplicated: r.deduplicated };
  };

  const submitTasks = async (
    req: SubmitTasksRequest__Output,
    traceContext?: TraceCarrier,
  ): Promise<SubmitTasksResponse> => {
    checkNamespace(req.runId, req.namespace);
    if (req.tasks.length === 0)
      throw badRequest([{ field: 'tasks', description: 'is required: at least one task' }]);
    if (req.tasks.length > limits.maxTasksPerSubmission) {
      throw new SmartQueueError(
        'RESOURCE_EXHAUSTED',
        `${req.tasks.length} tasks in one SubmitTasks call; this server accepts at most ${limits.maxTasksPerSubmission}`,
        { details: { tasks: req.tasks.length, limit: limits.maxTasksPerSubmission } },
      );
    }
    // Every wrong field of every task, before anything is started or added.
    const wrong: FieldViolation[] = [];
    const seen = new Set<string>();
    req.tasks.forEach((t, i) => {
      const at = `tasks[${i}].`;
      if (t.runId || t.namespace)
        wrong.push({
          field: `${at}${t.runId ? 'run_id' : 'namespace'}`,
          description: 'must be empty in a batch',
        });
      if (t.taskId && seen.has(t.taskId))
        wrong.push({ field: `${at}task_id`, description: `"${t.taskId}" appears twice in the batch` });
      seen.add(t.taskId);
      try {
        taskFromRequest(t, t.taskId || 'probe', at);
      } catch (err) {
        const v = (err as SmartQueueError).details?.fieldViolations as FieldViolation[] | undefined;
        if (!v) throw err;
        wrong.push(...v);
      }
    });
    if (wrong.length) throw badRequest(wrong);

    const scope = scopeOf(req.runId, req.namespace);
    // Members with a key answered before are left out (and answered as then); the rest are
    // added together, and their keys answer with this batch's outcome.
    const answers: (Promise<TaskAnswer> | undefined)[] = req.tasks.map((t) =>
      t.idempotencyKey
        ? keys.peek(
            `${scope}\u0000${t.idempotencyKey}`,
            fingerprint({ ...t, namespace: req.namespace, runId: req.runId }),
          )
        : undefined,
    );
    const fresh = req.tasks.flatMap((t, i) => (answers[i] ? [] : [{ t, i }]));
    let added: Promise<TaskAnswer[]> = Promise.resolve([]);
    if (fresh.length) {
      added = (async () => {
        const runId = await targetRun(req.runId, req.namespace);
        const tasks = fresh.map(({ t }) =>
          taskFromRequest(t, t.taskId || engine.options.coordinator.nextId('task')),
        );
        await engine.addTasks(runId, tasks, { ...(traceContext && { traceContext }) });
        for (const [k, { t }] of fresh.entries()) recordMetadata(runId, tasks[k]!.id, t.metadata);
        return tasks.map((task) => ({ taskId: task.id, runId }));
      })();
      fresh.forEach(({ t, i }, k) => {
        if (!t.idempotencyKey) return;
        const mine = added.then((all) => all[k]!);
        keys.claim(
          `${scope}\u0000${t.idempotencyKey}`,
          fingerprint({ ...t, namespace: req.namespace, runId: req.runId }),
          mine,
        );
        answers[i] = mine;
      });
    }
    const all = await added;
    const out: SubmitTaskResponse[] = [];
    let k = 0;
    for (let i = 0; i < req.tasks.length; i++) {
      const isFresh = fresh[k]?.i === i;
      const answer = isFresh ? all[k++]! : await answers[i]!;
      out.push({ ...answer, deduplicated: !isFresh });
    }
    const runId = out.find((o) => o.runId)?.runId ?? '';
    return { runId, tasks: out };
  };

  /** The namespace's open run, if it has one now. */
  const openRunOf = (namespace: string): string | undefined => {
    const id = started.get(namespace);
    return id !== undefined && isOpen(id) ? id : undefined;
  };

  return { submitTask, submitTasks, openRunOf };
}
