/**
 * Scenario 1, flat queue: N independent no-op tasks, enqueued then drained, at concurrency
 * 1, 10 and 100, by four contenders that alternate within the run:
 * - SmartQueue embedded, SQLite durability on (a WAL file, group commit, synchronous=FULL);
 * - SmartQueue embedded, durability off (in-memory store);
 * - SmartQueue with the Kafka transport (scheduler + one `worker` in this process, SQLite on disk);
 * - BullMQ on the local Redis: `Queue.addBulk` in chunks of 1,000, then one `Worker` with the same
 *   concurrency (BullMQ's defaults otherwise: completed jobs are kept, as SmartQueue keeps them).
 *
 * "Enqueue" is the submission until the queue has accepted everything: for SmartQueue compiling
 * the N-task workflow plus `startRun` (which resolves once the run and its tasks are recorded);
 * for BullMQ every `addBulk`, with no worker running. "Drain" is from there to the last
 * completion. End-to-end latency of a task is its completion time minus the time its submission
 * started (the one `startRun`, or its `addBulk` chunk), so it includes the wait in the queue.
 *
 * Sizes (BENCH_FLAT_TASKS, default 100,000; 2,000 with --quick): all of it at concurrency 100 and
 * 10, a tenth at 1 (one at a time through 100,000 tasks would take minutes per contender); the
 * Kafka contender, which pays a broker round trip per task, a tenth / 50th / 400th. Rates compare
 * across sizes, end-to-end latencies only at equal sizes. Figures are medians of at most 3
 * repetitions (fewer with --runs), to keep the full suite within its budget.
 * `BENCH_NO_KAFKA=1` leaves the Kafka contender out (with a note); KAFKA_BROKER picks the broker.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import type { Engine } from '../../engine/engine.js';
import { builtinHandlers } from '../../plugins/handlers/index.js';
import { createEmbeddedRuntime } from '../../runtime/embedded.js';
import { startKafkaWorker } from '../../runtime/kafka-worker.js';
import { createServer } from '../../runtime/server.js';
import type {
  ResultChart,
  ResultTable,
  Scenario,
  ScenarioContext,
  ScenarioResult,
} from '../harness/types.js';
import { median, noopPlan, percentile } from '../lib.js';
import {
  bullConnection,
  bullmqVersion,
  cdf,
  deletePrefix,
  envInt,
  ratio,
  redisVersion,
  sleep,
  spread,
  uniquePrefix,
} from './support.js';

const CONCURRENCY = [1, 10, 100] as const;
const CONTENDERS = ['SmartQueue SQLite', 'SmartQueue memory', 'SmartQueue Kafka', 'BullMQ'] as const;
type Contender = (typeof CONTENDERS)[number];
const BROKER = process.env.KAFKA_BROKER ?? '127.0.0.1:9092';
const CHUNK = 1000;

/** One repetition of one contender at one concurrency. */
interface Sample {
  contender: Contender;
  concurrency: number;
  tasks: number;
  enqueueMs: number;
  drainMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Completion latencies (ms), kept for the CDF of the last repetition only. */
  latencies?: number[];
}

function tasksFor(base: number, contender: Contender, concurrency: number): number {
  const div =
    contender === 'SmartQueue Kafka'
      ? concurrency === 1
        ? 400
        : concurrency === 10
          ? 50
          : 10
      : concurrency === 1
        ? 10
        : 1;
  return Math.max(100, Math.round(base / div));
}

interface SqSetup {
  engine: Engine;
  close(): Promise<void>;
}

async function openSmartQueue(contender: Contender, concurrency: number, dir: string): Promise<SqSetup> {
  const statePath = path.join(dir, `${randomUUID()}.db`);
  if (contender !== 'SmartQueue Kafka') {
    const rt = await createEmbeddedRuntime({
      statePath: contender === 'SmartQueue SQLite' ? statePath : false,
      concurrency,
      shards: 4,
    });
    return { engine: rt.engine, close: () => rt.close() };
  }
  const prefix = `sqbench-flat-${randomUUID().slice(0, 8)}`;
  const url = `kafka://${BROKER}?prefix=${prefix}&partitions=4`;
  const server = await createServer({ listen: '127.0.0.1:0', statePath, transport: url, rateLimit: false });
  const worker = await startKafkaWorker({
    url,
    id: 'bench-worker',
    capacity: concurrency,
    handlers: builtinHandlers(),
  });
  // The scheduler counts the worker once its first heartbeat arrives.
  while (!server.kafka!.workers().includes('bench-worker')) await sleep(20);
  return {
    engine: server.engine,
    close: async () => {
      await worker.close();
      await server.close();
      await deleteKafkaTopics(prefix);
    },
  };
}

/** Deletes the topics of one run (`<prefix>.tasks`, `.results`, ...). */
async function deleteKafkaTopics(prefix: string): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({ brokers: [BROKER], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
    if (topics.length) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

async function runSmartQueue(
  contender: Contender,
  n: number,
  concurrency: number,
  dir: string,
): Promise<Sample> {
  const setup = await openSmartQueue(contender, concurrency, dir);
  try {
    const doneAt = new Float64Array(n);
    const off = setup.engine.events.on('task:attempt:succeeded', (e) => {
      doneAt[Number(e.taskId.slice(1))] = performance.now();
    });
    const t0 = performance.now();
    const plan = noopPlan('flat', n, false);
    const runId = await setup.engine.startRun(plan);
    const t1 = performance.now();
    const status = await setup.engine.waitForRun(runId);
    off();
    if (status !== 'succeeded') throw new Error(`${contender}: run ${runId} ended ${status}`);
    const latencies = Array.from(doneAt, (d) => d - t0);
    if (latencies.some((l) => l < 0)) throw new Error(`${contender}: a task's success was not seen`);
    return sample(contender, concurrency, n, t1 - t0, Math.max(...doneAt) - t1, latencies);
  } finally {
    await setup.close();
  }
}

async function runBullMq(n: number, concurrency: number): Promise<Sample> {
  const prefix = uniquePrefix('flat');
  const connection = bullConnection();
  const queue = new Queue('flat', { connection, prefix });
  const doneAt = new Float64Array(n);
  let done = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const worker = new Worker('flat', async () => undefined, {
    connection,
    prefix,
    concurrency,
    autorun: false,
  });
  worker.on('completed', (job) => {
    doneAt[(job.data as { i: number }).i] = performance.now();
    if (++done === n) allDone();
  });
  const failed: Error[] = [];
  worker.on('failed', (_job, err) => failed.push(err));
  try {
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);
    const addedAt = new Float64Array(Math.ceil(n / CHUNK));
    const t0 = performance.now();
    for (let c = 0; c * CHUNK < n; c++) {
      addedAt[c] = performance.now();
      const jobs = [];
      for (let i = c * CHUNK; i < Math.min(n, (c + 1) * CHUNK); i++) jobs.push({ name: 'noop', data: { i } });
      await queue.addBulk(jobs);
    }
    const t1 = performance.now();
    const running = worker.run();
    await finished;
    const latencies = Array.from(doneAt, (d, i) => d - addedAt[Math.floor(i / CHUNK)]!);
    await worker.close();
    await running;
    if (failed.length) throw new Error(`BullMQ: ${failed.length} jobs failed: ${failed[0]!.message}`);
    return sample('BullMQ', concurrency, n, t1 - t0, Math.max(...doneAt) - t1, latencies);
  } finally {
    await worker.close();
    await queue.close();
    await deletePrefix(prefix);
  }
}

function sample(
  contender: Contender,
  concurrency: number,
  tasks: number,
  enqueueMs: number,
  drainMs: number,
  latencies: number[],
): Sample {
  return {
    contender,
    concurrency,
    tasks,
    enqueueMs,
    drainMs,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    latencies,
  };
}

async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const base = envInt('FLAT_TASKS', ctx.quick ? 2_000 : 100_000);
  const withKafka = process.env.BENCH_NO_KAFKA !== '1';
  const contenders = CONTENDERS.filter((c) => withKafka || c !== 'SmartQueue Kafka');
  const versions = { bullmq: bullmqVersion(), redis: await redisVersion() };
  const reps = Math.min(ctx.runs, 3);
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-bench-flat-'));
  const samples: Sample[] = [];
  try {
    for (let rep = 1; rep <= reps; rep++) {
      for (const concurrency of CONCURRENCY) {
        // Alternate the order each repetition so no contender always runs on a warmer process.
        const order = rep % 2 ? contenders : [...contenders].reverse();
        for (const contender of order) {
          const n = tasksFor(base, contender, concurrency);
          const s =
            contender === 'BullMQ'
              ? await runBullMq(n, concurrency)
              : await runSmartQueue(contender, n, concurrency, dir);
          if (rep !== reps) delete s.latencies;
          samples.push(s);
          ctx.progress(
            `run ${rep}/${reps} c=${concurrency} ${contender}: ${n} tasks, enqueue ${Math.round((n / s.enqueueMs) * 1000)}/s, ` +
              `drain ${Math.round((n / s.drainMs) * 1000)}/s, p99 ${s.p99Ms.toFixed(0)} ms`,
          );
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return report(samples, contenders, base, withKafka, versions);
}

function report(
  samples: Sample[],
  contenders: readonly Contender[],
  base: number,
  withKafka: boolean,
  versions: { bullmq: string; redis: string },
): ScenarioResult {
  const of = (c: Contender, k: number) => samples.filter((s) => s.contender === c && s.concurrency === k);
  const rate = (ss: Sample[], f: (s: Sample) => number) => ss.map((s) => (s.tasks / f(s)) * 1000);
  const med = (ss: Sample[], f: (s: Sample) => number) => (ss.length ? median(ss.map(f)) : undefined);
  const rows: (string | number)[][] = [];
  for (const k of CONCURRENCY) {
    const bull = of('BullMQ', k);
    const bullEnq = med(bull, (s) => (s.tasks / s.enqueueMs) * 1000);
    const bullDrain = med(bull, (s) => (s.tasks / s.drainMs) * 1000);
    for (const c of contenders) {
      const ss = of(c, k);
      const sameSize = ss[0]?.tasks === bull[0]?.tasks;
      rows.push([
        k,
        c,
        ss[0]?.tasks ?? 0,
        spread(rate(ss, (s) => s.enqueueMs)),
        spread(rate(ss, (s) => s.drainMs)),
        spread(
          ss.map((s) => s.p50Ms),
          1,
        ),
        spread(
          ss.map((s) => s.p99Ms),
          1,
        ),
        ratio(
          med(ss, (s) => (s.tasks / s.enqueueMs) * 1000),
          bullEnq,
        ),
        ratio(
          med(ss, (s) => (s.tasks / s.drainMs) * 1000),
          bullDrain,
        ),
        sameSize
          ? ratio(
              med(ss, (s) => s.p99Ms),
              med(bull, (s) => s.p99Ms),
            )
          : '— (other size)',
      ]);
    }
  }
  const table: ResultTable = {
    title: `Flat queue: no-op tasks, enqueue then drain (median of repetitions, min–max)`,
    columns: [
      'concurrency',
      'contender',
      'tasks',
      'enqueue tasks/s',
      'drain tasks/s',
      'e2e p50 ms',
      'e2e p99 ms',
      'enqueue × BullMQ',
      'drain × BullMQ',
      'p99 × BullMQ',
    ],
    rows,
  };
  const charts: ResultChart[] = [
    {
      file: 'flat-drain.svg',
      title: 'Flat queue: drain rate vs concurrency',
      kind: 'line',
      x: 'concurrency',
      y: 'tasks/s',
      series: contenders.map((c) => ({
        name: c,
        points: CONCURRENCY.map((k): [number, number] => [
          k,
          med(of(c, k), (s) => (s.tasks / s.drainMs) * 1000) ?? 0,
        ]),
      })),
    },
    {
      file: 'flat-latency-cdf.svg',
      title: 'Flat queue: end-to-end latency at concurrency 100 (last repetition)',
      kind: 'cdf',
      x: 'ms from submission to completion',
      y: 'fraction of tasks',
      series: contenders.map((c) => ({ name: c, points: cdf(of(c, 100).at(-1)?.latencies ?? []) })),
    },
  ];
  const notes = [
    `${base.toLocaleString('en')} tasks at concurrency 100, ${tasksFor(base, 'BullMQ', 10)} at 10, ${tasksFor(base, 'BullMQ', 1)} at 1; the Kafka contender runs ` +
      `${tasksFor(base, 'SmartQueue Kafka', 100)}/${tasksFor(base, 'SmartQueue Kafka', 10)}/${tasksFor(base, 'SmartQueue Kafka', 1)} tasks at 100/10/1. ` +
      `BullMQ ${versions.bullmq} on Redis ${versions.redis}. Ratios > 1 mean SmartQueue is faster (rates) or slower (p99).`,
    'SmartQueue enqueue includes compiling the N-task workflow (validation, cycle check, LFT/LST) and recording the run with all its tasks; BullMQ enqueue is addBulk in chunks of 1,000 with no worker running.',
    'End-to-end latency in an enqueue-then-drain test is mostly time spent waiting in the queue, so it tracks enqueue time plus drain rate; it is comparable only between contenders of the same size.',
    'Durability differs: SmartQueue SQLite fsyncs its WAL on commit (synchronous=FULL); BullMQ relies on Redis persistence as configured on that server (not changed here), and SmartQueue memory keeps nothing.',
  ];
  for (const k of CONCURRENCY) {
    const bullDrain = med(of('BullMQ', k), (s) => (s.tasks / s.drainMs) * 1000);
    const bullEnq = med(of('BullMQ', k), (s) => (s.tasks / s.enqueueMs) * 1000);
    const losses = contenders
      .filter((c) => c !== 'BullMQ')
      .flatMap((c) => {
        const out: string[] = [];
        const d = med(of(c, k), (s) => (s.tasks / s.drainMs) * 1000);
        const e = med(of(c, k), (s) => (s.tasks / s.enqueueMs) * 1000);
        if (d !== undefined && bullDrain !== undefined && d < bullDrain)
          out.push(`${c} drains at ${ratio(d, bullDrain)}`);
        if (e !== undefined && bullEnq !== undefined && e < bullEnq)
          out.push(`${c} enqueues at ${ratio(e, bullEnq)}`);
        return out;
      });
    if (losses.length)
      notes.push(`Where we lose at concurrency ${k}: ${losses.join('; ')} of BullMQ's rate.`);
  }
  if (!withKafka) notes.push('BENCH_NO_KAFKA=1: the Kafka contender was left out of this run.');
  const raw = {
    versions,
    samples: samples.map(({ latencies: _latencies, ...s }) => s),
  };
  return { tables: [table], charts, notes, raw };
}

/** Scenario 1: the flat queue against BullMQ. */
export const flatScenario: Scenario = {
  name: 'flat',
  title: 'Flat queue vs BullMQ',
  run,
};
