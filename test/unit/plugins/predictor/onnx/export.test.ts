import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeOnnx,
  exportOnnx,
  inspectOnnx,
  IR_VERSION,
  OPSET_VERSION,
} from '../../../../../plugins/predictor/onnx/export/index.js';
import { forward } from '../../../../../plugins/predictor/onnx/model/network.js';
import type { CellKind } from '../../../../../plugins/predictor/onnx/model/types.js';
import { openOnnxSession, type OnnxSequenceSession } from '../../../../../plugins/predictor/onnx/session.js';
import { SmartQueueError } from '../../../../../engine/errors.js';
import { rejectsWith } from '../../../../support/errors.js';
import { randomModel, randomWindows } from './random-model.js';

const TOLERANCE = 1e-4;

let dir: string | undefined;
const sessions: OnnxSequenceSession[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function tempFile(name: string): Promise<string> {
  dir ??= await mkdtemp(path.join(os.tmpdir(), 'sq-onnx-'));
  return path.join(dir, name);
}

async function open(file: string, expectedFeatures?: string[]): Promise<OnnxSequenceSession> {
  const session = await openOnnxSession(file, expectedFeatures ? { expectedFeatures } : {});
  sessions.push(session);
  return session;
}

describe('ONNX export matches the TypeScript forward pass', () => {
  const shapes = [
    { inputSize: 5, hiddenSize: 8, outputSize: 3, window: 12 },
    { inputSize: 1, hiddenSize: 3, outputSize: 1, window: 1 },
    { inputSize: 7, hiddenSize: 16, outputSize: 6, window: 24 },
  ];
  for (const kind of ['lstm', 'gru'] as CellKind[]) {
    shapes.forEach((shape, i) => {
      it(`${kind} ${JSON.stringify(shape)}: onnxruntime output equals forward() within ${TOLERANCE}`, async () => {
        const model = randomModel({ kind, ...shape }, 100 + i);
        const file = await tempFile(`${kind}-${i}.onnx`);
        await exportOnnx(model, file);
        const session = await open(file, model.features);
        const windows = randomWindows(model, 16, 200 + i);
        const outputs = await session.run(windows);
        expect(outputs).toHaveLength(windows.length);
        let spread = 0;
        windows.forEach((window, b) => {
          const expected = forward(model, window);
          const actual = outputs[b] as number[];
          expect(actual).toHaveLength(shape.outputSize);
          actual.forEach((value, o) => {
            expect(Math.abs(value - (expected[o] as number))).toBeLessThanOrEqual(TOLERANCE);
          });
          spread = Math.max(spread, Math.abs((expected[0] as number) - (outputs[0]![0] as number)));
        });
        // Different windows give different outputs, so the comparison above is not trivially true.
        expect(spread).toBeGreaterThan(1e-3);
        // One window alone gives the same output as inside the batch.
        const [single] = await session.run([windows[3]!]);
        single!.forEach((value, o) => expect(Math.abs(value - outputs[3]![o]!)).toBeLessThanOrEqual(1e-6));
      });
    });
  }
});

describe('ONNX model file', () => {
  it('round-trips its metadata: spec, features, normalization and training', async () => {
    const model = randomModel({ kind: 'gru', inputSize: 4, hiddenSize: 6, outputSize: 2, window: 9 }, 7);
    const info = inspectOnnx(encodeOnnx(model));
    expect(info.metadata).toEqual({
      name: model.name,
      spec: model.spec,
      features: model.features,
      target: model.target,
      stepSeconds: model.stepSeconds,
      normalization: model.normalization,
      training: model.training,
    });
    expect(info.irVersion).toBe(IR_VERSION);
    expect(info.opsetVersion).toBe(OPSET_VERSION);
    expect(OPSET_VERSION).toBeGreaterThanOrEqual(14);
    expect(info.operators).toEqual(['Sub', 'Div', 'Transpose', 'GRU', 'Squeeze', 'Gemm', 'Mul', 'Add']);
  });

  it('uses the standard LSTM operator and writes the file atomically', async () => {
    const model = randomModel({ kind: 'lstm', inputSize: 2, hiddenSize: 3, outputSize: 1, window: 4 }, 8);
    const file = await tempFile('nested/dir/model.onnx');
    await exportOnnx(model, file);
    const bytes = await readFile(file);
    expect(Buffer.compare(bytes, Buffer.from(encodeOnnx(model)))).toBe(0);
    expect(inspectOnnx(bytes).operators).toContain('LSTM');
    const session = await open(file);
    expect(session.metadata.spec).toEqual(model.spec);
  });

  it('refuses to export weights that do not match the spec, naming each problem', () => {
    const model = randomModel({ kind: 'lstm', inputSize: 2, hiddenSize: 3, outputSize: 1, window: 4 }, 9);
    model.weights.R = model.weights.R.slice(1);
    model.normalization.inputStd[0] = 0;
    let err: unknown;
    try {
      encodeOnnx(model);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SmartQueueError);
    expect((err as SmartQueueError).code).toBe('INVALID_ARGUMENT');
    expect(String(err)).toMatch(/weights\.R has 35 values, expected 36/);
    expect(String(err)).toMatch(/standard deviations must be > 0/);
  });

  it('rejects a model whose features differ from what the caller feeds', async () => {
    const model = randomModel({ kind: 'gru', inputSize: 2, hiddenSize: 3, outputSize: 1, window: 4 }, 10);
    const file = await tempFile('features.onnx');
    await exportOnnx(model, file);
    const err = await rejectsWith(
      openOnnxSession(file, { expectedFeatures: ['f1', 'f0'] }),
      'INVALID_ARGUMENT',
    );
    expect(err.message).toMatch(/features \[f0, f1\] differ from the expected \[f1, f0\]/);
  });

  it('rejects windows of the wrong shape instead of feeding garbage to the model', async () => {
    const model = randomModel({ kind: 'gru', inputSize: 2, hiddenSize: 3, outputSize: 1, window: 4 }, 11);
    const file = await tempFile('shape.onnx');
    await exportOnnx(model, file);
    const session = await open(file);
    await expect(session.run([[[1, 2]]])).rejects.toThrow(/window 0 has 1 steps, the model takes 4/);
    await expect(session.run([Array.from({ length: 4 }, () => [1, 2, 3])])).rejects.toThrow(
      /row of 3 features/,
    );
  });
});
