/**
 * One recurrent layer (LSTM or GRU) over a window, forward and backward (backpropagation through
 * time), on a flat parameter vector laid out as ONNX lays out its weights (see types.ts): LSTM
 * gates i, o, f, c; GRU gates z, r, h with linear_before_reset = 1. Keeping ONNX's layout in the
 * math itself means the exporter copies the arrays as they are, and a mismatch between this code
 * and onnxruntime shows up as a failing equivalence test instead of a silent reordering.
 *
 * Float64 throughout; the ONNX file holds float32 copies.
 */
import type { CellKind } from './types.js';

/** Where each weight array starts in the flat parameter vector. */
export interface ParamLayout {
  kind: CellKind;
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
  gates: number;
  W: number;
  R: number;
  Wb: number;
  Rb: number;
  headW: number;
  headB: number;
  /** Total number of parameters. */
  size: number;
}

/** Number of gate blocks of a cell in ONNX's layout. */
export function gateCount(kind: CellKind): number {
  return kind === 'lstm' ? 4 : 3;
}

/** Offsets of W, R, Wb, Rb, headW, headB in one flat vector. */
export function paramLayout(
  kind: CellKind,
  inputSize: number,
  hiddenSize: number,
  outputSize: number,
): ParamLayout {
  const gates = gateCount(kind);
  const gh = gates * hiddenSize;
  const W = 0;
  const R = W + gh * inputSize;
  const Wb = R + gh * hiddenSize;
  const Rb = Wb + gh;
  const headW = Rb + gh;
  const headB = headW + outputSize * hiddenSize;
  const size = headB + outputSize;
  return { kind, inputSize, hiddenSize, outputSize, gates, W, R, Wb, Rb, headW, headB, size };
}

/** What the backward pass needs from the forward pass, per time step. */
export interface CellTrace {
  /** Hidden state before each step (h_{t-1}); index 0 is the zero initial state. */
  hPrev: Float64Array[];
  /** LSTM: activated gates i, o, f, c~ (4H). GRU: z, r, n and R_h h + Rb_h (4H). */
  acts: Float64Array[];
  /** LSTM only: cell state before each step and tanh of the new cell state. */
  cPrev: Float64Array[];
  tanhC: Float64Array[];
  /** Hidden state after the last step. */
  hLast: Float64Array;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** Pre-activations for every gate row: Wb + Rb + W x (+ R h when `withR`). */
function affine(
  p: Float64Array,
  L: ParamLayout,
  x: Float64Array,
  h: Float64Array,
  out: Float64Array,
  rows: number,
  rowStart: number,
  withX: boolean,
  withR: boolean,
): void {
  const I = L.inputSize;
  const H = L.hiddenSize;
  const wOff = L.W;
  const rOff = L.R;
  const wbOff = L.Wb;
  const rbOff = L.Rb;
  for (let r = rowStart; r < rowStart + rows; r++) {
    let s = 0;
    if (withX) {
      s += p[wbOff + r] as number;
      const wo = wOff + r * I;
      for (let k = 0; k < I; k++) s += (p[wo + k] as number) * (x[k] as number);
    }
    if (withR) {
      s += p[rbOff + r] as number;
      const ro = rOff + r * H;
      for (let k = 0; k < H; k++) s += (p[ro + k] as number) * (h[k] as number);
    }
    out[r] = s;
  }
}

/** Runs the cell over `xs` (already normalized) from a zero state; keeps what backward needs. */
export function cellForward(p: Float64Array, L: ParamLayout, xs: Float64Array[]): CellTrace {
  const H = L.hiddenSize;
  const trace: CellTrace = { hPrev: [], acts: [], cPrev: [], tanhC: [], hLast: new Float64Array(H) };
  let h = new Float64Array(H);
  let c = new Float64Array(H);
  for (const x of xs) {
    const a = new Float64Array(4 * H);
    const hNext = new Float64Array(H);
    if (L.kind === 'lstm') {
      affine(p, L, x, h, a, 4 * H, 0, true, true);
      const cNext = new Float64Array(H);
      const tc = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const i = sigmoid(a[j] as number);
        const o = sigmoid(a[H + j] as number);
        const f = sigmoid(a[2 * H + j] as number);
        const g = Math.tanh(a[3 * H + j] as number);
        a[j] = i;
        a[H + j] = o;
        a[2 * H + j] = f;
        a[3 * H + j] = g;
        cNext[j] = f * (c[j] as number) + i * g;
        tc[j] = Math.tanh(cNext[j] as number);
        hNext[j] = o * (tc[j] as number);
      }
      trace.cPrev.push(c);
      trace.tanhC.push(tc);
      c = cNext;
    } else {
      // z and r use both halves; the candidate keeps W_h x + Wb_h and R_h h + Rb_h apart,
      // because linear_before_reset = 1 applies r to the recurrent half only.
      affine(p, L, x, h, a, 2 * H, 0, true, true);
      const xh = new Float64Array(3 * H);
      affine(p, L, x, h, xh, H, 2 * H, true, false);
      affine(p, L, x, h, a, H, 2 * H, false, true);
      for (let j = 0; j < H; j++) {
        const z = sigmoid(a[j] as number);
        const r = sigmoid(a[H + j] as number);
        const rh = a[2 * H + j] as number;
        const n = Math.tanh((xh[2 * H + j] as number) + r * rh);
        a[j] = z;
        a[H + j] = r;
        a[2 * H + j] = n;
        a[3 * H + j] = rh;
        hNext[j] = (1 - z) * n + z * (h[j] as number);
      }
    }
    trace.hPrev.push(h);
    trace.acts.push(a);
    h = hNext;
  }
  trace.hLast = h;
  return trace;
}

/**
 * Backpropagates `dhLast` (the loss gradient on the last hidden state) through every step and
 * adds the weight gradients into `g` (same layout as the parameters).
 */
export function cellBackward(
  p: Float64Array,
  L: ParamLayout,
  xs: Float64Array[],
  trace: CellTrace,
  dhLast: Float64Array,
  g: Float64Array,
): void {
  const H = L.hiddenSize;
  const I = L.inputSize;
  let dh = Float64Array.from(dhLast);
  let dc = new Float64Array(H);
  // Gradients of the gate pre-activations, split by the half they flow into (they differ only
  // for the GRU candidate, where r multiplies the recurrent half).
  const daW = new Float64Array(L.gates * H);
  const daR = new Float64Array(L.gates * H);
  for (let t = xs.length - 1; t >= 0; t--) {
    const x = xs[t] as Float64Array;
    const hp = trace.hPrev[t] as Float64Array;
    const a = trace.acts[t] as Float64Array;
    const dhPrev = new Float64Array(H);
    if (L.kind === 'lstm') {
      const cp = trace.cPrev[t] as Float64Array;
      const tc = trace.tanhC[t] as Float64Array;
      const dcPrev = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const i = a[j] as number;
        const o = a[H + j] as number;
        const f = a[2 * H + j] as number;
        const cg = a[3 * H + j] as number;
        const tcj = tc[j] as number;
        const dhj = dh[j] as number;
        const dcj = (dc[j] as number) + dhj * o * (1 - tcj * tcj);
        daW[j] = dcj * cg * i * (1 - i);
        daW[H + j] = dhj * tcj * o * (1 - o);
        daW[2 * H + j] = dcj * (cp[j] as number) * f * (1 - f);
        daW[3 * H + j] = dcj * i * (1 - cg * cg);
        dcPrev[j] = dcj * f;
      }
      daR.set(daW);
      dc = dcPrev;
    } else {
      for (let j = 0; j < H; j++) {
        const z = a[j] as number;
        const r = a[H + j] as number;
        const n = a[2 * H + j] as number;
        const rh = a[3 * H + j] as number;
        const dhj = dh[j] as number;
        const dn = dhj * (1 - z) * (1 - n * n);
        const dz = dhj * ((hp[j] as number) - n) * z * (1 - z);
        const dr = dn * rh * r * (1 - r);
        daW[j] = dz;
        daR[j] = dz;
        daW[H + j] = dr;
        daR[H + j] = dr;
        daW[2 * H + j] = dn;
        daR[2 * H + j] = dn * r;
        dhPrev[j] = dhj * z;
      }
    }
    const rows = L.gates * H;
    const wOff = L.W;
    const rOff = L.R;
    const wbOff = L.Wb;
    const rbOff = L.Rb;
    for (let row = 0; row < rows; row++) {
      const dw = daW[row] as number;
      const dr = daR[row] as number;
      g[wbOff + row] = (g[wbOff + row] as number) + dw;
      g[rbOff + row] = (g[rbOff + row] as number) + dr;
      const wo = wOff + row * I;
      for (let k = 0; k < I; k++) g[wo + k] = (g[wo + k] as number) + dw * (x[k] as number);
      const ro = rOff + row * H;
      for (let k = 0; k < H; k++) {
        g[ro + k] = (g[ro + k] as number) + dr * (hp[k] as number);
        dhPrev[k] = (dhPrev[k] as number) + dr * (p[ro + k] as number);
      }
    }
    dh = dhPrev;
  }
}
