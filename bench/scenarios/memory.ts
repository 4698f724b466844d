/**
 * Scenario 6: memory per pending task. The engine gets one run of N independent no-op tasks and
 * no worker, so every task stays queued in the shard heaps; the figure is the growth of the
 * heap (V8 heap used + external memory, which holds the heaps' typed arrays) per task, after a
 * full garbage collection, split into the compiled plan and the engine's own state (frontier,
 * task records, heap entries, the checkpoint store's part). RSS growth is reported too: with the
 * SQLite store, part of the state lives in SQLite's page cache, outside V8.
 *
 * Each measurement is a child process (`node --expose-gc`, this file with `--child`), so one
 * run's garbage cannot inflate the next and gc() is available. N = 1,000,000 (quick: 100,000).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fmt, summarize, withSpread } from '../harness/stats.js';
import type { Scenario, ScenarioContext } from '../harness/types.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(SELF), '..', '..');

type Store = 'memory' | 'sqlite';
const STORES: { store: Store; label: string }[] = [
  { store: 'memory', label: 'durability off (in-memory store)' },
  { store: 'sqlite', label: 'durability on (SQLite file)' },
];

/** What one child reports, in bytes. */
interface Sample {
  tasks: number;
  queued: number;
  planBytes: number;
  engineBytes: number;
  engineRssBytes: number;
}

function used(): { heap: number; rss: number } {
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
}

async function settle(): Promise<void> {
  // A few turns of the event loop so pending checkpoint writes land, then two full collections
  // (the first may only schedule finalizers).
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the memory child needs node --expose-gc');
  gc();
  gc();
}

/** The child: queue `n` tasks and print one JSON {@link Sample}. */
async function child(n: number, store: Store): Promise<void> {
  const { noopPlan } = await import('../lib.js');
  const { Engine } = await import('../../engine/engine.js');
  const { openStore } = await import('../../runtime/open-store.js');
  const { createInProcessTransport } = await import('../../plugins/transport/in-process/index.js');
  const { createAvlBalancer } = await import('../../plugins/balancer/avl/index.js');
  const { createInProcessCoordinator } = await import('../../plugins/coordinator/in-process/index.js');
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-bench-mem-'));
  try {
    await settle();
    const m0 = used();
    const plan = noopPlan('memory', n, false);
    await settle();
    const m1 = used();
    const engine = new Engine({
      store: await openStore(store === 'memory' ? false : path.join(dir, 'state.db')),
      transport: createInProcessTransport(),
      balancer: createAvlBalancer(), // no worker joins, so nothing leaves the heaps
      coordinator: createInProcessCoordinator(),
    });
    await engine.startRun(plan);
    await settle();
    const m2 = used();
    const queued = engine.readyPerShard().reduce((a, b) => a + b, 0);
    const sample: Sample = {
      tasks: n,
      queued,
      planBytes: m1.heap - m0.heap,
      engineBytes: m2.heap - m1.heap,
      engineRssBytes: m2.rss - m1.rss,
    };
    process.stdout.write(`${JSON.stringify(sample)}\n`);
    // Keeps the plan and engine reachable until after the measurement above.
    if (plan.order.length !== n) throw new Error('plan lost tasks');
    await engine.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const run = promisify(execFile);

async function measure(n: number, store: Store): Promise<Sample> {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', SELF, '--child', String(n), store],
    { cwd: ROOT, maxBuffer: 1 << 20, timeout: 600_000 },
  );
  const sample = JSON.parse(stdout.trim().split('\n').pop()!) as Sample;
  if (sample.queued !== n)
    throw new Error(`${store}: ${sample.queued} of ${n} tasks were queued, expected all`);
  return sample;
}

export const memoryScenario: Scenario = {
  name: 'memory',
  title: 'Memory: bytes per pending task',
  async run(ctx: ScenarioContext) {
    const n = ctx.quick ? 100_000 : 1_000_000;
    // Memory figures barely vary between runs, and a child at 1,000,000 tasks takes about a
    // minute on 2 cores: two children per store (one in quick mode) keep the suite's budget.
    const reps = ctx.quick ? 1 : Math.min(ctx.runs, 2);
    const samples: Record<Store, Sample[]> = { memory: [], sqlite: [] };
    for (let r = 0; r < reps; r++) {
      for (const { store } of r % 2 ? [...STORES].reverse() : STORES) {
        ctx.progress(`${fmt(n)} tasks queued, ${store} store, repetition ${r + 1}/${reps}`);
        samples[store].push(await measure(n, store));
      }
    }
    const per = (list: Sample[], k: keyof Sample) => summarize(list.map((s) => s[k] / n));
    const rows = STORES.map(({ store, label }) => [
      label,
      withSpread(per(samples[store], 'engineBytes')),
      withSpread(per(samples[store], 'planBytes')),
      withSpread(per(samples[store], 'engineRssBytes')),
      Math.round(per(samples[store], 'engineBytes').median * (n / 2 ** 20)),
    ]);
    return {
      tables: [
        {
          title: `${fmt(n)} tasks queued in the engine, no worker: bytes per task, median (min–max) of ${reps} child processes`,
          columns: [
            'store',
            'engine state (V8 heap + external)',
            'compiled plan',
            'engine state, RSS',
            'engine state, MiB total',
          ],
          rows,
        },
      ],
      notes: [
        'Engine state is everything startRun added while all tasks wait in the shard heaps: run and task records, frontier counters, heap entries, and whatever the checkpoint store keeps in the process. The compiled plan (task definitions, edges, LST keys) is measured separately: it is shared by every run of a workflow.',
        'RSS includes memory V8 reserved but has not used, and SQLite page cache; it is an upper bound and noisier than the heap figure.',
      ],
      raw: { tasks: n, samples },
    };
  },
};

if (process.argv[1] === SELF && process.argv[2] === '--child') {
  await child(Number(process.argv[3]), process.argv[4] as Store);
}
