/**
 * How assignments, results, cancels and heartbeats look on the wire: a JSON value plus headers.
 * Tasks carry their ids, the addressed worker and `assignment.headers` (trace context) as Kafka
 * headers; our own headers start with `smartqueue-`, every other header is the assignment's.
 */
import type { HandlerSpec, TaskAssignment, TaskResult } from '../../../engine/stages.js';

export const HEADER = {
  taskId: 'smartqueue-task-id',
  runId: 'smartqueue-run-id',
  attempt: 'smartqueue-attempt',
  workerId: 'smartqueue-worker-id',
  error: 'smartqueue-error',
} as const;

const OWN_PREFIX = 'smartqueue-';

/** A cancel request as carried on the control topic. */
export interface CancelMessage {
  runId: string;
  taskId: string;
  attempt: number;
  workerId: string;
}

/** A worker's heartbeat on the heartbeats topic. */
export interface HeartbeatMessage {
  type: 'beat' | 'leave';
  workerId: string;
  capacity: number;
  handlers?: string[];
  labels?: Record<string, string>;
  running: number;
  load: number;
  at: number;
}

/** Kafka's header values as kafkajs hands them over. */
export type RawHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export interface EncodedMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
  partition?: number;
}

/** The key that names one attempt. */
export function attemptKey(a: { runId: string; taskId: string; attempt: number }): string {
  return `${a.runId}/${a.taskId}/${a.attempt}`;
}

export function headerText(headers: RawHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    const one = Array.isArray(value) ? value[value.length - 1] : value;
    if (one !== undefined) out[key] = one.toString();
  }
  return out;
}

export function encodeAssignment(a: TaskAssignment, partition: number): EncodedMessage {
  const { headers, ...body } = a;
  const own: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (!k.startsWith(OWN_PREFIX)) own[k] = v;
  return {
    key: `${a.runId}/${a.taskId}`,
    value: JSON.stringify(body),
    partition,
    headers: {
      ...own,
      [HEADER.taskId]: a.taskId,
      [HEADER.runId]: a.runId,
      [HEADER.attempt]: String(a.attempt),
      [HEADER.workerId]: a.workerId,
    },
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function checkHandler(h: unknown): h is HandlerSpec {
  if (!isObject(h)) return false;
  if (h.kind === 'run') return Array.isArray(h.argv) && h.argv.every((x) => typeof x === 'string');
  return h.kind === 'uses' && typeof h.name === 'string' && isObject(h.with);
}

/** Decodes a task message, or says why it cannot (the message then goes to the dead letters). */
export function decodeAssignment(
  value: Buffer | null,
  headers: Record<string, string>,
): { ok: true; assignment: TaskAssignment } | { ok: false; reason: string } {
  let body: unknown;
  try {
    body = JSON.parse(value?.toString() ?? '');
  } catch (err) {
    return { ok: false, reason: `undecodable JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!isObject(body)) return { ok: false, reason: 'the value is not a JSON object' };
  const missing: string[] = [];
  for (const f of ['runId', 'taskId', 'workerId', 'idempotencyKey'] as const) {
    if (typeof body[f] !== 'string' || body[f] === '') missing.push(f);
  }
  if (!Number.isInteger(body.attempt) || (body.attempt as number) < 1) missing.push('attempt');
  if (!Number.isInteger(body.shard) || (body.shard as number) < 0) missing.push('shard');
  if (!checkHandler(body.handler)) missing.push('handler');
  if (!isObject(body.inputs)) missing.push('inputs');
  if (!isObject(body.params)) missing.push('params');
  if (missing.length) return { ok: false, reason: `missing or invalid field(s): ${missing.join(', ')}` };
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!k.startsWith(OWN_PREFIX)) extra[k] = v;
  const assignment = body as unknown as TaskAssignment;
  return { ok: true, assignment: Object.keys(extra).length ? { ...assignment, headers: extra } : assignment };
}

export function encodeResult(r: TaskResult): EncodedMessage {
  return {
    key: r.runId,
    value: JSON.stringify(r),
    headers: {
      [HEADER.taskId]: r.taskId,
      [HEADER.runId]: r.runId,
      [HEADER.attempt]: String(r.attempt),
      [HEADER.workerId]: r.workerId,
    },
  };
}

export function decodeResult(value: Buffer | null): TaskResult | undefined {
  try {
    const r = JSON.parse(value?.toString() ?? '') as unknown;
    if (!isObject(r) || typeof r.runId !== 'string' || typeof r.taskId !== 'string') return undefined;
    if (!Number.isInteger(r.attempt) || typeof r.ok !== 'boolean' || typeof r.workerId !== 'string')
      return undefined;
    return r as unknown as TaskResult;
  } catch {
    return undefined;
  }
}

export function decodeCancel(value: Buffer | null): CancelMessage | undefined {
  try {
    const c = JSON.parse(value?.toString() ?? '') as unknown;
    if (!isObject(c) || typeof c.runId !== 'string' || typeof c.taskId !== 'string') return undefined;
    if (!Number.isInteger(c.attempt)) return undefined;
    return c as unknown as CancelMessage;
  } catch {
    return undefined;
  }
}

export function decodeHeartbeat(value: Buffer | null): HeartbeatMessage | undefined {
  try {
    const h = JSON.parse(value?.toString() ?? '') as unknown;
    if (!isObject(h) || typeof h.workerId !== 'string' || (h.type !== 'beat' && h.type !== 'leave'))
      return undefined;
    if (!Number.isInteger(h.capacity) || (h.capacity as number) < 1) return undefined;
    return h as unknown as HeartbeatMessage;
  } catch {
    return undefined;
  }
}
