/**
 * Scenario 7: SmartQueue as a server, measured from a gRPC client (folded in from the former
 * bench/grpc.ts). SubmitTask throughput (unary, one call at a time and many in flight) against
 * SubmitTasks batches, and end-to-end task latency (SubmitTask sent → the task's success seen on
 * a WatchTasks stream) with the tasks run by remote `smartqueue worker` processes connected over
 * the Workers stream.
 *
 * The server (SQLite checkpoints on disk, group commit every 2 ms) and the client share the
 * runner's process; the workers are separate processes running the compiled CLI, so this
 * scenario needs `npm run build` (`npm run bench` builds first). Sizes: 2 workers × 64 slots;
 * 500 sequential calls, 4,000 calls or tasks per throughput figure, 400 tasks per latency figure
 * (quick mode: 100, 800 and 100).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createSmartQueueClient } from '../../plugins/api/grpc/index.js';
import type { SmartQueueClient } from '../../plugins/api/grpc/index.js';
import { createServer } from '../../runtime/server.js';
import { percentile } from '../lib.js';
import { fmt, ratio, summarize, withSpread } from '../harness/stats.js';
import type { Scenario, ScenarioContext } from '../harness/types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'smartqueue.js');
const WORKERS = 2;
const CAPACITY = 64;
const BATCH = 500;

let namespaces = 0;
const freshNamespace = () => `bench-${process.pid}-${++namespaces}`;

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

/** Latencies (ms) of `n` tasks with `inFlight` outstanding: SubmitTask sent → success watched. */
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
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
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
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${id} exited (${code}):\n${out}`));
    });
  });
}

export const grpcScenario: Scenario = {
  name: 'grpc',
  title: 'gRPC server: SubmitTask throughput and end-to-end latency through remote workers',
  async run(ctx: ScenarioContext) {
    if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
      throw new Error(
        'the remote workers run the compiled CLI and dist/ is missing: run `npm run build` first',
      );
    }
    const seq = ctx.quick ? 100 : 500;
    const total = ctx.quick ? 800 : 4000;
    const e2e = ctx.quick ? 100 : 400;
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
      await unary(client, 300, 16); // warm-up: JIT, connections, SQLite pages

      const throughput: { label: string; rates: number[] }[] = [];
      const measure = async (label: string, fn: () => Promise<number>) => {
        const rates: number[] = [];
        for (let r = 0; r < ctx.runs; r++) rates.push(await fn());
        throughput.push({ label, rates });
        ctx.progress(`${label}: ${fmt(summarize(rates).median)} tasks/s`);
      };
      await measure(`unary, sequential (${fmt(seq)} calls)`, () => unary(client, seq, 1));
      for (const inFlight of [16, 64, 256]) {
        await measure(`unary, ${inFlight} in flight (${fmt(total)} calls)`, () =>
          unary(client, total, inFlight),
        );
      }
      for (const size of [50, BATCH]) {
        await measure(`SubmitTasks × ${size} (${fmt(total)} tasks)`, () => batched(client, total, size));
      }
      const bestUnary = Math.max(
        ...throughput.filter((t) => t.label.startsWith('unary')).map((t) => summarize(t.rates).median),
      );

      const latency: { inFlight: number; p50: number[]; p99: number[]; last: number[] }[] = [];
      for (const inFlight of [1, 64]) {
        const p50: number[] = [];
        const p99: number[] = [];
        let last: number[] = [];
        for (let r = 0; r < ctx.runs; r++) {
          last = await endToEnd(client, e2e, inFlight);
          p50.push(percentile(last, 50));
          p99.push(percentile(last, 99));
        }
        latency.push({ inFlight, p50, p99, last });
        ctx.progress(`end to end, ${inFlight} in flight: p50 ${fmt(summarize(p50).median)} ms`);
      }

      return {
        tables: [
          {
            title: `Submission throughput, no-op tasks (${WORKERS} worker processes × ${CAPACITY} slots)`,
            columns: ['mode', 'tasks/s, median (min–max)', 'vs best unary'],
            rows: throughput.map((t) => {
              const s = summarize(t.rates);
              return [t.label, withSpread(s), ratio(s.median / bestUnary)];
            }),
          },
          {
            title: `End-to-end latency, SubmitTask sent → success seen on WatchTasks (${fmt(e2e)} tasks)`,
            columns: ['in flight', 'p50 ms, median (min–max)', 'p99 ms, median (min–max)'],
            rows: latency.map((l) => [
              l.inFlight,
              withSpread(summarize(l.p50)),
              withSpread(summarize(l.p99)),
            ]),
          },
        ],
        charts: [
          {
            file: 'grpc-latency-cdf.svg',
            title: 'End-to-end task latency through remote workers (last repetition)',
            kind: 'cdf',
            x: 'latency (ms)',
            y: 'fraction of tasks',
            series: latency.map((l) => {
              const sorted = [...l.last].sort((a, b) => a - b);
              return {
                name: `${l.inFlight} in flight`,
                points: sorted.map((v, i) => [v, (i + 1) / sorted.length] as [number, number]),
              };
            }),
          },
        ],
        notes: [
          'Client, server and both worker processes share the machine. A sequential unary call waits for its checkpoint to be durable (SQLite synchronous=FULL, group commit every 2 ms); calls in flight share those commits, and a batch shares one commit and one round trip among all its tasks.',
        ],
        raw: {
          workers: WORKERS,
          capacity: CAPACITY,
          throughput,
          latency: latency.map(({ inFlight, p50, p99 }) => ({ inFlight, p50, p99 })),
        },
      };
    } finally {
      client.close();
      for (const w of workers) w.kill('SIGTERM');
      await server.close();
      await Promise.all(
        workers.map(
          (w) =>
            new Promise((r) => (w.exitCode !== null || w.signalCode !== null ? r(null) : w.once('exit', r))),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
