/**
 * Small helpers shared by the benchmark scripts: options, a seeded PRNG, statistics and the
 * machine description printed with every result.
 */
import os from 'node:os';
import { compileWorkflow } from '../dsl/compiler.js';
import type { CompiledPlan } from '../dsl/compiler.js';
import { IR_DEFAULTS } from '../dsl/ir.js';
import type { TaskIR } from '../dsl/ir.js';

export { mulberry32 as prng } from '../test/support/random.js';

/** `--name <n>` from argv as a positive integer, or the fallback. */
export function intOption(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer`);
  return v;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The nearest-rank `p`th percentile (0 < p ≤ 100) of a non-empty list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of an empty list');
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** One line describing where the numbers come from. */
export function machine(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `node ${process.version}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, load ${os.loadavg()[0]!.toFixed(2)}`;
}

/** A workflow of `n` no-op tasks, independent or (`chained`) each needing the one before. */
export function noopPlan(name: string, n: number, chained: boolean): CompiledPlan {
  const tasks: TaskIR[] = Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    needs: chained && i > 0 ? [`t${i - 1}`] : [],
    handler: { kind: 'uses', name: 'noop', with: {} },
    priority: 50,
    retries: IR_DEFAULTS.retries,
    estimateMs: 1,
  }));
  const r = compileWorkflow(
    {
      apiVersion: 'smartqueue/v1',
      name,
      labels: {},
      priority: 50,
      failurePolicy: 'fail-fast',
      params: {},
      tasks,
    },
    { file: '<bench>', locate: () => ({ line: 1, column: 1 }) },
    { allowInfeasible: true },
  );
  if (!r.plan) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.plan;
}
