/**
 * The benchmark suite in quick mode, as CI runs it so the benchmarks cannot rot: the runner
 * must finish, and every registered scenario must leave a result file whose numbers are all
 * finite, its charts, and a section in RESULTS.md. The flat-queue scenario compares with BullMQ
 * (Redis) and the Kafka transport, and the gRPC one spawns the compiled CLI, so this needs Redis,
 * Kafka and `npm run build`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import type { ScenarioRecord } from '../../bench/harness/report.js';
import { scenarios } from '../../bench/scenarios/index.js';
import { probeService, withService } from '../support/services.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const [redisUp, kafkaUp] = await Promise.all([probeService('redis'), probeService('kafka')]);
const missing = !redisUp ? 'redis' : !kafkaUp ? 'kafka' : undefined;

/** Every number in a stored result; a null means a NaN or Infinity was serialized. */
function numbersIn(value: unknown, where: string, nulls: string[]): number {
  if (value === null) {
    nulls.push(where);
    return 0;
  }
  if (typeof value === 'number') return 1;
  if (typeof value !== 'object') return 0;
  return Object.entries(value as object).reduce((n, [k, v]) => n + numbersIn(v, `${where}.${k}`, nulls), 0);
}

withService(missing ?? 'redis', missing === undefined, 'npm run bench -- --quick', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sq-bench-quick-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every scenario and reports finite figures for each', { timeout: 900_000 }, async () => {
    expect(existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')), 'run `npm run build` first').toBe(true);
    const out = path.join(dir, 'RESULTS.md');
    const tsx = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const { stdout } = await run(process.execPath, [tsx, 'bench/run.ts', '--quick', '--out', out], {
      cwd: ROOT,
      maxBuffer: 64 << 20,
      timeout: 880_000,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    expect(stdout).toContain('bench: wrote');

    const results = readFileSync(out, 'utf8');
    expect(results).toContain('| node |');
    expect(scenarios.length).toBeGreaterThan(0);
    for (const s of scenarios) {
      const file = path.join(dir, 'results', `${s.name}.json`);
      expect(existsSync(file), `${s.name}.json`).toBe(true);
      const record = JSON.parse(readFileSync(file, 'utf8')) as ScenarioRecord;
      expect(record.error, `${s.name} failed`).toBeUndefined();
      expect(record.problems, `${s.name} problems`).toEqual([]);
      expect(record.quick).toBe(true);
      const nulls: string[] = [];
      const numbers = numbersIn(record.result, s.name, nulls);
      expect(nulls, `${s.name}: non-finite numbers`).toEqual([]);
      expect(numbers, `${s.name}: numbers in the result`).toBeGreaterThan(0);
      expect(record.result!.tables.length).toBeGreaterThan(0);
      for (const t of record.result!.tables) {
        expect(t.rows.length, `${s.name}: ${t.title}`).toBeGreaterThan(0);
        expect(results).toContain(`### ${t.title}`);
      }
      for (const c of record.result!.charts ?? []) {
        const svg = readFileSync(path.join(dir, 'results', c.file), 'utf8');
        expect(svg.startsWith('<svg')).toBe(true);
        expect(results).toContain(`(results/${c.file})`);
      }
      expect(results).toContain(`. ${s.title}`);
    }
  });
});
