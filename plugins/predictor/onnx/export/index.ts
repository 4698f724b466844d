/**
 * ONNX export of SmartQueue's sequence models: the standard LSTM/GRU operator plus the dense
 * head, with normalization inside the graph, written by protobufjs from the official ONNX
 * schema. See graph.ts for the graph and metadata.ts for `metadata_props`.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SmartQueueError } from '../../../../engine/errors.js';
import type { TrainedSequenceModel } from '../model/types.js';
import { buildModelProto, INPUT_NAME, OUTPUT_NAME } from './graph.js';
import { parseMetadata, type OnnxModelMetadata } from './metadata.js';
import { onnxTypes } from './onnx-proto.js';

export { INPUT_NAME, IR_VERSION, OPSET_VERSION, OUTPUT_NAME } from './graph.js';
export { METADATA_KEYS, parseMetadata } from './metadata.js';
export type { OnnxModelMetadata } from './metadata.js';

/** Written into `producer_version`: bump when the graph layout changes. */
const EXPORTER_VERSION = '1';

/** The serialized ONNX model (`onnx.ModelProto` bytes) of `model`. */
export function encodeOnnx(model: TrainedSequenceModel): Uint8Array {
  const { model: ModelProto } = onnxTypes();
  const proto = buildModelProto(model, EXPORTER_VERSION);
  const problem = ModelProto.verify(proto);
  // A verify failure here is a bug in graph.ts, not a user error.
  if (problem !== null)
    throw new SmartQueueError('INTERNAL', `ONNX export built an invalid ModelProto: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(proto)).finish();
}

/**
 * Writes `model` as an ONNX file at `file` (parent folders created). The file is written under
 * a temporary name and renamed, so a reader never sees half a model.
 */
export async function exportOnnx(
  model: TrainedSequenceModel,
  file: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  options.signal?.throwIfAborted();
  const bytes = encodeOnnx(model);
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, bytes, options.signal ? { signal: options.signal } : {});
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** What {@link inspectOnnx} reads from a model file without running it. */
export interface OnnxModelInfo {
  metadata: OnnxModelMetadata;
  irVersion: number;
  opsetVersion: number | undefined;
  /** Operator types of the graph's nodes, in order. */
  operators: string[];
}

interface DecodedModel {
  irVersion?: number;
  opsetImport?: { domain?: string; version?: number }[];
  metadataProps?: { key?: string; value?: string }[];
  graph?: { node?: { opType?: string }[]; input?: { name?: string }[]; output?: { name?: string }[] };
}

/**
 * Decodes an ONNX file written by {@link exportOnnx} and checks its metadata and its input and
 * output names; throws `INVALID_ARGUMENT` saying what is wrong (not protobuf, not ours, shapes
 * that do not match the metadata).
 */
export function inspectOnnx(bytes: Uint8Array): OnnxModelInfo {
  const { model: ModelProto } = onnxTypes();
  let decoded: DecodedModel;
  try {
    decoded = ModelProto.toObject(ModelProto.decode(bytes), {
      longs: Number,
      defaults: false,
    }) as DecodedModel;
  } catch (err) {
    throw new SmartQueueError('INVALID_ARGUMENT', `not an ONNX model: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const graph = decoded.graph;
  if (graph === undefined)
    throw new SmartQueueError('INVALID_ARGUMENT', 'not an ONNX model: it has no graph');
  const inputs = (graph.input ?? []).map((i) => i.name);
  const outputs = (graph.output ?? []).map((o) => o.name);
  if (!inputs.includes(INPUT_NAME) || !outputs.includes(OUTPUT_NAME)) {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `ONNX model must have an input "${INPUT_NAME}" and an output "${OUTPUT_NAME}", it has inputs [${inputs.join(', ')}] and outputs [${outputs.join(', ')}]`,
    );
  }
  return {
    metadata: parseMetadata(decoded.metadataProps ?? []),
    irVersion: decoded.irVersion ?? 0,
    opsetVersion: decoded.opsetImport?.find((o) => (o.domain ?? '') === '')?.version,
    operators: (graph.node ?? []).map((n) => n.opType ?? ''),
  };
}
