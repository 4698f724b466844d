/**
 * SubmitTask: one task at a time into an open run. Each namespace has one open run, started on
 * first use (`keepOpen`, failure policy `continue`, so one failed task does not cancel the
 * namespace); a task may instead join any live run by id. Needs name earlier tasks of that run.
 */
import { compileWorkflow } from '../../../dsl/compiler.js';
import type { CompiledPlan } from '../../../dsl/compiler.js';
import { parseDuration, parseInstant } from '../../../dsl/duration.js';
import { IR_DEFAULTS } from '../../../dsl/ir.js';
import type { DeadlineIR, TaskIR, WorkflowIR } from '../../../dsl/ir.js';
import { MAX_TIMER_MS } from '../../../dsl/normalize.js';
import { SmartQueueError } from '../../../engine/errors.js';
import type { SubmitTaskRequest__Output } from '../../../proto/generated/smartqueue/v1/SubmitTaskRequest.js';
import type { SubmitTaskResponse } from '../../../proto/generated/smartqueue/v1/SubmitTaskResponse.js';
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
export function taskFromRequest(req: SubmitTaskRequest__Output, taskId: string): TaskIR {
  const wrong: FieldViolation[] = [];
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
  if (wrong.length) throw badRequest(wrong);
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

export function createSubmitTask(options: ResolvedGrpcApiOptions) {
  const { engine, store, limits } = options;
  const namespaces = new Map<string, Promise<string>>();
  const keys = new IdempotencyCache<{ taskId: string; runId: string }>(limits.maxIdempotencyKeys);

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

  /** The live run a task joins; FAILED_PRECONDITION for a finished one, NOT_FOUND for none. */
  const targetRun = async (req: SubmitTaskRequest__Output): Promise<string> => {
    if (!req.runId) return runOf(req.namespace || 'default');
    if (engine.activeRuns().has(req.runId)) return req.runId;
    const rec = await store.getRun(req.runId);
    if (!rec) throw new SmartQueueError('NOT_FOUND', `unknown run ${req.runId}`);
    throw new SmartQueueError(
      'FAILED_PRECONDITION',
      `run ${req.runId} takes no more tasks (status ${rec.status})`,
    );
  };

  const submit = async (req: SubmitTaskRequest__Output) => {
    const runId = await targetRun(req);
    const taskId = req.taskId || engine.options.coordinator.nextId('task');
    await engine.addTask(runId, taskFromRequest(req, taskId));
    const metadata = Object.entries(req.metadata);
    if (metadata.length) {
      store.record({ runId, type: METADATA_EVENT, at: Date.now(), taskId, data: { metadata: req.metadata } });
    }
    return { taskId, runId };
  };

  return async (req: SubmitTaskRequest__Output): Promise<SubmitTaskResponse> => {
    if (!req.runId && req.namespace && !NAMESPACE_RE.test(req.namespace)) {
      throw badRequest([
        {
          field: 'namespace',
          description: `invalid namespace "${req.namespace}": letters, digits, ".", "_", "-" (at most 63)`,
        },
      ]);
    }
    // Fail fast on wrong fields, before a namespace run is started for nothing.
    taskFromRequest(req, req.taskId || 'probe');
    if (!req.idempotencyKey) return { ...(await submit(req)), deduplicated: false };
    const scope = req.runId ? `run:${req.runId}` : `ns:${req.namespace || 'default'}`;
    const r = await keys.run(`${scope}\u0000${req.idempotencyKey}`, fingerprint(req), () => submit(req));
    return { ...r.value, deduplicated: r.deduplicated };
  };
}
