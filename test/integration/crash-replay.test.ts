/**
 * Crash test: a child process runs a 200-task workflow against a SQLite state file and is killed
 * with SIGKILL at a random point; `smartqueue replay` then completes the run. Every task must
 * end with exactly one recorded success, and no task whose success was recorded before the kill
 * may run again.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteCheckpointStore } from '../../plugins/checkpoint/sqlite/index.js';
import { mulberry32 } from '../support/random.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/smartqueue.js');
const WORKFLOW = path.join(ROOT, 'test/fixtures/crash/workflow-200.mjs');
const TRIALS = 20;
const TASKS = 200;

const dir = mkdtempSync(path.join(tmpdir(), 'sq-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Child {
  runId: Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): void;
  output(): string;
}

function start(args: string[], log: string): Child {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, CRASH_LOG: log, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let resolveId!: (id: string) => void;
  const runId = new Promise<string>((resolve) => (resolveId = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const m = /^run (\S+):/m.exec(out);
    if (m) resolveId(m[1]!);
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { runId, exit, kill: () => child.kill('SIGKILL'), output: () => out };
}

function lines(file: string): string[][] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' '))
    : [];
}

describe('crash and replay (SIGKILL at random points)', () => {
  it(
    `completes every run with exactly one recorded success per task over ${TRIALS} trials`,
    { timeout: 600_000 },
    async () => {
      const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
      const random = mulberry32(seed);
      let interrupted = 0;
      for (let trial = 0; trial < TRIALS; trial++) {
        const state = path.join(dir, `state-${trial}.db`);
        const firstLog = path.join(dir, `run-${trial}.log`);
        const replayLog = path.join(dir, `replay-${trial}.log`);
        const context = `seed ${seed}, trial ${trial}`;

        const child = start(['run', WORKFLOW, '--state', state, '--concurrency', '4'], firstLog);
        const runId = await Promise.race([child.runId, child.exit.then(() => '')]);
        expect(runId, `${context}: no run id printed:\n${child.output()}`).not.toBe('');
        // Kill after a random number of task starts (not a random time: machines differ in speed).
        const target = 1 + Math.floor(random() * (TASKS - 10));
        let exited = false;
        void child.exit.then(() => (exited = true));
        while (!exited && lines(firstLog).length < target) await new Promise((r) => setTimeout(r, 2));
        child.kill();
        const exit = await child.exit;
        if (exit.signal === 'SIGKILL') interrupted++;

        // What the store had recorded as succeeded when the process died.
        const before = await createSqliteCheckpointStore({ path: state });
        const recorded = new Set(
          (await before.getTasks(runId)).filter((t) => t.status === 'succeeded').map((t) => t.taskId),
        );
        await before.close();

        const replay = start(['replay', runId, '--state', state, '--concurrency', '4'], replayLog);
        const replayExit = await replay.exit;
        expect(replayExit.code, `${context}: replay failed:\n${replay.output()}`).toBe(0);

        const store = await createSqliteCheckpointStore({ path: state });
        const tasks = await store.getTasks(runId);
        const events = await store.getEvents(runId);
        const run = await store.getRun(runId);
        await store.close();

        expect(run?.status, context).toBe('succeeded');
        expect(tasks).toHaveLength(TASKS);
        expect(
          tasks.filter((t) => t.status !== 'succeeded').map((t) => t.taskId),
          context,
        ).toEqual([]);
        const successes = new Map<string, number>();
        for (const e of events)
          if (e.type === 'task:attempt:succeeded')
            successes.set(e.taskId!, (successes.get(e.taskId!) ?? 0) + 1);
        expect(successes.size, context).toBe(TASKS);
        expect(
          [...successes].filter(([, n]) => n !== 1),
          `${context}: tasks with more than one recorded success`,
        ).toEqual([]);

        const rerun = lines(replayLog).map(([task]) => task!);
        expect(
          rerun.filter((t) => recorded.has(t)),
          `${context}: tasks re-run after their success was recorded`,
        ).toEqual([]);
        // Everything not recorded before the kill ran in the replay.
        const ranInReplay = new Set(rerun);
        expect(
          tasks.map((t) => t.taskId).filter((t) => !recorded.has(t) && !ranInReplay.has(t)),
          context,
        ).toEqual([]);
      }
      // Most kills must land mid-run, or the test proves little.
      expect(
        interrupted,
        `only ${interrupted} of ${TRIALS} trials were killed mid-run (seed ${seed})`,
      ).toBeGreaterThanOrEqual(TRIALS * 0.75);
    },
  );
});
