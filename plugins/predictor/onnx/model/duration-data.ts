/**
 * Duration examples from WfCommons execution traces: per task type (the "handler"), a window of
 * that type's previous runtimes in the instance's task order → the task's own runtime. This is
 * exactly what the `onnx` predictor feeds a duration model live (its last `window` observed
 * durations of the handler), so a model trained here can be served as is.
 *
 * Each instance is split in its task order: the first part trains, the next validates (early
 * stopping), the last part is held out for evaluation. A held-out task's window may contain
 * earlier durations of its type (the predictor would have observed them), never its own.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SmartQueueError, type SourceDiagnostic } from '../../../../engine/errors.js';
import { jsonSource } from '../../../../dsl/import/json-source.js';
import { readWfInstance, type WfInstance } from '../../../../dsl/import/wfcommons-format.js';
import type { RawExample } from './train.js';

/** The input features of a duration model, among those the predictor builds. */
export const DURATION_MODEL_FEATURES = ['log_duration_ms'] as const;

/**
 * How the model's output maps back to milliseconds: it predicts `log1p(ms)` (runtimes span five
 * orders of magnitude, so a squared or Huber loss on raw milliseconds would fit only the longest
 * tasks); the predictor applies `expm1`.
 */
export const DURATION_TARGET_TRANSFORM = 'log1p';

/** One task type's runtimes in one instance, in task order, each with its position in the instance. */
export interface HandlerRuns {
  instance: string;
  handler: string;
  /** Position of each run among all tasks of the instance. */
  positions: number[];
  runtimesMs: number[];
}

/** The runs of every task type of one instance. */
export interface DurationInstance {
  name: string;
  tasks: number;
  handlers: HandlerRuns[];
}

/** Settings of {@link durationExamples}; defaults in {@link resolveDurationDataOptions}. */
export interface DurationDataOptions {
  /** Previous runtimes of the same type per input. @default 3 */
  window?: number;
  /** Share of each instance's tasks (in order) for validation. @default 0.15 */
  validationFraction?: number;
  /** Share at the end of each instance's tasks held out for evaluation. @default 0.3 */
  testFraction?: number;
}

/** {@link DurationDataOptions} with every default applied. */
export type ResolvedDurationDataOptions = Required<DurationDataOptions>;

/** Validates options and applies defaults. */
export function resolveDurationDataOptions(raw: DurationDataOptions = {}): ResolvedDurationDataOptions {
  const o = {
    window: raw.window ?? 3,
    validationFraction: raw.validationFraction ?? 0.15,
    testFraction: raw.testFraction ?? 0.3,
  };
  if (!Number.isInteger(o.window) || o.window < 1) {
    throw new SmartQueueError('INVALID_OPTIONS', `window must be a positive integer, got ${o.window}`);
  }
  if (!(o.validationFraction > 0 && o.testFraction > 0 && o.validationFraction + o.testFraction < 1)) {
    throw new SmartQueueError(
      'INVALID_OPTIONS',
      'validation and test fractions must be positive and leave a training part',
      { details: { validationFraction: o.validationFraction, testFraction: o.testFraction } },
    );
  }
  return o;
}

/** A task's type: its recorded type, else its key without a trailing instance number. */
function handlerOf(sourceId: string, label: string | undefined): string {
  return label ?? sourceId.replace(/(_ID)?_?\d+$/, '');
}

/** Groups an instance's runtimes by task type, in task order. */
export function durationInstance(name: string, instance: WfInstance): DurationInstance {
  const byHandler = new Map<string, HandlerRuns>();
  instance.tasks.forEach((t, i) => {
    const handler = handlerOf(t.sourceId, t.label);
    let runs = byHandler.get(handler);
    if (runs === undefined) {
      runs = { instance: name, handler, positions: [], runtimesMs: [] };
      byHandler.set(handler, runs);
    }
    runs.positions.push(i);
    runs.runtimesMs.push(t.runtimeMs);
  });
  return { name, tasks: instance.tasks.length, handlers: [...byHandler.values()] };
}

/** What {@link loadDurationInstances} read, and what it skipped and why. */
export interface DurationCorpus {
  instances: DurationInstance[];
  skipped: { file: string; reason: string }[];
}

/**
 * Reads every WfCommons instance in `target` (a file or a folder of `*.json`). Files that are
 * not instances (the WfFormat JSON Schema) are skipped, and so is an instance whose recorded
 * runtimes repeat one already read (the same run published in two schema versions), which
 * would otherwise leak from training into the held-out part.
 */
export async function loadDurationInstances(target: string): Promise<DurationCorpus> {
  let files: string[];
  try {
    const info = await stat(target);
    files = info.isFile()
      ? [target]
      : (await readdir(target))
          .filter((f) => f.endsWith('.json'))
          .sort()
          .map((f) => path.join(target, f));
  } catch (err) {
    throw new SmartQueueError(
      'NOT_FOUND',
      `no data at ${target}: pass --data <dir or json> with WfCommons instances (github.com/wfcommons/WfInstances; the shipped duration model uses ../shared/data/wfcommons)`,
      { cause: err },
    );
  }
  const corpus: DurationCorpus = { instances: [], skipped: [] };
  const seen = new Map<string, string>();
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      corpus.skipped.push({ file, reason: 'not JSON' });
      continue;
    }
    if (json === null || typeof json !== 'object' || !('workflow' in json)) {
      corpus.skipped.push({ file, reason: 'not a WfCommons instance (no "workflow")' });
      continue;
    }
    const diagnostics: SourceDiagnostic[] = [];
    const instance = readWfInstance(json, jsonSource(file, text), diagnostics);
    const firstError = diagnostics.find((d) => d.severity === 'error');
    if (instance === undefined || firstError !== undefined) {
      corpus.skipped.push({ file, reason: firstError?.message ?? 'unreadable instance' });
      continue;
    }
    const fingerprint = instance.tasks.map((t) => t.runtimeMs.toFixed(3)).join(',');
    const twin = seen.get(fingerprint);
    if (twin !== undefined) {
      corpus.skipped.push({ file, reason: `same runtimes as ${path.basename(twin)} (the same run)` });
      continue;
    }
    seen.set(fingerprint, file);
    corpus.instances.push(durationInstance(path.basename(file, '.json'), instance));
  }
  if (corpus.instances.length === 0) {
    throw new SmartQueueError('NOT_FOUND', `no WfCommons instance in ${target}`, {
      details: { skipped: corpus.skipped },
    });
  }
  return corpus;
}

/** One example: the handler's previous runtimes and the runtime to predict (ms). */
export interface DurationCase {
  instance: string;
  handler: string;
  /** Every earlier runtime of the handler in the instance, oldest first (baselines use them). */
  history: number[];
  actualMs: number;
  part: 'train' | 'validation' | 'test';
}

/** Every task with at least `window` earlier runs of its type, labelled by its part of the instance. */
export function durationCases(instances: DurationInstance[], o: ResolvedDurationDataOptions): DurationCase[] {
  const cases: DurationCase[] = [];
  for (const inst of instances) {
    const testStart = Math.floor(inst.tasks * (1 - o.testFraction));
    const valStart = Math.floor(inst.tasks * (1 - o.testFraction - o.validationFraction));
    for (const runs of inst.handlers) {
      for (let j = o.window; j < runs.runtimesMs.length; j++) {
        const at = runs.positions[j] as number;
        cases.push({
          instance: inst.name,
          handler: runs.handler,
          history: runs.runtimesMs.slice(0, j),
          actualMs: runs.runtimesMs[j] as number,
          part: at >= testStart ? 'test' : at >= valStart ? 'validation' : 'train',
        });
      }
    }
  }
  return cases;
}

/** The model's input rows for a window of durations (the predictor's `log_duration_ms`). */
export function durationRows(durationsMs: number[]): number[][] {
  return durationsMs.map((d) => [Math.log1p(d)]);
}

/** A case as a training example: the last `window` runtimes → log1p of the runtime. */
export function durationExample(c: DurationCase, window: number): RawExample {
  return { inputs: durationRows(c.history.slice(-window)), targets: [Math.log1p(c.actualMs)] };
}
