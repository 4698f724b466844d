/** mulberry32: a small seeded PRNG, so tests and benchmarks can replay the same input (the one model training uses). */
export { mulberry32 } from '../../plugins/predictor/onnx/model/random.js';
