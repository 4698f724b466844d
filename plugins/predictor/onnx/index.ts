/**
 * The `onnx` predictor: LSTM/GRU models exported to ONNX (plugins/predictor/onnx/export), run by
 * onnxruntime-node, with the `ewma` predictor as fallback.
 */
export { createOnnxPredictor } from './onnx-predictor.js';
export type { OnnxPredictor, OnnxPredictorStatus } from './onnx-predictor.js';
export { resolveOnnxPredictorOptions, shippedModelsDir } from './options.js';
export type { OnnxPredictorOptions, PredictorLogger, ResolvedOnnxPredictorOptions } from './options.js';
export { openOnnxSession } from './session.js';
export type { OnnxSequenceSession, OnnxSessionOptions } from './session.js';
export { exportOnnx, encodeOnnx, inspectOnnx } from './export/index.js';
export type { OnnxModelInfo, OnnxModelMetadata } from './export/index.js';
