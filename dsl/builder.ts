/**
 * The TypeScript DSL: the same workflows as the YAML format, written in code.
 *
 * ```ts
 * export default workflow('nightly', { deadline: '1h' }, (w) => {
 *   const extract = w.task('extract', { estimate: '5m' }, async () => ({ rows: 42 }));
 *   w.task('load', { needs: [extract] }, async (ctx) => {
 *     const { rows } = ctx.get(extract); // typed: number
 *   });
 * });
 * ```
 *
 * The builder produces the plain document the YAML loader would, so one validator and one
 * compiler serve both; inline handlers are registered under `dsl:<workflow>/<task>`.
 */
import { fileURLToPath } from 'node:url';
import type { HandlerContext, HandlerOutputs, TaskHandler } from '../engine/handler.js';
import type { TaskSpec } from './schema.js';
import { API_VERSION } from './schema.js';
import type { FieldPath, Position, WorkflowSource } from './source.js';

const REF = Symbol('smartqueue.taskRef');
const DEFINITION = Symbol.for('smartqueue.workflowDefinition');

/** A task declared in the DSL; pass it in `needs` and to `ctx.get()`. */
export interface TaskRef<Out extends HandlerOutputs | void = HandlerOutputs | void> {
  readonly id: string;
  readonly [REF]: { out?: Out };
}

/** The handler context of a DSL task: `get(ref)` reads the typed outputs of a needed task. */
export interface DslContext extends HandlerContext {
  get<Out extends HandlerOutputs | void>(ref: TaskRef<Out>): Out extends void ? Record<string, never> : Out;
}

/** Task options: the YAML task fields, with task references in `needs`. */
export type DslTaskOptions = Omit<TaskSpec, 'id' | 'needs'> & { needs?: TaskRef<HandlerOutputs | void>[] };

/** Workflow options: the YAML `spec` fields (without tasks) plus metadata. */
export interface DslWorkflowOptions {
  description?: string;
  labels?: Record<string, string>;
  deadline?: string;
  priority?: 'high' | 'medium' | 'low' | number;
  schedule?: string | { cron: string; timezone?: string; catchUp?: 'none' | 'latest' | 'all' };
  shardKey?: string;
  failurePolicy?: 'fail-fast' | 'continue';
  defaults?: Record<string, unknown>;
  params?: Record<string, Record<string, unknown>>;
}

export interface WorkflowBuilder {
  /** Declares a task; with a handler function, the task runs it (no `run`/`uses` needed). */
  task<Out extends HandlerOutputs | void = void>(
    id: string,
    options?: DslTaskOptions,
    handler?: (ctx: DslContext) => Promise<Out> | Out,
  ): TaskRef<Out>;
}

/** A workflow defined in code, as exported by a workflow module. */
export interface WorkflowDefinition {
  readonly [DEFINITION]: true;
  readonly name: string;
  /** The document, in the same shape as a YAML file. */
  readonly document: Record<string, unknown>;
  /** Inline handlers, by the name their tasks use. */
  readonly handlers: ReadonlyMap<string, TaskHandler>;
  /** Call sites, for error positions. */
  readonly sites: { workflow: Position & { file?: string }; tasks: (Position & { file?: string })[] };
}

/** The caller's position (file, line, column) from a stack trace. */
function callSite(depth: number): Position & { file?: string } {
  const lines = (new Error().stack ?? '').split('\n').slice(1);
  const frame = lines[depth] ?? '';
  const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(frame);
  if (!m) return { line: 1, column: 1 };
  const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
  return { file, line: Number(m[2]), column: Number(m[3]) };
}

/** True when a value is a workflow defined with {@link workflow}. */
export function isWorkflowDefinition(value: unknown): value is WorkflowDefinition {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DEFINITION] === true
  );
}

/** Defines a workflow in code. */
export function workflow(
  name: string,
  options: DslWorkflowOptions,
  build: (w: WorkflowBuilder) => void,
): WorkflowDefinition {
  const workflowSite = callSite(2);
  const tasks: Record<string, unknown>[] = [];
  const taskSites: (Position & { file?: string })[] = [];
  const handlers = new Map<string, TaskHandler>();
  const builder: WorkflowBuilder = {
    task(id, taskOptions = {}, handler) {
      taskSites.push(callSite(2));
      const { needs, ...rest } = taskOptions;
      const spec: Record<string, unknown> = { id, ...rest };
      if (needs !== undefined)
        spec.needs = needs.map((n) => (n && typeof n === 'object' && 'id' in n ? n.id : n));
      if (handler) {
        const handlerName = `dsl:${name}/${id}`;
        spec.uses = handlerName;
        handlers.set(handlerName, (ctx) => {
          // Object.create keeps every field of ctx, accessors included (`signal` is one).
          const dslCtx = Object.create(ctx, {
            get: { value: (ref: TaskRef) => ctx.inputs[ref.id] ?? {} },
          }) as DslContext;
          return handler(dslCtx);
        });
      }
      tasks.push(spec);
      return { id, [REF]: {} } as TaskRef<never>;
    },
  };
  build(builder);
  const { description, labels, ...spec } = options;
  const document = {
    apiVersion: API_VERSION,
    kind: 'Workflow',
    metadata: {
      name,
      ...(description !== undefined && { description }),
      ...(labels !== undefined && { labels }),
    },
    spec: { ...spec, tasks },
  };
  return {
    [DEFINITION]: true,
    name,
    document,
    handlers,
    sites: { workflow: workflowSite, tasks: taskSites },
  };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Position of the first match of `re` in `text`, or undefined. */
function findInText(text: string | undefined, re: RegExp): Position | undefined {
  if (text === undefined) return undefined;
  const m = re.exec(text);
  if (!m) return undefined;
  const before = text.slice(0, m.index);
  const line = before.split('\n').length;
  return { line, column: m.index - before.lastIndexOf('\n') };
}

/**
 * Positions for a DSL workflow: task fields point at their `w.task('<id>'` call, found in the
 * module's text when the id is a literal there, else taken from the call's stack frame (which
 * test runners that rewrite stack traces can shift).
 */
export function dslSource(def: WorkflowDefinition, file: string, text?: string): WorkflowSource {
  const tasks = (def.document.spec as { tasks: { id?: unknown }[] }).tasks;
  const cache = new Map<number, Position>();
  const workflowPos = findInText(text, new RegExp(`\\bworkflow\\(\\s*['"\`]${escapeRe(def.name)}['"\`]`)) ?? {
    line: def.sites.workflow.line,
    column: def.sites.workflow.column,
  };
  return {
    file,
    locate(path: FieldPath): Position {
      if (path[0] === 'spec' && path[1] === 'tasks' && typeof path[2] === 'number') {
        const i = path[2];
        let pos = cache.get(i);
        if (!pos) {
          const id = tasks[i]?.id;
          const site = def.sites.tasks[i];
          pos =
            (typeof id === 'string'
              ? findInText(text, new RegExp(`\\btask\\(\\s*['"\`]${escapeRe(id)}['"\`]`))
              : undefined) ?? (site ? { line: site.line, column: site.column } : workflowPos);
          cache.set(i, pos);
        }
        return pos;
      }
      return workflowPos;
    },
  };
}
