import { afterAll } from 'vitest';
import { createOnnxPredictor } from '../../plugins/predictor/onnx/index.js';
import { durationModel, exportModels, loadModel } from '../unit/plugins/predictor/onnx/models.js';
import { predictorConformance } from './predictor.js';

const models = await exportModels({ duration: durationModel(), load: loadModel() });
afterAll(() => models.cleanup());

const quiet = { warn: () => undefined };

// With working models (1 s load steps, so load and arrival forecasts start within the suite).
predictorConformance('onnx', () => {
  const predictor = createOnnxPredictor({
    durationModel: models.files.duration,
    loadModel: models.files.load,
    loadStepMs: 1000,
    logger: quiet,
  });
  return {
    predictor,
    settle: async () => {
      await predictor.ready();
      await predictor.refresh();
    },
  };
});

// With model files that cannot be used: everything comes from the fallback.
predictorConformance('onnx (missing models)', () => {
  const predictor = createOnnxPredictor({
    durationModel: `${models.dir}/missing.onnx`,
    loadModel: `${models.dir}/missing.onnx`,
    logger: quiet,
  });
  return { predictor, settle: async () => void (await predictor.ready()) };
});
