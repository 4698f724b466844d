/**
 * The conformance suite of the Predictor stage: every implementation (none, ewma, onnx)
 * registers it from its own `predictor-*.test.ts` file and must pass it unchanged.
 *
 * A predictor is consulted on the dispatch path with whatever the engine has (handlers never
 * seen, odd priorities, samples from a clock that went backwards), so the suite checks that it
 * answers such questions with a usable number or nothing, and never throws.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadHistoryRow } from '../../engine/load-history.js';
import type { DurationSample, Predictor } from '../../engine/stages.js';

/** What a factory hands the suite: a fresh predictor and how to let its background work finish. */
export interface PredictorHandle {
  predictor: Predictor;
  /**
   * Runs whatever the predictor does asynchronously (model loading, batched inference) to
   * completion, so the checks that follow see its model's answers and not only its fallback's.
   */
  settle?: () => Promise<void>;
}

/** A load-history row of `workers` workers at `at`. */
export function loadRow(
  at: number,
  workers: { id: string; running: number; capacity: number }[],
): LoadHistoryRow {
  return {
    at,
    stepMs: 1000,
    arrivals: workers.reduce((sum, w) => sum + w.running, 0),
    completions: 1,
    meanDurationMs: 250,
    queueLength: 3,
    busyWorkers: workers.filter((w) => w.running > 0).length,
    arrivalsByPriority: { high: 1, medium: 0, low: 0 },
    workers: workers.map((w) => ({
      id: w.id,
      capacity: w.capacity,
      running: w.running,
      weight: w.running,
      reported: 0,
      utilisation: w.capacity > 0 ? w.running / w.capacity : 0,
      assigned: 1,
      completed: 1,
    })),
  };
}

function usable(value: number | undefined): boolean {
  return value === undefined || (Number.isFinite(value) && value >= 0);
}

const oddNumber = fc.oneof(
  fc.double({ noNaN: false }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, 0, 1e300, -0),
  fc.integer({ min: 0, max: 10_000 }),
);
const handlerName = fc.oneof(
  fc.constantFrom('run', 'http', 'sleep', '', '\u0000', 'x'.repeat(2000)),
  fc.string(),
);

/** Registers the suite for one implementation; `create` makes a fresh predictor per test. */
export function predictorConformance(
  name: string,
  create: () => PredictorHandle | Promise<PredictorHandle>,
): void {
  describe(`Predictor conformance: ${name}`, () => {
    const open: Predictor[] = [];

    async function fresh(): Promise<PredictorHandle> {
      const handle = await create();
      open.push(handle.predictor);
      return handle;
    }

    afterEach(async () => {
      await Promise.all(open.splice(0).map((p) => p.close()));
    });

    it('has a name', async () => {
      const { predictor } = await fresh();
      expect(typeof predictor.name).toBe('string');
      expect(predictor.name.length).toBeGreaterThan(0);
    });

    it('estimates nothing or a finite duration >= 0 for a handler it never saw', async () => {
      const { predictor, settle } = await fresh();
      await settle?.();
      for (const declaredMs of [undefined, 0, 500, -5, Number.NaN]) {
        const query =
          declaredMs === undefined
            ? { handler: 'never-seen', priority: 5 }
            : { handler: 'never-seen', priority: 5, declaredMs };
        expect(usable(predictor.estimateDuration(query))).toBe(true);
      }
    });

    it('accepts samples of unknown handlers, and every estimate stays finite and >= 0 whatever it was fed', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              handler: handlerName,
              durationMs: oddNumber,
              at: oddNumber,
              workerId: fc.option(fc.string(), { nil: undefined }),
            }),
            {
              maxLength: 40,
            },
          ),
          fc.array(fc.tuple(handlerName, oddNumber), { minLength: 1, maxLength: 10 }),
          async (samples, queries) => {
            const { predictor, settle } = await fresh();
            for (const sample of samples) predictor.observe(sample as DurationSample);
            for (const [handler, priority] of queries)
              expect(usable(predictor.estimateDuration({ handler, priority }))).toBe(true);
            await settle?.();
            for (const [handler, priority] of queries)
              expect(usable(predictor.estimateDuration({ handler, priority }))).toBe(true);
            for (const sample of samples) {
              expect(usable(predictor.estimateDuration({ handler: sample.handler, priority: 1 }))).toBe(true);
            }
          },
        ),
        { numRuns: 25 },
      );
    });

    it('learns from repeated samples of one handler without ever answering garbage', async () => {
      const { predictor, settle } = await fresh();
      for (let i = 0; i < 50; i++)
        predictor.observe({ handler: 'steady', durationMs: 200 + (i % 5) * 10, at: 1_000 + i });
      expect(usable(predictor.estimateDuration({ handler: 'steady', priority: 1 }))).toBe(true);
      await settle?.();
      expect(usable(predictor.estimateDuration({ handler: 'steady', priority: 1 }))).toBe(true);
    });

    it('forecasts nothing or a finite load for workers it does not know', async () => {
      const { predictor, settle } = await fresh();
      await settle?.();
      for (const id of ['unknown', '', 'w'.repeat(500)]) {
        const forecast = predictor.forecastWorkerLoad?.(id);
        expect(forecast === undefined || Number.isFinite(forecast)).toBe(true);
      }
    });

    it('takes load-history rows, odd ones included, and keeps its forecasts finite', async () => {
      const { predictor, settle } = await fresh();
      if (predictor.observeLoad === undefined) return;
      const start = 1_700_000_000_000;
      for (let i = 0; i < 40; i++) {
        predictor.observeLoad(
          loadRow(start + i * 1000, [
            { id: 'a', running: i % 4, capacity: 4 },
            { id: 'b', running: (i * 3) % 5, capacity: 2 },
            { id: 'empty', running: 0, capacity: 0 },
          ]),
        );
        // Duplicate timestamps, a row from the past, and a row without workers.
        if (i % 7 === 0) predictor.observeLoad(loadRow(start + i * 1000, []));
        if (i % 11 === 0)
          predictor.observeLoad(loadRow(start - 60_000, [{ id: 'a', running: 1, capacity: 4 }]));
        await settle?.();
      }
      for (const id of ['a', 'b', 'empty', 'gone']) {
        const forecast = predictor.forecastWorkerLoad?.(id);
        expect(forecast === undefined || Number.isFinite(forecast)).toBe(true);
      }
      const arrivals = predictor.forecastArrivals?.();
      if (arrivals !== undefined) {
        expect(Number.isFinite(arrivals.perSecond) && arrivals.perSecond >= 0).toBe(true);
        expect(arrivals.horizonMs).toBeGreaterThan(0);
      }
    });

    it('closes idempotently', async () => {
      const { predictor } = await fresh();
      predictor.observe({ handler: 'run', durationMs: 10, at: 1 });
      await predictor.close();
      await predictor.close();
      await Promise.all([predictor.close(), predictor.close()]);
    });
  });
}
