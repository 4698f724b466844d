/**
 * The gRPC API's cost: SubmitTask throughput (unary one at a time, and N calls in flight, since
 * there is no batch RPC) and end-to-end task latency (SubmitTask sent → `task:attempt:succeeded`
 * seen on a WatchRun stream), through a real grpc-js server on loopback over the embedded runtime
 * (SQLite checkpoints on, group commit) with local workers running no-op tasks.
 *
 *   npx tsx bench/grpc.ts [--seq 500] [--total 2000] [--e2e 300] [--concurrency 64] [--runs 3]
 *
 * Every figure is the median of --runs runs; client and server share this process (and its CPU).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createGrpcApi, createSmartQueueClient } from '../plugins/api/grpc/index.js';
import type { SmartQueueClient } from '../plugins/api/grpc/index.js';
import { createEmbeddedRuntime } from '../runtime/embedded.js';
import { intOption, machine, median } from './lib.js';

const SEQ = intOption('seq', 500);
const TOTAL = intOption('total', 2000);
const E2E = intOption('e2e', 300);
const CONCURRENCY = intOption('concurrency', 64);
const RUNS = intOption('runs', 3);
const IN_FLIGHT = [1, 16, 64, 256];

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

let namespaces = 0;
const freshNamespace = () => `bench-${++namespaces}`;

/** Submits `n` no-op tasks with `inFlight` calls outstanding; returns wall ms and per-call ms. */
async function submitMany(client: SmartQueueClient, n: number, inFlight: number) {
  const namespace = freshNamespace();
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, n) }, async () => {
      while (next < n) {
        const i = next++;
        const t0 = performance.now();
        await client.submitTask({ namespace, taskId: `t${i}`, handler: 'noop' });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { ms: performance.now() - start, latencies };
}

/**
 * End-to-end latency of `n` tasks with `inFlight` outstanding: from sending SubmitTask to seeing
 * the task's success on a WatchRun stream of its run.
 */
async function endToEnd(client: SmartQueueClient, n: number, inFlight: number): Promise<number[]> {
  const namespace = freshNamespace();
  const { runId } = await client.submitTask({ namespace, taskId: 'first', handler: 'noop' });
  const waiting = new Map<string, () => void>();
  const abort = new AbortController();
  const watching = (async () => {
    try {
      for await (const e of client.watchRun({ runId }, { signal: abort.signal })) {
        if (e.type === 'task:attempt:succeeded') waiting.get(e.taskId)?.();
      }
    } catch {
      // Cancelled at the end.
    }
  })();
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, n) }, async () => {
      while (next < n) {
        const taskId = `t${next++}`;
        const t0 = performance.now();
        const done = new Promise<void>((resolve) => waiting.set(taskId, resolve));
        await client.submitTask({ namespace, taskId, handler: 'noop' });
        await done;
        waiting.delete(taskId);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  abort.abort();
  await watching;
  return latencies;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-bench-grpc-'));
  const runtime = await createEmbeddedRuntime({ statePath: path.join(dir, 'state.db'), concurrency: 256 });
  const api = createGrpcApi({ engine: runtime.engine, store: runtime.store });
  const address = `127.0.0.1:${await api.start('127.0.0.1', 0)}`;
  const client = createSmartQueueClient(address);
  try {
    console.log(machine());
    console.log(
      `gRPC API on ${address} (grpc-js, loopback, insecure), embedded runtime: SQLite checkpoints, 1 local worker × 256 slots; median of ${RUNS} runs`,
    );
    await submitMany(client, 500, 16); // warm-up: JIT, connections, SQLite pages

    console.log('\nSubmitTask throughput (no-op tasks into one namespace run each)');
    for (const inFlight of IN_FLIGHT) {
      const n = inFlight === 1 ? SEQ : TOTAL;
      const rates: number[] = [];
      const p50s: number[] = [];
      const p99s: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const { ms, latencies } = await submitMany(client, n, inFlight);
        rates.push((n / ms) * 1000);
        p50s.push(percentile(latencies, 50));
        p99s.push(percentile(latencies, 99));
      }
      const label =
        inFlight === 1 ? `unary, sequential (${fmt(n)} calls)` : `${inFlight} in flight (${fmt(n)} calls)`;
      console.log(
        `  ${label.padEnd(34)} ${fmt(median(rates)).padStart(7)} calls/s   call p50 ${median(p50s).toFixed(2)} ms  p99 ${median(p99s).toFixed(2)} ms`,
      );
    }

    console.log('\nEnd-to-end task latency (SubmitTask sent → success seen on WatchRun)');
    for (const inFlight of [1, CONCURRENCY]) {
      const p50s: number[] = [];
      const p99s: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const latencies = await endToEnd(client, E2E, inFlight);
        p50s.push(percentile(latencies, 50));
        p99s.push(percentile(latencies, 99));
      }
      console.log(
        `  ${`${inFlight} in flight (${fmt(E2E)} tasks)`.padEnd(34)} p50 ${median(p50s).toFixed(2)} ms   p99 ${median(p99s).toFixed(2)} ms`,
      );
    }
  } finally {
    client.close();
    await api.close();
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
