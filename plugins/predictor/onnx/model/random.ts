/**
 * Seeded randomness for training, so the same seed gives the same weights bit for bit (the same
 * mulberry32 generator the tests and benchmarks use; kept here because plugins do not import
 * test code).
 */

/** A seeded PRNG returning floats in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast, and good enough to initialize weights and shuffle batches. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of `items` in place, driven by `rng`. */
export function shuffleInPlace<T>(items: T[], rng: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
