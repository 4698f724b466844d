/**
 * Compiles a workflow IR into a plan: the DAG (with @dagrejs/graphlib), its topological order,
 * the critical path, and each task's latest finish and start times (see {@link computeTimes}).
 * Every problem is collected before the compile fails.
 */
import { Graph } from '@dagrejs/graphlib';
import type { SourceDiagnostic } from '../engine/errors.js';
import { formatDuration } from './duration.js';
import { collectRefs, ExpressionError, hasExpression, parseCondition, parseTemplate } from './expressions.js';
import type { Expr } from './expressions.js';
import { IR_DEFAULTS } from './ir.js';
import { ID_PATTERN } from './schema.js';
import type { TaskIR, WorkflowIR } from './ir.js';
import { diagnosticAt, didYouMean, formatPath } from './source.js';
import type { FieldPath, WorkflowSource } from './source.js';

export interface CompileOptions {
  /** Report infeasible deadlines as warnings instead of errors. @default false */
  allowInfeasible?: boolean;
  /** Reference time for absolute deadlines (epoch ms): the run start. @default Date.now() */
  now?: number;
  /** Estimate for tasks that declare none. @default 1000 */
  defaultEstimateMs?: number;
  /** Index in the source `spec.tasks` of each IR task (for error positions). */
  taskIndex?: number[];
  /** The IR is partial (top-level errors): skip deadline checks. */
  partial?: boolean;
}

/** A task of a compiled plan. Times are milliseconds from the start of the run. */
export interface PlannedTask {
  id: string;
  /** Position in topological order. */
  order: number;
  needs: string[];
  dependants: string[];
  estimateMs: number;
  estimateSource: 'declared' | 'default';
  /** Earliest start and finish if every task started as soon as its needs finished. */
  earliestStartMs: number;
  earliestFinishMs: number;
  /** Latest finish time: Infinity when no deadline constrains the task. */
  lftMs: number;
  /** Latest start time: LFT - estimate. */
  lstMs: number;
  /** LST - earliest start: how long the task can wait without missing a deadline. */
  slackMs: number;
  critical: boolean;
}

export interface CompiledPlan {
  ir: WorkflowIR;
  /** Task ids in topological order (needs first). */
  order: string[];
  tasks: Map<string, PlannedTask>;
  /** The longest chain of estimates: its length is the makespan lower bound. */
  criticalPath: string[];
  makespanMs: number;
  /** Run deadline relative to `now`, if any. */
  deadlineMs?: number;
  /** Run deadline minus makespan. */
  totalSlackMs?: number;
  /** Warnings (infeasible deadlines with allowInfeasible). */
  warnings: SourceDiagnostic[];
}

export interface CompileResult {
  plan?: CompiledPlan;
  diagnostics: SourceDiagnostic[];
}

/** Resolves a deadline to milliseconds after `now`. */
function relativeDeadline(d: TaskIR['deadline'], now: number): number | undefined {
  if (!d) return undefined;
  return d.kind === 'relative' ? d.ms : d.epochMs - now;
}

const key = (taskId: string) => `#${taskId}`;
const id = (nodeKey: string) => nodeKey.slice(1);
const ids = (keys: readonly string[] | undefined | void): string[] => (keys ? keys.map(id) : []);

interface ExprSite {
  taskIndex: number;
  path: FieldPath;
  text: string;
  kind: 'template' | 'condition';
}

/** Every string field of a task that may hold expressions. */
function expressionSites(task: TaskIR, sourceIndex: number): ExprSite[] {
  const sites: ExprSite[] = [];
  const base: FieldPath = ['spec', 'tasks', sourceIndex];
  const walk = (value: unknown, path: FieldPath) => {
    if (typeof value === 'string') {
      if (hasExpression(value)) sites.push({ taskIndex: sourceIndex, path, text: value, kind: 'template' });
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  if (task.handler.kind === 'run') {
    walk(task.handler.argv, [...base, 'run']);
    walk(task.handler.env, [...base, 'env']);
    walk(task.handler.cwd, [...base, 'cwd']);
  } else walk(task.handler.with, [...base, 'with']);
  walk(task.idempotencyKey, [...base, 'idempotencyKey']);
  walk(task.shardKey, [...base, 'shardKey']);
  if (task.when !== undefined)
    sites.push({ taskIndex: sourceIndex, path: [...base, 'when'], text: task.when, kind: 'condition' });
  return sites;
}

/**
 * Computes, in reverse topological order, LFT(t) = min(own deadline, run deadline,
 * min over dependants s of LST(s)) and LST(t) = LFT(t) - est(t): the deadline-aware priority of
 * DESIGN.md. A task without any deadline downstream has LFT = LST = Infinity.
 */
export function computeTimes(
  order: readonly string[],
  est: (id: string) => number,
  ownDeadline: (id: string) => number | undefined,
  dependants: (id: string) => readonly string[],
  runDeadline: number | undefined,
): Map<string, { lft: number; lst: number }> {
  const out = new Map<string, { lft: number; lst: number }>();
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i]!;
    let lft = Math.min(ownDeadline(id) ?? Infinity, runDeadline ?? Infinity);
    for (const s of dependants(id)) lft = Math.min(lft, out.get(s)!.lst);
    out.set(id, { lft, lst: lft - est(id) });
  }
  return out;
}

/** Compiles an IR into a plan, or returns every problem found. */
export function compileWorkflow(
  ir: WorkflowIR,
  source: WorkflowSource,
  options: CompileOptions = {},
): CompileResult {
  const diagnostics: SourceDiagnostic[] = [];
  const warnings: SourceDiagnostic[] = [];
  const now = options.now ?? Date.now();
  const defaultEstimate = options.defaultEstimateMs ?? IR_DEFAULTS.estimateMs;
  const srcIndex = (k: number) => options.taskIndex?.[k] ?? k;
  const taskPath = (k: number, ...rest: (string | number)[]): FieldPath => [
    'spec',
    'tasks',
    srcIndex(k),
    ...rest,
  ];

  // Ids: duplicates are reported at the second definition.
  const byId = new Map<string, number>();
  ir.tasks.forEach((t, k) => {
    const first = byId.get(t.id);
    if (first !== undefined) {
      const firstPos = source.locate(taskPath(first, 'id'));
      diagnostics.push(
        diagnosticAt(
          source,
          taskPath(k, 'id'),
          `duplicate task id "${t.id}" (first defined at line ${firstPos.line})`,
        ),
      );
    } else byId.set(t.id, k);
  });

  // Needs: unknown ids, self-needs, repeats.
  const graph = new Graph({ directed: true });
  // Node keys are prefixed: graphlib keeps nodes in plain objects, and a task id such as
  // "constructor" or "__proto__" must not reach Object.prototype.
  for (const t of ir.tasks) graph.setNode(key(t.id));
  ir.tasks.forEach((t, k) => {
    if (byId.get(t.id) !== k) return;
    const seen = new Set<string>();
    t.needs.forEach((need, j) => {
      if (need === t.id) {
        diagnostics.push(diagnosticAt(source, taskPath(k, 'needs', j), `task "${t.id}" needs itself`));
      } else if (!byId.has(need)) {
        diagnostics.push(
          diagnosticAt(
            source,
            taskPath(k, 'needs', j),
            `unknown task "${need}"${didYouMean(need, byId.keys())}`,
          ),
        );
      } else if (seen.has(need)) {
        warnings.push(
          diagnosticAt(source, taskPath(k, 'needs', j), `"${need}" is listed twice`, { severity: 'warning' }),
        );
      } else graph.setEdge(key(need), key(t.id));
      seen.add(need);
    });
  });

  const needsOf = (id: string) => ids(graph.predecessors(key(id)));
  const dependantsOf = (id: string) => ids(graph.successors(key(id)));

  // Topological order (Kahn's algorithm; ready tasks are taken in the order they became ready).
  // Iterative on purpose: a chain as long as the task limit must not overflow the stack, as the
  // recursive alg.findCycles of graphlib does.
  const indeg = new Map<string, number>();
  for (const t of ir.tasks) if (byId.get(t.id) !== undefined) indeg.set(t.id, 0);
  for (const e of graph.edges()) indeg.set(id(e.w), (indeg.get(id(e.w)) ?? 0) + 1);
  const order = ir.tasks.filter((t, k) => byId.get(t.id) === k && indeg.get(t.id) === 0).map((t) => t.id);
  for (let qi = 0; qi < order.length; qi++) {
    for (const s of dependantsOf(order[qi]!)) {
      const d = indeg.get(s)! - 1;
      indeg.set(s, d);
      if (d === 0) order.push(s);
    }
  }

  // Cycles: the tasks Kahn's algorithm could not order. Each still waits on a need that is also
  // left, so walking needs from any of them ends in a cycle; print each once, in dependency
  // order starting at its smallest id: `a -> b -> c -> a`.
  const cyclic = order.length < indeg.size;
  if (cyclic) {
    const left = new Set([...indeg.keys()].filter((t) => indeg.get(t)! > 0));
    const seen = new Set<string>();
    for (const start of left) {
      if (seen.has(start)) continue;
      const path: string[] = [];
      const at = new Map<string, number>();
      let cur: string | undefined = start;
      while (cur !== undefined && !seen.has(cur) && !at.has(cur)) {
        at.set(cur, path.length);
        path.push(cur);
        cur = needsOf(cur).find((n) => left.has(n));
      }
      for (const p of path) seen.add(p);
      if (cur === undefined || !at.has(cur)) continue;
      const ring = path.slice(at.get(cur));
      const first = ring.indexOf([...ring].sort()[0]!);
      const rotated = [...ring.slice(first), ...ring.slice(0, first)];
      const cycle = [rotated[0]!, ...rotated.slice(1).reverse(), rotated[0]!];
      const k = byId.get(cycle[0]!)!;
      diagnostics.push(diagnosticAt(source, taskPath(k, 'needs'), `dependency cycle: ${cycle.join(' -> ')}`));
    }
    order.length = 0;
  }

  checkExpressions(ir, source, byId, order, needsOf, srcIndex, diagnostics);

  if (diagnostics.length > 0 || cyclic) return { diagnostics: [...diagnostics, ...warnings] };

  // Times: forward pass for earliest start/finish, backward pass for LFT/LST.
  const tasks = new Map<string, PlannedTask>();
  const est = (id: string) => ir.tasks[byId.get(id)!]!.estimateMs ?? defaultEstimate;
  const runDeadline = relativeDeadline(ir.deadline, now);
  const finishPred = new Map<string, string | undefined>();
  const ef = new Map<string, number>();
  let makespan = 0;
  let last: string | undefined;
  for (const id of order) {
    let es = 0;
    let pred: string | undefined;
    for (const n of needsOf(id)) {
      const f = ef.get(n)!;
      if (pred === undefined || f > es) {
        es = f;
        pred = n;
      }
    }
    finishPred.set(id, pred);
    const f = es + est(id);
    ef.set(id, f);
    if (last === undefined || f > makespan) {
      makespan = f;
      last = id;
    }
  }
  const chainTo = (id: string): string[] => {
    const chain: string[] = [];
    for (let cur: string | undefined = id; cur !== undefined; cur = finishPred.get(cur)) chain.push(cur);
    return chain.reverse();
  };
  const times = computeTimes(
    order,
    est,
    (id) => relativeDeadline(ir.tasks[byId.get(id)!]!.deadline, now),
    dependantsOf,
    runDeadline,
  );
  const criticalPath = last ? chainTo(last) : [];
  const critical = new Set(criticalPath);
  order.forEach((id, i) => {
    const t = ir.tasks[byId.get(id)!]!;
    const { lft, lst } = times.get(id)!;
    const finish = ef.get(id)!;
    tasks.set(id, {
      id,
      order: i,
      needs: [...t.needs],
      dependants: dependantsOf(id),
      estimateMs: est(id),
      estimateSource: t.estimateMs !== undefined ? 'declared' : 'default',
      earliestStartMs: finish - est(id),
      earliestFinishMs: finish,
      lftMs: lft,
      lstMs: lst,
      slackMs: lst - (finish - est(id)),
      critical: critical.has(id),
    });
  });

  // Infeasible deadlines: the longest chain of estimates already overruns them.
  if (!options.partial) {
    const report = (path: FieldPath, message: string) => {
      const d = diagnosticAt(source, path, message, {
        severity: options.allowInfeasible ? 'warning' : 'error',
      });
      (options.allowInfeasible ? warnings : diagnostics).push(d);
    };
    for (const id of order) {
      const k = byId.get(id)!;
      const own = relativeDeadline(ir.tasks[k]!.deadline, now);
      const finish = ef.get(id)!;
      if (own !== undefined && finish > own) {
        report(
          taskPath(k, 'deadline'),
          own < 0
            ? `infeasible deadline: it passed ${formatDuration(-own)} ago`
            : `infeasible deadline: the critical path to "${id}" needs ${formatDuration(finish)} (${chainTo(id).join(' -> ')}) but the deadline is ${formatDuration(own)}`,
        );
      }
    }
    if (runDeadline !== undefined && makespan > runDeadline) {
      report(
        ['spec', 'deadline'],
        runDeadline < 0
          ? `infeasible deadline: it passed ${formatDuration(-runDeadline)} ago`
          : `infeasible deadline: the critical path needs ${formatDuration(makespan)} (${criticalPath.join(' -> ')}) but the run deadline is ${formatDuration(runDeadline)}`,
      );
    }
  }
  if (diagnostics.length > 0) return { diagnostics: [...diagnostics, ...warnings] };

  const plan: CompiledPlan = { ir, order, tasks, criticalPath, makespanMs: makespan, warnings };
  if (runDeadline !== undefined) {
    plan.deadlineMs = runDeadline;
    plan.totalSlackMs = runDeadline - makespan;
  }
  return { plan, diagnostics: warnings };
}

/** Parses every expression and checks what it references. */
function checkExpressions(
  ir: WorkflowIR,
  source: WorkflowSource,
  byId: Map<string, number>,
  order: string[],
  needsOf: (id: string) => string[],
  srcIndex: (k: number) => number,
  out: SourceDiagnostic[],
): void {
  const ancestors = new Map<string, Set<string>>();
  const ancestorsOf = (id: string): Set<string> | undefined => {
    if (order.length === 0) return undefined; // cyclic: ancestry is undefined
    let set = ancestors.get(id);
    if (set) return set;
    set = new Set();
    const stack = [...needsOf(id)];
    while (stack.length) {
      const n = stack.pop()!;
      if (set.has(n)) continue;
      set.add(n);
      stack.push(...needsOf(n));
    }
    ancestors.set(id, set);
    return set;
  };
  const sites: ExprSite[] = [];
  ir.tasks.forEach((t, k) => sites.push(...expressionSites(t, srcIndex(k))));
  if (ir.shardKey && hasExpression(ir.shardKey)) {
    sites.push({ taskIndex: -1, path: ['spec', 'shardKey'], text: ir.shardKey, kind: 'template' });
  }
  const taskAtSource = new Map<number, TaskIR>();
  ir.tasks.forEach((t, k) => taskAtSource.set(srcIndex(k), t));

  for (const site of sites) {
    const task = site.taskIndex >= 0 ? taskAtSource.get(site.taskIndex) : undefined;
    for (const problem of siteProblems(site, task, ir, byId, ancestorsOf))
      out.push(diagnosticAt(source, site.path, problem));
  }
}

/** Parses the expressions of one field and checks what they reference. */
function siteProblems(
  site: ExprSite,
  task: TaskIR | undefined,
  ir: WorkflowIR,
  byId: Map<string, number>,
  ancestorsOf: (id: string) => Set<string> | undefined,
): string[] {
  let exprs: Expr[];
  try {
    exprs =
      site.kind === 'condition'
        ? [parseCondition(site.text)]
        : parseTemplate(site.text).parts.flatMap((p) => (typeof p === 'string' ? [] : [p.expr]));
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return [`invalid expression at character ${err.offset + 1}: ${err.message}`];
  }
  const problems: string[] = [];
  for (const expr of exprs) {
    for (const ref of collectRefs(expr)) {
      const problem = refProblem(ref.path, task, ir, byId, ancestorsOf);
      if (problem) problems.push(problem);
    }
  }
  return problems;
}

const TASK_ID_RE = new RegExp(ID_PATTERN);

/**
 * What is wrong with a task added to a live run (dynamic DAGs), as `field: message` lines:
 * its id, its needs, and its expressions (against the run's params and upstream tasks).
 * `ir` is the run's workflow without the new task; `needsOf` gives the needs of its tasks.
 */
export function dynamicTaskProblems(
  ir: WorkflowIR,
  task: TaskIR,
  needsOf: (id: string) => readonly string[],
): string[] {
  const problems: string[] = [];
  if (!TASK_ID_RE.test(task.id)) {
    problems.push(
      `id: invalid task id ${JSON.stringify(task.id)}: use letters, digits, "_" and "-", starting with a letter or "_" (at most 128)`,
    );
  }
  const seen = new Set<string>();
  task.needs.forEach((n, i) => {
    if (n === task.id) problems.push(`needs[${i}]: task "${task.id}" needs itself`);
    else if (seen.has(n)) problems.push(`needs[${i}]: "${n}" is listed twice`);
    seen.add(n);
  });
  const withTask: WorkflowIR = { ...ir, tasks: [...ir.tasks, task] };
  const byId = new Map(withTask.tasks.map((t, k) => [t.id, k]));
  const ancestorsOf = (id: string): Set<string> => {
    const set = new Set<string>();
    const stack = [...(id === task.id ? task.needs : needsOf(id))];
    while (stack.length) {
      const n = stack.pop()!;
      if (set.has(n)) continue;
      set.add(n);
      stack.push(...needsOf(n));
    }
    return set;
  };
  for (const site of expressionSites(task, 0)) {
    for (const problem of siteProblems(site, task, withTask, byId, ancestorsOf)) {
      problems.push(`${formatPath(site.path.slice(3))}: ${problem}`);
    }
  }
  return problems;
}

const RUN_FIELDS = ['id', 'name', 'startedAt', 'attempt'];

function refProblem(
  path: string[],
  task: TaskIR | undefined,
  ir: WorkflowIR,
  byId: Map<string, number>,
  ancestorsOf: (id: string) => Set<string> | undefined,
): string | undefined {
  const [root, name, field, output] = path;
  const shown = path.join('.');
  if (root === 'params') {
    if (name === undefined) return `"${shown}": name a param, as in params.date`;
    if (!Object.hasOwn(ir.params, name)) {
      return `unknown param "${name}" in "${shown}"${didYouMean(name, Object.keys(ir.params))}`;
    }
    return undefined;
  }
  if (root === 'run') {
    if (name === undefined || !RUN_FIELDS.includes(name))
      return `"${shown}": run has ${RUN_FIELDS.join(', ')}`;
    return undefined;
  }
  if (root === 'tasks') {
    if (!task) return `"${shown}": workflow-level fields can only use params and run`;
    if (name === undefined) return `"${shown}": name a task, as in tasks.extract.outputs.rows`;
    const k = byId.get(name);
    if (k === undefined) return `unknown task "${name}" in "${shown}"${didYouMean(name, byId.keys())}`;
    if (field !== 'outputs' && field !== 'status')
      return `"${shown}": a task reference reads .outputs.<name> or .status`;
    // A direct need runs first by definition: only other references pay for the ancestry walk.
    const anc = task.needs.includes(name) ? undefined : ancestorsOf(task.id);
    if (anc && !anc.has(name)) {
      return `"${shown}": task "${name}" does not run before "${task.id}"; add it to needs`;
    }
    const declared = ir.tasks[k]!.outputs;
    if (field === 'outputs' && output !== undefined && declared && !declared.includes(output)) {
      return `task "${name}" declares no output "${output}"${didYouMean(output, declared)}; it declares: ${declared.join(', ') || 'none'}`;
    }
    return undefined;
  }
  return `unknown reference "${shown}": expressions can use params, tasks and run`;
}
