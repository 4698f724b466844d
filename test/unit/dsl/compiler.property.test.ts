/**
 * Property-based tests of the compiler and the loader: (a) on random layered DAGs the plan obeys
 * the deadline-aware priority of DESIGN.md; (b) no input, however mangled, makes loading or
 * compiling throw: every problem comes back as a located diagnostic.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { SourceDiagnostic } from '../../../engine/errors.js';
import { compileWorkflow } from '../../../dsl/compiler.js';
import type { CompileOptions } from '../../../dsl/compiler.js';
import { IR_DEFAULTS } from '../../../dsl/ir.js';
import type { DeadlineIR, TaskIR, WorkflowIR } from '../../../dsl/ir.js';
import { loadYamlText } from '../../../dsl/load.js';
import { normalizeWorkflow } from '../../../dsl/normalize.js';
import type { WorkflowSource } from '../../../dsl/source.js';

const NOW = Date.parse('2026-12-01T00:00:00Z');
const irSource: WorkflowSource = { file: 'ir', locate: () => ({ line: 1, column: 1 }) };

// ---------------------------------------------------------------------------------------------
// (a) Random layered DAGs
// ---------------------------------------------------------------------------------------------

interface DagCase {
  ir: WorkflowIR;
  defaultEstimateMs: number;
}

const deadlineArb: fc.Arbitrary<DeadlineIR> = fc.oneof(
  fc.integer({ min: 0, max: 2_000_000 }).map((ms) => ({ kind: 'relative' as const, ms })),
  // Absolute instants, a few of them already in the past.
  fc.integer({ min: -100_000, max: 2_000_000 }).map((ms) => ({
    kind: 'absolute' as const,
    epochMs: NOW + ms,
    text: new Date(NOW + ms).toISOString(),
  })),
);

/** Layers of 1–6 tasks; every task past the first layer needs 1–3 tasks of earlier layers. */
const layeredDagArb: fc.Arbitrary<DagCase> = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 })
  .chain((widths) => {
    const layers = widths.map((w, l) => Array.from({ length: w }, (_, i) => `t${l}_${i}`));
    const taskArbs = layers.flatMap((layer, l) => {
      const earlier = layers.slice(0, l).flat();
      return layer.map((id) =>
        fc.record({
          id: fc.constant(id),
          needs:
            l === 0
              ? fc.constant<string[]>([])
              : fc.subarray(earlier, { minLength: 1, maxLength: Math.min(3, earlier.length) }),
          estimateMs: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined, freq: 4 }),
          deadline: fc.option(deadlineArb, { nil: undefined, freq: 1 }),
        }),
      );
    });
    return fc.tuple(
      fc.tuple(...taskArbs),
      fc.option(deadlineArb, { nil: undefined }),
      fc.integer({ min: 0, max: 50_000 }),
    );
  })
  .chain(([tasks, deadline, defaultEstimateMs]) =>
    // Any file order: the compiler must find the topological order itself.
    fc.shuffledSubarray(tasks, { minLength: tasks.length, maxLength: tasks.length }).map((shuffled) => {
      const ir: WorkflowIR = {
        apiVersion: 'smartqueue/v1',
        name: 'random',
        labels: {},
        priority: IR_DEFAULTS.priority,
        failurePolicy: 'fail-fast',
        params: {},
        tasks: shuffled.map((t): TaskIR => ({
          id: t.id,
          needs: t.needs,
          handler: { kind: 'uses', name: 'noop', with: {} },
          priority: IR_DEFAULTS.priority,
          retries: IR_DEFAULTS.retries,
          ...(t.estimateMs !== undefined && { estimateMs: t.estimateMs }),
          ...(t.deadline !== undefined && { deadline: t.deadline }),
        })),
      };
      if (deadline) ir.deadline = deadline;
      return { ir, defaultEstimateMs };
    }),
  );

/** An independent, recursive reading of DESIGN.md's formulas, to compare the compiler with. */
function oracle({ ir, defaultEstimateMs }: DagCase) {
  const byId = new Map(ir.tasks.map((t) => [t.id, t]));
  const dependants = new Map<string, string[]>(ir.tasks.map((t) => [t.id, []]));
  for (const t of ir.tasks) for (const n of t.needs) dependants.get(n)!.push(t.id);
  const rel = (d: DeadlineIR | undefined) =>
    d === undefined ? Infinity : d.kind === 'relative' ? d.ms : d.epochMs - NOW;
  const est = (id: string) => byId.get(id)!.estimateMs ?? defaultEstimateMs;
  const lftMemo = new Map<string, number>();
  const lft = (id: string): number => {
    let v = lftMemo.get(id);
    if (v !== undefined) return v;
    v = Math.min(rel(byId.get(id)!.deadline), rel(ir.deadline));
    for (const s of dependants.get(id)!) v = Math.min(v, lft(s) - est(s));
    lftMemo.set(id, v);
    return v;
  };
  const efMemo = new Map<string, number>();
  const ef = (id: string): number => {
    let v = efMemo.get(id);
    if (v !== undefined) return v;
    v = Math.max(0, ...byId.get(id)!.needs.map(ef)) + est(id);
    efMemo.set(id, v);
    return v;
  };
  const makespan = Math.max(0, ...ir.tasks.map((t) => ef(t.id)));
  const infeasible =
    ir.tasks.some((t) => ef(t.id) > rel(t.deadline)) ||
    (ir.deadline !== undefined && makespan > rel(ir.deadline));
  return { lft, ef, est, makespan, infeasible };
}

/** A cheap assertion for inner loops (vitest's expect costs too much per call here). */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`property violated: ${what}`);
}

describe('compileWorkflow on random layered DAGs', () => {
  it('produces a topological order, consistent LFT/LST and a real critical path', () => {
    fc.assert(
      fc.property(layeredDagArb, (c) => {
        const { ir } = c;
        const o = oracle(c);
        const r = compileWorkflow(ir, irSource, {
          now: NOW,
          allowInfeasible: true,
          defaultEstimateMs: c.defaultEstimateMs,
        });
        expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        const plan = r.plan!;
        expect(plan).toBeDefined();

        // The order is a permutation of the ids with every need first.
        expect([...plan.order].sort()).toEqual(ir.tasks.map((t) => t.id).sort());
        const pos = new Map(plan.order.map((id, i) => [id, i]));
        for (const t of ir.tasks)
          for (const n of t.needs) check(pos.get(n)! < pos.get(t.id)!, `${n} before ${t.id}`);

        for (const t of plan.tasks.values()) {
          check(t.estimateMs === o.est(t.id), `estimate of ${t.id}`);
          check(t.lstMs === t.lftMs - t.estimateMs, `LST = LFT - est for ${t.id}`);
          check(t.lstMs <= t.lftMs, `LST <= LFT for ${t.id}`);
          check(t.lftMs === o.lft(t.id), `LFT of ${t.id}: ${t.lftMs} != ${o.lft(t.id)}`);
          check(t.earliestFinishMs === o.ef(t.id), `earliest finish of ${t.id}`);
          check(t.earliestStartMs === t.earliestFinishMs - t.estimateMs, `earliest start of ${t.id}`);
          check(t.slackMs === t.lstMs - t.earliestStartMs, `slack of ${t.id}`);
          // A task must finish before any dependant has to start.
          for (const s of t.dependants)
            check(t.lftMs <= plan.tasks.get(s)!.lstMs, `LFT(${t.id}) <= LST(${s})`);
        }

        // The critical path is a chain from a root whose estimates add up to the makespan.
        expect(plan.makespanMs).toBe(o.makespan);
        const path = plan.criticalPath;
        expect(path.length).toBeGreaterThan(0);
        expect(plan.tasks.get(path[0]!)!.earliestStartMs).toBe(0);
        for (let i = 1; i < path.length; i++)
          check(plan.tasks.get(path[i]!)!.needs.includes(path[i - 1]!), `chain ${path.join('>')}`);
        expect(path.reduce((sum, id) => sum + plan.tasks.get(id)!.estimateMs, 0)).toBe(plan.makespanMs);
        expect(plan.tasks.get(path.at(-1)!)!.earliestFinishMs).toBe(plan.makespanMs);
        expect(new Set(path).size).toBe(path.length);
        expect(
          [...plan.tasks.values()]
            .filter((t) => t.critical)
            .map((t) => t.id)
            .sort(),
        ).toEqual([...path].sort());

        // Infeasibility: reported as warnings here, and as errors (no plan) without allowInfeasible.
        expect(r.diagnostics.length > 0).toBe(o.infeasible);
        const strict = compileWorkflow(ir, irSource, { now: NOW, defaultEstimateMs: c.defaultEstimateMs });
        expect(strict.plan === undefined).toBe(o.infeasible);
        expect(strict.diagnostics.every((d) => d.severity === 'error')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// (b) Mangled input never throws
// ---------------------------------------------------------------------------------------------

/** Loads and compiles text the way the CLI does; throws only if the loader or compiler does. */
function loadAndCompile(text: string, options: CompileOptions = {}): SourceDiagnostic[] {
  const loaded = loadYamlText(text, 'fuzz.yaml');
  const all = [...loaded.diagnostics];
  for (const w of loaded.workflows) {
    const r = compileWorkflow(w.ir, w.source, {
      now: NOW,
      ...options,
      taskIndex: w.taskIndex,
      partial: w.partial,
    });
    all.push(...r.diagnostics);
    if (r.plan) all.push(...r.plan.warnings);
  }
  return all;
}

function expectLocated(diagnostics: SourceDiagnostic[], file = 'fuzz.yaml'): void {
  for (const d of diagnostics) {
    const shown = JSON.stringify(d);
    check(d.file === file, `file of ${shown}`);
    check(Number.isInteger(d.line) && d.line >= 1, `line of ${shown}`);
    check(Number.isInteger(d.column) && d.column >= 1, `column of ${shown}`);
    check(d.severity === 'error' || d.severity === 'warning', `severity of ${shown}`);
    check(typeof d.message === 'string' && d.message.length > 0, `message of ${shown}`);
    check(typeof d.path === 'string', `path of ${shown}`);
  }
}

// Strings that reach interesting branches: ids, durations, instants, expressions, cron, and
// names of Object.prototype properties (as ids they once crashed the compiler).
const interestingStrings = fc.constantFrom(
  'a',
  'constructor',
  '__proto__',
  'toString',
  't0_0',
  't1_0',
  'extract',
  '',
  ' ',
  '5m',
  '0s',
  '1h30m',
  'PT45M',
  'P1W',
  '2026-12-01T06:00:00Z',
  '2020-01-01T00:00:00+02:00',
  'high',
  'low',
  'noop',
  'sleep',
  '${{',
  '}}',
  '${{ params.p }}',
  '${{ tasks.t0_0.outputs.x }}',
  '${{ tasks.t0_0.status == "ok" && run.id }}',
  '${{ ((( }}',
  '${{ a == }}',
  "x ${{ 'unterminated }}",
  '*/5 * * * *',
  '0 0 31 2 *',
  '61 * * * *',
  'Europe/Paris',
  'Mars/Olympus',
  'smartqueue/v1',
  'Workflow',
  '\u0000',
  'é€😀',
);

const leafValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: interestingStrings },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, 100, 101, 1e21, -0, true, false, null) },
  { weight: 1, arbitrary: fc.array(interestingStrings, { maxLength: 4 }) },
);

const taskSpecArb = (id: string, earlier: string[]) =>
  fc
    .record(
      {
        needs: earlier.length
          ? fc.subarray(earlier, { maxLength: Math.min(3, earlier.length) })
          : fc.constant([]),
        uses: fc.constantFrom('noop', 'sleep', 'http'),
        with: fc.constantFrom({}, { duration: '1s' }, { url: 'https://x.test', day: '${{ params.p }}' }),
        estimate: fc.constantFrom('500ms', '5m', 'PT1M', '1h'),
        deadline: fc.constantFrom('10m', '2h', '2026-12-01T06:00:00Z'),
        priority: fc.constantFrom('high', 'medium', 'low', 0, 42, 100),
        retries: fc.constantFrom(0, 3, { max: 2, backoff: 'fixed', initial: '1s', jitter: true }),
        timeout: fc.constantFrom('30s', '5m'),
        when: fc.constantFrom('${{ params.p != "" }}', 'run.attempt > 1'),
        outputs: fc.constantFrom(['x'], ['x', 'rows']),
        shardKey: fc.constantFrom('${{ params.p }}', 'fixed'),
      },
      { requiredKeys: ['uses'] },
    )
    .map((fields) => ({ id, ...fields }));

/** A valid workflow document as plain data (the shape both YAML and the DSL produce). */
const validDocumentArb = fc
  .array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 })
  .chain((widths) => {
    const layers = widths.map((w, l) => Array.from({ length: w }, (_, i) => `t${l}_${i}`));
    const tasks = layers.flatMap((layer, l) => layer.map((id) => taskSpecArb(id, layers.slice(0, l).flat())));
    return fc.record({
      tasks: fc.tuple(...tasks),
      deadline: fc.option(fc.constantFrom('1h', '2026-12-02T00:00:00Z'), { nil: undefined }),
      schedule: fc.option(fc.constantFrom('0 2 * * *', { cron: '*/5 * * * *', timezone: 'Europe/Paris' }), {
        nil: undefined,
      }),
    });
  })
  .map(({ tasks, deadline, schedule }) => ({
    apiVersion: 'smartqueue/v1',
    kind: 'Workflow',
    metadata: { name: 'fuzz', labels: { team: 'x' } },
    spec: {
      ...(deadline !== undefined && { deadline }),
      ...(schedule !== undefined && { schedule }),
      params: { p: { type: 'string', default: 'v' } },
      defaults: { retries: 1, estimate: '1m' },
      tasks,
    },
  }));

type Json = unknown;
type Path = (string | number)[];

/** Every path inside a JSON value (containers and leaves), the root included. */
function pathsOf(value: Json, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  }
  return out;
}

type Mutation =
  | { kind: 'renameTask'; task: number; to: string }
  | { kind: 'set'; at: number; value: unknown }
  | { kind: 'delete'; at: number }
  | { kind: 'addKey'; at: number; key: string; value: unknown }
  | { kind: 'duplicate'; at: number };

/** Names a renamed task may get: odd but valid ids, and invalid ones. */
const idLike = fc.oneof(
  interestingStrings,
  fc.constantFrom('_', 'A-b_c', 'x'.repeat(128), 'x'.repeat(129), 't0_0', 't1_0', '9lives', 'a.b', 'a b'),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,8}$/),
);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('renameTask' as const), task: fc.nat(), to: idLike }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: leafValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('addKey' as const),
      at: fc.nat(),
      key: fc.oneof(
        fc.constantFrom('id', 'needs', 'estimat', 'dependsOn', 'deadline', 'tasks', 'with', 'run'),
        fc.string({ maxLength: 8 }),
      ),
      value: leafValue,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }) },
);

/** Renames a task everywhere: its id, the needs that name it and the expressions that read it. */
function renameTask(root: Json, index: number, to: string): void {
  const tasks = (root as { spec?: { tasks?: unknown } } | null)?.spec?.tasks;
  if (!Array.isArray(tasks) || tasks.length === 0) return;
  const task = tasks[index % tasks.length] as { id?: unknown } | null;
  if (task === null || typeof task !== 'object' || typeof task.id !== 'string') return;
  const from = task.id;
  const rewrite = (v: Json): Json => {
    if (typeof v === 'string') return v === from ? to : v.split(`tasks.${from}.`).join(`tasks.${to}.`);
    if (Array.isArray(v)) return v.map(rewrite);
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) (v as Record<string, Json>)[k] = rewrite(x);
    }
    return v;
  };
  rewrite(tasks);
}

/** Applies mutations to a deep copy; paths are re-listed after each one. */
function mutate(doc: Json, mutations: Mutation[]): Json {
  let root = structuredClone(doc) as Json;
  for (const m of mutations) {
    if (m.kind === 'renameTask') {
      renameTask(root, m.task, m.to);
      continue;
    }
    const paths = pathsOf(root);
    const path = paths[m.at % paths.length]!;
    const parentPath = path.slice(0, -1);
    const key = path[path.length - 1];
    const parent = parentPath.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k], root) as
      Record<string | number, Json> | Json[] | undefined;
    const target = path.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k], root);
    switch (m.kind) {
      case 'set':
        if (key === undefined) root = m.value;
        else (parent as Record<string | number, Json>)[key] = m.value;
        break;
      case 'delete':
        if (key === undefined) root = {};
        else if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete (parent as Record<string, Json>)[key];
        break;
      case 'addKey':
        if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
          (target as Record<string, Json>)[m.key] = m.value;
        } else if (Array.isArray(target)) target.push(m.value);
        break;
      case 'duplicate':
        if (Array.isArray(parent) && key !== undefined)
          parent.splice(Number(key), 0, structuredClone(target));
        break;
    }
  }
  return root;
}

/** Characters that matter to YAML, to build texts that get past the first byte. */
const yamlChar = fc.constantFrom(
  ...' \n\n\n\t:-[]{},&*!|>\'"#%@`?~.=0123456789abcxyzTPmsh$'.split(''),
  'apiVersion',
  'kind',
  'spec',
  'tasks',
  'id',
  'needs',
  '- ',
  '  ',
  '${{',
  '}}',
  '---\n',
  '&a ',
  '*a',
  '!!str ',
  '!tag ',
);

type TextEdit =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'swapLines'; a: number; b: number };

/** Edits a valid text at random places: inserts, deletes, line swaps. */
const textEditArb: fc.Arbitrary<TextEdit[]> = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      text: fc.oneof(yamlChar, fc.string({ maxLength: 4 })),
    }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('swapLines' as const), a: fc.nat(), b: fc.nat() }),
  ),
  { minLength: 1, maxLength: 6 },
);

function editText(text: string, edits: TextEdit[]): string {
  let out = text;
  for (const e of edits) {
    if (e.kind === 'insert') {
      const at = e.at % (out.length + 1);
      out = out.slice(0, at) + e.text + out.slice(at);
    } else if (e.kind === 'delete') {
      const at = e.at % (out.length + 1);
      out = out.slice(0, at) + out.slice(at + e.length);
    } else {
      const lines = out.split('\n');
      const a = e.a % lines.length;
      const b = e.b % lines.length;
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      out = lines.join('\n');
    }
  }
  return out;
}

const compileOptionsArb: fc.Arbitrary<CompileOptions> = fc.record({
  allowInfeasible: fc.boolean(),
  now: fc.constantFrom(NOW, NOW + 86_400_000 * 400),
});

describe('loading and compiling never throw', () => {
  it('valid documents load and compile cleanly (the base of the mutations below)', () => {
    fc.assert(
      fc.property(validDocumentArb, (doc) => {
        const diagnostics = loadAndCompile(stringify(doc), { allowInfeasible: true });
        expectLocated(diagnostics);
        expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      }),
      { numRuns: 50 },
    );
  });

  it('survives mutated documents: values swapped, keys deleted or added, entries duplicated', () => {
    fc.assert(
      fc.property(
        validDocumentArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 5 }),
        compileOptionsArb,
        (doc, mutations, options) => {
          const mutated = mutate(doc, mutations);
          const diagnostics = loadAndCompile(stringify(mutated), options);
          expectLocated(diagnostics);
          // The same data handed over directly (as the TypeScript DSL does) must not throw either.
          const direct = normalizeWorkflow(mutated, {
            file: 'fuzz.yaml',
            locate: () => ({ line: 3, column: 7 }),
          });
          expectLocated(direct.diagnostics);
          if (direct.ir) {
            const r = compileWorkflow(direct.ir, irSource, {
              ...options,
              taskIndex: direct.taskIndex,
              partial: direct.partial,
            });
            expectLocated(r.diagnostics, 'ir');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('survives valid YAML text edited at random', () => {
    fc.assert(
      fc.property(validDocumentArb, textEditArb, compileOptionsArb, (doc, edits, options) => {
        expectLocated(loadAndCompile(editText(stringify(doc), edits), options));
      }),
      { numRuns: 300 },
    );
  });

  it('survives random YAML-like text', () => {
    fc.assert(
      fc.property(fc.array(yamlChar, { maxLength: 80 }), (parts) => {
        expectLocated(loadAndCompile(parts.join('')));
      }),
      { numRuns: 800 },
    );
  });

  it('survives random strings and random bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.string({ unit: 'grapheme', maxLength: 100 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
        ),
        (text) => {
          expectLocated(loadAndCompile(text));
        },
      ),
      { numRuns: 800 },
    );
  });
});
