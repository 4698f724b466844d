/**
 * Predictive against reactive balancing on a bursty real arrival trace (issue 8).
 *
 *   npm run bench:prediction -- [--data ../shared/data] [--seconds 30] [--rounds 1] [--load 0.2]
 *                               [--every 3] [--slack 3] [--step-ms 100] [--onnx <load model>]
 *
 * Replays the Azure LLM inference trace (arrivals/AzureLLMInferenceTrace_code.csv: about an
 * hour of requests; every `--every`-th one is kept) compressed into `--seconds`, through the
 * embedded engine with four local workers of 4 slots each that run at different speeds (1, 1, 0.5 and 0.25: a request takes
 * 1×, 1×, 2× or 4× its nominal time). Each request is one task added to an open run when its
 * (compressed) arrival time comes, with a nominal duration from its size,
 * `k × (ContextTokens + 20 × GeneratedTokens)` (a generated token costs about 20 prompt tokens),
 * `k` chosen so the trace's mean offered load is `--load` of the workers' speed-weighted slots
 * (0.2 by default: the trace is so bursty that its busiest 10 s carry 12× its mean rate),
 * the nominal duration declared as its estimate, and a deadline of `--slack` × nominal
 * (at least 10 ms) after its arrival.
 *
 * Modes, alternating in this process (R S O for one round, R S O O S R for two, ...):
 * - reactive (R): the AVL balancer orders workers by the cost of their running attempts (least
 *   loaded first); the `ewma` predictor, which forecasts no worker load.
 * - predictive, speed-aware (S): the same balancer, fed every scheduling tick with each worker's
 *   forecast extra load from {@link createSpeedAwarePredictor}.
 * - predictive, onnx (O), when `--onnx <model.onnx>` is given or models/ has a load model
 *   (load-lstm.onnx first): the `onnx` predictor, its load model forecasting each worker's
 *   utilisation (and the arrival rate) from the engine's load history at `--step-ms` steps.
 *
 * Reports per mode: p50/p99 latency (arrival → success), the deadline-miss rate, the share of
 * tasks the slow workers ran, and the arrival-rate forecast's median relative error; then the
 * predictors' per-call latency (p50/p99) of the calls the engine makes on its scheduling path.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { compileWorkflow } from '../dsl/compiler.js';
import { IR_DEFAULTS } from '../dsl/ir.js';
import type { TaskIR } from '../dsl/ir.js';
import { Engine } from '../engine/engine.js';
import type { HandlerRegistry } from '../engine/handler.js';
import type { LoadHistoryRow } from '../engine/load-history.js';
import type { DurationQuery, DurationSample, Predictor } from '../engine/stages.js';
import { LocalWorker } from '../engine/worker.js';
import { createAvlBalancer } from '../plugins/balancer/avl/index.js';
import { createMemoryCheckpointStore } from '../plugins/checkpoint/memory/index.js';
import { createInProcessCoordinator } from '../plugins/coordinator/in-process/index.js';
import { createEwmaPredictor } from '../plugins/predictor/ewma/index.js';
import { createInProcessTransport } from '../plugins/transport/in-process/index.js';
import { intOption, machine, percentile } from './lib.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function numberOption(name: string, fallback: number): number {
  const raw = option(name);
  const v = raw === undefined ? fallback : Number(raw);
  if (!(v > 0 && v < Infinity)) throw new Error(`--${name} needs a positive number`);
  return v;
}

const DATA = path.resolve(ROOT, option('data') ?? '../shared/data');
const SECONDS = numberOption('seconds', 30);
const ROUNDS = intOption('rounds', 1);
const LOAD = numberOption('load', 0.2);
const SLACK = numberOption('slack', 3);
const STEP_MS = intOption('step-ms', 100);
const EVERY = intOption('every', 3);
const WORKERS = [
  { id: 'fast-1', capacity: 4, speed: 1 },
  { id: 'fast-2', capacity: 4, speed: 1 },
  { id: 'half', capacity: 4, speed: 0.5 },
  { id: 'quarter', capacity: 4, speed: 0.25 },
];

interface Request {
  /** Arrival, ms after the first request (compressed). */
  atMs: number;
  nominalMs: number;
}

/** The trace, compressed into SECONDS, with nominal durations scaled to LOAD. */
function loadTrace(): Request[] {
  const file = path.join(DATA, 'arrivals', 'AzureLLMInferenceTrace_code.csv');
  if (!existsSync(file)) {
    throw new Error(
      `${file} not found: download AzureLLMInferenceTrace_code.csv from ` +
        'https://github.com/Azure/AzurePublicDataset (data/AzureLLMInferenceTrace_code.csv) into ' +
        `${path.join(DATA, 'arrivals')}, or pass --data <folder holding arrivals/>`,
    );
  }
  // Every EVERY-th request: the bursts keep their shape, and tasks can be longer than the
  // scheduler's own per-task cost at the same offered load.
  const rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .filter((_, i) => i % EVERY === 0);
  const raw = rows.map((line) => {
    const [ts, ctx, gen] = line.split(',');
    // "2023-11-16 18:17:03.9799600": 7 fraction digits; Date parses 3.
    const [date, time] = ts!.split(' ');
    const [hms, frac = '0'] = time!.split('.');
    const ms = Date.parse(`${date}T${hms}Z`) + Number(`0.${frac}`) * 1000;
    return { ms, size: Number(ctx) + 20 * Number(gen) };
  });
  raw.sort((a, b) => a.ms - b.ms);
  const first = raw[0]!.ms;
  const span = raw[raw.length - 1]!.ms - first;
  const scale = (SECONDS * 1000) / span;
  const meanSize = raw.reduce((s, r) => s + r.size, 0) / raw.length;
  // Offered load = rate × mean duration = LOAD × speed-weighted slots.
  const slots = WORKERS.reduce((s, w) => s + w.capacity * w.speed, 0);
  const rate = raw.length / (SECONDS * 1000); // per ms
  const k = (LOAD * slots) / rate / meanSize;
  return raw.map((r) => ({ atMs: (r.ms - first) * scale, nominalMs: Math.max(1, r.size * k) }));
}

/** Records the wall time of every call of the given methods (the engine's calls). */
function timed<P extends Predictor>(p: P, methods: (keyof Predictor)[], into: Map<string, number[]>): P {
  for (const m of methods) {
    const fn = p[m] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof fn !== 'function') continue;
    const samples: number[] = [];
    into.set(`${p.name}.${m}`, samples);
    (p as Record<string, unknown>)[m] = (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        return fn.apply(p, args);
      } finally {
        samples.push(performance.now() - t0);
      }
    };
  }
  return p;
}

/**
 * The bench's worker-load predictor: it learns each worker's speed as an EWMA of
 * observed / estimated duration, and forecasts a worker's extra load over the next horizon as
 * the work its current attempts will cost beyond their estimates:
 * `(ratio − 1) × weight` at the last load step. Durations and arrivals come from the `ewma`
 * predictor (this one forecasts no arrivals: the engine's rate EWMA stands in).
 */
export function createSpeedAwarePredictor(): Predictor {
  const base = createEwmaPredictor();
  const ratio = new Map<string, number>();
  const weight = new Map<string, number>();
  return {
    name: 'speed-aware',
    estimateDuration: (q: DurationQuery) => base.estimateDuration(q),
    observe(s: DurationSample) {
      base.observe(s);
      if (s.workerId === undefined || !(s.estimateMs! > 0)) return;
      const r = s.durationMs / s.estimateMs!;
      const last = ratio.get(s.workerId);
      ratio.set(s.workerId, last === undefined ? r : last + 0.2 * (r - last));
    },
    observeLoad(row: LoadHistoryRow) {
      for (const w of row.workers) weight.set(w.id, w.weight);
    },
    forecastWorkerLoad(id: string) {
      const r = ratio.get(id);
      if (r === undefined) return undefined;
      return Math.max(0, r - 1) * (weight.get(id) ?? 0);
    },
    close: () => base.close(),
  };
}

/** A load model among models/*.onnx (or `--onnx`), if any: the predictor's default first. */
function onnxModel(): string | undefined {
  const explicit = option('onnx');
  if (explicit) return path.resolve(explicit);
  const dir = path.join(ROOT, 'models');
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^load.*\.onnx$/.test(f))
        .sort()
    : [];
  const file = files.includes('load-lstm.onnx') ? 'load-lstm.onnx' : files[0];
  return file === undefined ? undefined : path.join(dir, file);
}

interface ModeResult {
  mode: string;
  p50: number;
  p99: number;
  missRate: number;
  slowShare: number;
  arrivalError: number | undefined;
  done: number;
}

async function replay(mode: string, trace: Request[], predictor: Predictor): Promise<ModeResult> {
  const store = createMemoryCheckpointStore();
  const transport = createInProcessTransport();
  const balancer = createAvlBalancer();
  const coordinator = createInProcessCoordinator();
  const engine = new Engine({
    store,
    transport,
    balancer,
    coordinator,
    predictor,
    prediction: { stepMs: STEP_MS },
  });
  const workers: LocalWorker[] = [];
  for (const w of WORKERS) {
    const handlers: HandlerRegistry = new Map([
      [
        'infer',
        ({ args }) =>
          new Promise<Record<string, unknown>>((resolve) =>
            setTimeout(() => resolve({}), (args.ms as number) / w.speed),
          ),
      ],
    ]);
    const worker = new LocalWorker({ id: w.id, capacity: w.capacity, transport, handlers });
    await worker.start();
    balancer.join({ id: w.id, capacity: w.capacity });
    workers.push(worker);
  }
  // An open run with no task yet: requests are added to it as they arrive.
  const empty = compileWorkflow(
    {
      apiVersion: 'smartqueue/v1',
      name: `replay-${mode}`,
      labels: {},
      priority: IR_DEFAULTS.priority,
      failurePolicy: 'continue',
      params: {},
      tasks: [],
    },
    { file: '<bench>', locate: () => ({ line: 1, column: 1 }) },
  );
  const runId = await engine.startRun(empty.plan!, { keepOpen: true });
  const start = engine.activeRuns().get(runId)!.startedAt;
  const latencies: number[] = [];
  let misses = 0;
  let slow = 0;
  engine.events.on('task:attempt:succeeded', (e) => {
    const r = trace[Number(e.taskId.slice(1))]!;
    const arrival = start + r.atMs;
    latencies.push(e.at - arrival);
    if (e.at > arrival + Math.max(10, SLACK * r.nominalMs)) misses++;
    if (e.workerId === 'half' || e.workerId === 'quarter') slow++;
  });
  // Add each request when its time comes, all those due at once in one batch.
  let next = 0;
  while (next < trace.length) {
    const now = Date.now() - start;
    const batch: TaskIR[] = [];
    while (next < trace.length && trace[next]!.atMs <= now) {
      const r = trace[next]!;
      batch.push({
        id: `r${next}`,
        needs: [],
        handler: { kind: 'uses', name: 'infer', with: { ms: r.nominalMs } },
        priority: 50,
        retries: IR_DEFAULTS.retries,
        estimateMs: r.nominalMs,
        deadline: { kind: 'relative', ms: r.atMs + Math.max(10, SLACK * r.nominalMs) },
      });
      next++;
    }
    if (batch.length) await engine.addTasks(runId, batch);
    if (next < trace.length) {
      const wait = start + trace[next]!.atMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  await engine.closeRun(runId);
  while (latencies.length < trace.length) await new Promise((r) => setTimeout(r, 20));
  const errors = engine.prediction
    .drainErrors()
    .filter((e) => e.target === 'arrivals')
    .map((e) => e.error);
  await engine.close();
  await Promise.all(workers.map((w) => w.close()));
  await transport.close();
  await coordinator.close();
  await store.close();
  return {
    mode,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    missRate: misses / trace.length,
    slowShare: slow / trace.length,
    arrivalError: errors.length ? percentile(errors, 50) : undefined,
    done: latencies.length,
  };
}

async function main(): Promise<void> {
  const trace = loadTrace();
  const meanNominal = trace.reduce((s, r) => s + r.nominalMs, 0) / trace.length;
  console.log(machine());
  console.log(
    `trace: ${trace.length} requests in ${SECONDS} s (${(trace.length / SECONDS).toFixed(0)}/s mean), ` +
      `nominal duration mean ${meanNominal.toFixed(1)} ms, p99 ${percentile(
        trace.map((r) => r.nominalMs),
        99,
      ).toFixed(
        1,
      )} ms; offered load ${LOAD} of ${WORKERS.map((w) => `${w.capacity}×${w.speed}`).join(' + ')} slots; ` +
      `deadline ${SLACK}× nominal; load step ${STEP_MS} ms`,
  );
  const model = onnxModel();
  const calls = new Map<string, number[]>();
  const predictorFor = async (mode: string): Promise<Predictor> => {
    if (mode === 'reactive') return timed(createEwmaPredictor(), ['estimateDuration'], calls);
    if (mode === 'speed-aware' || model === undefined)
      return timed(createSpeedAwarePredictor(), ['forecastWorkerLoad', 'estimateDuration'], calls);
    const { createOnnxPredictor } = await import('../plugins/predictor/onnx/index.js');
    const onnx = createOnnxPredictor({ loadModel: model, loadStepMs: STEP_MS });
    const status = await onnx.ready();
    console.log(`onnx predictor on ${path.relative(ROOT, model)}: ${JSON.stringify(status)}`);
    return timed(onnx, ['forecastWorkerLoad', 'estimateDuration', 'forecastArrivals'], calls);
  };
  const modes = ['reactive', 'speed-aware', ...(model === undefined ? [] : ['onnx'])];
  if (model === undefined) console.log('no load model in models/ (and no --onnx): no onnx mode');
  const order: string[] = [];
  for (let r = 0; r < ROUNDS; r++) order.push(...(r % 2 === 0 ? modes : [...modes].reverse()));
  const results: ModeResult[] = [];
  for (const mode of order) {
    const predictor = await predictorFor(mode);
    const r = await replay(mode, trace, predictor);
    await predictor.close();
    results.push(r);
    const misses = (r.missRate * 100).toFixed(2);
    const slowShare = (r.slowShare * 100).toFixed(1);
    console.log(
      `${mode.padEnd(11)} p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  ` +
        `deadline misses ${misses} %  on slow workers ${slowShare} %  ` +
        `arrival forecast median rel. error ${r.arrivalError?.toFixed(2) ?? 'n/a'}  (${r.done} tasks)`,
    );
  }
  for (const mode of modes) {
    const rs = results.filter((r) => r.mode === mode);
    const mean = (f: (r: ModeResult) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
    console.log(
      `mean ${mode.padEnd(11)} p50 ${mean((r) => r.p50).toFixed(1)} ms  p99 ${mean((r) => r.p99).toFixed(1)} ms  deadline misses ${(
        mean((r) => r.missRate) * 100
      ).toFixed(2)} %`,
    );
  }
  // Per-call latency of what the engine asks on its scheduling path is timed above; a duration
  // estimate is asked when a task declares none (not in this replay), so time it here too.
  const ewma = createEwmaPredictor();
  for (let i = 0; i < 1000; i++) ewma.observe({ handler: `h${i % 10}`, durationMs: i, at: i });
  const estimates: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const t0 = performance.now();
    ewma.estimateDuration({ handler: `h${i % 10}`, priority: 50 });
    estimates.push(performance.now() - t0);
  }
  calls.set('ewma.estimateDuration (20,000 calls outside the replay)', estimates);
  if (model !== undefined) {
    // The model itself: one batch of a window per worker, as the predictor runs it per step.
    const { openOnnxSession } = await import('../plugins/predictor/onnx/index.js');
    const session = await openOnnxSession(model);
    const { window, inputSize } = session.metadata.spec;
    const batch = WORKERS.map(() =>
      Array.from({ length: window }, () => new Array<number>(inputSize).fill(0.5)),
    );
    const runs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await session.run(batch);
      runs.push(performance.now() - t0);
    }
    calls.set(`onnxruntime session.run (batch of ${WORKERS.length} windows)`, runs.slice(20));
    await session.close();
  }
  for (const [name, samples] of calls) {
    if (samples.length === 0) continue;
    console.log(
      `inference ${name}: ${samples.length} calls, p50 ${(percentile(samples, 50) * 1000).toFixed(2)} µs, p99 ${(
        percentile(samples, 99) * 1000
      ).toFixed(2)} µs`,
    );
  }
}

await main();
