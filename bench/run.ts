/**
 * The benchmark runner: runs the scenarios registered in bench/scenarios/index.ts and writes
 * bench/RESULTS.md, the raw results (bench/results/<scenario>.json) and the charts
 * (bench/results/*.svg).
 *
 *   npm run bench [-- --quick] [-- --only heap,balancer] [-- --runs 3] [-- --out bench/RESULTS.md]
 *   npx tsx bench/run.ts --list
 *
 * `--quick` runs small sizes (CI runs it so the benchmarks cannot rot); `--runs` sets how many
 * repetitions each figure is the median of (default 3, 2 with --quick); `--out` moves RESULTS.md
 * and puts results/ beside it. A scenario that throws or returns a non-finite number is reported
 * in RESULTS.md and makes the exit code 1, after the other scenarios have run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { renderResults } from './harness/report.js';
import type { ScenarioRecord } from './harness/report.js';
import { renderChart } from './harness/svg.js';
import type { Scenario, ScenarioContext } from './harness/types.js';
import { validateResult } from './harness/validate.js';
import { collectVersions, machineInfo } from './harness/versions.js';
import { scenarios } from './scenarios/index.js';
import { mulberry32 } from '../test/support/random.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface RunnerOptions {
  quick: boolean;
  only: string[] | undefined;
  runs: number;
  out: string;
  list: boolean;
}

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function parseArgs(argv: string[]): RunnerOptions {
  const o: RunnerOptions = {
    quick: false,
    only: undefined,
    runs: 0,
    out: path.join(ROOT, 'bench', 'RESULTS.md'),
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--list') o.list = true;
    else if (a === '--only') o.only = [...(o.only ?? []), ...value().split(',').filter(Boolean)];
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--runs') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) fail('--runs needs a positive integer');
      o.runs = n;
    } else fail(`unknown option ${a} (known: --quick, --only <names>, --runs <n>, --out <file>, --list)`);
  }
  if (o.runs === 0) o.runs = o.quick ? 2 : 3;
  return o;
}

/** A seed per scenario name, so each scenario's random inputs do not depend on which ran before. */
function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

async function runOne(
  scenario: Scenario,
  o: RunnerOptions,
  env: Pick<ScenarioRecord, 'machine' | 'versions'>,
  resultsDir: string,
): Promise<ScenarioRecord> {
  const started = performance.now();
  const date = new Date().toISOString();
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  const ctx: ScenarioContext = {
    quick: o.quick,
    runs: o.runs,
    progress: (msg) => console.log(`[${scenario.name} ${elapsed()} s] ${msg}`),
    rng: mulberry32(seedOf(scenario.name)),
  };
  ctx.progress(`${scenario.title}${o.quick ? ' (quick)' : ''}`);
  const record: ScenarioRecord = {
    scenario: scenario.name,
    title: scenario.title,
    date,
    quick: o.quick,
    runs: o.runs,
    durationS: 0,
    ...env,
    problems: [],
  };
  try {
    const result = await scenario.run(ctx);
    record.result = result;
    record.problems = validateResult(result);
    for (const chart of result.charts ?? []) {
      if (/^[\w.-]+\.svg$/.test(chart.file))
        writeFileSync(path.join(resultsDir, chart.file), renderChart(chart));
    }
  } catch (e) {
    const err = e as Error;
    record.error = err.message;
    console.error(err.stack ?? err.message);
  }
  record.durationS = (performance.now() - started) / 1000;
  const status = record.error
    ? `FAILED: ${record.error}`
    : record.problems.length
      ? `problems: ${record.problems.join('; ')}`
      : 'done';
  ctx.progress(status);
  writeFileSync(path.join(resultsDir, `${scenario.name}.json`), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.list) {
    for (const s of scenarios) console.log(`${s.name.padEnd(16)} ${s.title}`);
    return;
  }
  const known = new Set(scenarios.map((s) => s.name));
  const unknown = (o.only ?? []).filter((n) => !known.has(n));
  if (unknown.length) fail(`unknown scenario ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  const selected = o.only ? scenarios.filter((s) => o.only!.includes(s.name)) : scenarios;

  const resultsDir = path.join(path.dirname(o.out), 'results');
  mkdirSync(resultsDir, { recursive: true });
  const machine = machineInfo();
  const versions = await collectVersions(ROOT);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  console.log(
    `bench: ${selected.length} scenario(s), ${o.runs} repetitions each${o.quick ? ', quick mode' : ''}`,
  );
  console.log(
    `bench: ${machine.cpus} × ${machine.cpuModel}, load ${machine.loadAverage}; node ${process.version}`,
  );

  const t0 = performance.now();
  const ran: ScenarioRecord[] = [];
  for (const s of selected) ran.push(await runOne(s, o, { machine, versions }, resultsDir));

  // Sections of scenarios not run this time keep their last stored record.
  const records: ScenarioRecord[] = [];
  for (const s of scenarios) {
    const fresh = ran.find((r) => r.scenario === s.name);
    const file = path.join(resultsDir, `${s.name}.json`);
    if (fresh) records.push(fresh);
    else if (existsSync(file)) records.push(JSON.parse(readFileSync(file, 'utf8')) as ScenarioRecord);
  }
  const chartDir = path.relative(path.dirname(o.out), resultsDir).split(path.sep).join('/') || '.';
  writeFileSync(
    o.out,
    renderResults(records, { date: new Date().toISOString(), machine, versions, command }, chartDir),
  );

  const bad = ran.filter((r) => r.error || r.problems.length);
  console.log(
    `bench: wrote ${path.relative(process.cwd(), o.out) || o.out} and ${ran.length} result file(s) in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
      (bad.length ? `; ${bad.length} failed or had problems: ${bad.map((r) => r.scenario).join(', ')}` : ''),
  );
  if (bad.length) process.exitCode = 1;
}

await main();
