/**
 * Builds the ONNX graph of a trained sequence model:
 *
 * ```
 * input [batch, window, inputSize]
 *   → Sub(input_mean) → Div(input_std)            standardize, as training did
 *   → Transpose(perm 1,0,2)                       ONNX's recurrent ops take [seq, batch, input]
 *   → LSTM | GRU (W, R, B; GRU linear_before_reset = 1)  → Y_h [1, batch, hidden]
 *   → Squeeze(axis 0) → Gemm(head_W, head_B, transB)     dense head on the last hidden state
 *   → Mul(target_std) → Add(target_mean)          back to the target's units
 *   → output [batch, outputSize]
 * ```
 *
 * Weights are copied as they are: types.ts keeps them in ONNX's gate order (LSTM i, o, f, c; GRU
 * z, r, h), and the bias input B is concat(Wb, Rb), which is ONNX's [Wb, Rb] layout.
 */
import { SmartQueueError } from '../../../../engine/errors.js';
import type { TrainedSequenceModel } from '../model/types.js';
import { metadataEntries } from './metadata.js';
import { AttributeType, DataType } from './onnx-proto.js';

/** The operator set the graph binds to (LSTM-14/GRU-14, Squeeze with axes as an input). */
export const OPSET_VERSION = 17;
/** The IR version matching opset 17 (IR_VERSION_2021_7_30). */
export const IR_VERSION = 8;
/** Graph input and output names, part of the contract with the runtime. */
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'output';

interface TensorInit {
  name: string;
  dims: number[];
  dataType: number;
  floatData?: number[];
  int64Data?: number[];
}

function floats(name: string, dims: number[], values: readonly number[]): TensorInit {
  return { name, dims, dataType: DataType.FLOAT, floatData: [...values] };
}

function valueInfo(name: string, dims: (number | string)[]): Record<string, unknown> {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function checkModel(model: TrainedSequenceModel): void {
  const { spec, weights: w, normalization: n } = model;
  const gates = spec.kind === 'lstm' ? 4 : spec.kind === 'gru' ? 3 : 0;
  const problems: string[] = [];
  if (gates === 0) problems.push(`kind must be lstm or gru, got ${String(spec.kind)}`);
  for (const key of ['inputSize', 'hiddenSize', 'outputSize', 'window'] as const) {
    if (!Number.isInteger(spec[key]) || spec[key] <= 0)
      problems.push(`spec.${key} must be a positive integer`);
  }
  const gh = gates * spec.hiddenSize;
  const expected: [string, readonly number[], number][] = [
    ['weights.W', w.W, gh * spec.inputSize],
    ['weights.R', w.R, gh * spec.hiddenSize],
    ['weights.Wb', w.Wb, gh],
    ['weights.Rb', w.Rb, gh],
    ['weights.headW', w.headW, spec.outputSize * spec.hiddenSize],
    ['weights.headB', w.headB, spec.outputSize],
    ['normalization.inputMean', n.inputMean, spec.inputSize],
    ['normalization.inputStd', n.inputStd, spec.inputSize],
  ];
  for (const [field, values, length] of expected) {
    if (values.length !== length) problems.push(`${field} has ${values.length} values, expected ${length}`);
    else if (!values.every(Number.isFinite)) problems.push(`${field} has non-finite values`);
  }
  if (n.inputStd.some((s) => s <= 0) || !(n.targetStd > 0)) problems.push('standard deviations must be > 0');
  if (!Number.isFinite(n.targetMean)) problems.push('normalization.targetMean must be finite');
  if (model.features.length !== spec.inputSize) {
    problems.push(`features lists ${model.features.length} names, expected ${spec.inputSize}`);
  }
  if (problems.length > 0) {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `cannot export model ${model.name}: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  }
}

/**
 * The `onnx.ModelProto` of `model`, as a plain object for protobufjs' `fromObject`. Throws
 * `INVALID_ARGUMENT` listing every inconsistency between the spec and the weights.
 */
export function buildModelProto(
  model: TrainedSequenceModel,
  producerVersion: string,
): Record<string, unknown> {
  checkModel(model);
  const { spec, weights: w, normalization: n } = model;
  const gates = spec.kind === 'lstm' ? 4 : 3;
  const H = spec.hiddenSize;
  const initializer: TensorInit[] = [
    floats('input_mean', [spec.inputSize], n.inputMean),
    floats('input_std', [spec.inputSize], n.inputStd),
    floats('W', [1, gates * H, spec.inputSize], w.W),
    floats('R', [1, gates * H, H], w.R),
    floats('B', [1, 2 * gates * H], [...w.Wb, ...w.Rb]),
    { name: 'squeeze_axes', dims: [1], dataType: DataType.INT64, int64Data: [0] },
    floats('head_W', [spec.outputSize, H], w.headW),
    floats('head_B', [spec.outputSize], w.headB),
    floats('target_std', [1], [n.targetStd]),
    floats('target_mean', [1], [n.targetMean]),
  ];
  const recurrentAttributes = [{ name: 'hidden_size', type: AttributeType.INT, i: H }];
  if (spec.kind === 'gru') {
    recurrentAttributes.push({ name: 'linear_before_reset', type: AttributeType.INT, i: 1 });
  }
  const node = [
    { opType: 'Sub', name: 'normalize_sub', input: [INPUT_NAME, 'input_mean'], output: ['x_centered'] },
    { opType: 'Div', name: 'normalize_div', input: ['x_centered', 'input_std'], output: ['x_normalized'] },
    {
      opType: 'Transpose',
      name: 'to_seq_major',
      input: ['x_normalized'],
      output: ['x_seq'],
      attribute: [{ name: 'perm', type: AttributeType.INTS, ints: [1, 0, 2] }],
    },
    {
      opType: spec.kind === 'lstm' ? 'LSTM' : 'GRU',
      name: 'recurrent',
      // The full output sequence Y is not needed: only the last hidden state feeds the head.
      input: ['x_seq', 'W', 'R', 'B'],
      output: ['', 'Y_h'],
      attribute: recurrentAttributes,
    },
    { opType: 'Squeeze', name: 'last_hidden', input: ['Y_h', 'squeeze_axes'], output: ['h_last'] },
    {
      opType: 'Gemm',
      name: 'head',
      input: ['h_last', 'head_W', 'head_B'],
      output: ['y_normalized'],
      attribute: [{ name: 'transB', type: AttributeType.INT, i: 1 }],
    },
    { opType: 'Mul', name: 'denormalize_mul', input: ['y_normalized', 'target_std'], output: ['y_scaled'] },
    { opType: 'Add', name: 'denormalize_add', input: ['y_scaled', 'target_mean'], output: [OUTPUT_NAME] },
  ];
  return {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: 'smartqueue',
    producerVersion,
    domain: 'dev.smartqueue',
    modelVersion: 1,
    docString: `${model.name}: ${spec.kind.toUpperCase()} over ${spec.window} steps of ${model.features.join(', ')} → ${model.target}`,
    graph: {
      name: model.name,
      node,
      initializer,
      input: [valueInfo(INPUT_NAME, ['batch', spec.window, spec.inputSize])],
      output: [valueInfo(OUTPUT_NAME, ['batch', spec.outputSize])],
    },
    metadataProps: metadataEntries({
      name: model.name,
      spec,
      features: model.features,
      target: model.target,
      stepSeconds: model.stepSeconds,
      normalization: n,
      training: model.training,
    }),
  };
}
