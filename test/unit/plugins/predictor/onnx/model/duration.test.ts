/**
 * Duration examples from WfCommons traces and the baselines a duration model is scored against,
 * on the small fixture instances in test/fixtures/predictor/duration.
 */
import { describe, expect, it } from 'vitest';
import { createEwmaPredictor } from '../../../../../../plugins/predictor/ewma/index.js';
import {
  durationCases,
  durationExample,
  loadDurationInstances,
  resolveDurationDataOptions,
} from '../../../../../../plugins/predictor/onnx/model/duration-data.js';
import {
  evaluateDurations,
  formatDurationEvaluation,
  globalMedian,
  handlerEwma,
  lastValue,
  recentMean,
} from '../../../../../../plugins/predictor/onnx/model/duration-eval.js';
import { SmartQueueError } from '../../../../../../engine/errors.js';

const DATA = 'test/fixtures/predictor/duration';

describe('duration data from WfCommons traces', () => {
  it('reads both schemas, skips the non-instance and the same run published twice', async () => {
    const corpus = await loadDurationInstances(DATA);
    expect(corpus.instances.map((i) => [i.name, i.tasks])).toEqual([
      ['pipeline-a', 42],
      ['pipeline-b', 30],
    ]);
    expect(corpus.skipped.map((s) => [s.file.split('/').pop(), s.reason])).toEqual([
      ['pipeline-a.schema-1.4.json', 'same runtimes as pipeline-a.json (the same run)'],
      ['schema.json', 'not a WfCommons instance (no "workflow")'],
    ]);
    // 1.5 names and 1.4 categories both become the handler.
    for (const inst of corpus.instances) {
      expect(inst.handlers.map((h) => h.handler).sort()).toEqual(['align', 'merge', 'sort']);
    }
    const align = corpus.instances[0]!.handlers.find((h) => h.handler === 'align')!;
    expect(align.positions.slice(0, 3)).toEqual([0, 3, 6]);
    expect(align.runtimesMs[0]).toBeGreaterThan(10_000);
  });

  it('labels each task by its place in the instance and only looks back at its own type', async () => {
    const { instances } = await loadDurationInstances(DATA);
    const o = resolveDurationDataOptions({ window: 3 });
    const cases = durationCases(instances, o);
    // Every handler's first 3 runs have no full window: 14 - 3 and 10 - 3 cases per handler.
    expect(cases).toHaveLength(3 * 11 + 3 * 7);
    const a = instances[0]!;
    for (const c of cases.filter((x) => x.instance === 'pipeline-a')) {
      const runs = a.handlers.find((h) => h.handler === c.handler)!;
      const j = c.history.length;
      expect(runs.runtimesMs.slice(0, j)).toEqual(c.history);
      expect(runs.runtimesMs[j]).toBe(c.actualMs);
      const at = runs.positions[j]!;
      // 42 tasks: test from floor(42 * 0.7) = 29, validation from floor(42 * 0.55) = 23.
      expect(c.part).toBe(at >= 29 ? 'test' : at >= 23 ? 'validation' : 'train');
    }
    const ex = durationExample(cases[5]!, 3);
    expect(ex.inputs).toEqual(cases[5]!.history.slice(-3).map((d) => [Math.log1p(d)]));
    expect(ex.targets).toEqual([Math.log1p(cases[5]!.actualMs)]);
  });

  it('rejects options without a training part and explains missing data', async () => {
    expect(() => resolveDurationDataOptions({ validationFraction: 0.5, testFraction: 0.5 })).toThrow(
      SmartQueueError,
    );
    expect(() => resolveDurationDataOptions({ window: 0 })).toThrow(/window/);
    await expect(loadDurationInstances(`${DATA}/nope`)).rejects.toThrow(/no data at .*WfInstances/);
  });
});

describe('duration baselines', () => {
  const history = [100, 200, 400, 300];

  it('mean of the recent window, last value, global median', () => {
    expect(recentMean(3).predict(history)).toBeCloseTo(300, 10);
    expect(recentMean(8).predict(history)).toBeCloseTo(250, 10);
    expect(lastValue.predict(history)).toBe(300);
    expect(globalMedian([5, 1, 3]).predict([])).toBe(3);
    expect(globalMedian([4, 1, 3, 2]).predict([])).toBe(2.5);
  });

  it('EWMA answers what the ewma predictor answers', () => {
    const ewma = createEwmaPredictor({ alpha: 0.3 });
    history.forEach((durationMs, i) => ewma.observe({ handler: 'h', durationMs, at: i }));
    expect(handlerEwma(0.3).predict(history)).toBeCloseTo(
      ewma.estimateDuration({ handler: 'h', priority: 0 })!,
      10,
    );
  });

  it('scores every baseline per instance and over all held-out tasks', async () => {
    const { instances } = await loadDurationInstances(DATA);
    const cases = durationCases(instances, resolveDurationDataOptions());
    const rows = evaluateDurations(cases, 3, [1000]);
    const test = cases.filter((c) => c.part === 'test');
    expect(rows.find((r) => r.group === 'all')?.metrics.count).toBe(test.length);
    expect(new Set(rows.map((r) => r.forecaster))).toEqual(
      new Set(['handler-mean(3)', 'handler-last', 'ewma(0.3)', 'global-median']),
    );
    const text = formatDurationEvaluation(rows);
    for (const m of ['MAE in ms', 'RMSE in ms', 'MAPE in %']) expect(text).toContain(m);
    expect(text).toMatch(/Best over all held-out tasks by MAE: .* \(a baseline\)/);
  });
});
