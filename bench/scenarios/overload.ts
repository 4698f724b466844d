/**
 * Scenario 3, priorities and deadlines under overload: tasks arrive faster than the workers can
 * run them (130% of capacity by default, and 80% as the uncongested reference), each with a
 * priority class and a deadline; we measure the deadline-miss rate and the tardiness
 * (max(0, completion − deadline)) for five contenders that alternate within the run:
 * - SmartQueue, ordering 'lst' (the default: least laxity first, DESIGN.md, with tasks that can
 *   no longer meet their deadline put behind the on-time ones: engine option lateTasks 'defer');
 * - SmartQueue, ordering 'lst' with lateTasks 'keep' (pure least laxity, late tasks keep their place);
 * - SmartQueue, ordering 'priority' (priority class first, FIFO within it);
 * - SmartQueue, ordering 'fifo' (arrival order);
 * - BullMQ with job priorities (high 1, medium 2, low 3; FIFO within one), which has no deadlines.
 * Same engine, store (in memory: this measures ordering, not durability) and workers for the
 * four SmartQueue policies; the same worker concurrency and the same sleep handler for BullMQ.
 *
 * The workload, generated once per run from the scenario's seed and replayed identically to every
 * contender: arrivals from a real bursty trace (the Azure LLM inference trace, code service:
 * BENCH_ARRIVALS=<csv>, default ../shared/data/arrivals/AzureLLMInferenceTrace_code.csv) with its
 * gaps scaled to the target rate, else a Poisson process (said in the notes); service times
 * uniform 5–35 ms (declared as the estimate, so LST knows them); classes 20% high, 30% medium,
 * 50% low; deadline = arrival + service × a slack factor, tight (3–6), medium (10–30) or loose
 * (50–150), drawn with odds that depend on the class (high: 60/40/0 %, medium: 30/40/30 %, low:
 * 20/30/50 %), so priority and urgency agree only partly, as in real mixed workloads.
 *
 * Settings (environment): BENCH_OVERLOAD_SLOTS=4 BENCH_OVERLOAD_SECONDS=4 BENCH_OVERLOAD_LOADS=80,130
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { compileWorkflow } from '../../dsl/compiler.js';
import { IR_DEFAULTS, PRIORITY_VALUES } from '../../dsl/ir.js';
import type { TaskIR } from '../../dsl/ir.js';
import type { EngineOptions } from '../../engine/options.js';
import type { TaskHandler } from '../../engine/handler.js';
import { createEmbeddedRuntime } from '../../runtime/embedded.js';
import type { ResultChart, Scenario, ScenarioContext, ScenarioResult } from '../harness/types.js';
import { median, percentile } from '../lib.js';
import {
  bullConnection,
  deletePrefix,
  envInt,
  envString,
  ratio,
  SHARED_DATA,
  sleep,
  spread,
  uniquePrefix,
} from './support.js';

const CLASSES = ['high', 'medium', 'low'] as const;
type Class = (typeof CLASSES)[number];
const CONTENDERS = [
  'SmartQueue LST',
  'SmartQueue LST, late kept',
  'SmartQueue priority',
  'SmartQueue FIFO',
  'BullMQ priority',
] as const;
type Contender = (typeof CONTENDERS)[number];
type Policy = Pick<EngineOptions, 'ordering' | 'lateTasks'>;
const POLICY: Record<Exclude<Contender, 'BullMQ priority'>, Policy> = {
  'SmartQueue LST': { ordering: 'lst', lateTasks: 'defer' },
  'SmartQueue LST, late kept': { ordering: 'lst', lateTasks: 'keep' },
  'SmartQueue priority': { ordering: 'priority' },
  'SmartQueue FIFO': { ordering: 'fifo' },
};
const BULL_PRIORITY: Record<Class, number> = { high: 1, medium: 2, low: 3 };
/** Odds of tight / medium / loose slack by class, and each slack factor's range. */
const SLACK_ODDS: Record<Class, [number, number, number]> = {
  high: [0.6, 0.4, 0],
  medium: [0.3, 0.4, 0.3],
  low: [0.2, 0.3, 0.5],
};
const SLACK_RANGE: [number, number][] = [
  [3, 6],
  [10, 30],
  [50, 150],
];

interface Arrival {
  /** Offset from the start of the run (ms). */
  atMs: number;
  serviceMs: number;
  cls: Class;
  /** Deadline offset from the start of the run (ms). */
  deadlineMs: number;
}

interface Sample {
  contender: Contender;
  load: number;
  tasks: number;
  missed: number;
  missedByClass: Record<Class, number>;
  meanTardinessMs: number;
  p99TardinessMs: number;
}

/** Gaps (ms) between consecutive arrivals of the trace, or undefined when the file is missing. */
function traceGaps(file: string): number[] | undefined {
  if (!existsSync(file)) return undefined;
  const times = readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => Date.parse(`${line.split(',')[0]!.trim().replace(' ', 'T')}Z`))
    .filter((t) => Number.isFinite(t));
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) gaps.push(Math.max(0, times[i]! - times[i - 1]!));
  return gaps.length > 100 ? gaps : undefined;
}

function workload(
  rng: () => number,
  ratePerMs: number,
  seconds: number,
  gaps: number[] | undefined,
): Arrival[] {
  const out: Arrival[] = [];
  // Trace gaps scaled to the target mean rate, starting at a random offset; or exponential gaps.
  const meanGap = gaps ? gaps.reduce((a, b) => a + b, 0) / gaps.length : 0;
  let g = gaps ? Math.floor(rng() * gaps.length) : 0;
  let at = 0;
  while (true) {
    at += gaps ? gaps[g++ % gaps.length]! / meanGap / ratePerMs : -Math.log(1 - rng()) / ratePerMs;
    if (at > seconds * 1000) return out;
    const serviceMs = 5 + Math.floor(rng() * 31);
    const u = rng();
    const cls: Class = u < 0.2 ? 'high' : u < 0.5 ? 'medium' : 'low';
    const odds = SLACK_ODDS[cls];
    const v = rng();
    const kind = v < odds[0] ? 0 : v < odds[0] + odds[1] ? 1 : 2;
    const [lo, hi] = SLACK_RANGE[kind]!;
    out.push({ atMs: at, serviceMs, cls, deadlineMs: at + serviceMs * (lo + rng() * (hi - lo)) });
  }
}

/** Submits each arrival at its time (from `start`, epoch ms) through `submit`. */
async function pace(
  arrivals: Arrival[],
  start: number,
  submit: (a: Arrival, i: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < arrivals.length; i++) {
    const wait = start + arrivals[i]!.atMs - Date.now();
    if (wait > 1) await sleep(wait);
    await submit(arrivals[i]!, i);
  }
}

async function runSmartQueue(policy: Policy, arrivals: Arrival[], slots: number): Promise<Float64Array> {
  const work: TaskHandler = async (ctx) => {
    await sleep((ctx.args as { ms: number }).ms);
    return undefined;
  };
  const rt = await createEmbeddedRuntime({
    statePath: false,
    concurrency: slots,
    handlers: { work },
    engine: policy,
  });
  const doneAt = new Float64Array(arrivals.length).fill(NaN);
  try {
    rt.engine.events.on('task:attempt:succeeded', (e) => {
      if (e.taskId[0] === 'a') doneAt[Number(e.taskId.slice(1))] = Date.now();
    });
    const seed: TaskIR = {
      id: 'seed',
      needs: [],
      handler: { kind: 'uses', name: 'noop', with: {} },
      priority: 50,
      retries: IR_DEFAULTS.retries,
      estimateMs: 1,
    };
    const ir = {
      apiVersion: 'smartqueue/v1' as const,
      name: 'overload',
      labels: {},
      priority: 50,
      failurePolicy: 'continue' as const,
      params: {},
      tasks: [seed],
    };
    const compiled = compileWorkflow(ir, { file: '<bench>', locate: () => ({ line: 1, column: 1 }) });
    if (!compiled.plan) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n'));
    const runId = await rt.engine.startRun(compiled.plan, { keepOpen: true });
    const start = Date.now();
    await pace(arrivals, start, (a, i) =>
      rt.engine.addTask(runId, {
        id: `a${i}`,
        needs: [],
        handler: { kind: 'uses', name: 'work', with: { ms: a.serviceMs } },
        priority: PRIORITY_VALUES[a.cls],
        retries: IR_DEFAULTS.retries,
        estimateMs: a.serviceMs,
        deadline: {
          kind: 'absolute',
          epochMs: start + a.deadlineMs,
          text: new Date(start + a.deadlineMs).toISOString(),
        },
      }),
    );
    await rt.engine.closeRun(runId);
    const status = await rt.engine.waitForRun(runId);
    if (status !== 'succeeded') throw new Error(`SmartQueue ${JSON.stringify(policy)}: run ended ${status}`);
    return doneAt.map((d) => d - start);
  } finally {
    await rt.close();
  }
}

async function runBullMq(arrivals: Arrival[], slots: number): Promise<Float64Array> {
  const prefix = uniquePrefix('overload');
  const connection = bullConnection();
  const queue = new Queue('overload', { connection, prefix });
  const doneAt = new Float64Array(arrivals.length).fill(NaN);
  let done = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const failures: string[] = [];
  const worker = new Worker('overload', async (job) => sleep((job.data as { ms: number }).ms), {
    connection,
    prefix,
    concurrency: slots,
    autorun: false,
  });
  worker.on('completed', (job) => {
    doneAt[(job.data as { i: number }).i] = Date.now();
    if (++done === arrivals.length) allDone();
  });
  worker.on('failed', (job, err) => {
    failures.push(`${job?.id}: ${err.message}`);
    allDone();
  });
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    const running = worker.run();
    const start = Date.now();
    await pace(arrivals, start, async (a, i) => {
      await queue.add('work', { i, ms: a.serviceMs }, { priority: BULL_PRIORITY[a.cls] });
    });
    await finished;
    if (failures.length) throw new Error(`BullMQ: ${failures.length} jobs failed: ${failures[0]}`);
    await worker.close();
    await running;
    return doneAt.map((d) => d - start);
  } finally {
    await worker.close();
    await queue.close();
    await deletePrefix(prefix);
  }
}

function score(contender: Contender, load: number, arrivals: Arrival[], doneMs: Float64Array): Sample {
  const tardiness = arrivals.map((a, i) => Math.max(0, doneMs[i]! - a.deadlineMs));
  if (tardiness.some((t) => !Number.isFinite(t))) throw new Error(`${contender}: a completion was not seen`);
  const missedByClass = { high: 0, medium: 0, low: 0 };
  let missed = 0;
  arrivals.forEach((a, i) => {
    if (tardiness[i]! > 0) {
      missed++;
      missedByClass[a.cls]++;
    }
  });
  return {
    contender,
    load,
    tasks: arrivals.length,
    missed,
    missedByClass,
    meanTardinessMs: tardiness.reduce((x, y) => x + y, 0) / tardiness.length,
    p99TardinessMs: percentile(tardiness, 99),
  };
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const slots = envInt('OVERLOAD_SLOTS', 4);
  const seconds = envInt('OVERLOAD_SECONDS', ctx.quick ? 2 : 4);
  const loads = envString('OVERLOAD_LOADS', ctx.quick ? '130' : '80,130')
    .split(',')
    .map(Number);
  if (loads.some((l) => !(l > 0))) throw new Error('BENCH_OVERLOAD_LOADS needs percentages, e.g. 80,130');
  const traceFile = path.resolve(
    envString('ARRIVALS', path.join(SHARED_DATA, 'arrivals', 'AzureLLMInferenceTrace_code.csv')),
  );
  const gaps = traceGaps(traceFile);
  const capacityPerMs = slots / 20; // mean service time 20 ms
  const workloads = new Map(
    loads.map((l) => [l, workload(ctx.rng, (capacityPerMs * l) / 100, seconds, gaps)]),
  );
  const samples: Sample[] = [];
  for (let rep = 1; rep <= ctx.runs; rep++) {
    for (const load of loads) {
      const arrivals = workloads.get(load)!;
      for (const c of rep % 2 ? CONTENDERS : [...CONTENDERS].reverse()) {
        const doneMs =
          c === 'BullMQ priority'
            ? await runBullMq(arrivals, slots)
            : await runSmartQueue(POLICY[c], arrivals, slots);
        const s = score(c, load, arrivals, doneMs);
        samples.push(s);
        ctx.progress(
          `run ${rep}/${ctx.runs} load ${load}% ${c}: ${s.tasks} tasks, ${((100 * s.missed) / s.tasks).toFixed(1)}% missed, p99 tardiness ${s.p99TardinessMs.toFixed(0)} ms`,
        );
      }
    }
  }
  return report(samples, loads, workloads, { slots, seconds, gaps: gaps !== undefined, traceFile });
}

function report(
  samples: Sample[],
  loads: number[],
  workloads: Map<number, Arrival[]>,
  setup: { slots: number; seconds: number; gaps: boolean; traceFile: string },
): ScenarioResult {
  const of = (c: Contender, load: number) => samples.filter((s) => s.contender === c && s.load === load);
  const pct = (n: number, d: number) => (100 * n) / d;
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  for (const load of loads) {
    const arrivals = workloads.get(load)!;
    const count = (cls: Class) => arrivals.filter((a) => a.cls === cls).length;
    const lstMiss = median(of('SmartQueue LST', load).map((s) => s.missed));
    const lstTardy = median(of('SmartQueue LST', load).map((s) => s.meanTardinessMs));
    // Bursts make the offered work of a finite window differ from the nominal rate: show both.
    const work = arrivals.reduce((x, y) => x + y.serviceMs, 0);
    const actual = Math.round((100 * work) / (setup.slots * setup.seconds * 1000));
    for (const c of CONTENDERS) {
      const ss = of(c, load);
      rows.push([
        `${load}% (actual ${actual}%)`,
        c,
        arrivals.length,
        spread(
          ss.map((s) => pct(s.missed, s.tasks)),
          1,
        ),
        ...CLASSES.map((cls) =>
          spread(
            ss.map((s) => pct(s.missedByClass[cls], count(cls))),
            1,
          ),
        ),
        spread(
          ss.map((s) => s.meanTardinessMs),
          1,
        ),
        spread(
          ss.map((s) => s.p99TardinessMs),
          0,
        ),
        ratio(median(ss.map((s) => s.missed)), lstMiss),
        ratio(median(ss.map((s) => s.meanTardinessMs)), lstTardy),
      ]);
    }
    const lost = CONTENDERS.filter((c) => c !== 'SmartQueue LST').flatMap((c) => {
      const m = median(of(c, load).map((s) => s.missed));
      const out: string[] = [];
      if (m < lstMiss) out.push(`${c} misses fewer deadlines (${ratio(m, lstMiss)} of LST's misses)`);
      const hi = median(of(c, load).map((s) => s.missedByClass.high));
      const lstHi = median(of('SmartQueue LST', load).map((s) => s.missedByClass.high));
      if (hi < lstHi) out.push(`${c} misses fewer high-priority deadlines (${hi} vs ${lstHi})`);
      const p99 = median(of(c, load).map((s) => s.p99TardinessMs));
      const lstP99 = median(of('SmartQueue LST', load).map((s) => s.p99TardinessMs));
      if (p99 < lstP99)
        out.push(`${c} has a lower p99 tardiness (${p99.toFixed(0)} ms vs ${lstP99.toFixed(0)} ms)`);
      return out;
    });
    notes.push(
      lost.length
        ? `Where LST loses at ${load}% load: ${lost.join('; ')}.`
        : `At ${load}% load LST missed the fewest deadlines, overall and of high priority.`,
    );
  }
  notes.unshift(
    `${setup.slots} worker slots, service 5–35 ms (capacity ${(setup.slots / 0.02).toFixed(0)} tasks/s), ${setup.seconds} s of arrivals per load; ` +
      (setup.gaps
        ? `arrival gaps from ${path.basename(setup.traceFile)} (bursty, scaled to the target rate).`
        : `no arrival trace at ${setup.traceFile}, so arrivals are Poisson (set BENCH_ARRIVALS=<csv> with a TIMESTAMP column for a real bursty trace).`),
    'SmartQueue LST puts a task that can no longer meet its deadline behind the on-time ones (engine option lateTasks: defer, the default); "late kept" is pure least laxity (lateTasks: keep), which under overload keeps running tasks that are already late while the ones behind them become late too (the domino effect).',
    'Tardiness = max(0, completion − deadline), averaged over all tasks; miss ratios and tardiness ratios are against SmartQueue LST (below 1 = better than LST). BullMQ has no notion of deadlines; it orders by priority only, like SmartQueue priority, so the two differ by implementation, not policy.',
  );
  const charts: ResultChart[] = [
    {
      file: 'overload-miss-rate.svg',
      title: 'Deadline-miss rate vs offered load',
      kind: 'line',
      x: 'offered load (% of capacity)',
      y: 'deadlines missed (%)',
      series: CONTENDERS.map((c) => ({
        name: c,
        points: loads.map((l): [number, number] => [l, median(of(c, l).map((s) => pct(s.missed, s.tasks)))]),
      })),
    },
  ];
  return {
    tables: [
      {
        title: 'Overload: deadlines missed (%, median of repetitions, min–max) and tardiness',
        columns: [
          'load',
          'contender',
          'tasks',
          'missed %',
          'high %',
          'medium %',
          'low %',
          'mean tardiness ms',
          'p99 tardiness ms',
          'misses ÷ LST',
          'tardiness ÷ LST',
        ],
        rows,
      },
    ],
    charts,
    notes,
    raw: { setup, samples, tasksPerLoad: Object.fromEntries([...workloads].map(([l, a]) => [l, a.length])) },
  };
}

/** Scenario 3: priorities and deadlines under overload. */
export const overloadScenario: Scenario = {
  name: 'overload',
  title: 'Priorities and deadlines under overload (LST vs priority vs FIFO vs BullMQ)',
  run,
};
