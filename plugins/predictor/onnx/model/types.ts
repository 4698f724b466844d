/**
 * The recurrent models of the Predictor stage: their shape, weights and normalization. The
 * weights are kept in ONNX's own layout (LSTM gates in the order i, o, f, c; GRU gates z, r, h
 * with linear_before_reset = 1), so the ONNX export copies them as they are and the TypeScript
 * forward pass and onnxruntime compute the same function.
 */

/** Which recurrent cell. */
export type CellKind = 'lstm' | 'gru';

/** The shape of a model: one recurrent layer over a window, then a dense head. */
export interface SequenceModelSpec {
  kind: CellKind;
  /** Features per time step. */
  inputSize: number;
  /** Hidden units of the recurrent layer. */
  hiddenSize: number;
  /** Outputs of the dense head (for a load forecast: one per step ahead). */
  outputSize: number;
  /** Time steps in one input window. */
  window: number;
}

/**
 * Weights, row-major, in ONNX's layout (one direction):
 * - `W`: [gates*hidden, input]; `R`: [gates*hidden, hidden]; `Wb`, `Rb`: [gates*hidden]
 *   (gates = 4 for LSTM in the order i, o, f, c; 3 for GRU in the order z, r, h);
 * - the head on the last hidden state: `headW`: [output, hidden], `headB`: [output].
 */
export interface SequenceModelWeights {
  W: number[];
  R: number[];
  Wb: number[];
  Rb: number[];
  headW: number[];
  headB: number[];
}

/** Per-feature standardization of inputs, and of the targets (outputs are de-standardized). */
export interface Normalization {
  inputMean: number[];
  inputStd: number[];
  targetMean: number;
  targetStd: number;
}

/** A trained model as saved next to its ONNX file (models/<name>.json). */
export interface TrainedSequenceModel {
  /** Format version of this JSON. */
  format: 1;
  name: string;
  spec: SequenceModelSpec;
  weights: SequenceModelWeights;
  normalization: Normalization;
  /** Names of the input features, in order (e.g. "load", "hour_sin", ...). */
  features: string[];
  /** What one output means (e.g. "load in 5, 10, ... minutes"). */
  target: string;
  /** Seconds between two time steps. */
  stepSeconds: number;
  /** How it was trained (data, seed, epochs, validation loss), for the model card. */
  training: Record<string, unknown>;
}
