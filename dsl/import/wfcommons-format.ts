/**
 * Reads a WfCommons instance (WfFormat, https://github.com/wfcommons/WfFormat) into a neutral
 * task graph: tasks with their recorded runtimes, priorities and parents. Two layouts exist in
 * the published instances:
 * - schema 1.5: `workflow.specification.tasks[]` (`id`, `name` = task type, `parents`,
 *   `children`) and `workflow.execution.tasks[]` (`id`, `runtimeInSeconds`, `priority`...);
 * - schema 1.4: one flat `workflow.tasks[]` keyed by `name`, with `runtimeInSeconds` and
 *   `priority` on the task, and `children` sometimes missing (derived from `parents`).
 * Every problem is collected, each at its JSON path.
 */
import type { SourceDiagnostic } from '../../engine/errors.js';
import { diagnosticAt } from '../source.js';
import type { FieldPath, WorkflowSource } from '../source.js';

/** The WfFormat versions this importer reads. */
export const WFCOMMONS_SCHEMA_VERSIONS = ['1.4', '1.5'] as const;

/** A WfFormat version this importer reads. */
export type WfSchemaVersion = (typeof WFCOMMONS_SCHEMA_VERSIONS)[number];

/** One task of an instance, before it becomes a SmartQueue task. */
export interface WfTask {
  /** The task's key in the instance: `id` in 1.5, `name` in 1.4. */
  sourceId: string;
  /** Its type when the instance names one apart from the key (1.5 `name`, 1.4 `category`). */
  label?: string;
  /** JSON path of the task's entry (for diagnostics). */
  path: FieldPath;
  /** Indexes (in {@link WfInstance.tasks}) of the tasks it depends on, without repeats. */
  parents: number[];
  /** Recorded runtime in milliseconds (fractional). */
  runtimeMs: number;
  /** The workflow system's priority, when recorded (Pegasus: 20..90, higher first). */
  priority?: number;
}

/** The graph of one instance, as recorded. */
export interface WfInstance {
  schemaVersion: WfSchemaVersion;
  name?: string;
  description?: string;
  tasks: WfTask[];
  /** Dependencies (parent → child pairs). */
  edges: number;
  /** `makespanInSeconds` of the trace in ms: includes the workflow system's own overheads. */
  recordedMakespanMs?: number;
  /** Machines the trace ran on, and their cores when recorded. */
  machines?: { count: number; cores?: number };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

interface RawTask {
  key: string;
  path: FieldPath;
  parents?: unknown;
  children?: unknown;
  label?: string;
  runtime?: { value: unknown; path: FieldPath };
  priority?: { value: unknown; path: FieldPath };
}

/** Reads `json` (a parsed instance); problems go to `out`. Undefined when nothing usable remains. */
export function readWfInstance(
  json: unknown,
  source: WorkflowSource,
  out: SourceDiagnostic[],
): WfInstance | undefined {
  const error = (path: FieldPath, message: string) => out.push(diagnosticAt(source, path, message));
  const errorCount = () => out.filter((d) => d.severity === 'error').length;
  const errorsBefore = errorCount();
  if (!isObject(json)) {
    error([], 'a WfCommons instance is a JSON object with schemaVersion and workflow');
    return undefined;
  }
  const version = json.schemaVersion;
  const supported = WFCOMMONS_SCHEMA_VERSIONS.join(', ');
  if (version === undefined) {
    error([], `missing "schemaVersion": this importer reads WfFormat ${supported}`);
    return undefined;
  }
  if (!WFCOMMONS_SCHEMA_VERSIONS.includes(version as WfSchemaVersion)) {
    error(
      ['schemaVersion'],
      `unsupported schemaVersion ${JSON.stringify(version)}: this importer reads WfFormat ${supported} (convert older instances with the wfcommons Python package)`,
    );
    return undefined;
  }
  const workflow = json.workflow;
  if (!isObject(workflow)) {
    error(workflow === undefined ? [] : ['workflow'], 'missing "workflow" object');
    return undefined;
  }
  const schemaVersion = version as WfSchemaVersion;
  const raw = schemaVersion === '1.5' ? read15(workflow, error) : read14(workflow, error);
  if (!raw) return undefined;
  const instance = linkTasks(raw.tasks, source, out);
  // A task left out for an error (no id, no runtime record) must not leave a smaller graph behind.
  if (!instance || errorCount() > errorsBefore) return undefined;
  const result: WfInstance = { schemaVersion, tasks: instance.tasks, edges: instance.edges };
  if (typeof json.name === 'string') result.name = json.name;
  if (typeof json.description === 'string') result.description = json.description;
  if (typeof raw.makespan === 'number' && Number.isFinite(raw.makespan) && raw.makespan >= 0)
    result.recordedMakespanMs = raw.makespan * 1000;
  if (Array.isArray(raw.machines) && raw.machines.length > 0) {
    const cores = raw.machines.map((m) => (isObject(m) && isObject(m.cpu) ? m.cpu.coreCount : undefined));
    result.machines = { count: raw.machines.length };
    if (cores.every((c): c is number => typeof c === 'number' && c > 0))
      result.machines.cores = cores.reduce((a, b) => a + b, 0);
  }
  return result;
}

type ErrorSink = (path: FieldPath, message: string) => void;
interface RawInstance {
  tasks: RawTask[];
  makespan?: unknown;
  machines?: unknown;
}

function taskList(value: unknown, path: FieldPath, error: ErrorSink): unknown[] | undefined {
  if (!Array.isArray(value)) {
    error(path, value === undefined ? 'missing task list' : 'expected an array of tasks');
    return undefined;
  }
  if (value.length === 0) {
    error(path, 'the instance has no tasks');
    return undefined;
  }
  return value;
}

/** Schema 1.5: tasks in `specification`, runtimes and priorities in `execution`, joined by id. */
function read15(workflow: Json, error: ErrorSink): RawInstance | undefined {
  const spec = workflow.specification;
  if (!isObject(spec)) {
    error(['workflow'], 'missing "workflow.specification" (schema 1.5 keeps the tasks there)');
    return undefined;
  }
  const list = taskList(spec.tasks, ['workflow', 'specification', 'tasks'], error);
  const execution = workflow.execution;
  if (!isObject(execution)) {
    error(
      ['workflow'],
      'missing "workflow.execution": the instance records no runtimes, and estimates and sleep durations come from them',
    );
    return undefined;
  }
  const execList = taskList(execution.tasks, ['workflow', 'execution', 'tasks'], error);
  if (!list || !execList) return undefined;
  const records = new Map<string, { entry: Json; path: FieldPath }>();
  execList.forEach((entry, j) => {
    const path: FieldPath = ['workflow', 'execution', 'tasks', j];
    if (!isObject(entry) || typeof entry.id !== 'string' || entry.id === '') {
      error(path, 'expected a task record with an "id" string');
    } else if (records.has(entry.id)) {
      error([...path, 'id'], `duplicate execution record for task "${entry.id}"`);
    } else records.set(entry.id, { entry, path });
  });
  const tasks: RawTask[] = [];
  const ids = new Set<string>();
  list.forEach((entry, i) => {
    const path: FieldPath = ['workflow', 'specification', 'tasks', i];
    if (!isObject(entry) || typeof entry.id !== 'string' || entry.id === '') {
      error(path, 'expected a task with an "id" string');
      return;
    }
    ids.add(entry.id);
    const record = records.get(entry.id);
    if (!record) {
      error(path, `task "${entry.id}" has no runtime: workflow.execution.tasks has no record with this id`);
      return;
    }
    const task: RawTask = { key: entry.id, path, parents: entry.parents, children: entry.children };
    if (typeof entry.name === 'string' && entry.name !== entry.id) task.label = entry.name;
    task.runtime = { value: record.entry.runtimeInSeconds, path: [...record.path, 'runtimeInSeconds'] };
    if (record.entry.priority !== undefined)
      task.priority = { value: record.entry.priority, path: [...record.path, 'priority'] };
    tasks.push(task);
  });
  for (const [id, { path }] of records) {
    if (!ids.has(id)) error([...path, 'id'], `execution record of unknown task "${id}"`);
  }
  return { tasks, makespan: execution.makespanInSeconds, machines: execution.machines };
}

/** Schema 1.4: one flat task list keyed by `name`. */
function read14(workflow: Json, error: ErrorSink): RawInstance | undefined {
  const list = taskList(workflow.tasks, ['workflow', 'tasks'], error);
  if (!list) return undefined;
  const tasks: RawTask[] = [];
  list.forEach((entry, i) => {
    const path: FieldPath = ['workflow', 'tasks', i];
    if (!isObject(entry) || typeof entry.name !== 'string' || entry.name === '') {
      error(path, 'expected a task with a "name" string (schema 1.4 keys tasks by name)');
      return;
    }
    const task: RawTask = { key: entry.name, path, parents: entry.parents, children: entry.children };
    if (typeof entry.category === 'string' && entry.category !== entry.name) task.label = entry.category;
    task.runtime = { value: entry.runtimeInSeconds, path: [...path, 'runtimeInSeconds'] };
    if (entry.priority !== undefined) task.priority = { value: entry.priority, path: [...path, 'priority'] };
    tasks.push(task);
  });
  return { tasks, makespan: workflow.makespanInSeconds, machines: workflow.machines };
}

/**
 * Resolves parents and children to task indexes. Edges are the union of both lists (an instance
 * may list a dependency on one side only); a list that disagrees with the other side is reported
 * once as a warning, an id that names no task as an error.
 */
function linkTasks(
  raw: RawTask[],
  source: WorkflowSource,
  out: SourceDiagnostic[],
): { tasks: WfTask[]; edges: number } | undefined {
  const errorsBefore = out.filter((d) => d.severity === 'error').length;
  const error = (path: FieldPath, message: string) => out.push(diagnosticAt(source, path, message));
  const byKey = new Map<string, number>();
  const tasks: WfTask[] = [];
  const kept: RawTask[] = [];
  for (const r of raw) {
    if (byKey.has(r.key)) {
      const first = kept[byKey.get(r.key)!]!;
      error(r.path, `duplicate task "${r.key}" (first defined at line ${source.locate(first.path).line})`);
      continue;
    }
    byKey.set(r.key, tasks.length);
    kept.push(r);
    const task: WfTask = { sourceId: r.key, path: r.path, parents: [], runtimeMs: 0 };
    if (r.label !== undefined) task.label = r.label;
    const rt = r.runtime?.value;
    if (typeof rt !== 'number' || !Number.isFinite(rt) || rt < 0) {
      error(
        r.runtime?.path ?? r.path,
        rt === undefined
          ? `task "${r.key}" has no runtimeInSeconds`
          : `runtimeInSeconds must be a number >= 0, got ${JSON.stringify(rt)}`,
      );
    } else task.runtimeMs = rt * 1000;
    const p = r.priority?.value;
    if (p !== undefined) {
      if (typeof p !== 'number' || !Number.isFinite(p))
        error(r.priority!.path, `priority must be a number, got ${JSON.stringify(p)}`);
      else task.priority = p;
    }
    tasks.push(task);
  }
  const lists = kept.map((r) => ({
    parents: idList(r.parents, [...r.path, 'parents'], error),
    children: idList(r.children, [...r.path, 'children'], error),
  }));
  const parentSets = tasks.map(() => new Set<number>());
  const resolve = (id: string, path: FieldPath, self: number, rel: 'parent' | 'child') => {
    const k = byKey.get(id);
    if (k === undefined) error(path, `unknown ${rel} "${id}": no task of the instance has this id`);
    else if (k === self) error(path, `task "${id}" lists itself as its ${rel} (a dependency cycle)`);
    return k === self ? undefined : k;
  };
  let oneSided = 0;
  let example = '';
  // Parents lists first, so each task's needs keep the order its own entry gives them.
  kept.forEach((r, i) => {
    lists[i]!.parents?.forEach((id, j) => {
      const k = resolve(id, [...r.path, 'parents', j], i, 'parent');
      if (k === undefined) return;
      parentSets[i]!.add(k);
      const theirs = lists[k]!.children;
      if (theirs && !theirs.includes(r.key) && oneSided++ === 0) example = `${id} -> ${r.key}`;
    });
  });
  kept.forEach((r, i) => {
    lists[i]!.children?.forEach((id, j) => {
      const k = resolve(id, [...r.path, 'children', j], i, 'child');
      if (k === undefined) return;
      parentSets[k]!.add(i);
      const theirs = lists[k]!.parents;
      if (theirs && !theirs.includes(r.key) && oneSided++ === 0) example = `${r.key} -> ${id}`;
    });
  });
  if (oneSided > 0) {
    out.push(
      diagnosticAt(
        source,
        [],
        `${oneSided} dependencies are listed on one side only (first: ${example}); the import uses both sides`,
        { severity: 'warning' },
      ),
    );
  }
  let edges = 0;
  tasks.forEach((t, i) => {
    t.parents = [...parentSets[i]!];
    edges += t.parents.length;
  });
  if (out.filter((d) => d.severity === 'error').length > errorsBefore) return undefined;
  return { tasks, edges };
}

/** A `parents`/`children` list: absent is empty; anything but an array of strings is an error. */
function idList(
  value: unknown,
  path: FieldPath,
  error: (path: FieldPath, message: string) => void,
): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    error(path, 'expected an array of task ids');
    return undefined;
  }
  const ids: string[] = [];
  value.forEach((v, j) => {
    if (typeof v === 'string') ids.push(v);
    else error([...path, j], `expected a task id (a string), got ${JSON.stringify(v)}`);
  });
  return ids;
}
