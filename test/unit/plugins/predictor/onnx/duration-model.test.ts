/**
 * The shipped duration model (models/duration-gru): its ONNX file computes what its JSON does in
 * TypeScript, and the onnx predictor serves it in milliseconds (expm1 of the log1p output).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readModel } from '../../../../../cli/commands/model-eval.js';
import { createOnnxPredictor, type OnnxPredictor } from '../../../../../plugins/predictor/onnx/index.js';
import { durationRows } from '../../../../../plugins/predictor/onnx/model/duration-data.js';
import { predictDuration } from '../../../../../plugins/predictor/onnx/model/duration-eval.js';
import { forward } from '../../../../../plugins/predictor/onnx/model/network.js';
import { openOnnxSession, type OnnxSequenceSession } from '../../../../../plugins/predictor/onnx/session.js';
import { mulberry32 } from '../../../../support/random.js';
import { durationModel, exportModels } from './models.js';

const TOLERANCE = 1e-4;
const JSON_FILE = 'models/duration-gru.json';
const ONNX_FILE = 'models/duration-gru.onnx';

const closing: (OnnxSequenceSession | OnnxPredictor)[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((c) => c.close()));
});

/** Windows of durations from 10 ms to about 30 min, the range of the training traces. */
function durationWindows(count: number, window: number, seed: number): number[][] {
  const rng = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const level = Math.exp(2 + 12 * rng());
    return Array.from({ length: window }, () => level * (0.7 + 0.6 * rng()));
  });
}

describe('models/duration-gru', () => {
  it(`onnxruntime output equals forward() within ${TOLERANCE}`, async () => {
    const model = await readModel(JSON_FILE);
    expect(model.features).toEqual(['log_duration_ms']);
    expect(model.training.targetTransform).toBe('log1p');
    const session = await openOnnxSession(ONNX_FILE, { expectedFeatures: model.features });
    closing.push(session);
    const windows = durationWindows(32, model.spec.window, 5).map(durationRows);
    const outputs = await session.run(windows);
    windows.forEach((w, b) => {
      const expected = forward(model, w)[0]!;
      expect(Math.abs(outputs[b]![0]! - expected)).toBeLessThanOrEqual(TOLERANCE);
    });
    const spread = Math.max(...outputs.map((o) => o[0]!)) - Math.min(...outputs.map((o) => o[0]!));
    expect(spread).toBeGreaterThan(1);
  });

  it('is served by the onnx predictor in milliseconds', async () => {
    const model = await readModel(JSON_FILE);
    const predictor = createOnnxPredictor({ durationModel: ONNX_FILE, loadModel: null });
    closing.push(predictor);
    expect((await predictor.ready()).duration).toBe('model');
    const recent = [1200, 1500, 1300];
    recent.forEach((durationMs, i) => predictor.observe({ handler: 'h', durationMs, at: i }));
    expect(predictor.estimateDuration({ handler: 'h', priority: 0 })).toBeDefined(); // the ewma fallback
    await predictor.refresh();
    const expected = predictDuration(model, recent);
    expect(expected).toBeCloseTo(Math.expm1(forward(model, durationRows(recent))[0]!), 6);
    const served = predictor.estimateDuration({ handler: 'h', priority: 0 })!;
    expect(Math.abs(served - expected) / expected).toBeLessThan(1e-3);
    // Not the fallback's answer by accident.
    const fallback = predictor.fallback.estimateDuration({ handler: 'h', priority: 0 })!;
    expect(Math.abs(served - fallback) / fallback).toBeGreaterThan(0.05);
  });
});

describe('duration model output transform', () => {
  it('refuses a model with an unknown targetTransform, falling back to ewma', async () => {
    const model = durationModel();
    model.training = { targetTransform: 'sqrt' };
    const files = await exportModels({ odd: model });
    const warnings: string[] = [];
    const predictor = createOnnxPredictor({
      durationModel: files.files.odd!,
      loadModel: null,
      logger: { warn: (m) => warnings.push(m) },
    });
    closing.push(predictor);
    expect((await predictor.ready()).duration).toBe('fallback');
    expect(warnings[0]).toMatch(/targetTransform must be log1p or absent; it has sqrt/);
    await files.cleanup();
  });
});
