/**
 * Validates one workflow document against the schema and turns it into the IR. Every problem is
 * collected (top-level fields and each task separately), never only the first.
 */
import { CronExpressionParser } from 'cron-parser';
import type { z } from 'zod';
import type { SourceDiagnostic } from '../engine/errors.js';
import { parseDuration, parseInstant } from './duration.js';
import { IR_DEFAULTS, PRIORITY_VALUES } from './ir.js';
import type { DeadlineIR, ParamIR, RetryPolicy, ScheduleIR, TaskIR, WorkflowIR } from './ir.js';
import { documentSchema, ID_PATTERN, taskSchema } from './schema.js';
import type { DocumentSpec, RetrySpec, TaskSpec } from './schema.js';
import { diagnosticAt, didYouMean } from './source.js';
import type { FieldPath, WorkflowSource } from './source.js';

export interface NormalizeResult {
  ir?: WorkflowIR;
  /** For each task of `ir.tasks`, the index of its entry in the document's `spec.tasks`. */
  taskIndex: number[];
  diagnostics: SourceDiagnostic[];
  /** True when the document has errors: the IR holds only what could be checked, never run it. */
  partial?: boolean;
}

interface SchemaDef {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  element?: unknown;
  valueType?: unknown;
  options?: unknown[];
}

/** Unwraps optional wrappers and picks the object branch of a union. */
function unwrap(schema: unknown): SchemaDef | undefined {
  let def = (schema as { def?: SchemaDef } | undefined)?.def;
  while (def && (def.type === 'optional' || def.type === 'union')) {
    const next: unknown =
      def.type === 'optional' ? def.innerType : def.options?.find((o) => unwrap(o)?.type === 'object');
    def = (next as { def?: SchemaDef } | undefined)?.def;
  }
  return def;
}

/** Keys the object at `path` of `schema` may hold, for "unknown key" hints. */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let def = unwrap(schema);
  for (const seg of path) {
    if (!def) return [];
    if (def.type === 'object') def = unwrap(def.shape?.[String(seg)]);
    else if (def.type === 'array') def = unwrap(def.element);
    else if (def.type === 'record') def = unwrap(def.valueType);
    else return [];
  }
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** The value at a relative path of raw data, for telling "missing" from "wrong". */
function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

/**
 * zod issues of `data` (checked against `schema`, found at `prefix` in the document) as
 * `file:line:column path: message` diagnostics: unknown keys with a did-you-mean and the allowed
 * keys, missing fields at their parent, a bad field inside a mapping-or-scalar union as itself.
 * Shared by workflow files and the server config file.
 */
export function issuesToDiagnostics(
  issues: readonly z.core.$ZodIssue[],
  schema: z.ZodType,
  prefix: FieldPath,
  source: WorkflowSource,
  data: unknown,
): SourceDiagnostic[] {
  const out: SourceDiagnostic[] = [];
  for (const issue of issues) {
    const rel = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    const path = [...prefix, ...rel];
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(schema, issue.path);
      for (const key of issue.keys) {
        out.push(
          diagnosticAt(
            source,
            [...path, key],
            `unknown key "${key}"${didYouMean(key, allowed)}; allowed keys: ${allowed.join(', ')}`,
            { part: 'key' },
          ),
        );
      }
      continue;
    }
    const value = valueAt(data, issue.path);
    if (issue.code === 'invalid_union' && value !== null && typeof value === 'object') {
      // A mapping given where a scalar-or-mapping is allowed: the mapping branch's own
      // problems (a bad field inside it) say more than "expected a or b".
      const branch = issue.errors.find(
        (errs) => errs.length > 0 && errs.every((e) => e.path.length > 0 || e.code === 'unrecognized_keys'),
      );
      if (branch) {
        const nested = branch.map((e) => ({ ...e, path: [...issue.path, ...e.path] })) as z.core.$ZodIssue[];
        out.push(...issuesToDiagnostics(nested, schema, prefix, source, data));
        continue;
      }
    }
    if (
      value === undefined &&
      rel.length > 0 &&
      (issue.code === 'invalid_type' || issue.code === 'invalid_value' || issue.code === 'invalid_format')
    ) {
      const d = diagnosticAt(
        source,
        path.slice(0, -1),
        `missing required field "${String(rel[rel.length - 1])}"`,
      );
      d.path = formatMissing(path);
      out.push(d);
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_value' && 'values' in issue) {
      message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    out.push(diagnosticAt(source, path, message, { part: 'value' }));
  }
  return out;
}

function formatMissing(path: FieldPath): string {
  const segs = path[0] === 'spec' ? path.slice(1) : path;
  return segs.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join('');
}

/** Converts a priority class or number to 0..100. */
export function toPriority(p: string | number | undefined, fallback: number): number {
  if (p === undefined) return fallback;
  if (typeof p === 'number') return p;
  return PRIORITY_VALUES[p as keyof typeof PRIORITY_VALUES] ?? fallback;
}

function toDeadline(text: string | undefined): DeadlineIR | undefined {
  if (text === undefined) return undefined;
  const rel = parseDuration(text);
  if (rel !== undefined) return { kind: 'relative', ms: rel };
  const abs = parseInstant(text);
  return abs === undefined ? undefined : { kind: 'absolute', epochMs: abs, text };
}

function toRetries(spec: RetrySpec | number | undefined, base: RetryPolicy): RetryPolicy {
  if (spec === undefined) return base;
  if (typeof spec === 'number') return { ...base, max: spec };
  return {
    max: spec.max ?? base.max,
    backoff: spec.backoff ?? base.backoff,
    initialMs: spec.initial !== undefined ? parseDuration(spec.initial)! : base.initialMs,
    maxDelayMs: spec.maxDelay !== undefined ? parseDuration(spec.maxDelay)! : base.maxDelayMs,
    jitter:
      spec.jitter === undefined
        ? base.jitter
        : spec.jitter === true
          ? 1
          : spec.jitter === false
            ? 0
            : spec.jitter,
  };
}

function checkSchedule(
  raw: DocumentSpec['spec']['schedule'],
  source: WorkflowSource,
  out: SourceDiagnostic[],
): ScheduleIR | undefined {
  if (raw === undefined) return undefined;
  const s = typeof raw === 'string' ? { cron: raw } : raw;
  const schedule: ScheduleIR = {
    cron: s.cron,
    timezone: s.timezone ?? 'UTC',
    catchUp: s.catchUp ?? 'latest',
  };
  const path: FieldPath = typeof raw === 'string' ? ['spec', 'schedule'] : ['spec', 'schedule', 'cron'];
  const fields = s.cron.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) {
    out.push(
      diagnosticAt(
        source,
        path,
        `invalid cron expression "${s.cron}": expected 5 or 6 fields, found ${fields}`,
      ),
    );
    return schedule;
  }
  try {
    Intl.DateTimeFormat('en-US', { timeZone: schedule.timezone });
  } catch {
    out.push(
      diagnosticAt(source, ['spec', 'schedule', 'timezone'], `unknown time zone "${schedule.timezone}"`),
    );
    return schedule;
  }
  try {
    CronExpressionParser.parse(s.cron, { tz: schedule.timezone, strict: false });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    out.push(diagnosticAt(source, path, `invalid cron expression "${s.cron}": ${why}`));
  }
  return schedule;
}

function checkParams(
  raw: DocumentSpec['spec']['params'],
  source: WorkflowSource,
  out: SourceDiagnostic[],
): Record<string, ParamIR> {
  const params: Record<string, ParamIR> = {};
  for (const [name, p] of Object.entries(raw ?? {})) {
    const type =
      p.type ??
      (p.default === undefined
        ? 'string'
        : typeof p.default === 'boolean'
          ? 'boolean'
          : typeof p.default === 'number'
            ? 'number'
            : 'string');
    const param: ParamIR = { type, required: p.required ?? p.default === undefined };
    if (p.description !== undefined) param.description = p.description;
    if (p.enum !== undefined) param.enum = p.enum;
    if (p.default !== undefined) {
      const problem = paramValueProblem(param, p.default);
      if (problem) out.push(diagnosticAt(source, ['spec', 'params', name, 'default'], problem));
      param.default = p.default;
    }
    params[name] = param;
  }
  return params;
}

/** Why a value does not fit a param, or undefined when it does. */
export function paramValueProblem(param: ParamIR, value: unknown): string | undefined {
  const t = param.type;
  const ok =
    (t === 'string' && typeof value === 'string') ||
    (t === 'boolean' && typeof value === 'boolean') ||
    (t === 'number' && typeof value === 'number' && Number.isFinite(value)) ||
    (t === 'integer' && typeof value === 'number' && Number.isSafeInteger(value));
  if (!ok) return `expected a value of type ${t}, got ${JSON.stringify(value)}`;
  if (param.enum && !param.enum.includes(value as string | number)) {
    return `${JSON.stringify(value)} is not one of ${param.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return undefined;
}

/** Node timers hold at most 2^31-1 ms (about 24.8 days); longer ones would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Reports timeouts and retry delays longer than a timer can hold. */
function checkTimers(
  fields: { timeout?: string | undefined; retries?: RetrySpec | number | undefined },
  path: FieldPath,
  source: WorkflowSource,
  out: SourceDiagnostic[],
): void {
  const check = (text: string | undefined, at: FieldPath) => {
    const ms = text === undefined ? undefined : parseDuration(text);
    if (ms !== undefined && ms > MAX_TIMER_MS) {
      out.push(diagnosticAt(source, at, `${text} is too long: timeouts and retry delays are at most 24d`));
    }
  };
  check(fields.timeout, [...path, 'timeout']);
  if (typeof fields.retries === 'object') {
    check(fields.retries.initial, [...path, 'retries', 'initial']);
    check(fields.retries.maxDelay, [...path, 'retries', 'maxDelay']);
  }
}

function normalizeTask(
  t: TaskSpec,
  index: number,
  defaults: { retries: RetryPolicy; priority: number; timeoutMs?: number; estimateMs?: number },
  source: WorkflowSource,
  out: SourceDiagnostic[],
): TaskIR | undefined {
  const path: FieldPath = ['spec', 'tasks', index];
  checkTimers(t, path, source, out);
  if ((t.run === undefined) === (t.uses === undefined)) {
    out.push(
      diagnosticAt(
        source,
        path,
        t.run === undefined
          ? 'a task needs exactly one of "run" (argv) or "uses" (handler name)'
          : 'a task has both "run" and "uses": keep exactly one',
      ),
    );
    return undefined;
  }
  if (t.run && t.with !== undefined)
    out.push(
      diagnosticAt(
        source,
        [...path, 'with'],
        '"with" gives arguments to a "uses" handler; a "run" task takes argv only',
        { part: 'key' },
      ),
    );
  if (t.uses && (t.cwd !== undefined || t.env !== undefined)) {
    out.push(
      diagnosticAt(
        source,
        [...path, t.cwd !== undefined ? 'cwd' : 'env'],
        '"cwd" and "env" apply to "run" tasks only',
        { part: 'key' },
      ),
    );
  }
  const task: TaskIR = {
    id: t.id,
    needs: t.needs ?? [],
    handler: t.run
      ? {
          kind: 'run',
          argv: t.run,
          ...(t.cwd !== undefined && { cwd: t.cwd }),
          ...(t.env !== undefined && { env: t.env }),
        }
      : { kind: 'uses', name: t.uses!, with: (t.with ?? {}) as Record<string, unknown> },
    priority: toPriority(t.priority, defaults.priority),
    retries: toRetries(t.retries, defaults.retries),
  };
  if (t.name !== undefined) task.name = t.name;
  const deadline = toDeadline(t.deadline);
  if (deadline) task.deadline = deadline;
  const estimate =
    t.estimate !== undefined ? parseDuration(t.estimate) : (inferEstimate(task) ?? defaults.estimateMs);
  if (estimate !== undefined) task.estimateMs = estimate;
  const timeout = t.timeout !== undefined ? parseDuration(t.timeout) : defaults.timeoutMs;
  if (timeout !== undefined) task.timeoutMs = timeout;
  if (t.idempotencyKey !== undefined) task.idempotencyKey = t.idempotencyKey;
  if (t.shardKey !== undefined) task.shardKey = t.shardKey;
  if (t.when !== undefined) task.when = t.when;
  if (t.outputs !== undefined) task.outputs = t.outputs;
  if (t.thread !== undefined) task.thread = t.thread;
  return task;
}

/** A `sleep` task's duration is its estimate when none is declared. */
function inferEstimate(task: TaskIR): number | undefined {
  if (task.handler.kind !== 'uses' || task.handler.name !== 'sleep') return undefined;
  const d = task.handler.with.duration;
  return typeof d === 'string'
    ? parseDuration(d)
    : typeof d === 'number' && Number.isFinite(d) && d >= 0
      ? d
      : undefined;
}

/** Validates one document (plain data from YAML or the DSL) and builds its IR. */
export function normalizeWorkflow(data: unknown, source: WorkflowSource, maxTasks = 20_000): NormalizeResult {
  const diagnostics: SourceDiagnostic[] = [];
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    diagnostics.push(
      diagnosticAt(
        source,
        [],
        'a workflow document must be a mapping with apiVersion, kind, metadata and spec',
      ),
    );
    return { diagnostics, taskIndex: [] };
  }
  const top = documentSchema.safeParse(data);
  if (!top.success)
    diagnostics.push(...issuesToDiagnostics(top.error.issues, documentSchema, [], source, data));
  const rawTasks = (data as { spec?: { tasks?: unknown } }).spec?.tasks;
  const rawList: unknown[] = Array.isArray(rawTasks) ? rawTasks : [];
  if (rawList.length > maxTasks) {
    diagnostics.push(
      diagnosticAt(
        source,
        ['spec', 'tasks'],
        `the workflow has ${rawList.length} tasks; the limit is ${maxTasks}`,
      ),
    );
    return { diagnostics, taskIndex: [] };
  }
  const parsedTasks = rawList.map((raw, i) => {
    const r = taskSchema.safeParse(raw);
    if (!r.success)
      diagnostics.push(...issuesToDiagnostics(r.error.issues, taskSchema, ['spec', 'tasks', i], source, raw));
    return r.success ? r.data : undefined;
  });
  // When top-level fields or some tasks are wrong, the rest is still checked (ids, needs,
  // cycles, expressions) so that every error of the file shows at once; invalid tasks stay in
  // as placeholders (id, needs, outputs) so they cause no false "unknown task" errors.
  const rawData = data as { metadata?: { name?: unknown }; spec?: { params?: unknown } };
  const metadata = top.success ? top.data.metadata : { name: String(rawData.metadata?.name ?? 'workflow') };
  const spec: Partial<DocumentSpec['spec']> = top.success ? top.data.spec : {};
  if (spec.defaults) checkTimers(spec.defaults, ['spec', 'defaults'], source, diagnostics);
  const defaultsRetries = toRetries(spec.defaults?.retries, IR_DEFAULTS.retries);
  const runPriority = toPriority(spec.priority, IR_DEFAULTS.priority);
  const defaults = {
    retries: defaultsRetries,
    priority: toPriority(spec.defaults?.priority, runPriority),
    ...(spec.defaults?.timeout !== undefined && { timeoutMs: parseDuration(spec.defaults.timeout)! }),
    ...(spec.defaults?.estimate !== undefined && { estimateMs: parseDuration(spec.defaults.estimate)! }),
  };
  const rawParams = rawData.spec?.params;
  const params = top.success
    ? checkParams(spec.params, source, diagnostics)
    : Object.fromEntries(
        Object.keys(rawParams && typeof rawParams === 'object' ? rawParams : {}).map((k) => [
          k,
          { type: 'string', required: false } as ParamIR,
        ]),
      );
  const ir: WorkflowIR = {
    apiVersion: 'smartqueue/v1',
    name: metadata.name,
    labels: metadata.labels ?? {},
    priority: runPriority,
    failurePolicy: spec.failurePolicy ?? IR_DEFAULTS.failurePolicy,
    params,
    tasks: [],
  };
  if (metadata.description !== undefined) ir.description = metadata.description;
  const deadline = toDeadline(spec.deadline);
  if (deadline) ir.deadline = deadline;
  const schedule = checkSchedule(spec.schedule, source, diagnostics);
  if (schedule) ir.schedule = schedule;
  if (spec.shardKey !== undefined) ir.shardKey = spec.shardKey;
  const irIndex: number[] = [];
  rawList.forEach((raw, i) => {
    const spec = parsedTasks[i];
    const task =
      (spec && normalizeTask(spec, i, defaults, source, diagnostics)) ?? placeholderTask(raw, defaults);
    if (task) {
      ir.tasks.push(task);
      irIndex.push(i);
    }
  });
  const partial = diagnostics.some((d) => d.severity === 'error');
  return { ir, taskIndex: irIndex, diagnostics, partial };
}

/** What can be kept of an invalid task for cross-task checks: its id, needs and outputs. */
function placeholderTask(
  raw: unknown,
  defaults: { retries: RetryPolicy; priority: number },
): TaskIR | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const { id, needs, outputs } = raw as { id?: unknown; needs?: unknown; outputs?: unknown };
  if (typeof id !== 'string' || !new RegExp(ID_PATTERN).test(id)) return undefined;
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
  const task: TaskIR = {
    id,
    needs: strings(needs) ?? [],
    handler: { kind: 'uses', name: 'invalid', with: {} },
    priority: defaults.priority,
    retries: defaults.retries,
  };
  const outs = strings(outputs);
  if (outs) task.outputs = outs;
  return task;
}
