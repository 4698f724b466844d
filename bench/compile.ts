/**
 * How fast the DSL compiles a large workflow: a 10,000-task layered DAG (100 layers × 100 tasks,
 * each needing 1–3 tasks of the layer before, with estimates, some deadlines and one expression
 * per task that reads a needed task's output).
 *
 *   npx tsx bench/compile.ts [--layers 100] [--width 100] [--runs 5]
 *
 * Prints one line per measurement: (a) compileWorkflow from IR, (b) loadYamlText + compile from
 * YAML text, and the split of (b) into its stages. Times are medians of --runs runs after one
 * warm-up run.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { compileWorkflow } from '../dsl/compiler.js';
import { IR_DEFAULTS } from '../dsl/ir.js';
import type { TaskIR, WorkflowIR } from '../dsl/ir.js';
import { loadYamlText } from '../dsl/load.js';
import { normalizeWorkflow } from '../dsl/normalize.js';
import type { WorkflowSource } from '../dsl/source.js';
import { DEFAULT_LIMITS, parseYamlDocuments } from '../dsl/yaml-loader.js';
import { intOption, prng } from './lib.js';

const LAYERS = intOption('layers', 100);
const WIDTH = intOption('width', 100);
const RUNS = intOption('runs', 5);
const TASKS = LAYERS * WIDTH;
const NOW = Date.parse('2026-12-01T00:00:00Z');

interface GeneratedTask {
  id: string;
  needs: string[];
  estimateS: number;
  deadlineMin?: number;
}

/** The DAG as plain task records; deadlines are loose enough for the plan to be feasible. */
function generate(): GeneratedTask[] {
  const rand = prng(42);
  const tasks: GeneratedTask[] = [];
  for (let l = 0; l < LAYERS; l++) {
    for (let i = 0; i < WIDTH; i++) {
      const needs = new Set<string>();
      if (l > 0) {
        const count = 1 + Math.floor(rand() * 3);
        while (needs.size < Math.min(count, WIDTH)) needs.add(`l${l - 1}_t${Math.floor(rand() * WIDTH)}`);
      }
      const task: GeneratedTask = {
        id: `l${l}_t${i}`,
        needs: [...needs],
        estimateS: 1 + Math.floor(rand() * 600),
      };
      // Every 50th task has a deadline: (layer + 1) × 10 minutes (the longest estimate) + 1 hour.
      if ((l * WIDTH + i) % 50 === 0) task.deadlineMin = (l + 1) * 10 + 60;
      tasks.push(task);
    }
  }
  return tasks;
}

const withArgs = (t: GeneratedTask): Record<string, unknown> =>
  t.needs.length > 0 ? { input: `\${{ tasks.${t.needs[0]}.outputs.result }}`, n: t.needs.length } : { n: 0 };

function toIR(tasks: GeneratedTask[]): WorkflowIR {
  return {
    apiVersion: 'smartqueue/v1',
    name: 'bench',
    labels: {},
    priority: IR_DEFAULTS.priority,
    failurePolicy: 'fail-fast',
    params: {},
    deadline: { kind: 'relative', ms: 2 * 86_400_000 },
    tasks: tasks.map((t): TaskIR => ({
      id: t.id,
      needs: t.needs,
      handler: { kind: 'uses', name: 'noop', with: withArgs(t) },
      priority: IR_DEFAULTS.priority,
      retries: IR_DEFAULTS.retries,
      estimateMs: t.estimateS * 1000,
      outputs: ['result'],
      ...(t.deadlineMin !== undefined && {
        deadline: { kind: 'relative' as const, ms: t.deadlineMin * 60_000 },
      }),
    })),
  };
}

function toYaml(tasks: GeneratedTask[]): string {
  return stringify({
    apiVersion: 'smartqueue/v1',
    kind: 'Workflow',
    metadata: { name: 'bench' },
    spec: {
      deadline: '2d',
      tasks: tasks.map((t) => ({
        id: t.id,
        ...(t.needs.length > 0 && { needs: t.needs }),
        uses: 'noop',
        with: withArgs(t),
        estimate: `${t.estimateS}s`,
        outputs: ['result'],
        ...(t.deadlineMin !== undefined && { deadline: `${t.deadlineMin}m` }),
      })),
    },
  });
}

/** Runs `fn` once to warm up, then RUNS times; returns the median and min in milliseconds. */
function measure(fn: () => void): { median: number; min: number } {
  fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = Math.floor(times.length / 2);
  const median = times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
  return { median, min: times[0]! };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function report(label: string, r: { median: number; min: number }): void {
  const rate = TASKS / (r.median / 1000);
  console.log(
    `${label.padEnd(44)} median ${fmt(r.median, 1).padStart(8)} ms  (min ${fmt(r.min, 1)} ms, ${RUNS} runs)  ${fmt(rate).padStart(9)} tasks/s`,
  );
}

function fail(what: string, diagnostics: readonly { message: string }[]): never {
  throw new Error(
    `${what}: ${diagnostics
      .slice(0, 3)
      .map((d) => d.message)
      .join('; ')}`,
  );
}

const generated = generate();
const ir = toIR(generated);
const yamlText = toYaml(generated);
const irSource: WorkflowSource = { file: 'bench', locate: () => ({ line: 1, column: 1 }) };
const limits = {
  ...DEFAULT_LIMITS,
  maxFileBytes: Math.max(DEFAULT_LIMITS.maxFileBytes, yamlText.length * 2),
};

// Check once that both paths compile to the same, feasible plan.
const fromIr = compileWorkflow(ir, irSource, { now: NOW });
if (!fromIr.plan) fail('IR does not compile', fromIr.diagnostics);
const loaded = loadYamlText(yamlText, 'bench.yaml', limits);
if (loaded.diagnostics.length > 0 || loaded.workflows.length !== 1)
  fail('YAML does not load', loaded.diagnostics);
const w = loaded.workflows[0]!;
const fromYaml = compileWorkflow(w.ir, w.source, { now: NOW, taskIndex: w.taskIndex });
if (!fromYaml.plan) fail('YAML does not compile', fromYaml.diagnostics);
if (fromYaml.plan.makespanMs !== fromIr.plan.makespanMs) throw new Error('IR and YAML plans differ');

const edges = generated.reduce((n, t) => n + t.needs.length, 0);
console.log(
  `DAG: ${fmt(TASKS)} tasks (${LAYERS} layers × ${WIDTH}), ${fmt(edges)} edges, critical path ${fromIr.plan.criticalPath.length} tasks, ` +
    `makespan ${fmt(fromIr.plan.makespanMs / 60_000, 1)} min; YAML ${fmt(Buffer.byteLength(yamlText) / 1024 / 1024, 2)} MiB`,
);
console.log(
  `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

report(
  '(a) compileWorkflow from IR',
  measure(() => void compileWorkflow(ir, irSource, { now: NOW })),
);
report(
  '(b) loadYamlText + compileWorkflow from YAML',
  measure(() => {
    const l = loadYamlText(yamlText, 'bench.yaml', limits);
    const x = l.workflows[0]!;
    compileWorkflow(x.ir, x.source, { now: NOW, taskIndex: x.taskIndex });
  }),
);

// Where (b) spends its time.
const parsed = parseYamlDocuments(yamlText, 'bench.yaml', limits);
const normalized = normalizeWorkflow(parsed.documents[0]!.data, parsed.documents[0]!.source);
report(
  '    of which: YAML parse (parseYamlDocuments)',
  measure(() => void parseYamlDocuments(yamlText, 'bench.yaml', limits)),
);
report(
  '    of which: validation (normalizeWorkflow)',
  measure(() => void normalizeWorkflow(parsed.documents[0]!.data, parsed.documents[0]!.source)),
);
report(
  '    of which: compile (compileWorkflow)',
  measure(
    () =>
      void compileWorkflow(normalized.ir!, parsed.documents[0]!.source, {
        now: NOW,
        taskIndex: normalized.taskIndex,
      }),
  ),
);
