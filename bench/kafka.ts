/**
 * The Kafka transport against the embedded default, in the same run: throughput of a flat run of
 * no-op tasks, and end-to-end latency of one dependent step (a chain of no-op tasks: from the
 * success of one task to the success of the next, which is dispatch + transport + run + result
 * + checkpoint), for
 *   - embedded: in-process transport, one local worker;
 *   - kafka tx: the Kafka transport with results published in Kafka transactions (the default);
 *   - kafka no-tx: the same without transactions (idempotent producer, plain offset commits).
 * Every mode uses the same engine, a SQLite store on disk (group commit) and a worker of the same
 * capacity in this process; the modes run alternately, --runs times each, and each figure is the
 * median, with the ratio to embedded.
 *
 *   npx tsx bench/kafka.ts [--flat 5000] [--chain 300] [--capacity 64] [--runs 3]
 *
 * Needs a Kafka broker (KAFKA_BROKER, default 127.0.0.1:9092; `bash scripts/services up kafka`).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CompiledPlan } from '../dsl/compiler.js';
import type { Engine } from '../engine/engine.js';
import { builtinHandlers } from '../plugins/handlers/index.js';
import { createEmbeddedRuntime } from '../runtime/embedded.js';
import { startKafkaWorker } from '../runtime/kafka-worker.js';
import { createServer } from '../runtime/server.js';
import { intOption, machine, median, noopPlan as plan, percentile } from './lib.js';

const FLAT = intOption('flat', 5000);
const CHAIN = intOption('chain', 300);
const CAPACITY = intOption('capacity', 64);
const RUNS = intOption('runs', 3);
const BROKER = process.env.KAFKA_BROKER ?? '127.0.0.1:9092';

type Mode = 'embedded' | 'kafka tx' | 'kafka no-tx';
const MODES: Mode[] = ['embedded', 'kafka tx', 'kafka no-tx'];

interface Setup {
  engine: Engine;
  close(): Promise<void>;
}

async function open(mode: Mode, dir: string): Promise<Setup> {
  const statePath = path.join(dir, `${randomUUID()}.db`);
  if (mode === 'embedded') {
    const rt = await createEmbeddedRuntime({ statePath, concurrency: CAPACITY });
    return { engine: rt.engine, close: () => rt.close() };
  }
  const url = `kafka://${BROKER}?prefix=bench-${randomUUID().slice(0, 8)}&partitions=4&transactions=${mode === 'kafka tx'}`;
  const server = await createServer({ listen: '127.0.0.1:0', statePath, transport: url, rateLimit: false });
  const worker = await startKafkaWorker({
    url,
    id: 'bench-worker',
    capacity: CAPACITY,
    handlers: builtinHandlers(),
  });
  // The scheduler counts the worker once its first heartbeat arrives.
  while (!server.kafka!.workers().includes('bench-worker')) await new Promise((r) => setTimeout(r, 20));
  return {
    engine: server.engine,
    close: async () => {
      await worker.close();
      await server.close();
    },
  };
}

/** Runs `p` to its end; returns the wall time (ms) and the success time of each task by id. */
async function runToEnd(
  engine: Engine,
  p: CompiledPlan,
): Promise<{ ms: number; successAt: Map<string, number> }> {
  const successAt = new Map<string, number>();
  const off = engine.events.on('task:attempt:succeeded', (e) => successAt.set(e.taskId, performance.now()));
  const start = performance.now();
  const runId = await engine.startRun(p);
  const status = await engine.waitForRun(runId);
  const ms = performance.now() - start;
  off();
  if (status !== 'succeeded') throw new Error(`run ${runId} ended ${status}`);
  return { ms, successAt };
}

async function main(): Promise<void> {
  console.log(`bench/kafka.ts: ${machine()}; broker ${BROKER}`);
  console.log(
    `flat ${FLAT} no-op tasks, chain of ${CHAIN}, worker capacity ${CAPACITY}, median of ${RUNS} runs\n`,
  );
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-bench-kafka-'));
  const flatPlan = plan('flat', FLAT, false);
  const chainPlan = plan('chain', CHAIN, true);
  const rates = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  const steps = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const mode of run % 2 ? MODES : [...MODES].reverse()) {
        const setup = await open(mode, dir);
        try {
          const flatRun = await runToEnd(setup.engine, flatPlan);
          rates.get(mode)!.push((FLAT / flatRun.ms) * 1000);
          const chainRun = await runToEnd(setup.engine, chainPlan);
          for (let i = 1; i < CHAIN; i++)
            steps.get(mode)!.push(chainRun.successAt.get(`t${i}`)! - chainRun.successAt.get(`t${i - 1}`)!);
          process.stderr.write(`  run ${run} ${mode}: ${Math.round((FLAT / flatRun.ms) * 1000)} tasks/s\n`);
        } finally {
          await setup.close();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const base = median(rates.get('embedded')!);
  const baseP50 = percentile(steps.get('embedded')!, 50);
  console.log('mode          tasks/s   vs embedded   step p50 ms   step p99 ms   p50 vs embedded');
  for (const mode of MODES) {
    const rate = median(rates.get(mode)!);
    const p50 = percentile(steps.get(mode)!, 50);
    const p99 = percentile(steps.get(mode)!, 99);
    console.log(
      `${mode.padEnd(12)} ${Math.round(rate).toString().padStart(8)}   ${(rate / base).toFixed(3).padStart(11)}   ` +
        `${p50.toFixed(2).padStart(11)}   ${p99.toFixed(2).padStart(11)}   ${(p50 / baseP50).toFixed(1).padStart(14)}×`,
    );
  }
}

await main();
