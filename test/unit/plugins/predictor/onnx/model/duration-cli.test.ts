/**
 * `smartqueue model train|eval --task duration` in-process on the fixture WfCommons instances:
 * a short training writes the JSON and ONNX files, and eval prints the baseline comparison.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { TrainedSequenceModel } from '../../../../../../plugins/predictor/onnx/model/types.js';
import { cli as runCliRaw } from '../../../../../support/cli.js';

const DATA = 'test/fixtures/predictor/duration';

/** The CLI in this process, with its output as `stdout`/`stderr`. */
async function cli(...argv: string[]) {
  const r = await runCliRaw(...argv);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sq-duration-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('smartqueue model --task duration', () => {
  it('train writes a duration model (JSON and ONNX) and scores it against the baselines', async () => {
    const out = path.join(dir, 'dur-gru');
    const r = await cli(
      'model',
      'train',
      '--task',
      'duration',
      '--data',
      DATA,
      '--kind',
      'gru',
      '--hidden',
      '3',
      '--epochs',
      '3',
      '--out',
      out,
    );
    expect(r.stderr).toMatch(/skipped pipeline-a\.schema-1\.4\.json: same runtimes/);
    expect(r.stderr).toMatch(
      /2 instances: \d+ training, \d+ validation and \d+ held-out tasks with 3 earlier runs/,
    );
    expect(r.stderr).toMatch(/epoch 3\/3/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}.onnx`);
    expect(r.stdout).toMatch(/^all +\d+ /m);
    const model = JSON.parse(await readFile(`${out}.json`, 'utf8')) as TrainedSequenceModel;
    expect(model.spec).toEqual({ kind: 'gru', inputSize: 1, hiddenSize: 3, outputSize: 1, window: 3 });
    expect(model.features).toEqual(['log_duration_ms']);
    expect(model.training).toMatchObject({ task: 'duration', targetTransform: 'log1p', testFraction: 0.3 });
    expect((await stat(`${out}.onnx`)).size).toBeGreaterThan(100);
  });

  it('eval picks the task from the model and prints MAE, RMSE and MAPE per instance', async () => {
    const r = await cli('model', 'eval', '--data', DATA, '--model', path.join(dir, 'dur-gru.json'));
    expect(r.code).toBe(0);
    for (const m of ['MAE in ms', 'RMSE in ms', 'MAPE in %']) expect(r.stdout).toContain(m);
    const header = r.stdout.split('\n').find((l) => l.startsWith('instance'));
    for (const name of ['dur-gru', 'handler-mean(3)', 'handler-last', 'ewma(0.3)', 'global-median']) {
      expect(header).toContain(name);
    }
    expect(r.stdout.split('\n').filter((l) => /^(pipeline-[ab]|all) /.test(l))).toHaveLength(3 * 3);
  });

  it('eval without a model scores the baselines; bad task and load model are refused', async () => {
    const baselines = await cli('model', 'eval', '--task', 'duration', '--data', DATA, '--window', '2');
    expect(baselines.code).toBe(0);
    expect(baselines.stdout).toContain('handler-mean(2)');
    const bad = await cli('model', 'train', '--task', 'size', '--data', DATA, '--out', path.join(dir, 'x'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--task must be load or duration/);
    const wrong = await cli(
      'model',
      'eval',
      '--task',
      'duration',
      '--data',
      DATA,
      '--model',
      'models/load-gru.json',
    );
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/is not a duration model/);
  });
});
