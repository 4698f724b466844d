/**
 * The shape of a compiled workflow IR (dsl/ir.ts) as zod, for IR that arrives from outside (the
 * gRPC SubmitWorkflow `ir` field): every field the compiler relies on is checked here, so a
 * hand-made or stale IR gets field errors instead of reaching the engine. Graph checks (cycles,
 * unknown needs, expressions, deadlines) stay the compiler's.
 */
import { z } from 'zod';
import type { WorkflowIR } from './ir.js';
import { MAX_TIMER_MS } from './normalize.js';
import { API_VERSION, ID_PATTERN } from './schema.js';

const id = z.string().regex(new RegExp(ID_PATTERN), {
  error: 'invalid id: letters, digits, "_" and "-", starting with a letter or "_" (at most 128)',
});
const ms = z.number().int().min(0).max(MAX_TIMER_MS);
const priority = z.number().int().min(0).max(100);
const labels = z.record(z.string(), z.string());

const deadline = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('relative'), ms }),
  z.strictObject({ kind: z.literal('absolute'), epochMs: z.number().int().min(0), text: z.string() }),
]);

const handler = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('run'),
    argv: z.array(z.string()).min(1),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
  }),
  z.strictObject({
    kind: z.literal('uses'),
    name: z.string().min(1),
    with: z.record(z.string(), z.unknown()),
  }),
]);

const retries = z.strictObject({
  max: z.number().int().min(0).max(100),
  backoff: z.enum(['fixed', 'exponential']),
  initialMs: ms,
  maxDelayMs: ms,
  jitter: z.number().min(0).max(1),
});

const task = z.strictObject({
  id,
  name: z.string().optional(),
  needs: z.array(id),
  handler,
  priority,
  deadline: deadline.optional(),
  estimateMs: ms.optional(),
  timeoutMs: ms.optional(),
  retries,
  idempotencyKey: z.string().optional(),
  shardKey: z.string().optional(),
  when: z.string().optional(),
  outputs: z.array(z.string()).optional(),
  thread: z.boolean().optional(),
});

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const param = z.strictObject({
  type: z.enum(['string', 'number', 'integer', 'boolean']),
  default: scalar.optional(),
  description: z.string().optional(),
  enum: z.array(z.union([z.string(), z.number()])).optional(),
  required: z.boolean(),
});

export const workflowIrSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  name: id,
  description: z.string().optional(),
  labels,
  deadline: deadline.optional(),
  priority,
  schedule: z
    .strictObject({
      cron: z.string(),
      timezone: z.string(),
      catchUp: z.enum(['none', 'latest', 'all']),
    })
    .optional(),
  shardKey: z.string().optional(),
  failurePolicy: z.enum(['fail-fast', 'continue']),
  params: z.record(id, param),
  tasks: z.array(task),
});

/** One wrong field of an IR: its path (`tasks[2].needs[0]`) and what is wrong. */
export interface IrProblem {
  path: string;
  message: string;
}

/** `['tasks', 2, 'needs', 0]` → `tasks[2].needs[0]`. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

/** Checks an IR's shape; returns it typed, or every wrong field. */
export function parseWorkflowIr(
  value: unknown,
): { ok: true; ir: WorkflowIR } | { ok: false; problems: IrProblem[] } {
  const r = workflowIrSchema.safeParse(value);
  if (r.success) return { ok: true, ir: r.data as WorkflowIR };
  return {
    ok: false,
    problems: r.error.issues.map((i) => ({ path: pathText(i.path), message: i.message })),
  };
}
