/**
 * The verbs that run work, end to end on the embedded engine with a real SQLite state file:
 * run, runs, inspect, replay (--from, --dry-run), --param and --handlers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sq-cli-'));
const state = path.join(dir, 'state.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runIdOf = (out: string) => /^run (\S+):/m.exec(out)?.[1] ?? '';

describe('smartqueue run / runs / inspect / replay', () => {
  let etlRun = '';

  it('runs the ETL example to completion and exits 0', async () => {
    const r = await cli('run', 'workflows/examples/etl.yaml', '--state', state, '--param', 'date=2026-11-27');
    expect(r.code, r.err).toBe(0);
    etlRun = runIdOf(r.out);
    expect(etlRun).toMatch(/^run_/);
    expect(r.out).toMatch(/ok +extract in/);
    expect(r.out).toMatch(new RegExp(`run ${etlRun} succeeded in .*: 9 succeeded, met its deadline`));
  });

  it('lists the run', async () => {
    const r = await cli('runs', '--state', state, '--json');
    expect(r.code).toBe(0);
    const { runs } = JSON.parse(r.out) as {
      runs: { runId: string; status: string; params: Record<string, unknown> }[];
    };
    const run = runs.find((x) => x.runId === etlRun);
    expect(run).toMatchObject({ status: 'succeeded', params: { date: '2026-11-27', dryRun: false } });
  });

  it('inspects the run: every task, attempts, timings and the critical path taken', async () => {
    const r = await cli('inspect', etlRun, '--state', state, '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out) as {
      tasks: { taskId: string; status: string; attempt: number; startedAt: number; readyAt: number }[];
      criticalPath: string[];
    };
    expect(info.tasks).toHaveLength(9);
    for (const t of info.tasks) {
      expect(t.status).toBe('succeeded');
      expect(t.attempt).toBe(1);
      expect(t.startedAt).toBeGreaterThanOrEqual(t.readyAt);
    }
    expect(info.criticalPath[0]).toBe('extract');
    expect(info.criticalPath.at(-1)).toBe('report');
    const table = await cli('inspect', etlRun, '--state', state);
    expect(table.out).toMatch(/critical path taken: extract -> /);
    expect(table.out).toMatch(/missed deadlines: none/);
  });

  it('replay --dry-run --from lists the task and everything downstream of it', async () => {
    const r = await cli('replay', etlRun, '--from', 'join', '--dry-run', '--state', state, '--json');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as { rerun: string[]; kept: string[] };
    expect(plan.rerun.sort()).toEqual(['join', 'load', 'quality-alert', 'report'].sort());
    expect(plan.kept).toContain('extract');
  });

  it('replay --from re-runs only that part, with new attempts', async () => {
    const r = await cli('replay', etlRun, '--from', 'join', '--state', state);
    expect(r.code, r.err).toBe(0);
    const info = JSON.parse((await cli('inspect', etlRun, '--state', state, '--json')).out) as {
      tasks: { taskId: string; attempt: number }[];
    };
    const attempts = Object.fromEntries(info.tasks.map((t) => [t.taskId, t.attempt]));
    expect(attempts).toMatchObject({ extract: 1, 'transform-eu': 1, join: 2, load: 2, report: 2 });
  });

  it('replay of a complete run has nothing to do', async () => {
    const r = await cli('replay', etlRun, '--state', state);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/nothing to replay/);
  });

  it('exits 1 when a task fails, runs independent branches under `continue`, and skips dependants', async () => {
    const r = await cli('run', 'test/fixtures/cli/fails.yaml', '--state', state);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/retry +broken/);
    expect(r.out).toMatch(/FAILED +broken/);
    expect(r.out).toMatch(/skip +after-broken: upstream broken failed/);
    expect(r.out).toMatch(/failed in .*1 succeeded.*1 failed.*1 skipped|failed in .*1 failed.*1 skipped/);
  });

  it('runs handlers from a --handlers module, shows their logs, and passes outputs downstream', async () => {
    const r = await cli(
      'run',
      'test/fixtures/cli/greet.yaml',
      '--state',
      state,
      '--handlers',
      'test/fixtures/cli/handlers.ts',
      '--param',
      'who=Ada',
    );
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/log +greet: greeting \{"who":"Ada"\}/);
    const info = JSON.parse((await cli('inspect', runIdOf(r.out), '--state', state, '--json')).out) as {
      tasks: { taskId: string; outputs: Record<string, unknown> }[];
    };
    expect(info.tasks.find((t) => t.taskId === 'echo')?.outputs).toMatchObject({
      said: 'hello Ada',
      exitCode: 0,
    });
  });

  it('refuses a bad --param with one clear line and exit 2, before running anything', async () => {
    const r = await cli('run', 'workflows/examples/etl.yaml', '--state', state, '--param', 'dryRun=maybe');
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe('smartqueue: param "dryRun": expected a value of type boolean, got "maybe"');
    const unknown = await cli('run', 'workflows/examples/etl.yaml', '--state', state, '--param', 'dat=1');
    expect(unknown.err).toMatch(/unknown param "dat" \(did you mean "date"\?\)/);
  });

  it('inspect of an unknown run exits 1 with one line', async () => {
    const r = await cli('inspect', 'run_nope', '--state', state);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(/^smartqueue: unknown run run_nope in /);
  });
});
