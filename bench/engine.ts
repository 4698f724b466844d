/**
 * Throughput of the embedded engine: (1) a flat run of 100,000 no-op tasks and (2) a 10,000-task
 * layered DAG (100 layers × 100, each task needing 1–3 of the layer before), each with SQLite
 * durability on (a WAL file, group commit, synchronous=FULL) and off (in-memory store).
 * Everything a no-op task costs is scheduler overhead: compile, frontier, heap, balancer,
 * transport, worker executor and checkpoints.
 *
 *   npx tsx bench/engine.ts [--flat 100000] [--layers 100] [--width 100] [--concurrency 256] [--runs 3]
 *
 * Prints one line per scenario: median wall time of --runs runs, tasks/s, and wall and CPU
 * microseconds per task.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileWorkflow } from '../dsl/compiler.js';
import type { CompiledPlan } from '../dsl/compiler.js';
import { IR_DEFAULTS } from '../dsl/ir.js';
import type { TaskIR, WorkflowIR } from '../dsl/ir.js';
import type { WorkflowSource } from '../dsl/source.js';
import { createEmbeddedRuntime } from '../runtime/embedded.js';
import { intOption, machine, median, prng } from './lib.js';

const FLAT = intOption('flat', 100_000);
const LAYERS = intOption('layers', 100);
const WIDTH = intOption('width', 100);
const CONCURRENCY = intOption('concurrency', 256);
const RUNS = intOption('runs', 3);

const source: WorkflowSource = { file: '<bench>', locate: () => ({ line: 1, column: 1 }) };

function task(id: string, needs: string[]): TaskIR {
  return {
    id,
    needs,
    handler: { kind: 'uses', name: 'noop', with: {} },
    priority: 50,
    retries: IR_DEFAULTS.retries,
    estimateMs: 1,
  };
}

function plan(name: string, tasks: TaskIR[]): CompiledPlan {
  const ir: WorkflowIR = {
    apiVersion: 'smartqueue/v1',
    name,
    labels: {},
    priority: 50,
    failurePolicy: 'fail-fast',
    params: {},
    tasks,
  };
  const r = compileWorkflow(ir, source, { allowInfeasible: true });
  if (!r.plan) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.plan;
}

function flat(): CompiledPlan {
  return plan(
    'flat',
    Array.from({ length: FLAT }, (_, i) => task(`t${i}`, [])),
  );
}

function layered(): CompiledPlan {
  const rand = prng(7);
  const tasks: TaskIR[] = [];
  for (let l = 0; l < LAYERS; l++) {
    for (let i = 0; i < WIDTH; i++) {
      const needs = new Set<string>();
      if (l > 0) {
        const k = 1 + Math.floor(rand() * 3);
        for (let j = 0; j < k; j++) needs.add(`l${l - 1}-${Math.floor(rand() * WIDTH)}`);
      }
      tasks.push(task(`l${l}-${i}`, [...needs]));
    }
  }
  return plan('layered', tasks);
}

async function once(p: CompiledPlan, durable: boolean): Promise<{ wallMs: number; cpuUs: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-bench-'));
  const runtime = await createEmbeddedRuntime({
    statePath: durable ? path.join(dir, 'state.db') : false,
    concurrency: CONCURRENCY,
    shards: 4,
  });
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const runId = await runtime.engine.startRun(p);
    const status = await runtime.engine.waitForRun(runId);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (status !== 'succeeded') throw new Error(`run ended ${status}`);
    return { wallMs, cpuUs: cpu.user + cpu.system };
  } finally {
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function scenario(name: string, p: CompiledPlan, durable: boolean): Promise<void> {
  const n = p.order.length;
  await once(p, durable); // warm-up
  const results = [];
  for (let i = 0; i < RUNS; i++) results.push(await once(p, durable));
  const wall = median(results.map((r) => r.wallMs));
  const cpu = median(results.map((r) => r.cpuUs));
  const label = `${name} (${n.toLocaleString('en')} tasks), durability ${durable ? 'on ' : 'off'}`;
  console.log(
    `${label.padEnd(44)} ${(wall / 1000).toFixed(2).padStart(6)} s  ${Math.round(n / (wall / 1000))
      .toLocaleString('en')
      .padStart(9)} tasks/s  ` +
      `${((wall * 1000) / n).toFixed(1).padStart(6)} µs/task wall  ${(cpu / n).toFixed(1).padStart(6)} µs/task CPU`,
  );
}

console.log(`embedded engine, no-op tasks, concurrency ${CONCURRENCY}, median of ${RUNS} runs; ${machine()}`);
const flatPlan = flat();
const dagPlan = layered();
for (const durable of [false, true]) await scenario('flat', flatPlan, durable);
for (const durable of [false, true]) await scenario('layered DAG', dagPlan, durable);
