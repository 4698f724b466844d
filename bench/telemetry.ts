/**
 * What metrics and tracing cost (issue 7): throughput of the same workload on `smartqueue serve`'s
 * runtime (runtime/server.ts: SQLite checkpoints on disk, group commit, a local worker of
 * --capacity slots in the server process, tasks started on its engine) in four modes:
 *   - off: no HTTP port, no tracing (a server without `--http` and `--trace-exporter`);
 *   - metrics: `--http`, so the Prometheus registry is fed by the engine's events, and /metrics is
 *     scraped over HTTP every --scrape-ms, as Prometheus would;
 *   - metrics + tracing: the same, plus OpenTelemetry spans of every run and attempt (sampling
 *     ratio 1) exported to Zipkin (ZIPKIN, default http://127.0.0.1:9411);
 *   - tracing 0.1: the same with sampling ratio 0.1.
 * The workloads: a warm-up run (not measured), then a flat run of --flat no-op tasks, --many runs
 * of --size independent no-op tasks started together (many small submissions, as a server sees;
 * the sampling ratio decides per run, so only this workload shows what ratio 0.1 saves), and a
 * chain of --chain tasks (one dependent step at a time: latency-bound).
 *
 * The OpenTelemetry Node SDK registers process-wide globals (tracer provider, context manager),
 * so a second SDK in the same process would not trace: each run of each mode is a child process
 * (this script with --child <mode>), and the modes alternate (reversed every other run). Each
 * figure is the median of --runs, with min–max, and its ratio to `off` measured in the same run.
 * Local workers put the worker's execute spans in the server process too: the figures are the
 * whole cost of telemetry on one machine, scheduler and worker side together.
 *
 *   npx tsx bench/telemetry.ts [--flat 5000] [--many 100] [--size 25] [--chain 200] [--capacity 64] [--runs 3] [--scrape-ms 1000]
 *
 * With Zipkin unreachable, spans go to a sink in this script that reads and discards them (same
 * serialization and HTTP cost; no Zipkin storage), and the output says so.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CompiledPlan } from '../dsl/compiler.js';
import type { Engine } from '../engine/engine.js';
import { resolveTracingOptions } from '../plugins/telemetry/tracing/options.js';
import { createServer } from '../runtime/server.js';
import { intOption, machine, median, noopPlan as plan } from './lib.js';

const FLAT = intOption('flat', 5000);
const MANY = intOption('many', 100);
const SIZE = intOption('size', 25);
const CHAIN = intOption('chain', 200);
const CAPACITY = intOption('capacity', 64);
const RUNS = intOption('runs', 3);
const SCRAPE_MS = intOption('scrape-ms', 1000);
const WARMUP = 500;
const ZIPKIN = (process.env.ZIPKIN ?? 'http://127.0.0.1:9411').replace(/\/+$/, '');

type Mode = 'off' | 'metrics' | 'traced' | 'sampled';
const MODES: Mode[] = ['off', 'metrics', 'traced', 'sampled'];
const LABEL: Record<Mode, string> = {
  off: 'off',
  metrics: 'metrics',
  traced: 'metrics + tracing 1.0',
  sampled: 'metrics + tracing 0.1',
};
type Workload = 'flat' | 'many' | 'chain';
const WORKLOADS: Workload[] = ['flat', 'many', 'chain'];

/** What one child reports. */
interface ChildResult {
  mode: Mode;
  rate: Record<Workload, number>;
  scrapes: number;
  /** Spans the SDK said it dropped (BatchSpanProcessor queue full), from its diag warnings. */
  dropped: number;
  /** Zipkin's traces of the --many runs, their spans and the spans they should have. */
  zipkin?: { traces: number; spans: number; expected: number };
  /** CPU time of this process over the measured workloads, per task (µs). */
  cpuUsPerTask: number;
}

/** Starts `plans` together and waits for all; returns tasks/s. */
async function runAll(engine: Engine, plans: CompiledPlan[]): Promise<number> {
  const tasks = plans.reduce((n, p) => n + p.order.length, 0);
  const start = performance.now();
  const ids = await Promise.all(plans.map((p) => engine.startRun(p)));
  const statuses = await Promise.all(ids.map((id) => engine.waitForRun(id)));
  const ms = performance.now() - start;
  const bad = statuses.find((s) => s !== 'succeeded');
  if (bad) throw new Error(`a run ended ${bad}`);
  return (tasks / ms) * 1000;
}

/**
 * The traces of the --many small runs that Zipkin stored for `service`, once their count stops
 * growing (ingestion is asynchronous), and whether each is whole: a run span, and per task its
 * attempt, queue wait, dispatch, execute and checkpoint spans. Only these small traces are
 * fetched: a trace of thousands of tasks is too much for a 256 MiB Zipkin to serve.
 */
async function zipkinCount(service: string): Promise<{ traces: number; spans: number; expected: number }> {
  let last = { traces: -1, spans: -1, expected: 0 };
  for (let i = 0; i < 20; i++) {
    const url =
      `${ZIPKIN}/api/v2/traces?serviceName=${encodeURIComponent(service)}` +
      `&spanName=${encodeURIComponent('run small')}&limit=${MANY}&lookback=3600000`;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`Zipkin answered ${res.status}: ${await res.text()}`);
    const traces = (await res.json()) as unknown[][];
    const now = {
      traces: traces.length,
      spans: traces.reduce((n, t) => n + t.length, 0),
      expected: traces.length * (1 + 5 * SIZE),
    };
    if (now.spans === last.spans) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return last;
}

/** Counts the spans the BatchSpanProcessor drops (it reports them only to the diag logger). */
async function countDroppedSpans(): Promise<{ dropped: number }> {
  const counter = { dropped: 0 };
  const { diag, DiagLogLevel } = await import('@opentelemetry/api');
  const print = (m: string) => process.stderr.write(`  otel: ${m}\n`);
  diag.setLogger(
    {
      error: print,
      warn: (m) => {
        const d = /Dropped (\d+) spans/.exec(m);
        if (d) counter.dropped += Number(d[1]);
        else print(m);
      },
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  return counter;
}

/** One mode, one run, in this (child) process; prints its ChildResult as JSON. */
async function child(mode: Mode, endpoint: string): Promise<void> {
  const traced = mode === 'traced' || mode === 'sampled';
  const drops = traced ? await countDroppedSpans() : { dropped: 0 };
  const service = `smartqueue-bench-${randomUUID().slice(0, 8)}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-bench-telemetry-'));
  const server = await createServer({
    listen: '127.0.0.1:0',
    statePath: path.join(dir, 'state.db'),
    localWorkers: 1,
    localConcurrency: CAPACITY,
    rateLimit: false,
    ...(mode !== 'off' && { http: '127.0.0.1:0' }),
    ...(traced && {
      tracing: resolveTracingOptions({
        explicit: {
          exporter: 'zipkin',
          endpoint,
          serviceName: service,
          sampleRatio: mode === 'traced' ? 1 : 0.1,
        },
        env: {},
      }),
    }),
  });
  let scrapes = 0;
  const scrape = async (): Promise<string> => {
    const res = await fetch(`http://${server.httpAddress!}/metrics`);
    if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
    scrapes++;
    return res.text();
  };
  // One scrape at a time, like Prometheus (a slow scrape delays the next rather than piling up).
  let scraping: Promise<unknown> = Promise.resolve();
  const timer =
    server.httpAddress === undefined
      ? undefined
      : setInterval(() => (scraping = scraping.then(scrape)), SCRAPE_MS);
  const rate = {} as Record<Workload, number>;
  let cpuUsPerTask = 0;
  try {
    await runAll(server.engine, [plan('warmup', WARMUP, false)]);
    const cpu0 = process.cpuUsage();
    rate.flat = await runAll(server.engine, [plan('flat', FLAT, false)]);
    const small = plan('small', SIZE, false);
    rate.many = await runAll(
      server.engine,
      Array.from({ length: MANY }, () => small),
    );
    rate.chain = await runAll(server.engine, [plan('chain', CHAIN, true)]);
    const cpu = process.cpuUsage(cpu0);
    cpuUsPerTask = (cpu.user + cpu.system) / (FLAT + MANY * SIZE + CHAIN);
    clearInterval(timer);
    await scraping;
    if (server.httpAddress !== undefined) {
      // The registry really was fed: every attempt of every workload counted as a success.
      const counted = [
        ...(await scrape()).matchAll(/^smartqueue_task_attempts_succeeded_total(?:\{[^}]*\})? (\d+)/gm),
      ].reduce((s, x) => s + Number(x[1]), 0);
      const expected = WARMUP + FLAT + MANY * SIZE + CHAIN;
      if (counted !== expected)
        throw new Error(`/metrics counted ${counted} successes, expected ${expected}`);
    }
  } finally {
    clearInterval(timer);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const result: ChildResult = { mode, rate, scrapes, dropped: drops.dropped, cpuUsPerTask };
  if (traced && endpoint.startsWith(ZIPKIN)) result.zipkin = await zipkinCount(service);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs this script as a child in `mode`; resolves to what it reports. */
function spawnChild(mode: Mode, endpoint: string): Promise<ChildResult> {
  const args = [
    ...process.execArgv,
    process.argv[1]!,
    ...process.argv.slice(2),
    '--child',
    mode,
    '--endpoint',
    endpoint,
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1);
      if (code !== 0 || !line) reject(new Error(`child ${mode} exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

/** Zipkin if it answers; else a sink here that reads the spans and discards them. */
async function spanEndpoint(): Promise<{ endpoint: string; what: string; close(): void }> {
  try {
    const res = await fetch(`${ZIPKIN}/health`, { signal: AbortSignal.timeout(2000) });
    if (res.ok) return { endpoint: `${ZIPKIN}/api/v2/spans`, what: `Zipkin at ${ZIPKIN}`, close: () => {} };
  } catch {
    // Falls through to the sink.
  }
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(202).end());
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const port = (sink.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}/api/v2/spans`,
    what: `NOT Zipkin (${ZIPKIN} did not answer): a sink in this script that discards the spans`,
    close: () => sink.close(),
  };
}

function range(values: number[]): string {
  const f = (v: number) => Math.round(v).toLocaleString('en');
  return `${f(Math.min(...values))}–${f(Math.max(...values))}`;
}

async function main(): Promise<void> {
  const target = await spanEndpoint();
  console.log(`bench/telemetry.ts: ${machine()}`);
  console.log(
    `serve runtime, SQLite on disk, 1 local worker × ${CAPACITY}; warm-up ${WARMUP}, flat ${FLAT}, ` +
      `${MANY} runs × ${SIZE}, chain ${CHAIN} no-op tasks; /metrics scraped every ${SCRAPE_MS} ms; ` +
      `spans to ${target.what}; one child process per mode and run, median of ${RUNS} runs (min–max)\n`,
  );
  const results = new Map<Mode, ChildResult[]>(MODES.map((m) => [m, []]));
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const mode of run % 2 ? MODES : [...MODES].reverse()) {
        const r = await spawnChild(mode, target.endpoint);
        results.get(mode)!.push(r);
        const z = r.zipkin
          ? `, Zipkin: ${r.zipkin.traces} small runs traced, ${r.zipkin.spans}/${r.zipkin.expected} spans`
          : '';
        process.stderr.write(
          `  run ${run} ${LABEL[mode]}: ${WORKLOADS.map((w) => `${w} ${Math.round(r.rate[w])}`).join(', ')} tasks/s; ` +
            `${r.scrapes} scrapes, ${r.dropped} spans dropped${z}\n`,
        );
      }
    }
  } finally {
    target.close();
  }
  const base = Object.fromEntries(
    WORKLOADS.map((w) => [w, median(results.get('off')!.map((r) => r.rate[w]))]),
  ) as Record<Workload, number>;
  const baseCpu = median(results.get('off')!.map((r) => r.cpuUsPerTask));
  const head = { flat: `flat ${FLAT}`, many: `${MANY} runs × ${SIZE}`, chain: `chain ${CHAIN}` };
  console.log(
    `${'tasks/s'.padEnd(22)}` +
      WORKLOADS.map((w) => `${head[w].padStart(26)}  ${'vs off'.padStart(6)}`).join('') +
      `${'CPU µs/task'.padStart(13)}  ${'vs off'.padStart(6)}`,
  );
  for (const mode of MODES) {
    const rs = results.get(mode)!;
    const cells = WORKLOADS.map((w) => {
      const rates = rs.map((r) => r.rate[w]);
      const m = median(rates);
      const cell = `${Math.round(m).toLocaleString('en')} (${range(rates)})`;
      return `${cell.padStart(26)}  ${(m / base[w]).toFixed(2).padStart(6)}`;
    });
    const cpu = median(rs.map((r) => r.cpuUsPerTask));
    console.log(
      `${LABEL[mode].padEnd(22)}${cells.join('')}${cpu.toFixed(0).padStart(13)}  ${(cpu / baseCpu).toFixed(2).padStart(6)}`,
    );
  }
  for (const mode of ['traced', 'sampled'] as const) {
    const rs = results.get(mode)!;
    const dropped = rs.map((r) => r.dropped).join(' / ');
    const z = rs.every((r) => r.zipkin)
      ? `; Zipkin holds ${rs.map((r) => r.zipkin!.traces).join(' / ')} traces of the ${MANY} small runs, ` +
        `with ${rs.map((r) => `${r.zipkin!.spans}/${r.zipkin!.expected}`).join(' / ')} of their spans`
      : '';
    console.log(`${LABEL[mode]}: spans dropped by the SDK (queue full) ${dropped}${z}`);
  }
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  const mode = process.argv[childIndex + 1] as Mode;
  if (!MODES.includes(mode)) throw new Error(`--child needs one of ${MODES.join(', ')}`);
  const e = process.argv.indexOf('--endpoint');
  await child(mode, e >= 0 ? process.argv[e + 1]! : `${ZIPKIN}/api/v2/spans`);
} else {
  await main();
}
