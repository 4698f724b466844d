/** Small ONNX model files for the onnx predictor's tests, exported into a temporary folder. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exportOnnx } from '../../../../../plugins/predictor/onnx/export/index.js';
import type { TrainedSequenceModel } from '../../../../../plugins/predictor/onnx/model/types.js';
import { SERIES_FEATURES } from '../../../../../plugins/predictor/onnx/step-series.js';
import { randomModel } from './random-model.js';

/** A duration model over a handler's last 3 durations. */
export function durationModel(seed = 21): TrainedSequenceModel {
  const model = randomModel({ kind: 'gru', inputSize: 3, hiddenSize: 4, outputSize: 1, window: 3 }, seed);
  model.features = ['duration_ms', 'log_duration_ms', 'priority'];
  model.normalization = { inputMean: [300, 5, 1], inputStd: [100, 1, 1], targetMean: 300, targetStd: 80 };
  return model;
}

/** A load model over 4 steps of the standard series features, 2 steps ahead, rolling window 3. */
export function loadModel(seed = 22): TrainedSequenceModel {
  const model = randomModel(
    { kind: 'lstm', inputSize: SERIES_FEATURES.length, hiddenSize: 5, outputSize: 2, window: 4 },
    seed,
  );
  model.features = [...SERIES_FEATURES];
  model.normalization = {
    inputMean: SERIES_FEATURES.map(() => 0),
    inputStd: SERIES_FEATURES.map(() => 1),
    targetMean: 0,
    targetStd: 1,
  };
  model.stepSeconds = 300;
  model.training = { rollingSteps: 3 };
  return model;
}

/** Exports the given models into a fresh folder; `cleanup` removes it. */
export async function exportModels(
  models: Record<string, TrainedSequenceModel>,
): Promise<{ dir: string; files: Record<string, string>; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sq-onnx-predictor-'));
  const files: Record<string, string> = {};
  for (const [name, model] of Object.entries(models)) {
    files[name] = path.join(dir, `${name}.onnx`);
    await exportOnnx(model, files[name]);
  }
  return { dir, files, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
