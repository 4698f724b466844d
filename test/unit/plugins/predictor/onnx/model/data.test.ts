import { describe, expect, it } from 'vitest';

import {
  buildFeatures,
  featureNames,
  parseSeriesCsv,
  parseTimestamp,
  resample,
} from '../../../../../../plugins/predictor/onnx/model/data.js';

describe('parseSeriesCsv and parseTimestamp', () => {
  it('reads timestamp,value with or without a header, times as UTC', () => {
    const withHeader = parseSeriesCsv(
      'a',
      'timestamp,value\n2024-01-01 00:00:00,1.5\n2024-01-01 00:05:00,2\n',
    );
    expect(withHeader.times).toEqual([Date.UTC(2024, 0, 1, 0, 0), Date.UTC(2024, 0, 1, 0, 5)]);
    expect(withHeader.values).toEqual([1.5, 2]);
    const bare = parseSeriesCsv('b', '1700000000,3\n1700000300,4');
    expect(bare.times).toEqual([1_700_000_000_000, 1_700_000_300_000]);
    expect(parseTimestamp('2023-11-16 18:17:03.9799600')).toBe(Date.UTC(2023, 10, 16, 18, 17, 3, 979));
  });

  it('names the line of a malformed row and a missing column', () => {
    expect(() => parseSeriesCsv('x', 'timestamp,value\n2024-01-01 00:00:00,oops')).toThrow(/x:2/);
    expect(() => parseSeriesCsv('x', 'timestamp,value\n2024-01-01 00:00:00,1', 'load')).toThrow(
      /no column "load"/,
    );
  });
});

describe('resample', () => {
  const t0 = Date.UTC(2024, 0, 1);
  const min = 60_000;

  it('averages duplicates and interpolates gaps on a fixed grid', () => {
    const s = resample(
      {
        name: 's',
        // 0, 5 (twice), gap at 10 and 15, 20, and 26 (off-grid: nearest point is 25)
        times: [t0, t0 + 5 * min, t0 + 5 * min, t0 + 20 * min, t0 + 26 * min],
        values: [1, 2, 4, 9, 10],
      },
      300,
    );
    expect(s.start).toBe(t0);
    expect(s.values).toEqual([1, 3, 5, 7, 9, 10]);
    expect(s.merged).toBe(1);
    expect(s.filled).toBe(2);
  });

  it('keeps an unaligned first sample on the first grid point', () => {
    const s = resample({ name: 's', times: [t0 + 4 * min, t0 + 9 * min], values: [1, 2] }, 300);
    expect(s.start).toBe(t0 + 5 * min);
    expect(s.values).toEqual([1, 2]);
  });
});

describe('buildFeatures', () => {
  it('uses only the past: rolling mean and std over the trailing steps, calendar in UTC', () => {
    const series = {
      name: 's',
      start: Date.UTC(2024, 0, 1, 6),
      stepSeconds: 3600,
      values: [2, 4, 6],
      filled: 0,
      merged: 0,
    };
    const rows = buildFeatures(series, { rollingSteps: 2 });
    expect(featureNames(series)).toEqual([
      'value',
      'rolling_mean',
      'rolling_std',
      'hour_sin',
      'hour_cos',
      'dow_sin',
      'dow_cos',
    ]);
    expect(rows.map((r) => r.slice(0, 3))).toEqual([
      [2, 2, 0],
      [4, 3, 1],
      [6, 5, 1],
    ]);
    // 06:00 is a quarter of the day: sin 1, cos 0. 2024-01-01 is a Monday (day 1).
    expect(rows[0]![3]).toBeCloseTo(1, 12);
    expect(rows[0]![4]).toBeCloseTo(0, 12);
    expect(rows[0]![5]).toBeCloseTo(Math.sin((2 * Math.PI * 1.25) / 7), 12);
  });

  it('appends extra columns in name order', () => {
    const series = {
      name: 's',
      start: 0,
      stepSeconds: 60,
      values: [1],
      extra: { queue: [7], arrivals: [3] },
      filled: 0,
      merged: 0,
    };
    expect(featureNames(series).slice(-2)).toEqual(['arrivals', 'queue']);
    expect(buildFeatures(series, { rollingSteps: 3 })[0]!.slice(-2)).toEqual([3, 7]);
  });
});
