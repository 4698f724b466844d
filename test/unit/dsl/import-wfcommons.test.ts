/**
 * `smartqueue import wfcommons` and its library (dsl/import/): the two schema layouts on small
 * fixtures, every error with its file, line, column and JSON path, the YAML the command writes
 * (loaded and compiled by the project's own loader), the makespan simulation, and every public
 * instance in ../shared/data/wfcommons when that folder exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../engine/errors.js';
import { compileWorkflow } from '../../../dsl/compiler.js';
import { parseWorkflowIr } from '../../../dsl/ir-schema.js';
import { IR_DEFAULTS } from '../../../dsl/ir.js';
import type { WorkflowIR } from '../../../dsl/ir.js';
import { compileFile, loadYamlText } from '../../../dsl/load.js';
import { makespanLowerBound, simulateMakespan, wfcommonsMakespans } from '../../../dsl/import/makespan.js';
import { importWfCommons, importWfCommonsFile, toSmartQueueId } from '../../../dsl/import/wfcommons.js';
import { workflowToYaml } from '../../../dsl/import/workflow-yaml.js';
import { runCli } from '../../support/cli.js';

const FIXTURES = 'test/fixtures/wfcommons';
const DATA = path.resolve(import.meta.dirname, '../../../../shared/data/wfcommons');
const noSource = { file: '<test>', locate: () => ({ line: 1, column: 1 }) };

function compileIr(ir: WorkflowIR) {
  const r = compileWorkflow(ir, noSource, { allowInfeasible: true });
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return r.plan!;
}

/** Writes the IR as YAML and reads it back the way `smartqueue validate` would. */
function roundTrip(ir: WorkflowIR) {
  const text = workflowToYaml(ir, ['test']);
  const loaded = loadYamlText(text, 'roundtrip.yaml');
  expect(loaded.diagnostics).toEqual([]);
  expect(loaded.workflows).toHaveLength(1);
  const w = loaded.workflows[0]!;
  const r = compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex });
  expect(r.diagnostics).toEqual([]);
  return r.plan!;
}

describe('importWfCommons: schema 1.5 and 1.4', () => {
  it('imports the 1.5 fixture: ids, needs, scaled estimates, priorities, renamed ids', async () => {
    const r = await importWfCommonsFile(`${FIXTURES}/small-1.5.json`, { scale: 0.5 });
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      `${FIXTURES}/small-1.5.json:1:1 warning: 1 task ids changed to fit SmartQueue ids (letters, digits, "_", "-"), e.g. "a.1" -> "a_1"; each task's name keeps its original id`,
    ]);
    const ir = r.ir!;
    expect(ir.name).toBe('small-forkjoin');
    expect(ir.labels).toEqual({ source: 'wfcommons', 'wfcommons/schema': '1.5', 'wfcommons/scale': '0.5' });
    expect(ir.deadline).toBeUndefined();
    const byId = new Map(ir.tasks.map((t) => [t.id, t]));
    expect([...byId.keys()].sort()).toEqual(['a_1', 'b', 'c', 'join', 'split']);
    expect(byId.get('join')!.needs).toEqual(['a_1', 'b', 'c']);
    expect(byId.get('a_1')).toMatchObject({ name: 'a.1', needs: ['split'], priority: 30, estimateMs: 1500 });
    expect(byId.get('a_1')!.handler).toEqual({ kind: 'uses', name: 'sleep', with: { duration: '1500ms' } });
    // 1.0004 s × 0.5 = 500.2 ms: estimates are whole milliseconds.
    expect(byId.get('c')).toMatchObject({ priority: 90, estimateMs: 500 });
    expect(byId.get('split')!.name).toBeUndefined();
    // Parents come before their children.
    const pos = new Map(ir.tasks.map((t, i) => [t.id, i]));
    for (const t of ir.tasks) for (const n of t.needs) expect(pos.get(n)!).toBeLessThan(pos.get(t.id)!);
    // The unscaled figures: critical path split → b → join, all work, the trace's makespan.
    expect(r.criticalPath).toEqual(['split', 'b', 'join']);
    expect(r.criticalPathMs).toBeCloseTo(11_000, 6);
    expect(r.totalWorkMs).toBeCloseTo(15_000.4, 6);
    expect(r.instance!.recordedMakespanMs).toBe(14_500);
    expect(r.instance!.machines).toEqual({ count: 1, cores: 4 });
    expect(parseWorkflowIr(ir).ok).toBe(true);
    const plan = roundTrip(ir);
    expect(plan.makespanMs).toBe(5500);
    expect(plan.criticalPath).toEqual(['split', 'b', 'join']);
  });

  it('reads the 1.4 fixture (flat tasks by name, missing children derived) into the same tasks', async () => {
    const r14 = await importWfCommonsFile(`${FIXTURES}/small-1.4.json`, { scale: 0.5 });
    const r15 = await importWfCommonsFile(`${FIXTURES}/small-1.5.json`, { scale: 0.5 });
    expect(r14.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r14.instance!.schemaVersion).toBe('1.4');
    expect(r14.instance!.edges).toBe(5);
    expect(r14.ir!.tasks).toEqual(r15.ir!.tasks);
    expect(r14.criticalPathMs).toBeCloseTo(r15.criticalPathMs, 9);
    expect(r14.instance!.recordedMakespanMs).toBe(14_500);
    expect(r14.instance!.machines).toEqual({ count: 1 });
  });

  it('sets a run deadline of factor × critical path, or × the lower bound on W workers', () => {
    const json = JSON.parse(readFileSync(`${FIXTURES}/small-1.5.json`, 'utf8')) as unknown;
    // Scaled: critical path 5,500 ms, work 7,500.2 → 7,500 ms after rounding each task.
    expect(importWfCommons(json, { scale: 0.5, deadlineFactor: 1.5 }).ir!.deadline).toEqual({
      kind: 'relative',
      ms: 8250,
    });
    expect(importWfCommons(json, { scale: 0.5, deadlineFactor: 1.5, workers: 1 }).deadlineMs).toBe(11_250);
    expect(importWfCommons(json, { scale: 0.5, deadlineFactor: 1, workers: 2 }).deadlineMs).toBe(5500);
    // A factor of 1 is exactly feasible: the compiler accepts it without allowInfeasible.
    const ir = importWfCommons(json, { deadlineFactor: 1 }).ir!;
    expect(compileWorkflow(ir, noSource).diagnostics).toEqual([]);
  });

  it('refuses options that cannot make a workflow', () => {
    expect(() => importWfCommons({}, { scale: 0 })).toThrow(/scale must be a number > 0/);
    expect(() => importWfCommons({}, { deadlineFactor: 0.9 })).toThrow(
      /deadline factor must be a number >= 1/,
    );
    expect(() => importWfCommons({}, { workers: 1.5 })).toThrow(/workers must be a positive integer/);
    expect(() => importWfCommons({}, { name: 'a b' })).toThrow(/invalid workflow name/);
  });

  it('makes every id a valid, unique SmartQueue id', () => {
    expect(toSmartQueueId('NFCORE.RNASEQ:X')).toBe('NFCORE_RNASEQ_X');
    expect(toSmartQueueId('1000genome')).toBe('_1000genome');
    const long = toSmartQueueId('x.'.repeat(100));
    expect(long).toMatch(/^[A-Za-z_][A-Za-z0-9_-]{0,127}$/);
    expect(long).not.toBe(toSmartQueueId('x.'.repeat(99) + 'y'));
    const json = {
      schemaVersion: '1.5',
      name: 'clash',
      workflow: {
        specification: {
          tasks: [
            { id: 'a.b', name: 'a.b', parents: [], children: [] },
            { id: 'a_b', name: 'a_b', parents: ['a.b'], children: [] },
          ],
        },
        execution: {
          tasks: [
            { id: 'a.b', runtimeInSeconds: 1 },
            { id: 'a_b', runtimeInSeconds: 1 },
          ],
        },
      },
    };
    const r = importWfCommons(json);
    expect(r.ir!.tasks.map((t) => [t.id, t.needs])).toEqual([
      ['a_b', []],
      ['a_b_2', ['a_b']],
    ]);
  });
});

describe('importWfCommons: errors name the file, line, column and JSON path', () => {
  const cases: [string, string[]][] = [
    ['bad-json.json', ['bad-json.json:4:49 invalid JSON: Expected double-quoted property name']],
    [
      'unknown-version.json',
      [
        'unknown-version.json:3:20 schemaVersion: unsupported schemaVersion "1.2": this importer reads WfFormat 1.4, 1.5 (convert older instances with the wfcommons Python package)',
      ],
    ],
    ['missing-tasks.json', ['missing-tasks.json:5:22 workflow.specification.tasks: missing task list']],
    [
      'dangling-parent.json',
      [
        'dangling-parent.json:8:52 workflow.specification.tasks[1].parents[1]: unknown parent "ghost": no task of the instance has this id',
      ],
    ],
    [
      'dangling-child-1.4.json',
      [
        'dangling-child-1.4.json:8:60 workflow.tasks[1].runtimeInSeconds: runtimeInSeconds must be a number >= 0, got -3',
        'dangling-child-1.4.json:7:55 workflow.tasks[0].children[1]: unknown child "missing_task": no task of the instance has this id',
      ],
    ],
    [
      'cycle.json',
      ['cycle.json:9:46 workflow.specification.tasks[2].parents: dependency cycle: y -> z -> x -> y'],
    ],
    [
      'no-runtime.json',
      [
        'no-runtime.json:8:9 workflow.specification.tasks[1]: task "b" has no runtime: workflow.execution.tasks has no record with this id',
      ],
    ],
  ];

  it.each(cases)('%s', async (name, expected) => {
    const file = `${FIXTURES}/broken/${name}`;
    const r = await importWfCommonsFile(file);
    expect(r.ir).toBeUndefined();
    expect(r.diagnostics.map(formatDiagnostic)).toEqual(expected.map((e) => `${FIXTURES}/broken/${e}`));
  });

  it('covers every broken fixture', () => {
    expect(readdirSync(`${FIXTURES}/broken`).sort()).toEqual(cases.map((c) => c[0]).sort());
  });

  it('reports a missing file and a non-object document', async () => {
    const r = await importWfCommonsFile(`${FIXTURES}/nope.json`);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([`${FIXTURES}/nope.json:1:1 no such file`]);
    expect(importWfCommons([1, 2]).diagnostics.map((d) => d.message)).toEqual([
      'a WfCommons instance is a JSON object with schemaVersion and workflow',
    ]);
  });
});

/** A 1.5 instance: `tasks` as [id, seconds, parents]. */
function instance(tasks: [string, number, string[]][]): unknown {
  return {
    schemaVersion: '1.5',
    name: 'made',
    workflow: {
      specification: { tasks: tasks.map(([id, , parents]) => ({ id, name: id, parents, children: [] })) },
      execution: { tasks: tasks.map(([id, s]) => ({ id, runtimeInSeconds: s })) },
    },
  };
}

describe('makespan simulation', () => {
  // Four 1 s leaves listed first, then a chain h1 (1 s) → h2 (4 s): FIFO starts the leaves and
  // finishes the chain late; LST starts the chain at once and matches the lower bound.
  const made = instance([
    ['s1', 1, []],
    ['s2', 1, []],
    ['s3', 1, []],
    ['s4', 1, []],
    ['h1', 1, []],
    ['h2', 4, ['h1']],
  ]);

  it('LST follows the critical path, FIFO the arrival order (worked example)', () => {
    const plan = compileIr(importWfCommons(made, { deadlineFactor: 2 }).ir!);
    expect(simulateMakespan(plan, { workers: 2, ordering: 'lst' }).makespanMs).toBe(5000);
    const fifo = simulateMakespan(plan, { workers: 2, ordering: 'fifo' });
    expect(fifo.makespanMs).toBe(7000);
    expect(fifo.startMs.get('h2')).toBe(3000);
    expect(fifo.idleMs).toBe(2 * 7000 - 9000);
    expect(makespanLowerBound(5000, 9000, 2)).toBe(5000);
    // Without any deadline LST keys are aging keys: equal here, so arrival order decides.
    const noDeadline = compileIr(importWfCommons(made).ir!);
    expect(simulateMakespan(noDeadline, { workers: 2, ordering: 'lst' }).makespanMs).toBe(7000);
  });

  it('wfcommonsMakespans reports each W and policy against the bound', () => {
    const m = wfcommonsMakespans(importWfCommons(made), { workers: [1, 2, 8], policies: ['lst', 'fifo'] });
    expect(m.rows.map((r) => [r.workers, r.lowerBoundMs, r.makespanMs.lst, r.makespanMs.fifo])).toEqual([
      [1, 9000, 9000, 9000],
      [2, 5000, 5000, 7000],
      [8, 5000, 5000, 5000],
    ]);
    expect(() =>
      wfcommonsMakespans(importWfCommons(made, { scale: 2 }), { workers: [2], policies: ['lst'] }),
    ).toThrow(/scale 1/);
  });

  it('stays between the lower bound and the list-scheduling bound on random DAGs', () => {
    const dag = fc
      .array(
        fc.record({ s: fc.integer({ min: 0, max: 20 }), parents: fc.array(fc.nat(), { maxLength: 3 }) }),
        {
          minLength: 1,
          maxLength: 25,
        },
      )
      .map((rows) =>
        rows.map((r, i): [string, number, string[]] => [
          `t${i}`,
          r.s,
          i === 0 ? [] : [...new Set(r.parents.map((p) => `t${p % i}`))],
        ]),
      );
    fc.assert(
      fc.property(
        dag,
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom('lst' as const, 'fifo' as const, 'priority' as const),
        (tasks, workers, ordering) => {
          const imp = importWfCommons(instance(tasks), { deadlineFactor: 1 });
          const plan = compileIr(imp.ir!);
          const r = simulateMakespan(plan, { workers, ordering });
          const work = tasks.reduce((a, t) => a + t[1] * 1000, 0);
          const cp = imp.criticalPathMs;
          expect(r.makespanMs).toBeGreaterThanOrEqual(makespanLowerBound(cp, work, workers) - 1e-9);
          // Graham: any list schedule that never idles with ready work is within this bound.
          expect(r.makespanMs).toBeLessThanOrEqual(work / workers + cp * (1 - 1 / workers) + 1e-9);
          // Needs finish before their dependants start; never more than W tasks at once.
          const end = (id: string) => r.startMs.get(id)! + plan.tasks.get(id)!.estimateMs;
          for (const t of plan.tasks.values())
            for (const n of t.needs) expect(end(n)).toBeLessThanOrEqual(r.startMs.get(t.id)!);
          for (const t of plan.tasks.values()) {
            const at = r.startMs.get(t.id)!;
            const running = [...plan.tasks.keys()].filter((id) => r.startMs.get(id)! <= at && end(id) > at);
            expect(running.length).toBeLessThanOrEqual(workers);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

const cli = runCli;

describe('smartqueue import wfcommons', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('writes a workflow file that validates and compiles, with a summary on stderr', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sq-import-'));
    dirs.push(dir);
    const out = path.join(dir, 'small.yaml');
    const r = await cli(
      'import',
      'wfcommons',
      `${FIXTURES}/small-1.4.json`,
      '--scale',
      '0.01',
      '--deadline-factor',
      '1.5',
      '--workers',
      '2',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('(WfCommons schema 1.4): 5 tasks, 5 dependencies');
    expect(r.stderr).toContain(
      'simulated on 2 workers with recorded runtimes: LST 11s, FIFO 11s, lower bound 11s',
    );
    expect(r.stderr).toContain(`wrote ${out}`);
    const compiled = await compileFile(out);
    expect(compiled.diagnostics).toEqual([]);
    const plan = compiled.compiled[0]!.plan;
    expect(plan.order).toHaveLength(5);
    expect(plan.makespanMs).toBe(110);
    // 1.5 × max(critical path 110 ms, work 150 ms / 2 workers).
    expect(plan.deadlineMs).toBe(165);
  });

  it('prints the IR with --format ir', async () => {
    const r = await cli(
      'import',
      'wfcommons',
      `${FIXTURES}/small-1.5.json`,
      '--format',
      'ir',
      '--name',
      'fj',
    );
    expect(r.code).toBe(0);
    const parsed = parseWorkflowIr(JSON.parse(r.stdout));
    expect(parsed.ok && parsed.ir.name).toBe('fj');
    expect(parsed.ok && parsed.ir.tasks.map((t) => t.estimateMs)).toEqual([2000, 1000, 3000, 5000, 4000]);
    expect(parsed.ok && parsed.ir.tasks[0]!.retries).toEqual(IR_DEFAULTS.retries);
  });

  it('exits 1 with file:line:column lines on a broken instance, 2 on a bad option', async () => {
    const bad = await cli('import', 'wfcommons', `${FIXTURES}/broken/dangling-parent.json`);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim()).toBe(
      `${FIXTURES}/broken/dangling-parent.json:8:52 workflow.specification.tasks[1].parents[1]: unknown parent "ghost": no task of the instance has this id`,
    );
    const opt = await cli('import', 'wfcommons', `${FIXTURES}/small-1.5.json`, '--deadline-factor', '0.5');
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain('--deadline-factor must be a number >= 1');
    const format = await cli('import', 'wfcommons', `${FIXTURES}/small-1.5.json`, '--format', 'xml');
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format must be yaml or ir');
  });

  it('documents itself in --help', async () => {
    const r = await cli('import', 'wfcommons', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: smartqueue import wfcommons \[options\] <instance>/);
    expect(r.stdout).toContain('--deadline-factor <f>');
    expect(r.stdout).toContain('WfFormat 1.4 or 1.5');
  });
});

/** The fields of a raw instance the independent check reads (both layouts). */
interface RawTask {
  id?: string;
  name?: string;
  parents?: string[];
  children?: string[];
  runtimeInSeconds?: number;
}
interface RawInstance {
  schemaVersion: string;
  workflow: {
    tasks?: RawTask[];
    specification?: { tasks: RawTask[] };
    execution?: { tasks: RawTask[] };
  };
}

/** Longest chain of `weight` over the raw instance, by memoised recursion on parents ∪ children. */
function independentCriticalPath(json: RawInstance, weight: (seconds: number) => number): number {
  const flat = json.schemaVersion === '1.4';
  const spec = (flat ? json.workflow.tasks : json.workflow.specification!.tasks)!;
  const key = (t: RawTask): string => (flat ? t.name! : t.id!);
  const runs = flat ? spec : json.workflow.execution!.tasks;
  const seconds = new Map(runs.map((t) => [key(t), t.runtimeInSeconds!]));
  const parents = new Map(spec.map((t) => [key(t), new Set(t.parents ?? [])]));
  for (const t of spec) for (const c of t.children ?? []) parents.get(c)!.add(key(t));
  const memo = new Map<string, number>();
  const finish = (id: string): number => {
    let f = memo.get(id);
    if (f === undefined) {
      f = weight(seconds.get(id)!) + Math.max(0, ...[...parents.get(id)!].map(finish));
      memo.set(id, f);
    }
    return f;
  };
  return Math.max(...spec.map((t) => finish(key(t))));
}

const instances = existsSync(DATA)
  ? readdirSync(DATA).filter((f) => f.endsWith('.json') && f !== 'wfcommons-schema.json')
  : [];

describe.skipIf(instances.length === 0)(
  `public WfCommons instances (skipped when ${DATA} is missing: external data from github.com/wfcommons/WfInstances, see ../shared/data/SOURCE.md)`,
  () => {
    it('finds the instances', () => expect(instances.length).toBeGreaterThanOrEqual(2));

    it.each(instances)('%s imports, compiles, and keeps its tasks and critical path', async (name) => {
      const file = path.join(DATA, name);
      const json = JSON.parse(readFileSync(file, 'utf8')) as RawInstance;
      const r = await importWfCommonsFile(file);
      expect(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic)).toEqual([]);
      const count = (json.schemaVersion === '1.4' ? json.workflow.tasks : json.workflow.specification?.tasks)!
        .length;
      expect(r.ir!.tasks).toHaveLength(count);
      expect(new Set(r.ir!.tasks.map((t) => t.id)).size).toBe(count);
      expect(r.criticalPathMs).toBeCloseTo(
        independentCriticalPath(json, (s) => s * 1000),
        6,
      );
      const plan = roundTrip(r.ir!);
      expect(plan.order).toHaveLength(count);
      // The compiler's critical path over whole-millisecond estimates.
      expect(plan.makespanMs).toBe(independentCriticalPath(json, (s) => Math.round(s * 1000)));
      const m = wfcommonsMakespans(r, { workers: [2, 4, 8], policies: ['lst', 'fifo'] });
      for (const row of m.rows) {
        for (const ms of [row.makespanMs.lst!, row.makespanMs.fifo!]) {
          expect(ms).toBeGreaterThanOrEqual(row.lowerBoundMs - 1e-6);
          expect(ms).toBeLessThanOrEqual(row.totalWorkMs / row.workers + row.criticalPathMs + 1e-6);
        }
      }
    });
  },
);
