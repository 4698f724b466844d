/** Adam with bias correction, and gradient clipping by global norm, on flat vectors. */

/** Adam's settings. */
export interface AdamOptions {
  /** @default 0.005 */
  learningRate?: number;
  /** @default 0.9 */
  beta1?: number;
  /** @default 0.999 */
  beta2?: number;
  /** @default 1e-8 */
  epsilon?: number;
}

/** Adam's state for one parameter vector. */
export class Adam {
  readonly learningRate: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;

  constructor(size: number, options: AdamOptions = {}) {
    this.learningRate = options.learningRate ?? 0.005;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** Moves `params` one step against `grad` (in place). */
  step(params: Float64Array, grad: Float64Array): void {
    this.t += 1;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i] as number;
      const m = this.beta1 * (this.m[i] as number) + (1 - this.beta1) * g;
      const v = this.beta2 * (this.v[i] as number) + (1 - this.beta2) * g * g;
      this.m[i] = m;
      this.v[i] = v;
      params[i] = (params[i] as number) - (this.learningRate * (m / c1)) / (Math.sqrt(v / c2) + this.epsilon);
    }
  }
}

/**
 * Scales `grad` in place so its L2 norm is at most `maxNorm` (exploding gradients through long
 * windows are the usual failure of recurrent training); returns the norm before clipping.
 */
export function clipGlobalNorm(grad: Float64Array, maxNorm: number): number {
  let sq = 0;
  for (const g of grad) sq += g * g;
  const norm = Math.sqrt(sq);
  if (norm > maxNorm && norm > 0) {
    const scale = maxNorm / norm;
    for (let i = 0; i < grad.length; i++) grad[i] = (grad[i] as number) * scale;
  }
  return norm;
}
