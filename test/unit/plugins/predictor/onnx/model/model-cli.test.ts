/**
 * `smartqueue model train` and `model eval` run in-process on the small fixture series: a
 * 2-epoch training writes the JSON and ONNX files, and eval prints the per-horizon tables.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSqliteCheckpointStore } from '../../../../../../plugins/checkpoint/sqlite/index.js';
import type { TrainedSequenceModel } from '../../../../../../plugins/predictor/onnx/model/types.js';
import { cli as runCliRaw } from '../../../../../support/cli.js';

const DATA = 'test/fixtures/predictor/load';

/** The CLI in this process, with its output as `stdout`/`stderr`. */
async function cli(...argv: string[]) {
  const r = await runCliRaw(...argv);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sq-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('smartqueue model', () => {
  it('train writes the model JSON and ONNX, with progress per epoch', async () => {
    const out = path.join(dir, 'fixture-gru');
    const r = await cli(
      'model',
      'train',
      '--data',
      DATA,
      '--kind',
      'gru',
      '--hidden',
      '4',
      '--window',
      '24',
      '--horizon',
      '6',
      '--epochs',
      '2',
      '--seed',
      '1',
      '--stride',
      '3',
      '--out',
      out,
    );
    expect(r.stderr).toMatch(/cpu_a: 4 gap steps interpolated, 2 duplicate samples averaged/);
    expect(r.stderr).toMatch(/epoch 1\/2 {2}train [\d.]+ {2}val [\d.]+/);
    expect(r.stderr).toMatch(/epoch 2\/2/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}.json`);
    expect(r.stdout).toContain(`wrote ${out}.onnx`);
    const model = JSON.parse(await readFile(`${out}.json`, 'utf8')) as TrainedSequenceModel;
    expect(model.spec).toEqual({ kind: 'gru', inputSize: 7, hiddenSize: 4, outputSize: 6, window: 24 });
    expect(model.training).toMatchObject({ seed: 1, series: ['cpu_a', 'cpu_b'], rollingSteps: 12 });
    expect((await stat(`${out}.onnx`)).size).toBeGreaterThan(100);
  });

  it('eval prints MAE, RMSE and MAPE per series and step for the model and every baseline', async () => {
    const r = await cli('model', 'eval', '--data', DATA, '--model', path.join(dir, 'fixture-gru.json'));
    expect(r.code).toBe(0);
    for (const metric of ['MAE', 'RMSE', 'MAPE']) expect(r.stdout).toContain(`${metric} (lower is better`);
    const header = r.stdout.split('\n').find((l) => l.startsWith('series'));
    for (const name of [
      'fixture-gru',
      'persistence',
      'moving-average(12)',
      'ewma(0.3)',
      'seasonal-naive(288)',
      'holt-winters(288)',
    ]) {
      expect(header).toContain(name);
    }
    // one row per series and step 1..6 plus the mean, each with one best (*) cell
    const rows = r.stdout.split('\n').filter((l) => /^cpu_[ab] +(\d|mean) /.test(l));
    expect(rows).toHaveLength(3 * 2 * 7);
    for (const row of rows) expect(row.match(/\*/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/fixture-gru is best on \d+ of 12 rows by MAE/);
    expect(r.stdout).toMatch(/Best overall: /);
  });

  it('explains a missing data folder and a bad --kind', async () => {
    const missing = await cli('model', 'eval', '--data', path.join(dir, 'nope'));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no data at .*nope.*numenta\/NAB/);
    const bad = await cli('model', 'train', '--data', DATA, '--kind', 'rnn', '--out', path.join(dir, 'x'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--kind must be lstm or gru/);
  });

  it('has help text with examples', async () => {
    const r = await cli('model', 'train', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--from-store <spec>/);
    expect(r.stdout).toMatch(/Examples:/);
  });

  it('learns from and evaluates on the history recorded in a checkpoint store (--from-store)', async () => {
    const file = path.join(dir, 'state.db');
    const store = await createSqliteCheckpointStore({ path: file, flushIntervalMs: 0 });
    const t0 = Date.UTC(2024, 0, 1);
    // 200 one-minute steps; a run per step whose single task is busy for a varying share of it.
    for (let i = 0; i < 200; i++) {
      const runId = `r${i}`;
      const at = t0 + i * 60_000;
      await store.createRun(
        {
          runId,
          workflowName: 'w',
          workflow: {},
          params: {},
          status: 'running',
          shardKey: runId,
          createdAt: at,
        },
        ['t'],
      );
      store.record(
        {
          runId,
          type: 'task:attempt:dispatched',
          at: at + 1000,
          taskId: 't',
          attempt: 1,
          data: { workerId: 'w1' },
        },
        { runId, taskId: 't', attempt: 1, status: 'running' },
      );
      await store.completeTask({
        runId,
        taskId: 't',
        attempt: 1,
        workerId: 'w1',
        outputs: {},
        startedAt: at + 1000,
        finishedAt: at + 1000 + 10_000 * (1 + (i % 5)),
      });
    }
    await store.flush();
    await store.close();
    const out = path.join(dir, 'own');
    const common = ['--step', '60', '--window', '6', '--horizon', '2', '--rolling', '3'];
    const train = await cli(
      'model',
      'train',
      '--from-store',
      file,
      ...common,
      '--hidden',
      '3',
      '--epochs',
      '1',
      '--no-onnx',
      '--out',
      out,
    );
    expect(train.stderr).toMatch(/read 200 steps of history/);
    expect(train.code).toBe(0);
    const model = JSON.parse(await readFile(`${out}.json`, 'utf8')) as TrainedSequenceModel;
    expect(model.features.slice(-4)).toEqual(['completed', 'dispatched', 'mean_duration_ms', 'pending']);
    expect(model.target).toMatch(/^busy workers/);
    const evaluation = await cli(
      'model',
      'eval',
      '--from-store',
      file,
      '--model',
      `${out}.json`,
      '--metric',
      'mae',
    );
    expect(evaluation.code).toBe(0);
    expect(evaluation.stdout).toMatch(/^smartqueue-history +1 /m);
  });
});
