/**
 * Statistics and formatting shared by the scenarios, so every figure in RESULTS.md is reported
 * the same way: a median with its spread, and ratios computed from medians of one process run.
 */

/** The five numbers that summarise repeated measurements of one figure. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** First and third quartiles (linear interpolation between closest ranks). */
  q1: number;
  q3: number;
  /** How many repetitions. */
  n: number;
}

function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/**
 * Summarises repeated measurements.
 * @throws Error on an empty list or a non-finite value, which would make every figure built on
 *   it meaningless.
 */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summarize: no values');
  for (const v of values) if (!Number.isFinite(v)) throw new Error(`summarize: non-finite value ${v}`);
  const s = [...values].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    min: s[0]!,
    max: s[s.length - 1]!,
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
    n: s.length,
  };
}

/**
 * A number for a table: thousands separators from 100 up, otherwise `digits` significant
 * digits (3 by default), so rates and milliseconds both read naturally.
 */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100 || Number.isInteger(value)) {
    return Math.round(value).toLocaleString('en-US');
  }
  return Number(value.toPrecision(digits)).toLocaleString('en-US', { maximumFractionDigits: 20 });
}

/** `median (min–max)`, the form every repeated figure takes in RESULTS.md. */
export function withSpread(s: Summary, digits = 3): string {
  return s.n === 1
    ? fmt(s.median, digits)
    : `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

/** A ratio such as `1.23×`. */
export function ratio(value: number): string {
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`;
}

/**
 * Runs every contender once per round, `rounds` times, rotating the order each round, so slow
 * drifts of the machine (other load, thermal state, GC pressure) fall on every contender alike.
 * @returns the measurements per contender name, in round order.
 */
export async function alternate<C extends { name: string }, R>(
  contenders: readonly C[],
  rounds: number,
  measure: (contender: C, round: number) => R | Promise<R>,
): Promise<Map<string, R[]>> {
  const out = new Map<string, R[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(k + r) % contenders.length]!;
      out.get(c.name)!.push(await measure(c, r));
    }
  }
  return out;
}
