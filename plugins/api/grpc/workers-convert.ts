/** Engine assignments and results to and from their wire form (workers.proto). */
import type { TaskAssignment, TaskResult } from '../../../engine/stages.js';
import type { Assignment, Assignment__Output } from '../../../proto/generated/smartqueue/v1/Assignment.js';
import type {
  AttemptResult,
  AttemptResult__Output,
} from '../../../proto/generated/smartqueue/v1/AttemptResult.js';
import { fromStruct, toStruct } from './convert.js';

export function toWireAssignment(a: TaskAssignment): Assignment {
  const out: Assignment = {
    runId: a.runId,
    taskId: a.taskId,
    attempt: a.attempt,
    shard: a.shard,
    idempotencyKey: a.idempotencyKey,
    inputs: toStruct(a.inputs),
    params: toStruct(a.params),
    timeoutMs: a.timeoutMs ?? 0,
    deadlineAtMs: a.deadlineAt !== undefined && Number.isFinite(a.deadlineAt) ? Math.round(a.deadlineAt) : 0,
    headers: a.headers ?? {},
    thread: a.thread === true,
    estimateMs: a.estimateMs !== undefined && Number.isFinite(a.estimateMs) ? Math.round(a.estimateMs) : 0,
  };
  if (a.handler.kind === 'run') {
    out.run = { argv: a.handler.argv, cwd: a.handler.cwd ?? '', env: a.handler.env ?? {} };
  } else out.uses = { name: a.handler.name, args: toStruct(a.handler.with) };
  return out;
}

/** @throws SmartQueueError INVALID_ARGUMENT for a malformed message. */
export function fromWireAssignment(m: Assignment__Output, workerId: string): TaskAssignment {
  const a: TaskAssignment = {
    runId: m.runId,
    taskId: m.taskId,
    attempt: m.attempt,
    workerId,
    shard: m.shard,
    idempotencyKey: m.idempotencyKey,
    handler:
      m.handler === 'run' && m.run
        ? {
            kind: 'run',
            argv: m.run.argv,
            ...(m.run.cwd && { cwd: m.run.cwd }),
            ...(Object.keys(m.run.env).length > 0 && { env: m.run.env }),
          }
        : { kind: 'uses', name: m.uses?.name ?? '', with: fromStruct(m.uses?.args, 'uses.args') },
    inputs: fromStruct(m.inputs, 'inputs') as Record<string, Record<string, unknown>>,
    params: fromStruct(m.params, 'params'),
  };
  if (m.timeoutMs > 0) a.timeoutMs = m.timeoutMs;
  if (m.deadlineAtMs > 0) a.deadlineAt = m.deadlineAtMs;
  if (Object.keys(m.headers).length > 0) a.headers = m.headers;
  if (m.thread) a.thread = true;
  if (m.estimateMs > 0) a.estimateMs = m.estimateMs;
  return a;
}

export function toWireResult(r: TaskResult): AttemptResult {
  return {
    runId: r.runId,
    taskId: r.taskId,
    attempt: r.attempt,
    ok: r.ok,
    outputs: toStruct(r.outputs ?? {}),
    startedAtMs: r.startedAt,
    finishedAtMs: r.finishedAt,
    ...(r.error && {
      error: {
        message: r.error.message,
        retryable: r.error.retryable,
        retryAfterMs: r.error.retryAfterMs ?? 0,
        timedOut: r.error.timedOut === true,
        cancelled: r.error.cancelled === true,
      },
    }),
  };
}

/** @throws SmartQueueError INVALID_ARGUMENT for a malformed message. */
export function fromWireResult(m: AttemptResult__Output): Omit<TaskResult, 'workerId'> {
  const r: Omit<TaskResult, 'workerId'> = {
    runId: m.runId,
    taskId: m.taskId,
    attempt: m.attempt,
    ok: m.ok,
    startedAt: m.startedAtMs,
    finishedAt: m.finishedAtMs,
  };
  if (m.ok) r.outputs = fromStruct(m.outputs, 'result.outputs');
  else {
    const e = m.error;
    r.error = {
      message: e?.message || 'the worker reported a failure without a message',
      retryable: e?.retryable ?? true,
      ...(e && e.retryAfterMs > 0 && { retryAfterMs: e.retryAfterMs }),
      ...(e?.timedOut && { timedOut: true }),
      ...(e?.cancelled && { cancelled: true }),
    };
  }
  return r;
}
