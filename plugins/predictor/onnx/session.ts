/**
 * An onnxruntime-node session over one exported sequence model: the file is read and checked
 * once (metadata, input/output names and shapes), the session is created once, and inputs are
 * run in batches (one call per scheduling tick for every window that needs a forecast).
 * onnxruntime-node is imported here, lazily, so nothing loads it unless an ONNX model is used.
 */
import { readFile } from 'node:fs/promises';
import type * as Ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { SmartQueueError } from '../../../engine/errors.js';
import { inspectOnnx, INPUT_NAME, OUTPUT_NAME, type OnnxModelMetadata } from './export/index.js';

/** Options of {@link openOnnxSession}. */
export interface OnnxSessionOptions {
  /** Features the caller will feed, in order; the model's metadata must list exactly these. */
  expectedFeatures?: readonly string[];
  /**
   * Threads onnxruntime may use inside one run. The models are small, so one thread keeps
   * inference from competing with the scheduler for cores.
   * @default 1
   */
  intraOpThreads?: number;
  signal?: AbortSignal;
}

/** A loaded model: run batches of raw (un-normalized) windows. */
export interface OnnxSequenceSession {
  readonly file: string;
  readonly metadata: OnnxModelMetadata;
  /** One output row per window; each window is `window` rows of `inputSize` raw features. */
  run(windows: readonly (readonly (readonly number[])[])[]): Promise<number[][]>;
  /** Releases the native session; idempotent. */
  close(): Promise<void>;
}

type OrtModule = typeof Ort;
let ort: Promise<OrtModule> | undefined;

/** onnxruntime-node, imported on first use. */
function loadOrt(): Promise<OrtModule> {
  ort ??= import('onnxruntime-node');
  return ort;
}

function invalid(file: string, reason: string, cause?: unknown): SmartQueueError {
  return new SmartQueueError('INVALID_ARGUMENT', `ONNX model ${file}: ${reason}`, {
    details: { file },
    ...(cause !== undefined ? { cause } : {}),
  });
}

function sameShape(actual: readonly (number | string)[], expected: readonly (number | undefined)[]): boolean {
  // Symbolic dimensions (the batch) match anything; fixed ones must be equal.
  return (
    actual.length === expected.length &&
    actual.every((d, i) => typeof d !== 'number' || expected[i] === undefined || d === expected[i])
  );
}

function checkShapes(file: string, session: InferenceSession, meta: OnnxModelMetadata): void {
  if (!session.inputNames.includes(INPUT_NAME) || !session.outputNames.includes(OUTPUT_NAME)) {
    throw invalid(file, `expected input "${INPUT_NAME}" and output "${OUTPUT_NAME}"`);
  }
  const { window, inputSize, outputSize } = meta.spec;
  // inputMetadata/outputMetadata exist in onnxruntime 1.21+; older builds skip this check.
  const inputMeta = session.inputMetadata?.find((m) => m.name === INPUT_NAME);
  if (inputMeta?.isTensor && !sameShape(inputMeta.shape, [undefined, window, inputSize])) {
    throw invalid(
      file,
      `input shape [${inputMeta.shape.join(', ')}] does not match the metadata [batch, ${window}, ${inputSize}]`,
    );
  }
  const outputMeta = session.outputMetadata?.find((m) => m.name === OUTPUT_NAME);
  if (outputMeta?.isTensor && !sameShape(outputMeta.shape, [undefined, outputSize])) {
    throw invalid(
      file,
      `output shape [${outputMeta.shape.join(', ')}] does not match the metadata [batch, ${outputSize}]`,
    );
  }
}

/**
 * Reads, checks and loads the model at `file`. Throws `NOT_FOUND` for a missing file and
 * `INVALID_ARGUMENT` naming the file and the reason for anything else (not ONNX, metadata
 * missing or inconsistent, shapes that disagree with the metadata, unexpected features).
 */
export async function openOnnxSession(
  file: string,
  options: OnnxSessionOptions = {},
): Promise<OnnxSequenceSession> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file, options.signal ? { signal: options.signal } : {});
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SmartQueueError('NOT_FOUND', `ONNX model ${file}: no such file`, {
        details: { file },
        cause: err,
      });
    }
    throw invalid(file, `cannot read it: ${(err as Error).message}`, err);
  }
  let metadata: OnnxModelMetadata;
  try {
    metadata = inspectOnnx(bytes).metadata;
  } catch (err) {
    throw invalid(file, (err as Error).message, err);
  }
  const expected = options.expectedFeatures;
  if (expected !== undefined && expected.join('\u0000') !== metadata.features.join('\u0000')) {
    throw invalid(
      file,
      `features [${metadata.features.join(', ')}] differ from the expected [${expected.join(', ')}]`,
    );
  }
  const { InferenceSession, Tensor } = await loadOrt();
  options.signal?.throwIfAborted();
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
    });
  } catch (err) {
    throw invalid(file, `onnxruntime cannot load it: ${(err as Error).message}`, err);
  }
  try {
    checkShapes(file, session, metadata);
  } catch (err) {
    await session.release();
    throw err;
  }
  const { window, inputSize, outputSize } = metadata.spec;
  let closed: Promise<void> | undefined;

  return {
    file,
    metadata,
    async run(windows) {
      if (closed !== undefined)
        throw new SmartQueueError('FAILED_PRECONDITION', `ONNX model ${file}: session closed`);
      if (windows.length === 0) return [];
      const data = new Float32Array(windows.length * window * inputSize);
      let at = 0;
      windows.forEach((rows, b) => {
        if (rows.length !== window) {
          throw new SmartQueueError(
            'INVALID_ARGUMENT',
            `window ${b} has ${rows.length} steps, the model takes ${window}`,
          );
        }
        for (const row of rows) {
          if (row.length !== inputSize) {
            throw new SmartQueueError(
              'INVALID_ARGUMENT',
              `window ${b} has a row of ${row.length} features, the model takes ${inputSize}`,
            );
          }
          for (const value of row) data[at++] = value;
        }
      });
      const input = new Tensor('float32', data, [windows.length, window, inputSize]);
      const result = await session.run({ [INPUT_NAME]: input });
      const output = result[OUTPUT_NAME];
      if (output === undefined || output.dims.length !== 2 || output.dims[1] !== outputSize) {
        throw invalid(
          file,
          `output has shape [${output?.dims.join(', ') ?? ''}], expected [batch, ${outputSize}]`,
        );
      }
      const values = output.data as Float32Array;
      return windows.map((_, b) => Array.from(values.subarray(b * outputSize, (b + 1) * outputSize)));
    },
    close() {
      closed ??= session.release();
      return closed;
    },
  };
}
