import { describe, expect, it } from 'vitest';
import type { SourceDiagnostic } from '../../../engine/errors.js';
import { compileWorkflow, computeTimes } from '../../../dsl/compiler.js';
import type { CompileOptions, CompileResult, CompiledPlan } from '../../../dsl/compiler.js';
import { IR_DEFAULTS } from '../../../dsl/ir.js';
import type { TaskIR, WorkflowIR } from '../../../dsl/ir.js';
import { loadYamlText } from '../../../dsl/load.js';
import type { WorkflowSource } from '../../../dsl/source.js';

const MIN = 60_000;
const NOW = Date.parse('2026-12-01T05:00:00Z');

/** A source for IR built in code: every position is 1:1. */
const irSource: WorkflowSource = { file: 'ir', locate: () => ({ line: 1, column: 1 }) };

function task(id: string, fields: Partial<TaskIR> = {}): TaskIR {
  return {
    id,
    needs: [],
    handler: { kind: 'uses', name: 'noop', with: {} },
    priority: IR_DEFAULTS.priority,
    retries: IR_DEFAULTS.retries,
    ...fields,
  };
}

function workflowIR(tasks: TaskIR[], fields: Partial<WorkflowIR> = {}): WorkflowIR {
  return {
    apiVersion: 'smartqueue/v1',
    name: 'wf',
    labels: {},
    priority: IR_DEFAULTS.priority,
    failurePolicy: 'fail-fast',
    params: {},
    tasks,
    ...fields,
  };
}

/** Loads one YAML workflow (which must validate) and compiles it. */
function compileYaml(text: string, options: CompileOptions = {}): CompileResult {
  const loaded = loadYamlText(text, 'wf.yaml');
  expect(loaded.diagnostics).toEqual([]);
  expect(loaded.workflows).toHaveLength(1);
  const w = loaded.workflows[0]!;
  return compileWorkflow(w.ir, w.source, {
    now: NOW,
    taskIndex: w.taskIndex,
    partial: w.partial,
    ...options,
  });
}

function planOf(result: CompileResult): CompiledPlan {
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(result.plan).toBeDefined();
  return result.plan!;
}

/** 1-based line of the nth line of `text` that contains `needle`. */
function lineOf(text: string, needle: string, nth = 1): number {
  const lines = text.split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) if (lines[i]!.includes(needle) && ++seen === nth) return i + 1;
  throw new Error(`"${needle}" not found`);
}

function times(plan: CompiledPlan): Record<string, [lft: number, lst: number]> {
  return Object.fromEntries([...plan.tasks.values()].map((t) => [t.id, [t.lftMs / MIN, t.lstMs / MIN]]));
}

const header = (spec = '') => `apiVersion: smartqueue/v1
kind: Workflow
metadata:
  name: wf
spec:
${spec}  tasks:
`;

// extract(10m) ─► transform(20m, deadline 40m) ─► load(5m) ─► report(5m, deadline 60m)
//        └──────► validate(5m) ─────────────────────────────┘          run deadline 50m
const ETL = `${header('  deadline: 50m\n')}    - id: extract
      uses: noop
      estimate: 10m
    - id: transform
      uses: noop
      needs: [extract]
      estimate: 20m
      deadline: 40m
    - id: validate
      uses: noop
      needs: [extract]
      estimate: 5m
    - id: load
      uses: noop
      needs: [transform]
      estimate: 5m
    - id: report
      uses: noop
      needs: [load, validate]
      estimate: 5m
      deadline: 60m
`;

describe('computeTimes', () => {
  it('applies LFT = min(own, run, min over dependants of LFT - est) in reverse order', () => {
    // a ─► b ─► d,  a ─► c ─► d;  est a=1 b=2 c=3 d=4;  deadlines: b=6, d=20; run=15.
    const est: Record<string, number> = { a: 1, b: 2, c: 3, d: 4 };
    const own: Record<string, number | undefined> = { b: 6, d: 20 };
    const deps: Record<string, string[]> = { a: ['b', 'c'], b: ['d'], c: ['d'], d: [] };
    const t = computeTimes(
      ['a', 'b', 'c', 'd'],
      (id) => est[id]!,
      (id) => own[id],
      (id) => deps[id]!,
      15,
    );
    // d: min(20, 15) = 15, LST 11
    // c: min(15, LST(d)=11) = 11, LST 8
    // b: min(6, 15, 11) = 6, LST 4
    // a: min(15, LST(b)=4, LST(c)=8) = 4, LST 3
    expect(Object.fromEntries(t)).toEqual({
      a: { lft: 4, lst: 3 },
      b: { lft: 6, lst: 4 },
      c: { lft: 11, lst: 8 },
      d: { lft: 15, lst: 11 },
    });
  });

  it('leaves LFT and LST infinite without any deadline downstream', () => {
    const t = computeTimes(
      ['a', 'b'],
      () => 5,
      () => undefined,
      (id) => (id === 'a' ? ['b'] : []),
      undefined,
    );
    expect(t.get('a')).toEqual({ lft: Infinity, lst: Infinity });
    expect(t.get('b')).toEqual({ lft: Infinity, lst: Infinity });
  });
});

describe('compileWorkflow: latest finish and start times', () => {
  it('matches the hand-computed LFT/LST of a DAG with task and run deadlines', () => {
    const plan = planOf(compileYaml(ETL));
    // report: min(60, run 50) = 50 → LST 45
    // load: min(50, LST(report) 45) = 45 → 40;  validate: likewise 45 → 40
    // transform: min(40, 50, LST(load) 40) = 40 → 20
    // extract: min(50, LST(transform) 20, LST(validate) 40) = 20 → 10
    expect(times(plan)).toEqual({
      extract: [20, 10],
      transform: [40, 20],
      validate: [45, 40],
      load: [45, 40],
      report: [50, 45],
    });
    for (const t of plan.tasks.values()) expect(t.lstMs).toBe(t.lftMs - t.estimateMs);
  });

  it('lets a task deadline downstream pull every ancestor earlier', () => {
    const plan = planOf(
      compileWorkflow(
        workflowIR([
          task('a', { estimateMs: 1 * MIN }),
          task('b', { needs: ['a'], estimateMs: 2 * MIN }),
          task('c', { needs: ['b'], estimateMs: 3 * MIN, deadline: { kind: 'relative', ms: 10 * MIN } }),
        ]),
        irSource,
        { now: NOW },
      ),
    );
    // c: 10 → LST 7;  b: min(LST(c) 7) → LST 5;  a: min(LST(b) 5) → LST 4.
    expect(times(plan)).toEqual({ a: [5, 4], b: [7, 5], c: [10, 7] });
    expect(plan.deadlineMs).toBeUndefined();
    expect(plan.totalSlackMs).toBeUndefined();
  });

  it("keeps a task's own deadline when it is tighter than what its dependants need", () => {
    const plan = planOf(
      compileWorkflow(
        workflowIR([
          task('a', { estimateMs: MIN, deadline: { kind: 'relative', ms: 2 * MIN } }),
          task('b', { needs: ['a'], estimateMs: MIN, deadline: { kind: 'relative', ms: 10 * MIN } }),
        ]),
        irSource,
        { now: NOW },
      ),
    );
    expect(times(plan)).toEqual({ a: [2, 1], b: [10, 9] });
  });

  it('uses the run deadline for sinks and infinite times without any deadline', () => {
    const ir = workflowIR([task('a', { estimateMs: MIN }), task('b', { needs: ['a'], estimateMs: MIN })]);
    expect(times(planOf(compileWorkflow(ir, irSource, { now: NOW })))).toEqual({
      a: [Infinity, Infinity],
      b: [Infinity, Infinity],
    });
    const withRun = planOf(
      compileWorkflow({ ...ir, deadline: { kind: 'relative', ms: 30 * MIN } }, irSource, { now: NOW }),
    );
    expect(times(withRun)).toEqual({ a: [29, 28], b: [30, 29] });
    expect(withRun.deadlineMs).toBe(30 * MIN);
    expect(withRun.totalSlackMs).toBe(28 * MIN);
  });

  it('falls back to the default estimate for tasks that declare none', () => {
    const ir = workflowIR([task('a'), task('b', { needs: ['a'], estimateMs: 500 })], {
      deadline: { kind: 'relative', ms: 10_000 },
    });
    const plan = planOf(compileWorkflow(ir, irSource, { now: NOW }));
    expect(plan.tasks.get('a')).toMatchObject({
      estimateMs: IR_DEFAULTS.estimateMs,
      estimateSource: 'default',
    });
    expect(plan.tasks.get('b')).toMatchObject({ estimateMs: 500, estimateSource: 'declared' });
    expect(plan.tasks.get('a')!.lstMs).toBe(10_000 - 500 - IR_DEFAULTS.estimateMs);
    const custom = planOf(compileWorkflow(ir, irSource, { now: NOW, defaultEstimateMs: 3000 }));
    expect(custom.tasks.get('a')).toMatchObject({ estimateMs: 3000, lstMs: 10_000 - 500 - 3000 });
    expect(custom.makespanMs).toBe(3500);
  });
});

describe('compileWorkflow: critical path and makespan', () => {
  it('finds the longest chain of estimates and the earliest times of every task', () => {
    const plan = planOf(compileYaml(ETL));
    expect(plan.criticalPath).toEqual(['extract', 'transform', 'load', 'report']);
    expect(plan.makespanMs).toBe(40 * MIN);
    expect(plan.deadlineMs).toBe(50 * MIN);
    expect(plan.totalSlackMs).toBe(10 * MIN);
    const t = (id: string) => plan.tasks.get(id)!;
    expect([t('extract').earliestStartMs, t('extract').earliestFinishMs]).toEqual([0, 10 * MIN]);
    expect([t('validate').earliestStartMs, t('validate').earliestFinishMs]).toEqual([10 * MIN, 15 * MIN]);
    expect([t('report').earliestStartMs, t('report').earliestFinishMs]).toEqual([35 * MIN, 40 * MIN]);
    expect(t('validate').slackMs).toBe(30 * MIN);
    expect(t('transform').slackMs).toBe(10 * MIN);
    expect([...plan.tasks.values()].filter((x) => x.critical).map((x) => x.id)).toEqual([
      'extract',
      'transform',
      'load',
      'report',
    ]);
    expect(t('extract').dependants).toEqual(['transform', 'validate']);
    expect(t('report').needs).toEqual(['load', 'validate']);
  });

  it('picks the longer of independent chains', () => {
    const plan = planOf(
      compileWorkflow(
        workflowIR([
          task('a1', { estimateMs: 5 }),
          task('a2', { needs: ['a1'], estimateMs: 5 }),
          task('b1', { estimateMs: 3 }),
          task('b2', { needs: ['b1'], estimateMs: 3 }),
          task('b3', { needs: ['b2'], estimateMs: 3 }),
          task('lone', { estimateMs: 8 }),
        ]),
        irSource,
        { now: NOW },
      ),
    );
    expect(plan.criticalPath).toEqual(['a1', 'a2']);
    expect(plan.makespanMs).toBe(10);
  });
});

describe('compileWorkflow: absolute deadlines', () => {
  it('resolves ISO-8601 instants relative to `now`, offsets included', () => {
    const text = `${header('  deadline: "2026-12-01T06:00:00Z"\n')}    - id: a
      uses: noop
      estimate: 10m
    - id: b
      uses: noop
      needs: [a]
      estimate: 5m
      deadline: "2026-12-01T07:30:00+02:00"
`;
    // now = 05:00Z; run deadline 06:00Z = +60m; b's deadline 07:30+02:00 = 05:30Z = +30m.
    const plan = planOf(compileYaml(text));
    expect(plan.deadlineMs).toBe(60 * MIN);
    expect(times(plan)).toEqual({ a: [25, 15], b: [30, 25] });
    // The same IR an hour later: everything is an hour closer.
    const later = planOf(compileYaml(text, { now: NOW + 10 * MIN }));
    expect(later.deadlineMs).toBe(50 * MIN);
    expect(times(later)).toEqual({ a: [15, 5], b: [20, 15] });
  });

  it('accepts absolute deadlines built as IR', () => {
    const ir = workflowIR([task('a', { estimateMs: MIN })], {
      deadline: { kind: 'absolute', epochMs: NOW + 45 * MIN, text: '2026-12-01T05:45:00Z' },
    });
    expect(times(planOf(compileWorkflow(ir, irSource, { now: NOW })))).toEqual({ a: [45, 44] });
  });
});

describe('compileWorkflow: topological order', () => {
  it('puts every task after its needs, whatever the file order', () => {
    const ir = workflowIR([
      task('load', { needs: ['transform'] }),
      task('report', { needs: ['load', 'audit'] }),
      task('transform', { needs: ['extract'] }),
      task('audit', { needs: ['extract'] }),
      task('extract'),
    ]);
    const plan = planOf(compileWorkflow(ir, irSource, { now: NOW }));
    const pos = new Map(plan.order.map((id, i) => [id, i]));
    expect([...plan.order].sort()).toEqual(['audit', 'extract', 'load', 'report', 'transform']);
    for (const t of ir.tasks) for (const n of t.needs) expect(pos.get(n)!).toBeLessThan(pos.get(t.id)!);
    expect(plan.order[0]).toBe('extract');
    expect(plan.order.at(-1)).toBe('report');
    for (const t of plan.tasks.values()) expect(t.order).toBe(pos.get(t.id));
  });

  it('keeps file order among independent tasks', () => {
    const plan = planOf(compileWorkflow(workflowIR([task('z'), task('m'), task('a'), task('q')]), irSource));
    expect(plan.order).toEqual(['z', 'm', 'a', 'q']);
  });
});

describe('compileWorkflow: infeasible deadlines', () => {
  const chain = (deadline: string) => `${header('  deadline: 25m\n')}    - id: a
      uses: noop
      estimate: 10m
    - id: b
      uses: noop
      needs: [a]
      estimate: 10m
      deadline: ${deadline}
    - id: c
      uses: noop
      needs: [b]
      estimate: 10m
`;

  it('fails when the critical path overruns a task or run deadline, naming the chain', () => {
    const text = chain('19m');
    const r = compileYaml(text);
    expect(r.plan).toBeUndefined();
    expect(r.diagnostics).toEqual([
      {
        file: 'wf.yaml',
        line: lineOf(text, 'deadline: 19m'),
        column: 17,
        path: 'tasks[1].deadline',
        message: 'infeasible deadline: the critical path to "b" needs 20m (a -> b) but the deadline is 19m',
        severity: 'error',
      },
      {
        file: 'wf.yaml',
        line: lineOf(text, 'deadline: 25m'),
        column: 13,
        path: 'deadline',
        message: 'infeasible deadline: the critical path needs 30m (a -> b -> c) but the run deadline is 25m',
        severity: 'error',
      },
    ]);
  });

  it('accepts a deadline met exactly', () => {
    const r = compileYaml(chain('20m').replace('deadline: 25m', 'deadline: 30m'));
    expect(r.diagnostics).toEqual([]);
    expect(r.plan!.totalSlackMs).toBe(0);
  });

  it('reports warnings and still returns the plan with allowInfeasible', () => {
    const r = compileYaml(chain('19m'), { allowInfeasible: true });
    expect(r.plan).toBeDefined();
    expect(r.diagnostics.map((d) => [d.severity, d.path])).toEqual([
      ['warning', 'tasks[1].deadline'],
      ['warning', 'deadline'],
    ]);
    expect(r.plan!.warnings).toEqual(r.diagnostics);
    // Negative slack is kept, so the scheduler knows how late the run already is.
    expect(r.plan!.totalSlackMs).toBe(-5 * MIN);
    expect(r.plan!.tasks.get('a')!.slackMs).toBeLessThan(0);
  });

  it('says how long ago an absolute deadline passed', () => {
    const text = `${header('  deadline: "2026-12-01T04:00:00Z"\n')}    - id: a
      uses: noop
      deadline: "2026-12-01T04:30:00Z"
`;
    const r = compileYaml(text);
    expect(r.diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual([
      'tasks[0].deadline: infeasible deadline: it passed 30m ago',
      'deadline: infeasible deadline: it passed 1h ago',
    ]);
  });

  it('skips deadline checks for a partial IR', () => {
    const ir = workflowIR([task('a', { estimateMs: 10 * MIN, deadline: { kind: 'relative', ms: MIN } })]);
    expect(compileWorkflow(ir, irSource, { now: NOW }).plan).toBeUndefined();
    expect(compileWorkflow(ir, irSource, { now: NOW, partial: true }).diagnostics).toEqual([]);
  });
});

describe('compileWorkflow: cycles', () => {
  const messages = (r: CompileResult) => r.diagnostics.map((d) => d.message);

  it('prints a cycle in dependency order, starting from its smallest id', () => {
    // x needs z, y needs x, z needs y: x runs before y, y before z, z before x.
    const r = compileWorkflow(
      workflowIR([task('y', { needs: ['x'] }), task('z', { needs: ['y'] }), task('x', { needs: ['z'] })]),
      irSource,
    );
    expect(r.plan).toBeUndefined();
    expect(messages(r)).toEqual(['dependency cycle: x -> y -> z -> x']);
  });

  it('reports each cycle once, with only its members, at the needs of its first task', () => {
    const text = `${header()}    - id: a
      uses: noop
      needs: [b]
    - id: b
      uses: noop
      needs: [a]
    - id: tail
      uses: noop
      needs: [a]
    - id: p
      uses: noop
      needs: [r]
    - id: q
      uses: noop
      needs: [p]
    - id: r
      uses: noop
      needs: [q]
`;
    const loaded = loadYamlText(text, 'wf.yaml');
    const w = loaded.workflows[0]!;
    const r = compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex });
    expect(r.diagnostics.map((d) => [d.line, d.path, d.message]).sort()).toEqual(
      [
        [lineOf(text, 'needs: [b]'), 'tasks[0].needs', 'dependency cycle: a -> b -> a'],
        [lineOf(text, 'needs: [r]'), 'tasks[3].needs', 'dependency cycle: p -> q -> r -> p'],
      ].sort(),
    );
  });

  it('reports a task that needs itself', () => {
    const r = compileWorkflow(workflowIR([task('a', { needs: ['a'] })]), irSource);
    expect(messages(r)).toEqual(['task "a" needs itself']);
  });
});

describe('compileWorkflow: every error is collected', () => {
  it('reports duplicates, unknown needs, cycles and bad expressions together, each at its line', () => {
    const text = `${header('  params:\n    date: { type: string, default: "2026-12-01" }\n')}    - id: extract
      uses: noop
      outputs: [rows]
    - id: extract
      uses: noop
    - id: load
      uses: noop
      needs: [extrct]
    - id: loop1
      uses: noop
      needs: [loop2]
    - id: loop2
      uses: noop
      needs: [loop1]
    - id: report
      uses: noop
      needs: [extract, extract]
      with:
        day: "\${{ params.dte }}"
        rows: "\${{ tasks.extract.outputs.row }}"
        bad: "\${{ params.date == }}"
        where: "\${{ nowhere.x }}"
      when: "run.idd == 'x'"
`;
    const loaded = loadYamlText(text, 'wf.yaml');
    expect(loaded.diagnostics).toEqual([]);
    const w = loaded.workflows[0]!;
    const r = compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex, now: NOW });
    expect(r.plan).toBeUndefined();
    const got = r.diagnostics.map((d) => `${d.line} ${d.severity} ${d.path}: ${d.message}`).sort();
    const L = (needle: string, nth = 1) => lineOf(text, needle, nth);
    const expected = [
      `${L('- id: extract', 2)} error tasks[1].id: duplicate task id "extract" (first defined at line ${L('- id: extract')})`,
      `${L('needs: [extrct]')} error tasks[2].needs[0]: unknown task "extrct" (did you mean "extract"?)`,
      `${L('needs: [loop2]')} error tasks[3].needs: dependency cycle: loop1 -> loop2 -> loop1`,
      `${L('needs: [extract, extract]')} warning tasks[5].needs[1]: "extract" is listed twice`,
      `${L('day:')} error tasks[5].with.day: unknown param "dte" in "params.dte" (did you mean "date"?)`,
      `${L('rows: "')} error tasks[5].with.rows: task "extract" declares no output "row" (did you mean "rows"?); it declares: rows`,
      `${L('bad:')} error tasks[5].with.bad: invalid expression at character 20: unexpected end of expression`,
      `${L('where:')} error tasks[5].with.where: unknown reference "nowhere.x": expressions can use params, tasks and run`,
      `${L('when:')} error tasks[5].when: "run.idd": run has id, name, startedAt, attempt`,
    ].sort();
    expect(got).toEqual(expected);
    for (const d of r.diagnostics) expect(d.file).toBe('wf.yaml');
  });

  it('refuses a reference to a task that does not run before the referring one', () => {
    const text = `${header()}    - id: a
      uses: noop
    - id: b
      uses: noop
    - id: c
      uses: noop
      needs: [a]
      with: { s: "\${{ tasks.b.status }}" }
`;
    const loaded = loadYamlText(text, 'wf.yaml');
    const w = loaded.workflows[0]!;
    const r = compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex });
    expect(r.diagnostics.map((d) => [d.line, d.path, d.message])).toEqual([
      [
        lineOf(text, 'tasks.b.status'),
        'tasks[2].with.s',
        '"tasks.b.status": task "b" does not run before "c"; add it to needs',
      ],
    ]);
  });

  it('refuses params that exist only on Object.prototype', () => {
    const text = `${header('  params:\n    p: { default: 1 }\n')}    - id: a
      uses: noop
      with: { c: "\${{ params.constructor }}", t: "\${{ params.toString }}", p: "\${{ params.__proto__ }}" }
`;
    const loaded = loadYamlText(text, 'wf.yaml');
    const w = loaded.workflows[0]!;
    const r = compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex });
    expect(r.diagnostics.map((d) => `${d.path}: ${d.message}`)).toEqual([
      'tasks[0].with.c: unknown param "constructor" in "params.constructor"',
      'tasks[0].with.t: unknown param "toString" in "params.toString"',
      'tasks[0].with.p: unknown param "__proto__" in "params.__proto__"',
    ]);
  });

  it('accepts references to transitive needs, declared outputs, params and run fields', () => {
    const text = `${header('  params:\n    n: { default: 3 }\n')}    - id: a
      uses: noop
      outputs: [rows]
    - id: b
      uses: noop
      needs: [a]
    - id: c
      uses: noop
      needs: [b]
      with:
        rows: "\${{ tasks.a.outputs.rows }}"
        status: "\${{ tasks.b.status }}"
        any: "\${{ tasks.b.outputs.whatever }}"
        n: "n=\${{ params.n }} run=\${{ run.id }}/\${{ run.attempt }}"
      when: "\${{ params.n > 2 && tasks.a.status == 'succeeded' }}"
`;
    expect(compileYaml(text).diagnostics).toEqual([]);
  });
});

/** Own keys of objects that a prototype-pollution bug would write to, to detect and undo it. */
function prototypeGuard(): { leaked(): string[]; restore(): void } {
  const targets: object[] = [Object.prototype, Object, Function.prototype];
  for (const key of Object.getOwnPropertyNames(Object.prototype)) {
    const v = (Object.prototype as Record<string, unknown>)[key];
    if (typeof v === 'function') targets.push(v);
  }
  const before = targets.map((t) => new Set(Reflect.ownKeys(t)));
  const added = () =>
    targets.flatMap((t, i) =>
      Reflect.ownKeys(t)
        .filter((k) => !before[i]!.has(k))
        .map((k) => [t, k] as const),
    );
  return {
    leaked: () => added().map(([, k]) => String(k)),
    restore: () => {
      for (const [t, k] of added()) delete (t as Record<PropertyKey, unknown>)[k];
    },
  };
}

describe('compileWorkflow: large workflows', () => {
  const chain = (n: number) =>
    workflowIR(
      Array.from({ length: n }, (_, i) => task(`t${i}`, { needs: i ? [`t${i - 1}`] : [], estimateMs: 1 })),
    );

  it('compiles a chain of 2,000 tasks', () => {
    const plan = planOf(compileWorkflow(chain(2000), irSource, { now: NOW }));
    expect(plan.makespanMs).toBe(2000);
    expect(plan.criticalPath).toHaveLength(2000);
  });

  it('compiles a chain as long as the task limit (20,000) without overflowing the stack', () => {
    const plan = planOf(compileWorkflow(chain(20_000), irSource, { now: NOW }));
    expect(plan.makespanMs).toBe(20_000);
    expect(plan.order[19_999]).toBe('t19999');
  });
});

describe('compileWorkflow: ids that are Object.prototype property names', () => {
  // Regression: graphlib keeps nodes in plain objects and tests membership with `in`, so raw ids
  // such as "constructor" or "__proto__" (both valid ids) used to make compileWorkflow throw or
  // write onto Object.prototype (process-wide prototype pollution from a workflow file).
  it('either refuses the id with a diagnostic or compiles it correctly, without pollution', () => {
    const problems: string[] = [];
    for (const id of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const guard = prototypeGuard();
      try {
        const text = `${header()}    - id: ${id}
      uses: noop
      estimate: 1m
      outputs: [x]
    - id: after
      uses: noop
      needs: [${id}]
      estimate: 2m
      with: { v: "\${{ tasks.${id}.outputs.x }}" }
`;
        const loaded = loadYamlText(text, 'wf.yaml');
        const results: CompileResult[] = [];
        for (const w of loaded.workflows) {
          results.push(
            compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex, partial: w.partial, now: NOW }),
          );
        }
        const diagnostics: SourceDiagnostic[] = [
          ...loaded.diagnostics,
          ...results.flatMap((r) => r.diagnostics),
        ];
        const plan = results[0]?.plan;
        const refused = diagnostics.some((d) => d.severity === 'error' && d.path === 'tasks[0].id');
        const correct =
          plan !== undefined &&
          diagnostics.length === 0 &&
          plan.order.join() === `${id},after` &&
          plan.makespanMs === 3 * MIN &&
          plan.tasks.get(id)?.dependants.join() === 'after';
        if (!refused && !correct)
          problems.push(`${id}: ${JSON.stringify(diagnostics.map((d) => d.message))}`);
      } catch (err) {
        problems.push(`${id}: threw ${String(err)}`);
      } finally {
        const leaked = guard.leaked();
        guard.restore();
        if (leaked.length) problems.push(`${id}: polluted ${JSON.stringify(leaked)}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
