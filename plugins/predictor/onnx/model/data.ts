/**
 * Time series for the load model: reading `timestamp,value` CSV files, resampling them onto a
 * fixed step (real traces have gaps and duplicate timestamps), and turning a series into feature
 * windows. Every feature at step t uses only values up to t, so a window never sees its targets.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SmartQueueError } from '../../../../engine/errors.js';

/** Raw samples: times in ms since the epoch, in file order. */
export interface RawSeries {
  name: string;
  times: number[];
  values: number[];
}

/** A series on a regular grid: `values[i]` is the value at `start + i * stepSeconds`. */
export interface ResampledSeries {
  name: string;
  start: number;
  stepSeconds: number;
  values: number[];
  /** Extra aligned columns (SmartQueue's own history: queue length, busy workers, ...). */
  extra?: Record<string, number[]>;
  /** Grid points with no sample, filled by linear interpolation. */
  filled: number;
  /** Samples that shared a grid point with another and were averaged. */
  merged: number;
}

/** Parses a timestamp as UTC unless it names its zone ("2014-02-14 14:30:00" is UTC). */
export function parseTimestamp(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    // Bare numbers: seconds when they look like seconds, milliseconds otherwise.
    return n < 1e11 ? n * 1000 : n;
  }
  let iso = t.replace(' ', 'T');
  // Fractions beyond milliseconds (the Azure trace has 7 digits) are not valid for Date.parse.
  iso = iso.replace(/(\.\d{3})\d+/, '$1');
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(iso)) iso += 'Z';
  return Date.parse(iso);
}

/**
 * Reads a CSV of `timestamp,value` (header optional; the first column is the time, `column`
 * picks the value column by name or index, default the second).
 */
export function parseSeriesCsv(name: string, text: string, column: string | number = 1): RawSeries {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const first = (lines[0] ?? '').split(',');
  const hasHeader = Number.isNaN(parseTimestamp(first[0] ?? ''));
  let col = typeof column === 'number' ? column : first.indexOf(column);
  if (col < 0 && hasHeader && typeof column === 'string') {
    throw new SmartQueueError('INVALID_ARGUMENT', `${name}: no column "${column}"`, {
      details: { header: first },
    });
  }
  if (col < 0) col = 1;
  const times: number[] = [];
  const values: number[] = [];
  lines.slice(hasHeader ? 1 : 0).forEach((line, i) => {
    const cells = line.split(',');
    const at = parseTimestamp(cells[0] ?? '');
    const value = Number(cells[col]);
    if (Number.isNaN(at) || !Number.isFinite(value)) {
      throw new SmartQueueError(
        'INVALID_ARGUMENT',
        `${name}:${i + (hasHeader ? 2 : 1)}: expected "timestamp,value", got "${line}"`,
      );
    }
    times.push(at);
    values.push(value);
  });
  if (times.length === 0) throw new SmartQueueError('INVALID_ARGUMENT', `${name}: no samples`);
  return { name, times, values };
}

/**
 * Puts samples on a grid of `stepSeconds`, starting at the first sample rounded to the step:
 * each sample goes to its nearest grid point, samples falling on the same grid point are averaged (duplicates), empty points are
 * linearly interpolated between their neighbours (gaps).
 */
export function resample(raw: RawSeries, stepSeconds: number): ResampledSeries {
  const stepMs = stepSeconds * 1000;
  const minT = Math.min(...raw.times);
  const maxT = Math.max(...raw.times);
  // Rounding (not flooring) the start keeps the first and last samples on the first and last
  // grid points, so the grid has no empty ends to extrapolate.
  const start = Math.round(minT / stepMs) * stepMs;
  const n = Math.round((maxT - start) / stepMs) + 1;
  const sum = new Float64Array(n);
  const count = new Uint32Array(n);
  raw.times.forEach((t, i) => {
    const at = Math.round((t - start) / stepMs);
    sum[at] = (sum[at] as number) + (raw.values[i] as number);
    count[at] = (count[at] as number) + 1;
  });
  const values: number[] = new Array<number>(n);
  let merged = 0;
  let filled = 0;
  let prev = -1;
  for (let i = 0; i < n; i++) {
    const c = count[i] as number;
    if (c === 0) continue;
    merged += c - 1;
    values[i] = (sum[i] as number) / c;
    if (prev >= 0 && i - prev > 1) {
      const a = values[prev] as number;
      const b = values[i] as number;
      for (let j = prev + 1; j < i; j++) values[j] = a + ((b - a) * (j - prev)) / (i - prev);
      filled += i - prev - 1;
    }
    prev = i;
  }
  return { name: raw.name, start, stepSeconds, values, filled, merged };
}

/** The CSV files `target` names: itself if it is a file, else the `*.csv` files in it, sorted. */
export async function listSeriesFiles(target: string): Promise<string[]> {
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    throw new SmartQueueError(
      'NOT_FOUND',
      `no data at ${target}: pass --data <dir or csv>; the shipped models use NAB's realAWSCloudwatch series (github.com/numenta/NAB, data/realAWSCloudwatch/*.csv) in ../shared/data/load`,
      { cause: err },
    );
  }
  if (info.isFile()) return [target];
  const files = (await readdir(target)).filter((f) => f.endsWith('.csv')).sort();
  if (files.length === 0) {
    throw new SmartQueueError('NOT_FOUND', `no .csv files in ${target}`);
  }
  return files.map((f) => path.join(target, f));
}

/** Reads and resamples every series under `target`. */
export async function loadSeries(target: string, stepSeconds: number): Promise<ResampledSeries[]> {
  const files = await listSeriesFiles(target);
  return Promise.all(
    files.map(async (file) => {
      const name = path.basename(file, '.csv');
      return resample(parseSeriesCsv(name, await readFile(file, 'utf8')), stepSeconds);
    }),
  );
}

/** How features are computed. */
export interface FeatureOptions {
  /** Steps of the trailing rolling mean/std. */
  rollingSteps: number;
}

/** Names of the features {@link buildFeatures} produces, in order. */
export function featureNames(series: ResampledSeries): string[] {
  return [
    'value',
    'rolling_mean',
    'rolling_std',
    'hour_sin',
    'hour_cos',
    'dow_sin',
    'dow_cos',
    ...Object.keys(series.extra ?? {}).sort(),
  ];
}

/** One feature row per step (see {@link featureNames}); uses only data up to that step. */
export function buildFeatures(series: ResampledSeries, options: FeatureOptions): number[][] {
  const { values, start, stepSeconds } = series;
  const extras = Object.keys(series.extra ?? {})
    .sort()
    .map((k) => series.extra?.[k] ?? []);
  const rows: number[][] = [];
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    sum += v;
    sumSq += v * v;
    if (i >= options.rollingSteps) {
      const old = values[i - options.rollingSteps] as number;
      sum -= old;
      sumSq -= old * old;
    }
    const n = Math.min(i + 1, options.rollingSteps);
    const mean = sum / n;
    const std = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
    const at = new Date(start + i * stepSeconds * 1000);
    const dayFrac = (at.getUTCHours() * 3600 + at.getUTCMinutes() * 60 + at.getUTCSeconds()) / 86400;
    const weekFrac = (at.getUTCDay() + dayFrac) / 7;
    rows.push([
      v,
      mean,
      std,
      Math.sin(2 * Math.PI * dayFrac),
      Math.cos(2 * Math.PI * dayFrac),
      Math.sin(2 * Math.PI * weekFrac),
      Math.cos(2 * Math.PI * weekFrac),
      ...extras.map((col) => col[i] ?? 0),
    ]);
  }
  return rows;
}
