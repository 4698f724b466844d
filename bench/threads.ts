/**
 * CPU-bound handlers on worker threads: the work-stealing pool against a single shared queue
 * feeding the same threads, against static round-robin deques (no stealing: what stealing
 * fixes), and against plain async concurrency on the main thread (same handlers, imported
 * directly, concurrency limit = thread count; they block the event loop, which is the point).
 *
 *   npx tsx bench/threads.ts [--tasks 1000] [--runs 3] [--threads <cores>] [--seed 1]
 *     [--short-ms 1] [--long-ms 100] [--long-pct 2] [--arrival [--load 80]]
 *     [--only stealing,shared-queue,static,async]
 *
 * Two workloads of equal total CPU time: `skewed` (--long-pct % of the tasks burn --long-ms,
 * the rest --short-ms, at seeded random positions) and `uniform` (every task burns the skewed
 * workload's mean). All tasks are submitted at once (burst); with --arrival, also as a seeded
 * Poisson stream loading the threads to --load %. Completion latency runs from the task's
 * submission (the burst's start, or its scheduled arrival) to the moment its result reaches the
 * main thread. Contenders alternate within each of --runs rounds (rotating who goes first); the
 * table gives medians with min–max, and the ratios are medians of per-round ratios.
 */
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { HandlerContext } from '../engine/handler.js';
import type { PoolMode, PoolStats, ThreadPool, ThreadTask } from '../engine/threads/types.js';
import { burn } from './fixtures/cpu-handlers.js';
import { intOption, machine, median, percentile, prng } from './lib.js';

// ---- workloads and statistics (pure; test/unit/bench/threads-workload.test.ts) ----

export interface SkewSpec {
  tasks: number;
  shortMs: number;
  longMs: number;
  /** Share of long tasks, in percent (at least one long task). */
  longPct: number;
}

export interface Workload {
  name: 'skewed' | 'uniform';
  /** CPU milliseconds of each task, in submission order. */
  costs: number[];
  totalMs: number;
  longestMs: number;
}

function workload(name: Workload['name'], costs: number[]): Workload {
  return { name, costs, totalMs: costs.reduce((a, b) => a + b, 0), longestMs: Math.max(...costs) };
}

/** A few long tasks at seeded random positions among many short ones. */
export function skewedWorkload(spec: SkewSpec, seed: number): Workload {
  const rand = prng(seed);
  const longCount = Math.min(spec.tasks, Math.max(1, Math.round((spec.tasks * spec.longPct) / 100)));
  const order = Array.from({ length: spec.tasks }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const costs = new Array<number>(spec.tasks).fill(spec.shortMs);
  for (const i of order.slice(0, longCount)) costs[i] = spec.longMs;
  return workload('skewed', costs);
}

/** As many tasks as `like`, each costing its mean: the same total CPU time, evenly spread. */
export function uniformWorkload(like: Workload): Workload {
  return workload('uniform', new Array<number>(like.costs.length).fill(like.totalMs / like.costs.length));
}

/** Seeded Poisson arrival times (ms from the start) of `n` tasks, `meanGapMs` apart on average. */
export function poissonArrivals(n: number, meanGapMs: number, seed: number): number[] {
  const rand = prng(seed);
  let t = 0;
  return Array.from({ length: n }, () => (t += -Math.log(1 - rand()) * meanGapMs));
}

/** Makespan no schedule on `threads` threads can beat: the even split, or the longest task. */
export function makespanBound(w: Workload, threads: number): number {
  return Math.max(w.totalMs / threads, w.longestMs);
}

/** Run-by-run ratios `a[i] ÷ b[i]` of two contenders measured in the same rounds. */
export function pairedRatios(a: number[], b: number[]): number[] {
  if (a.length !== b.length) throw new Error('pairedRatios: lists of different lengths');
  return a.map((x, i) => x / b[i]!);
}

/** Median ratio and spread: `1.23× (1.10–1.31×)`. */
export function formatRatios(ratios: number[]): string {
  const f = (v: number) => v.toFixed(2);
  return `${f(median(ratios))}× (${f(Math.min(...ratios))}–${f(Math.max(...ratios))}×)`;
}

/** Median and spread: `651 (640–660)`. */
export function formatSpread(values: number[], digits = 0): string {
  const f = (v: number) =>
    v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return `${f(median(values))} (${f(Math.min(...values))}–${f(Math.max(...values))})`;
}

// ---- contenders ----

export const CONTENDERS = ['stealing', 'shared-queue', 'static', 'async'] as const;
export type Contender = (typeof CONTENDERS)[number];

interface Runner {
  /** Resolves with the thread that ran the task once it ends; rejects if it failed. */
  run(index: number, ms: number): Promise<number>;
  stats?(): PoolStats;
  close(): Promise<void>;
}

const MODULE = fileURLToPath(
  new URL(`./fixtures/cpu-handlers${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);

let rounds = 0;

async function startPool(mode: PoolMode, threads: number, tasks: number, seed: number): Promise<Runner> {
  // Imported only when a pool contender runs, so that `--only async` works without the pool.
  const { createThreadPool } = await import('../engine/threads/pool.js');
  const pool: ThreadPool = createThreadPool({ mode, threads, seed, dequeCapacity: Math.max(4096, tasks) });
  const runId = `bench-${++rounds}`;
  const run = async (index: number, ms: number): Promise<number> => {
    const task: ThreadTask = {
      module: MODULE,
      export: 'burn',
      runId,
      taskId: `t${index}`,
      attempt: 1,
      idempotencyKey: `${runId}/t${index}`,
      args: { ms },
      inputs: {},
      params: {},
      // What the scheduler would pass: the task's estimate (here exact).
      estimateMs: ms,
    };
    const r = await pool.run(task);
    if (!r.ok) throw new Error(`task t${index} failed on thread ${r.thread}: ${r.error.message}`);
    return r.thread;
  };
  // Warm-up outside the measurement: threads started, handler module loaded and compiled.
  await Promise.all(Array.from({ length: threads * 4 }, (_, i) => run(-1 - i, 1)));
  return { run, stats: () => pool.stats(), close: () => pool.close() };
}

const noop = () => {};

/** The same handler on the main thread, at most `limit` at a time (p-limit style). */
function startAsync(limit: number): Runner {
  const controller = new AbortController();
  const log = { info: noop, warn: noop, error: noop };
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    async run(index, ms) {
      if (active < limit) active++;
      else await new Promise<void>((grant) => waiting.push(grant));
      try {
        await Promise.resolve(); // never run a handler inside the caller's submit loop
        const ctx: HandlerContext = {
          runId: 'bench',
          taskId: `t${index}`,
          attempt: 1,
          idempotencyKey: `bench/t${index}`,
          args: { ms },
          inputs: {},
          params: {},
          signal: controller.signal,
          log,
          progress: noop,
        };
        await burn(ctx);
        return 0;
      } finally {
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    },
    close: async () => controller.abort(),
  };
}

// ---- one measured run ----

interface Sample {
  throughput: number;
  p50: number;
  p99: number;
  makespanMs: number;
  /** Pool only: the busiest thread's CPU milliseconds ÷ the mean thread's (1 = perfectly even). */
  imbalance?: number;
  steals?: { attempted: number; succeeded: number; stolen: number };
}

async function measure(
  runner: Runner,
  w: Workload,
  threads: number,
  arrivals: number[] | undefined,
  progress: (done: number) => void,
): Promise<Sample> {
  const n = w.costs.length;
  const submitted = new Float64Array(n);
  const latencies = new Float64Array(n);
  const load = new Map<number, number>();
  const failures: unknown[] = [];
  const pending: Array<Promise<void>> = [];
  const before = runner.stats?.();
  let done = 0;
  let lastEnd = 0;
  const submit = (i: number, at: number) => {
    submitted[i] = at;
    pending.push(
      runner.run(i, w.costs[i]!).then(
        (thread) => {
          lastEnd = performance.now();
          latencies[i] = lastEnd - submitted[i]!;
          load.set(thread, (load.get(thread) ?? 0) + w.costs[i]!);
          progress(++done);
        },
        (err: unknown) => void failures.push(err),
      ),
    );
  };
  const t0 = performance.now();
  if (!arrivals) for (let i = 0; i < n; i++) submit(i, t0);
  else {
    let i = 0;
    while (i < n) {
      const now = performance.now() - t0;
      for (; i < n && arrivals[i]! <= now; i++) submit(i, t0 + arrivals[i]!);
      if (i < n) await sleep(Math.max(0, arrivals[i]! - (performance.now() - t0)));
    }
  }
  await Promise.all(pending);
  if (failures.length) throw new AggregateError(failures, `${failures.length} of ${n} tasks failed`);
  const after = runner.stats?.();
  const makespanMs = lastEnd - t0;
  const perThread = [...load.values()];
  const lat = [...latencies];
  return {
    throughput: n / (makespanMs / 1000),
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    makespanMs,
    ...(runner.stats && { imbalance: Math.max(...perThread) / (w.totalMs / threads) }),
    ...(before &&
      after && {
        steals: {
          attempted: after.stealsAttempted - before.stealsAttempted,
          succeeded: after.stealsSucceeded - before.stealsSucceeded,
          stolen: after.stolenTasks - before.stolenTasks,
        },
      }),
  };
}

// ---- the script ----

function listOption(name: string, allowed: readonly string[]): string[] {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return [...allowed];
  const v = (process.argv[i + 1] ?? '').split(',').filter(Boolean);
  const bad = v.filter((x) => !allowed.includes(x));
  if (!v.length || bad.length) throw new Error(`--${name} takes a comma list of ${allowed.join(', ')}`);
  return v;
}

function progressLine(): (text: string, final?: boolean) => void {
  const tty = process.stderr.isTTY;
  return (text, final = false) => {
    if (tty) process.stderr.write(`\r\x1b[K${text}${final ? '\n' : ''}`);
    else if (final) process.stderr.write(`${text}\n`);
  };
}

/** Left-aligned in `n` columns, always followed by at least one space. */
const pad = (s: string, n: number) => `${s.padEnd(n - 1)} `;

async function main(): Promise<void> {
  const tasks = intOption('tasks', 1000);
  const runs = intOption('runs', 3);
  const threads = intOption('threads', os.availableParallelism());
  const seed = intOption('seed', 1);
  const loadPct = intOption('load', 80);
  const spec: SkewSpec = {
    tasks,
    shortMs: intOption('short-ms', 1),
    longMs: intOption('long-ms', 100),
    longPct: intOption('long-pct', 2),
  };
  const streamToo = process.argv.includes('--arrival');
  const contenders = listOption('only', CONTENDERS) as Contender[];
  if (threads > os.availableParallelism())
    process.stderr.write(`warning: ${threads} threads on ${os.availableParallelism()} cores\n`);

  const skewed = skewedWorkload(spec, seed);
  const workloads = [skewed, uniformWorkload(skewed)];
  const meanMs = skewed.totalMs / tasks;
  const arrivals = poissonArrivals(tasks, meanMs / threads / (loadPct / 100), seed + 1);
  const scenarios: Scenario[] = workloads.flatMap((w) => [
    { w, arrivals: undefined, label: `${w.name}, burst` },
    ...(streamToo ? [{ w, arrivals, label: `${w.name}, arrivals at ${loadPct}% load` }] : []),
  ]);

  console.log(
    `CPU-bound tasks on ${threads} threads: ${contenders.join(' / ')}; median (min–max) of ${runs} runs\n${machine()}`,
  );
  const longCount = skewed.costs.filter((c) => c === spec.longMs).length;
  console.log(
    `skewed: ${longCount} × ${spec.longMs} ms + ${tasks - longCount} × ${spec.shortMs} ms; ` +
      `uniform: ${tasks} × ${meanMs.toFixed(2)} ms; both ${Math.round(skewed.totalMs).toLocaleString('en')} ms of CPU`,
  );

  const say = progressLine();
  const samples = new Map<string, Sample[]>();
  const key = (label: string, c: Contender) => `${label}|${c}`;
  for (let r = 0; r < runs; r++) {
    for (const s of scenarios) {
      for (let k = 0; k < contenders.length; k++) {
        const c = contenders[(k + r) % contenders.length]!;
        const tag = `[${r + 1}/${runs}] ${s.label}, ${c}`;
        say(`${tag}: starting`);
        const runner = c === 'async' ? startAsync(threads) : await startPool(c, threads, tasks, seed);
        let last = 0;
        try {
          const sample = await measure(runner, s.w, threads, s.arrivals, (done) => {
            const now = performance.now();
            if (now - last < 500) return;
            last = now;
            say(`${tag}: ${done}/${tasks}`);
          });
          say(`${tag}: ${(sample.makespanMs / 1000).toFixed(2)} s`, true);
          samples.set(key(s.label, c), [...(samples.get(key(s.label, c)) ?? []), sample]);
        } finally {
          await runner.close();
        }
      }
    }
  }

  report(scenarios, contenders, samples, threads);
}

type Scenario = { w: Workload; arrivals: number[] | undefined; label: string };

function report(
  scenarios: Scenario[],
  contenders: Contender[],
  samples: Map<string, Sample[]>,
  threads: number,
): void {
  const med = (xs: Sample[], f: (x: Sample) => number) => median(xs.map(f));
  const closing: string[] = [];
  for (const s of scenarios) {
    // A stream cannot end before its last arrival.
    const bound = Math.max(makespanBound(s.w, threads), s.arrivals?.at(-1) ?? 0);
    const of = (c: Contender) => samples.get(`${s.label}|${c}`)!;
    console.log(`\n${s.label} (makespan bound ${bound.toFixed(0)} ms)`);
    console.log(
      `  ${pad('contender', 13)}${pad('tasks/s', 20)}${pad('p50 ms', 28)}${pad('p99 ms', 28)}` +
        `${pad('makespan÷bound', 16)}${pad('load max÷mean', 15)}steals ok/tried, tasks stolen`,
    );
    for (const c of contenders) {
      const xs = of(c);
      const st = xs[0]!.steals && [
        med(xs, (x) => x.steals!.succeeded),
        med(xs, (x) => x.steals!.attempted),
        med(xs, (x) => x.steals!.stolen),
      ];
      console.log(
        `  ${pad(c, 13)}${pad(formatSpread(xs.map((x) => x.throughput)), 20)}` +
          `${pad(
            formatSpread(
              xs.map((x) => x.p50),
              1,
            ),
            22,
          )}${pad(
            formatSpread(
              xs.map((x) => x.p99),
              1,
            ),
            22,
          )}` +
          `${pad(`${(med(xs, (x) => x.makespanMs) / bound).toFixed(2)}×`, 16)}` +
          `${pad(xs[0]!.imbalance === undefined ? '–' : `${med(xs, (x) => x.imbalance!).toFixed(2)}×`, 15)}` +
          `${st ? `${st[0]}/${st[1]}, ${st[2]}` : '–'}`,
      );
    }
    if (!contenders.includes('stealing')) continue;
    const mine = of('stealing');
    for (const c of contenders.filter((x) => x !== 'stealing')) {
      const thr = pairedRatios(
        mine.map((x) => x.throughput),
        of(c).map((x) => x.throughput),
      );
      const p99 = pairedRatios(
        mine.map((x) => x.p99),
        of(c).map((x) => x.p99),
      );
      closing.push(
        `  ${pad(s.label, 30)} vs ${pad(c, 13)} throughput ${pad(formatRatios(thr), 22)} p99 ${formatRatios(p99)}`,
      );
      if (s.w.name === 'skewed' && !s.arrivals && c !== 'async' && median(thr) < 1.02)
        closing.push(
          `    stealing does not win here: makespan÷bound ${(med(mine, (x) => x.makespanMs) / bound).toFixed(2)}× ` +
            `vs ${(med(of(c), (x) => x.makespanMs) / bound).toFixed(2)}×, load max÷mean ` +
            `${med(mine, (x) => x.imbalance!).toFixed(2)}× vs ${med(of(c), (x) => x.imbalance!).toFixed(2)}×`,
        );
    }
  }
  if (closing.length) {
    console.log(
      '\nstealing ÷ each contender, median of per-run ratios (throughput > 1× and p99 < 1× favour stealing)',
    );
    for (const line of closing) console.log(line);
  }
}

/** True when this file is the script being run, not a module imported by the unit test. */
function isEntryPoint(): boolean {
  try {
    return realpathSync(path.resolve(process.argv[1] ?? '')) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main();
