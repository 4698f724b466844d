/**
 * `smartqueue import wfcommons`: turns a WfCommons instance (a recorded execution of a real
 * scientific workflow such as Montage, Epigenomics or 1000Genome) into a SmartQueue workflow IR.
 * Every task becomes a `sleep` task lasting its recorded runtime times `scale`, with that duration
 * as its estimate, its dependencies from the instance's parents and children, and its recorded
 * priority; an optional run deadline is a multiple of the critical path (or of the lower bound on
 * a number of workers). The result also carries the unscaled figures a makespan report needs.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SmartQueueError } from '../../engine/errors.js';
import type { SourceDiagnostic } from '../../engine/errors.js';
import { parseWorkflowIr } from '../ir-schema.js';
import { IR_DEFAULTS } from '../ir.js';
import type { TaskIR, WorkflowIR } from '../ir.js';
import { ID_PATTERN } from '../schema.js';
import { diagnosticAt } from '../source.js';
import type { WorkflowSource } from '../source.js';
import { jsonSource, parseJsonText } from './json-source.js';
import { readWfInstance } from './wfcommons-format.js';
import type { WfInstance } from './wfcommons-format.js';

export { WFCOMMONS_SCHEMA_VERSIONS } from './wfcommons-format.js';
export type { WfInstance, WfSchemaVersion, WfTask } from './wfcommons-format.js';

/** Options of {@link importWfCommons}. */
export interface WfCommonsImportOptions {
  /** File name shown in diagnostics. @default '<input>' */
  file?: string;
  /** The JSON text the instance was parsed from, so diagnostics get line and column. */
  text?: string;
  /** Factor applied to recorded runtimes to get sleep durations and estimates. @default 1 */
  scale?: number;
  /**
   * Sets a run deadline of `deadlineFactor` × the makespan lower bound (at least 1, so the
   * deadline is feasible). @default no deadline
   */
  deadlineFactor?: number;
  /**
   * Workers the deadline's lower bound assumes: max(critical path, total work / workers).
   * @default unbounded: the critical path alone
   */
  workers?: number;
  /** Workflow name. @default the instance's name made a valid id, else the file's base name */
  name?: string;
}

/** {@link WfCommonsImportOptions} with defaults applied. */
export interface ResolvedWfCommonsImportOptions {
  file: string;
  text?: string;
  scale: number;
  deadlineFactor?: number;
  workers?: number;
  name?: string;
}

/** Checks the options and applies the defaults (the only place they are). */
export function resolveWfCommonsImportOptions(
  raw: WfCommonsImportOptions = {},
): ResolvedWfCommonsImportOptions {
  const bad = (message: string) => new SmartQueueError('INVALID_OPTIONS', message);
  const scale = raw.scale ?? 1;
  if (!(Number.isFinite(scale) && scale > 0)) throw bad(`scale must be a number > 0, got ${raw.scale}`);
  if (raw.deadlineFactor !== undefined && !(Number.isFinite(raw.deadlineFactor) && raw.deadlineFactor >= 1))
    throw bad(
      `deadline factor must be a number >= 1 (a smaller one is infeasible), got ${raw.deadlineFactor}`,
    );
  if (raw.workers !== undefined && !(Number.isInteger(raw.workers) && raw.workers >= 1))
    throw bad(`workers must be a positive integer, got ${raw.workers}`);
  if (raw.name !== undefined && !new RegExp(ID_PATTERN).test(raw.name))
    throw bad(`invalid workflow name "${raw.name}": use letters, digits, "_" and "-"`);
  const resolved: ResolvedWfCommonsImportOptions = { file: raw.file ?? '<input>', scale };
  if (raw.text !== undefined) resolved.text = raw.text;
  if (raw.deadlineFactor !== undefined) resolved.deadlineFactor = raw.deadlineFactor;
  if (raw.workers !== undefined) resolved.workers = raw.workers;
  if (raw.name !== undefined) resolved.name = raw.name;
  return resolved;
}

/** One imported task: its SmartQueue id next to what the instance recorded. */
export interface ImportedTask {
  id: string;
  /** Its id in the instance (1.5 `id`, 1.4 `name`). */
  sourceId: string;
  /** SmartQueue ids of the tasks it needs. */
  needs: string[];
  /** Recorded runtime, unscaled (ms, fractional). */
  runtimeMs: number;
  /** Sleep duration and estimate: runtime × scale, rounded to whole ms. */
  estimateMs: number;
  priority: number;
}

/** What {@link importWfCommons} returns. */
export interface WfCommonsImport {
  /** The workflow; absent when the instance has errors. */
  ir?: WorkflowIR;
  /** Errors and warnings, each with file, line, column and JSON path. */
  diagnostics: SourceDiagnostic[];
  instance?: WfInstance;
  /** Tasks in topological order (parents first). */
  tasks: ImportedTask[];
  /** Longest chain of recorded runtimes (unscaled ms) and its task ids. */
  criticalPathMs: number;
  criticalPath: string[];
  /** Sum of recorded runtimes (unscaled ms). */
  totalWorkMs: number;
  /** The run deadline set by `deadlineFactor` (scaled ms). */
  deadlineMs?: number;
  options: ResolvedWfCommonsImportOptions;
}

const ID_RE = new RegExp(ID_PATTERN);

/** FNV-1a, to keep shortened ids unique and stable. */
function hash8(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** A valid SmartQueue id for `raw`: other characters become "_", long ids keep a hash. */
export function toSmartQueueId(raw: string): string {
  if (ID_RE.test(raw)) return raw;
  let id = raw.replace(/[^A-Za-z0-9_-]/g, '_');
  if (!/^[A-Za-z_]/.test(id)) id = `_${id}`;
  if (id.length > 128) id = `${id.slice(0, 119)}_${hash8(raw)}`;
  return id;
}

/** Gives every task a unique valid id; ids that had to change are reported in one warning. */
function assignIds(instance: WfInstance, source: WorkflowSource, out: SourceDiagnostic[]): string[] {
  const taken = new Set<string>();
  const changed: string[] = [];
  const ids = instance.tasks.map((t) => {
    let id = toSmartQueueId(t.sourceId);
    for (let n = 2; taken.has(id); n++) id = `${toSmartQueueId(t.sourceId).slice(0, 120)}_${n}`;
    taken.add(id);
    if (id !== t.sourceId) changed.push(`"${t.sourceId}" -> "${id}"`);
    return id;
  });
  if (changed.length > 0) {
    out.push(
      diagnosticAt(
        source,
        [],
        `${changed.length} task ids changed to fit SmartQueue ids (letters, digits, "_", "-"), e.g. ${changed[0]}; each task's name keeps its original id`,
        { severity: 'warning' },
      ),
    );
  }
  return ids;
}

/**
 * Kahn's order of the instance's tasks (indexes), or a cycle reported at the parents of its
 * first task. Ready tasks are taken in file order, so the order is stable.
 */
function topologicalOrder(
  instance: WfInstance,
  source: WorkflowSource,
  out: SourceDiagnostic[],
): number[] | undefined {
  const n = instance.tasks.length;
  const children: number[][] = instance.tasks.map(() => []);
  const indeg = instance.tasks.map((t) => t.parents.length);
  instance.tasks.forEach((t, i) => t.parents.forEach((p) => children[p]!.push(i)));
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) order.push(i);
  for (let q = 0; q < order.length; q++) {
    for (const c of children[order[q]!]!) if (--indeg[c]! === 0) order.push(c);
  }
  if (order.length === n) return order;
  // Every task left waits on a parent that is also left: following parents ends in a cycle.
  const left = new Set(indeg.flatMap((d, i) => (d > 0 ? [i] : [])));
  const at = new Map<number, number>();
  const walk: number[] = [];
  let cur = [...left][0]!;
  while (!at.has(cur)) {
    at.set(cur, walk.length);
    walk.push(cur);
    cur = instance.tasks[cur]!.parents.find((p) => left.has(p))!;
  }
  const ring = walk.slice(at.get(cur)).reverse();
  const names = [...ring, ring[0]!].map((i) => instance.tasks[i]!.sourceId);
  out.push(
    diagnosticAt(
      source,
      [...instance.tasks[ring[0]!]!.path, 'parents'],
      `dependency cycle: ${names.join(' -> ')}`,
    ),
  );
  return undefined;
}

/** The longest chain of `weight` through `order` (a topological order): its length and tasks. */
export function longestPath(
  order: readonly number[],
  parents: (i: number) => readonly number[],
  weight: (i: number) => number,
): { length: number; path: number[] } {
  const finish = new Map<number, number>();
  const via = new Map<number, number | undefined>();
  let best = 0;
  let last: number | undefined;
  for (const i of order) {
    let start = 0;
    let from: number | undefined;
    for (const p of parents(i)) {
      const f = finish.get(p)!;
      if (from === undefined || f > start) {
        start = f;
        from = p;
      }
    }
    const f = start + weight(i);
    finish.set(i, f);
    via.set(i, from);
    if (last === undefined || f > best) {
      best = f;
      last = i;
    }
  }
  const path: number[] = [];
  for (let cur = last; cur !== undefined; cur = via.get(cur)) path.push(cur);
  return { length: best, path: path.reverse() };
}

function workflowName(instance: WfInstance, options: ResolvedWfCommonsImportOptions): string {
  if (options.name !== undefined) return options.name;
  const base = options.file === '<input>' ? undefined : path.basename(options.file).replace(/\.json$/i, '');
  const raw = (instance.name ?? base ?? 'wfcommons').replace(/\.json$/i, '');
  return toSmartQueueId(raw.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'wfcommons');
}

/**
 * Imports a parsed WfCommons instance. Never throws on bad input: problems come back as
 * diagnostics (file, line and column when `options.text` is given, and the JSON path), and `ir`
 * is set only when there is no error.
 */
export function importWfCommons(json: unknown, options: WfCommonsImportOptions = {}): WfCommonsImport {
  const opts = resolveWfCommonsImportOptions(options);
  const source = jsonSource(opts.file, opts.text);
  const diagnostics: SourceDiagnostic[] = [];
  const result: WfCommonsImport = {
    diagnostics,
    tasks: [],
    criticalPathMs: 0,
    criticalPath: [],
    totalWorkMs: 0,
    options: opts,
  };
  const instance = readWfInstance(json, source, diagnostics);
  if (!instance) return result;
  result.instance = instance;
  const order = topologicalOrder(instance, source, diagnostics);
  if (!order) return result;
  const ids = assignIds(instance, source, diagnostics);
  let clamped = 0;
  const imported = instance.tasks.map((t, i): ImportedTask => {
    let priority: number = IR_DEFAULTS.priority;
    if (t.priority !== undefined) {
      priority = Math.min(100, Math.max(0, Math.round(t.priority)));
      if (priority !== t.priority) clamped++;
    }
    return {
      id: ids[i]!,
      sourceId: t.sourceId,
      needs: t.parents.map((p) => ids[p]!),
      runtimeMs: t.runtimeMs,
      estimateMs: Math.round(t.runtimeMs * opts.scale),
      priority,
    };
  });
  if (clamped > 0) {
    diagnostics.push(
      diagnosticAt(source, [], `${clamped} priorities were rounded into SmartQueue's 0..100`, {
        severity: 'warning',
      }),
    );
  }
  result.tasks = order.map((i) => imported[i]!);
  const parentsOf = (i: number) => instance.tasks[i]!.parents;
  const recorded = longestPath(order, parentsOf, (i) => instance.tasks[i]!.runtimeMs);
  result.criticalPathMs = recorded.length;
  result.criticalPath = recorded.path.map((i) => ids[i]!);
  result.totalWorkMs = instance.tasks.reduce((s, t) => s + t.runtimeMs, 0);

  const ir: WorkflowIR = {
    apiVersion: 'smartqueue/v1',
    name: workflowName(instance, opts),
    description: describe(instance, opts),
    labels: {
      source: 'wfcommons',
      'wfcommons/schema': instance.schemaVersion,
      'wfcommons/scale': String(opts.scale),
    },
    priority: IR_DEFAULTS.priority,
    failurePolicy: IR_DEFAULTS.failurePolicy,
    params: {},
    tasks: order.map((i) => toTask(instance, imported[i]!, i)),
  };
  if (opts.deadlineFactor !== undefined) {
    // The bound uses the rounded scaled estimates the compiler sees, so factor >= 1 stays feasible.
    const scaledPath = longestPath(order, parentsOf, (i) => imported[i]!.estimateMs).length;
    const scaledWork = imported.reduce((s, t) => s + t.estimateMs, 0);
    const bound = Math.max(scaledPath, opts.workers ? scaledWork / opts.workers : 0);
    result.deadlineMs = Math.ceil(opts.deadlineFactor * bound);
    ir.deadline = { kind: 'relative', ms: result.deadlineMs };
  }
  // The IR must pass the checks that IR from outside gets (ids, ms ranges): an instance whose
  // scaled runtimes overflow a timer is reported here, not when the workflow runs.
  const checked = parseWorkflowIr(ir);
  if (!checked.ok) {
    for (const p of checked.problems)
      diagnostics.push(
        diagnosticAt(source, [], `the imported workflow is invalid at ${p.path}: ${p.message}`),
      );
    return result;
  }
  result.ir = ir;
  return result;
}

function toTask(instance: WfInstance, t: ImportedTask, index: number): TaskIR {
  const task: TaskIR = {
    id: t.id,
    needs: t.needs,
    handler: { kind: 'uses', name: 'sleep', with: { duration: `${t.estimateMs}ms` } },
    priority: t.priority,
    estimateMs: t.estimateMs,
    retries: IR_DEFAULTS.retries,
  };
  const label = instance.tasks[index]!.label;
  const name = t.id !== t.sourceId ? t.sourceId : label;
  if (name !== undefined) task.name = name.slice(0, 200);
  return task;
}

function describe(instance: WfInstance, opts: ResolvedWfCommonsImportOptions): string {
  const parts = [
    `Imported from the WfCommons instance ${path.basename(opts.file)} (schema ${instance.schemaVersion}, ${instance.tasks.length} tasks, ${instance.edges} dependencies).`,
    `Each task sleeps for its recorded runtime${opts.scale === 1 ? '' : ` × ${opts.scale}`}.`,
  ];
  if (instance.description) parts.push(`Instance: ${instance.description}`);
  return parts.join(' ').slice(0, 5000);
}

/** Reads, parses and imports an instance file; a missing file or bad JSON is a diagnostic too. */
export async function importWfCommonsFile(
  file: string,
  options: Omit<WfCommonsImportOptions, 'file' | 'text'> = {},
): Promise<WfCommonsImport> {
  const failed = (diagnostic: SourceDiagnostic): WfCommonsImport => ({
    diagnostics: [diagnostic],
    tasks: [],
    criticalPathMs: 0,
    criticalPath: [],
    totalWorkMs: 0,
    options: resolveWfCommonsImportOptions({ ...options, file }),
  });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const why =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot read: ${String(err)}`;
    return failed({ file, line: 1, column: 1, path: '', message: why, severity: 'error' });
  }
  const parsed = parseJsonText(text, file);
  if (!parsed.ok) return failed(parsed.diagnostic);
  return importWfCommons(parsed.value, { ...options, file, text });
}
