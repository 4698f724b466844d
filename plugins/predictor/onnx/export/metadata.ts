/**
 * What an exported model says about itself in ONNX `metadata_props`: the features it expects,
 * its shape and its normalization constants. The graph already applies the normalization; the
 * copy in the metadata lets a reader check a model file against what it will feed it (and lets a
 * model card or another runtime see the constants) without parsing the graph.
 */
import { SmartQueueError } from '../../../../engine/errors.js';
import type { CellKind, Normalization, SequenceModelSpec } from '../model/types.js';

/** Metadata keys, all prefixed so they do not clash with other tools' keys. */
export const METADATA_KEYS = {
  format: 'smartqueue.format',
  name: 'smartqueue.name',
  kind: 'smartqueue.kind',
  inputSize: 'smartqueue.input_size',
  hiddenSize: 'smartqueue.hidden_size',
  outputSize: 'smartqueue.output_size',
  window: 'smartqueue.window',
  features: 'smartqueue.features',
  target: 'smartqueue.target',
  stepSeconds: 'smartqueue.step_seconds',
  inputMean: 'smartqueue.input_mean',
  inputStd: 'smartqueue.input_std',
  targetMean: 'smartqueue.target_mean',
  targetStd: 'smartqueue.target_std',
  training: 'smartqueue.training',
} as const;

/** The format written into `smartqueue.format`; readers refuse other values. */
export const METADATA_FORMAT = '1';

/** A model's self-description, as written into and read back from `metadata_props`. */
export interface OnnxModelMetadata {
  name: string;
  spec: SequenceModelSpec;
  features: string[];
  target: string;
  stepSeconds: number;
  normalization: Normalization;
  /** How the model was trained (data, seed, feature settings such as the rolling window). */
  training: Record<string, unknown>;
}

/** The key/value pairs for {@link OnnxModelMetadata} (numbers as JSON, so float64 values round trip). */
export function metadataEntries(meta: OnnxModelMetadata): { key: string; value: string }[] {
  const { spec, normalization: n } = meta;
  const pairs: [string, string][] = [
    [METADATA_KEYS.format, METADATA_FORMAT],
    [METADATA_KEYS.name, meta.name],
    [METADATA_KEYS.kind, spec.kind],
    [METADATA_KEYS.inputSize, String(spec.inputSize)],
    [METADATA_KEYS.hiddenSize, String(spec.hiddenSize)],
    [METADATA_KEYS.outputSize, String(spec.outputSize)],
    [METADATA_KEYS.window, String(spec.window)],
    [METADATA_KEYS.features, JSON.stringify(meta.features)],
    [METADATA_KEYS.target, meta.target],
    [METADATA_KEYS.stepSeconds, String(meta.stepSeconds)],
    [METADATA_KEYS.inputMean, JSON.stringify(n.inputMean)],
    [METADATA_KEYS.inputStd, JSON.stringify(n.inputStd)],
    [METADATA_KEYS.targetMean, JSON.stringify(n.targetMean)],
    [METADATA_KEYS.targetStd, JSON.stringify(n.targetStd)],
    [METADATA_KEYS.training, JSON.stringify(meta.training)],
  ];
  return pairs.map(([key, value]) => ({ key, value }));
}

function invalid(message: string, details: Record<string, unknown> = {}): SmartQueueError {
  return new SmartQueueError('INVALID_ARGUMENT', `ONNX model metadata: ${message}`, { details });
}

function positiveInt(map: Map<string, string>, key: string): number {
  const raw = map.get(key);
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value) || value <= 0) {
    throw invalid(`${key} must be a positive integer, got ${JSON.stringify(raw)}`, { key });
  }
  return value;
}

function json(map: Map<string, string>, key: string): unknown {
  const raw = map.get(key);
  if (raw === undefined) throw invalid(`${key} is missing`, { key });
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw invalid(`${key} is not JSON: ${JSON.stringify(raw.slice(0, 80))}`, { key });
  }
}

function finiteArray(map: Map<string, string>, key: string, length: number): number[] {
  const value = json(map, key);
  if (!Array.isArray(value) || value.length !== length || !value.every((v) => Number.isFinite(v))) {
    throw invalid(`${key} must be ${length} finite numbers`, { key });
  }
  return value as number[];
}

function finite(map: Map<string, string>, key: string): number {
  const value = json(map, key);
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalid(`${key} must be a finite number`, { key });
  return value;
}

/**
 * Reads and checks the metadata of a model written by `exportOnnx`; throws `INVALID_ARGUMENT`
 * naming the first missing or inconsistent key.
 */
export function parseMetadata(entries: readonly { key?: string; value?: string }[]): OnnxModelMetadata {
  const map = new Map<string, string>();
  for (const { key, value } of entries) if (key !== undefined) map.set(key, value ?? '');
  const format = map.get(METADATA_KEYS.format);
  if (format !== METADATA_FORMAT) {
    throw invalid(`${METADATA_KEYS.format} must be ${METADATA_FORMAT}, got ${JSON.stringify(format)}`);
  }
  const kind = map.get(METADATA_KEYS.kind);
  if (kind !== 'lstm' && kind !== 'gru') throw invalid(`${METADATA_KEYS.kind} must be lstm or gru`, { kind });
  const spec: SequenceModelSpec = {
    kind: kind satisfies CellKind,
    inputSize: positiveInt(map, METADATA_KEYS.inputSize),
    hiddenSize: positiveInt(map, METADATA_KEYS.hiddenSize),
    outputSize: positiveInt(map, METADATA_KEYS.outputSize),
    window: positiveInt(map, METADATA_KEYS.window),
  };
  const features = json(map, METADATA_KEYS.features);
  if (
    !Array.isArray(features) ||
    features.length !== spec.inputSize ||
    !features.every((f) => typeof f === 'string')
  ) {
    throw invalid(`${METADATA_KEYS.features} must list ${spec.inputSize} feature names`, { features });
  }
  const inputStd = finiteArray(map, METADATA_KEYS.inputStd, spec.inputSize);
  const targetStd = finite(map, METADATA_KEYS.targetStd);
  if (inputStd.some((s) => s <= 0) || targetStd <= 0) throw invalid('standard deviations must be > 0');
  const training = map.has(METADATA_KEYS.training) ? json(map, METADATA_KEYS.training) : {};
  if (typeof training !== 'object' || training === null || Array.isArray(training)) {
    throw invalid(`${METADATA_KEYS.training} must be a JSON object`);
  }
  const stepSeconds = Number(map.get(METADATA_KEYS.stepSeconds));
  if (!(stepSeconds > 0)) throw invalid(`${METADATA_KEYS.stepSeconds} must be > 0`);
  return {
    name: map.get(METADATA_KEYS.name) ?? '',
    spec,
    features: features as string[],
    target: map.get(METADATA_KEYS.target) ?? '',
    stepSeconds,
    normalization: {
      inputMean: finiteArray(map, METADATA_KEYS.inputMean, spec.inputSize),
      inputStd,
      targetMean: finite(map, METADATA_KEYS.targetMean),
      targetStd,
    },
    training: training as Record<string, unknown>,
  };
}
