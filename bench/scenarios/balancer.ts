/**
 * Scenario 5: the AVL balancer (plugins/balancer/avl) against a skip list, a linear scan and
 * power-of-two-choices (bench/scenarios/balancer-contenders.ts) at 10..10,000 workers under
 * high-frequency load updates.
 *
 * One round = pick a worker and assign it an attempt, then 10 load updates: one attempt (chosen
 * at random) finishes and 9 workers report a new load level (heartbeats or predictions). So the
 * number of running attempts stays at its initial level (half of all slots) and every pick sees
 * loads that changed since the last one. The AVL balancer runs twice: as shipped (lazy: updates
 * collect per worker and are applied once, on the next pick) and eager (flush after every
 * update, one re-insert per update).
 *
 * Speed: rounds/s, each contender driven through the Balancer interface with the same seeded
 * random stream, contenders alternating. Quality, in a separate untimed pass: at every pick the
 * true loads are recomputed from the driver's own ledger, and the picked worker's load is
 * compared with the least load among workers with a free slot.
 */
import { performance } from 'node:perf_hooks';
import { createAvlBalancer } from '../../plugins/balancer/avl/index.js';
import type { Balancer } from '../../engine/stages.js';
import { mulberry32 } from '../../test/support/random.js';
import { alternate, fmt, ratio, summarize, withSpread } from '../harness/stats.js';
import type { Scenario, ScenarioContext } from '../harness/types.js';
import { LinearScanBalancer, PowerOfTwoBalancer, SkipListBalancer } from './balancer-contenders.js';

const CAPACITY = 16;
const REPORTS_PER_ROUND = 9;

interface Contender {
  name: string;
  make(random: () => number): Balancer;
  /** Eager: apply every update at once (flush after it). */
  eager: boolean;
}

const CONTENDERS: Contender[] = [
  { name: 'AVL, lazy (shipped)', make: () => createAvlBalancer(), eager: false },
  { name: 'AVL, eager', make: () => createAvlBalancer(), eager: true },
  { name: 'skip list', make: (r) => new SkipListBalancer(r), eager: false },
  { name: 'linear scan', make: () => new LinearScanBalancer(), eager: false },
  { name: 'power of two choices', make: (r) => new PowerOfTwoBalancer(r), eager: false },
];

/** The driver's ledger of what it told the balancer, to know the true loads. */
class Ledger {
  readonly running: Int32Array;
  readonly weight: Float64Array;
  readonly reported: Float64Array;
  /** Attempts in flight as (worker, cost) pairs. */
  attemptsW: number[] = [];
  attemptsC: number[] = [];
  constructor(n: number) {
    this.running = new Int32Array(n);
    this.weight = new Float64Array(n);
    this.reported = new Float64Array(n);
  }
  load(w: number): number {
    return this.running[w]! >= CAPACITY ? Infinity : (this.weight[w]! + this.reported[w]!) / CAPACITY;
  }
}

interface Quality {
  optimalShare: number;
  /** Mean of (picked load − least load), relative to the mean load of the free workers. */
  meanExcess: number;
}

/**
 * Runs `rounds` rounds on a fresh balancer with `workers` workers; returns the elapsed ms and,
 * when `check`, the pick quality.
 */
function drive(
  c: Contender,
  workers: number,
  rounds: number,
  seed: number,
  check: boolean,
): { ms: number; q: Quality } {
  const rnd = mulberry32(seed);
  const b = c.make(mulberry32(seed ^ 0x5bd1e995));
  const ids = Array.from({ length: workers }, (_, i) => `w${String(i).padStart(5, '0')}`);
  const index = new Map(ids.map((id, i) => [id, i]));
  const ledger = new Ledger(workers);
  for (const id of ids) b.join({ id, capacity: CAPACITY });
  /** Picks and assigns; returns the picked worker's load as it was when picked. */
  const assign = (): number => {
    const id = b.pick();
    if (id === undefined) throw new Error(`${c.name} found no free worker`);
    const w = index.get(id)!;
    const picked = ledger.load(w);
    const cost = 0.5 + rnd();
    b.assign(id, cost);
    ledger.running[w]!++;
    ledger.weight[w]! += cost;
    ledger.attemptsW.push(w);
    ledger.attemptsC.push(cost);
    if (c.eager) b.flush();
    return picked;
  };
  for (let i = 0; i < (workers * CAPACITY) / 2; i++) assign();
  let optimal = 0;
  let excess = 0;
  let meanLoad = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    if (check) {
      let least = Infinity;
      let sum = 0;
      let free = 0;
      for (let w = 0; w < workers; w++) {
        const l = ledger.load(w);
        if (l < least) least = l;
        if (l !== Infinity) {
          sum += l;
          free++;
        }
      }
      const got = assign();
      if (got - least <= 1e-9) optimal++;
      excess += got - least;
      meanLoad += sum / free;
    } else assign();
    // One attempt finishes...
    const k = (rnd() * ledger.attemptsW.length) | 0;
    const w = ledger.attemptsW[k]!;
    const cost = ledger.attemptsC[k]!;
    ledger.attemptsW[k] = ledger.attemptsW.at(-1)!;
    ledger.attemptsC[k] = ledger.attemptsC.at(-1)!;
    ledger.attemptsW.pop();
    ledger.attemptsC.pop();
    b.finish(ids[w]!, cost);
    ledger.running[w]!--;
    ledger.weight[w] = ledger.running[w] === 0 ? 0 : ledger.weight[w]! - cost;
    if (c.eager) b.flush();
    // ...and nine workers report a new load level.
    for (let i = 0; i < REPORTS_PER_ROUND; i++) {
      const v = (rnd() * workers) | 0;
      const level = rnd() * 4;
      b.report(ids[v]!, level);
      ledger.reported[v] = level;
      if (c.eager) b.flush();
    }
  }
  const ms = performance.now() - t0;
  return { ms, q: { optimalShare: optimal / rounds, meanExcess: meanLoad > 0 ? excess / meanLoad : 0 } };
}

export const balancerScenario: Scenario = {
  name: 'balancer',
  title: 'Balancer micro-benchmark: AVL (lazy and eager) vs skip list, linear scan, power of two choices',
  async run(ctx: ScenarioContext) {
    const sizes = ctx.quick ? [10, 100, 1000] : [10, 100, 1000, 10_000];
    const rounds = ctx.quick ? 3000 : 20_000;
    const checkRounds = ctx.quick ? 200 : 2000;
    const seed = (ctx.rng() * 2 ** 32) >>> 0;
    for (const c of CONTENDERS) drive(c, 100, 5000, seed, false); // warm-up (JIT)

    const rates: Record<number, Record<string, number[]>> = {};
    const quality: Record<number, Record<string, Quality>> = {};
    for (const n of sizes) {
      ctx.progress(`${fmt(n)} workers: ${ctx.runs} repetitions × ${CONTENDERS.length} balancers`);
      const m = await alternate(
        CONTENDERS,
        ctx.runs,
        (c, r) => (rounds * 1000) / drive(c, n, rounds, seed + r, false).ms,
      );
      rates[n] = Object.fromEntries(m);
      quality[n] = Object.fromEntries(
        CONTENDERS.map((c) => [c.name, drive(c, n, checkRounds, seed, true).q]),
      );
    }
    const med = (n: number, name: string) => summarize(rates[n]![name]!).median;
    const ours = CONTENDERS[0]!.name;
    const notes: string[] = [];
    const speedRows = sizes.map((n) => {
      const others = CONTENDERS.slice(1).filter((c) => c.name !== 'AVL, eager');
      const exact = others.filter((c) => quality[n]![c.name]!.optimalShare === 1);
      const bestExact = (exact.length ? exact : others).reduce((a, b) =>
        med(n, a.name) >= med(n, b.name) ? a : b,
      );
      const r = med(n, ours) / med(n, bestExact.name);
      if (r < 1)
        notes.push(
          `At ${fmt(n)} workers the ${bestExact.name} is faster than the shipped AVL balancer (${ratio(r)}).`,
        );
      return [
        fmt(n),
        ...CONTENDERS.map((c) => withSpread(summarize(rates[n]![c.name]!))),
        `${ratio(r)} (${bestExact.name})`,
        ratio(med(n, ours) / med(n, 'AVL, eager')),
      ];
    });
    const qualityRows = sizes.map((n) => [
      fmt(n),
      ...CONTENDERS.map((c) => {
        const q = quality[n]![c.name]!;
        return `${(q.optimalShare * 100).toFixed(1)}% / ${(q.meanExcess * 100).toFixed(1)}%`;
      }),
    ]);
    notes.push(
      `Rounds of 1 pick + 1 assign + ${REPORTS_PER_ROUND + 1} load updates; workers have ${CAPACITY} slots, half of them busy throughout.`,
      'Power of two choices is the fastest at scale because it never orders the workers; the quality table shows what that costs: its pick is often not the least loaded worker.',
    );
    return {
      tables: [
        {
          title: 'Speed: rounds/s (pick + assign + 10 updates), median (min–max)',
          columns: [
            'workers',
            ...CONTENDERS.map((c) => c.name),
            'lazy AVL ÷ fastest exact other',
            'lazy ÷ eager AVL',
          ],
          rows: speedRows,
        },
        {
          title: `Quality: share of picks that were the least-loaded worker / mean excess load over the least, relative to the mean load (${fmt(checkRounds)} picks)`,
          columns: ['workers', ...CONTENDERS.map((c) => c.name)],
          rows: qualityRows,
        },
      ],
      charts: [
        {
          file: 'balancer-rounds.svg',
          title: 'Balancer rounds/s by number of workers',
          kind: 'line',
          x: 'workers',
          y: 'rounds/s',
          series: CONTENDERS.map((c) => ({
            name: c.name,
            points: sizes.map((n) => [n, med(n, c.name)] as [number, number]),
          })),
        },
      ],
      notes,
      raw: { sizes, rounds, checkRounds, capacity: CAPACITY, rates, quality },
    };
  },
};
