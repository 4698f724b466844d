import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SmartQueueError } from '../../../../../engine/errors.js';
import { createEwmaPredictor } from '../../../../../plugins/predictor/ewma/index.js';
import { encodeOnnx } from '../../../../../plugins/predictor/onnx/export/index.js';
import { onnxTypes } from '../../../../../plugins/predictor/onnx/export/onnx-proto.js';
import { buildFeatures } from '../../../../../plugins/predictor/onnx/model/data.js';
import { forward } from '../../../../../plugins/predictor/onnx/model/network.js';
import {
  createOnnxPredictor,
  resolveOnnxPredictorOptions,
  type OnnxPredictor,
  type OnnxPredictorOptions,
} from '../../../../../plugins/predictor/onnx/index.js';
import { loadRow } from '../../../../conformance/predictor.js';
import { durationModel, exportModels, loadModel } from './models.js';

const models = await exportModels({ duration: durationModel(), load: loadModel() });
afterAll(() => models.cleanup());

const open: OnnxPredictor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

function make(options: OnnxPredictorOptions): { predictor: OnnxPredictor; warnings: string[] } {
  const warnings: string[] = [];
  const predictor = createOnnxPredictor({
    loadModel: null,
    ...options,
    logger: { warn: (message) => warnings.push(message) },
  });
  open.push(predictor);
  return { predictor, warnings };
}

/** The same samples into a plain ewma predictor, to compare the fallback's answers with. */
function feed(predictor: { observe: OnnxPredictor['observe'] }, handler: string, durations: number[]): void {
  durations.forEach((durationMs, i) => predictor.observe({ handler, durationMs, at: 1000 + i }));
}

describe('onnx predictor: broken or missing models fall back to ewma with one warning', () => {
  const cases: [string, () => Promise<Uint8Array | undefined>, RegExp][] = [
    ['a missing file', () => Promise.resolve(undefined), /no such file/],
    [
      'corrupt bytes',
      () => Promise.resolve(new Uint8Array([0x08, 0xff, 0xff, 0x7f, 0x12, 0x99, 0x01, 0x42])),
      /not an ONNX model/,
    ],
    ['an empty file', () => Promise.resolve(new Uint8Array()), /not an ONNX model: it has no graph/],
    [
      'metadata that disagrees with the graph',
      async () => {
        const { model: ModelProto } = onnxTypes();
        const decoded = ModelProto.toObject(ModelProto.decode(encodeOnnx(durationModel())), {
          longs: Number,
        });
        const props = decoded.metadataProps as { key: string; value: string }[];
        (props.find((p) => p.key === 'smartqueue.window') as { value: string }).value = '7';
        return ModelProto.encode(ModelProto.fromObject(decoded)).finish();
      },
      /input shape \[batch, 3, 3\] does not match the metadata \[batch, 7, 3\]/,
    ],
    [
      'metadata without the features',
      async () => {
        const { model: ModelProto } = onnxTypes();
        const decoded = ModelProto.toObject(ModelProto.decode(encodeOnnx(durationModel())), {
          longs: Number,
        });
        decoded.metadataProps = (decoded.metadataProps as { key: string }[]).filter(
          (p) => p.key !== 'smartqueue.features',
        );
        return ModelProto.encode(ModelProto.fromObject(decoded)).finish();
      },
      /smartqueue\.features is missing/,
    ],
    [
      'a load model used for durations',
      () => Promise.resolve(encodeOnnx(loadModel())),
      /for duration: a duration model's features must be among duration_ms, log_duration_ms, priority/,
    ],
  ];

  for (const [what, bytes, reason] of cases) {
    it(`${what}: one warning naming the file and the reason, estimates from ewma`, async () => {
      const file = path.join(models.dir, `broken-${what.replace(/\W+/g, '-')}.onnx`);
      const content = await bytes();
      if (content !== undefined) await writeFile(file, content);
      const { predictor, warnings } = make({ durationModel: file });
      const reference = createEwmaPredictor();
      expect(await predictor.ready()).toEqual({
        duration: 'fallback',
        load: 'fallback',
        arrivals: 'fallback',
      });
      for (let round = 0; round < 3; round++) {
        feed(predictor, 'h', [120, 80, 400, 260]);
        feed(reference, 'h', [120, 80, 400, 260]);
        await predictor.refresh();
        expect(predictor.estimateDuration({ handler: 'h', priority: 1 })).toBe(
          reference.estimateDuration({ handler: 'h', priority: 1 }),
        );
      }
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(file);
      expect(warnings[0]).toMatch(reason);
      expect(warnings[0]).toMatch(/come from the ewma fallback/);
    });
  }

  it('warns once for a broken file that serves both load and arrivals', async () => {
    const file = path.join(models.dir, 'garbage.onnx');
    await writeFile(file, 'not a model at all');
    const { predictor, warnings } = make({ loadModel: file });
    expect(await predictor.ready()).toEqual({ duration: 'fallback', load: 'fallback', arrivals: 'fallback' });
    predictor.observeLoad(loadRow(1_000, [{ id: 'a', running: 1, capacity: 2 }]));
    expect(predictor.forecastWorkerLoad('a')).toBeUndefined();
    expect(predictor.forecastArrivals()).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/garbage\.onnx: .*load and arrivals forecasts come from the ewma fallback/);
  });
});

describe('onnx predictor with working models', () => {
  it('answers durations from the model once a handler has a full window, batched per refresh', async () => {
    const model = durationModel();
    const { predictor, warnings } = make({ durationModel: models.files.duration });
    expect((await predictor.ready()).duration).toBe('model');
    const reference = createEwmaPredictor();
    feed(predictor, 'a', [250, 310]);
    feed(reference, 'a', [250, 310]);
    // Two samples, a window of three: the fallback answers.
    expect(predictor.estimateDuration({ handler: 'a', priority: 2 })).toBe(
      reference.estimateDuration({ handler: 'a', priority: 2 }),
    );
    feed(predictor, 'a', [280]);
    feed(predictor, 'b', [100, 900, 30, 400]);
    expect(predictor.estimateDuration({ handler: 'b', priority: 1 })).toBeDefined();
    await predictor.refresh();
    const expectedA = Math.max(
      0,
      forward(
        model,
        [250, 310, 280].map((d) => [d, Math.log1p(d), 2]),
      )[0] as number,
    );
    const expectedB = Math.max(
      0,
      forward(
        model,
        [900, 30, 400].map((d) => [d, Math.log1p(d), 1]),
      )[0] as number,
    );
    expect(predictor.estimateDuration({ handler: 'a', priority: 2 })).toBeCloseTo(expectedA, 3);
    expect(predictor.estimateDuration({ handler: 'b', priority: 1 })).toBeCloseTo(expectedB, 3);
    expect(expectedA).not.toBeCloseTo(expectedB, 1);
    expect(warnings).toEqual([]);
  });

  it('forecasts worker load and arrivals once a window of steps has closed', async () => {
    const model = loadModel();
    const { predictor, warnings } = make({ loadModel: models.files.load, loadStepMs: 1000 });
    expect(await predictor.ready()).toEqual({ duration: 'fallback', load: 'model', arrivals: 'model' });
    const start = 1_700_000_000_000;
    const busy = [1, 3, 2, 4, 4, 1];
    busy.forEach((running, i) => {
      predictor.observeLoad(loadRow(start + i * 1000, [{ id: 'w', running, capacity: 4 }]));
    });
    await predictor.refresh();
    // Steps 0..4 are closed (step 5 is still open); the window is the last 4 of them.
    const utilisation = busy.slice(0, 5).map((r) => (r / 4) * 100);
    const mean = utilisation.reduce((a, b) => a + b, 0) / utilisation.length;
    const std = Math.sqrt(utilisation.reduce((a, b) => a + (b - mean) ** 2, 0) / utilisation.length);
    const rows = buildFeatures(
      {
        name: '',
        start: start,
        stepSeconds: 1,
        values: utilisation.map((u) => (u - mean) / std),
        filled: 0,
        merged: 0,
      },
      { rollingSteps: 3 },
    ).slice(1);
    const forecast = forward(model, rows).map((y) => y * std + mean);
    const expected = Math.max(0, Math.max(...forecast) / 100 - 1 / 4) * 4;
    expect(expected).toBeGreaterThan(0.01); // a forecast of 0 would pass by clamping alone
    expect(predictor.forecastWorkerLoad('w')).toBeCloseTo(expected, 3);
    expect(predictor.forecastWorkerLoad('unknown')).toBeUndefined();
    const arrivals = predictor.forecastArrivals();
    expect(arrivals?.horizonMs).toBe(2000);
    expect(Number.isFinite(arrivals?.perSecond)).toBe(true);
    expect(warnings).toEqual([]);
  });
});

describe('resolveOnnxPredictorOptions', () => {
  it('applies the defaults: shipped load model for load and arrivals, no duration model', () => {
    const o = resolveOnnxPredictorOptions();
    expect(o.durationModel).toBeUndefined();
    expect(o.loadModel).toMatch(/models[/\\]load-lstm\.onnx$/);
    expect(o.arrivalsModel).toBe(o.loadModel);
    expect(o.refreshIntervalMs).toBe(1000);
    expect(o.maxCachedKeys).toBe(10_000);
    expect(o.loadStepMs).toBeUndefined();
  });

  it('turns models off with null and rejects bad values', () => {
    const o = resolveOnnxPredictorOptions({ loadModel: null });
    expect(o.loadModel).toBeUndefined();
    expect(o.arrivalsModel).toBeUndefined();
    for (const bad of [
      { refreshIntervalMs: 0 },
      { loadStepMs: 1.5 },
      { durationModel: '' },
      { maxCachedKeys: -1 },
    ]) {
      expect(() => resolveOnnxPredictorOptions(bad)).toThrow(SmartQueueError);
    }
  });
});
