/**
 * SmartQueue as a server, measured from a gRPC client: SubmitTask throughput (unary, one call at
 * a time and many in flight) against SubmitTasks batches, and end-to-end task latency (the
 * SubmitTask call sent → the task's success seen on a WatchTasks stream) with the tasks run by
 * remote `smartqueue worker` processes connected over the Workers stream.
 *
 *   npm run build && npx tsx bench/grpc.ts [--workers 2] [--capacity 64] [--seq 500]
 *     [--total 4000] [--batch 500] [--e2e 400] [--runs 3]
 *
 * The server (SQLite checkpoints on disk, group commit) and the client share this process; the
 * workers are separate processes (the compiled CLI, so build first). Every figure is the median
 * of --runs runs, and the batched rates are also given as ratios to the unary ones of the same
 * run.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createSmartQueueClient } from '../plugins/api/grpc/index.js';
import type { SmartQueueClient } from '../plugins/api/grpc/index.js';
import { createServer } from '../runtime/server.js';
import { intOption, machine, median, percentile } from './lib.js';

const WORKERS = intOption('workers', 2);
const CAPACITY = intOption('capacity', 64);
const SEQ = intOption('seq', 500);
const TOTAL = intOption('total', 4000);
const BATCH = intOption('batch', 500);
const E2E = intOption('e2e', 400);
const RUNS = intOption('runs', 3);
const IN_FLIGHT = [16, 64, 256];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'smartqueue.js');

let namespaces = 0;
const freshNamespace = () => `bench-${++namespaces}`;

/** Submits `n` no-op tasks with `inFlight` unary calls outstanding; returns tasks/s. */
async function unary(client: SmartQueueClient, n: number, inFlight: number): Promise<number> {
  const namespace = freshNamespace();
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, n) }, async () => {
      while (next < n) {
        const i = next++;
        await client.submitTask({ namespace, taskId: `t${i}`, handler: 'noop' });
      }
    }),
  );
  return (n / (performance.now() - start)) * 1000;
}

/** Submits `n` no-op tasks in SubmitTasks calls of `batch` (4 calls in flight); returns tasks/s. */
async function batched(client: SmartQueueClient, n: number, batch: number): Promise<number> {
  const namespace = freshNamespace();
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < n) {
        const from = next;
        next = Math.min(n, next + batch);
        const tasks = Array.from({ length: next - from }, (_, k) => ({
          taskId: `t${from + k}`,
          handler: 'noop',
        }));
        await client.submitTasks({ namespace, tasks });
      }
    }),
  );
  return (n / (performance.now() - start)) * 1000;
}

/**
 * End-to-end latency of `n` tasks with `inFlight` outstanding: from sending SubmitTask to seeing
 * the task succeed on a WatchTasks stream of its namespace's run.
 */
async function endToEnd(client: SmartQueueClient, n: number, inFlight: number): Promise<number[]> {
  const namespace = freshNamespace();
  await client.submitTask({ namespace, taskId: 'first', handler: 'noop' });
  const waiting = new Map<string, () => void>();
  const abort = new AbortController();
  const watching = (async () => {
    try {
      for await (const u of client.watchTasks({ namespace }, { signal: abort.signal })) {
        if (u.status === 'TASK_STATUS_SUCCEEDED') waiting.get(u.taskId)?.();
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
        const done = new Promise<void>((resolve) => waiting.set(taskId, resolve));
        const t0 = performance.now();
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

/** Starts one `smartqueue worker` process and resolves once it has registered. */
function startWorker(address: string, id: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--server', address, '--capacity', String(CAPACITY), '--id', id],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`worker ${id} did not register in 20 s:\n${out}`)),
      20_000,
    );
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('registered with')) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => reject(new Error(`worker ${id} exited (${code}):\n${out}`)));
  });
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

async function main(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('the workers run the compiled CLI: run `npm run build` first');
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-bench-grpc-'));
  const server = await createServer({
    listen: '127.0.0.1:0',
    statePath: path.join(dir, 'state.db'),
    flushIntervalMs: 2,
    rateLimit: false,
    limits: { maxTasksPerSubmission: Math.max(10_000, BATCH) },
  });
  const workers: ChildProcess[] = [];
  const client = createSmartQueueClient(server.address);
  try {
    for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(server.address, `bench-${i + 1}`));
    console.log(machine());
    console.log(
      `server on ${server.address} (grpc-js, loopback, insecure, SQLite checkpoints with group commit); ` +
        `${WORKERS} worker processes × ${CAPACITY} slots; median of ${RUNS} runs`,
    );
    await unary(client, 500, 16); // warm-up: JIT, connections, SQLite pages

    console.log(
      '\nSubmitTask throughput (no-op tasks into one namespace run each; workers run them meanwhile)',
    );
    const rows: [string, number][] = [];
    const measure = async (label: string, fn: () => Promise<number>) => {
      const rates: number[] = [];
      for (let r = 0; r < RUNS; r++) rates.push(await fn());
      rows.push([label, median(rates)]);
      console.log(`  ${label.padEnd(40)} ${fmt(median(rates)).padStart(8)} tasks/s`);
    };
    await measure(`unary, sequential (${fmt(SEQ)} calls)`, () => unary(client, SEQ, 1));
    for (const inFlight of IN_FLIGHT)
      await measure(`unary, ${inFlight} in flight (${fmt(TOTAL)} calls)`, () =>
        unary(client, TOTAL, inFlight),
      );
    for (const size of [50, BATCH])
      await measure(`SubmitTasks × ${size} (${fmt(TOTAL)} tasks)`, () => batched(client, TOTAL, size));
    const best = Math.max(...rows.filter(([l]) => l.startsWith('unary')).map(([, r]) => r));
    const top = rows.at(-1)![1];
    console.log(`  batched (${BATCH}) / best unary: ${(top / best).toFixed(1)}×`);

    console.log('\nEnd-to-end task latency (SubmitTask sent → success seen on WatchTasks), remote workers');
    for (const inFlight of [1, 64]) {
      const p50s: number[] = [];
      const p99s: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const latencies = await endToEnd(client, E2E, inFlight);
        p50s.push(percentile(latencies, 50));
        p99s.push(percentile(latencies, 99));
      }
      console.log(
        `  ${`${inFlight} in flight (${fmt(E2E)} tasks)`.padEnd(40)} p50 ${median(p50s).toFixed(2)} ms   p99 ${median(p99s).toFixed(2)} ms`,
      );
    }
  } finally {
    client.close();
    for (const w of workers) w.kill('SIGTERM');
    await server.close();
    await Promise.all(
      workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))),
    );
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
