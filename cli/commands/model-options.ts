/** Options shared by `model train` and `model eval`. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from 'commander';
import type { ResampledSeries } from '../../plugins/predictor/onnx/model/data.js';
import { openStore, redactStoreSpec } from '../../runtime/open-store.js';
import type { CliIO } from '../output.js';

/** The project root: above cli/commands in the sources, above dist/cli/commands when built. */
export function projectRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = ['../..', '../../..'].map((up) => path.resolve(here, up));
  return candidates.find((dir) => existsSync(path.join(dir, 'package.json'))) ?? (candidates[0] as string);
}

/** The public load series the shipped models use: ../shared/data/load next to the project. */
export function defaultLoadData(): string {
  return path.resolve(projectRoot(), '../shared/data/load');
}

/** Commander parser for a number in (min, max). */
export function fractionOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n >= 1)
      throw new InvalidArgumentError(`${name} must be a number between 0 and 1`);
    return n;
  };
}

/** Commander parser for a positive number. */
export function positiveNumberOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

/**
 * The history SmartQueue recorded in the store `spec` names, as one series of busy workers per
 * step (with the other per-step columns as extra inputs when `extras`).
 */
export async function readStoreSeries(
  spec: string,
  stepSeconds: number,
  extras: boolean,
  io: CliIO,
): Promise<ResampledSeries> {
  const { seriesFromStore } = await import('../../plugins/predictor/onnx/model/history.js');
  const store = await openStore(spec, { mustExist: true });
  try {
    const s = await seriesFromStore(store, { stepSeconds });
    if (!extras) delete s.extra;
    io.err(`read ${s.values.length} steps of history from ${redactStoreSpec(spec)}`);
    return s;
  } finally {
    await store.close();
  }
}
