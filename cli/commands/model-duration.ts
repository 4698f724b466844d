/**
 * `smartqueue model train|eval --task duration`: a duration model trained and scored on
 * WfCommons execution traces (see plugins/predictor/onnx/model/duration-data.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SmartQueueError } from '../../engine/errors.js';
import {
  DURATION_MODEL_FEATURES,
  DURATION_TARGET_TRANSFORM,
  durationCases,
  durationExample,
  loadDurationInstances,
  resolveDurationDataOptions,
  type DurationCase,
  type DurationCorpus,
  type ResolvedDurationDataOptions,
} from '../../plugins/predictor/onnx/model/duration-data.js';
import {
  evaluateDurations,
  formatDurationEvaluation,
} from '../../plugins/predictor/onnx/model/duration-eval.js';
import { trainSequenceModel, type TrainOptions } from '../../plugins/predictor/onnx/model/train.js';
import type { TrainedSequenceModel } from '../../plugins/predictor/onnx/model/types.js';
import type { CliIO } from '../output.js';
import { projectRoot } from './model-options.js';

/** Default previous runtimes per input window of a duration model. */
export const DEFAULT_DURATION_WINDOW = 3;

/** The public traces the shipped duration model uses: ../shared/data/wfcommons. */
export function defaultDurationData(): string {
  return path.resolve(projectRoot(), '../shared/data/wfcommons');
}

/** The runtimes the global median baseline may see: every task of each instance's training part. */
function trainingRuntimes(corpus: DurationCorpus, o: ResolvedDurationDataOptions): number[] {
  return corpus.instances.flatMap((inst) => {
    const cut = Math.floor(inst.tasks * (1 - o.testFraction - o.validationFraction));
    return inst.handlers.flatMap((h) => h.runtimesMs.filter((_, k) => (h.positions[k] as number) < cut));
  });
}

async function readCases(
  data: string,
  o: ResolvedDurationDataOptions,
  io: CliIO,
): Promise<{ corpus: DurationCorpus; cases: DurationCase[] }> {
  const corpus = await loadDurationInstances(data);
  for (const s of corpus.skipped) io.err(`skipped ${path.basename(s.file)}: ${s.reason}`);
  const cases = durationCases(corpus.instances, o);
  const count = (part: DurationCase['part']) => cases.filter((c) => c.part === part).length;
  io.err(
    `${corpus.instances.length} instances: ${count('train')} training, ${count('validation')} validation and ${count('test')} held-out tasks with ${o.window} earlier runs of their type`,
  );
  return { corpus, cases };
}

/** What `model train --task duration` needs from the command line. */
export interface DurationTrainRequest {
  data?: string;
  window: number;
  validation: number;
  test: number;
  out: string;
  onnx: boolean;
  train: TrainOptions;
}

/** Trains, writes <out>.json (and .onnx) and prints the held-out comparison. */
export async function trainDurationModel(
  request: DurationTrainRequest,
  io: CliIO,
  writeOnnx: (model: TrainedSequenceModel, file: string) => Promise<void>,
): Promise<void> {
  const data = request.data ?? defaultDurationData();
  const o = resolveDurationDataOptions({
    window: request.window,
    validationFraction: request.validation,
    testFraction: request.test,
  });
  const { corpus, cases } = await readCases(data, o, io);
  const examples = (part: DurationCase['part']) =>
    cases.filter((c) => c.part === part).map((c) => durationExample(c, o.window));
  const base = request.out.replace(/\.(json|onnx)$/, '');
  const { model } = trainSequenceModel(
    examples('train'),
    examples('validation'),
    {
      name: path.basename(base),
      features: [...DURATION_MODEL_FEATURES],
      target: `log1p of the next duration (ms) of the handler; the predictor applies expm1`,
      stepSeconds: 1,
      training: {
        task: 'duration',
        data,
        instances: corpus.instances.map((i) => i.name),
        window: o.window,
        targetTransform: DURATION_TARGET_TRANSFORM,
        validationFraction: o.validationFraction,
        testFraction: o.testFraction,
        split:
          "per instance in task order: train, validation, test (a window may hold earlier tasks' runtimes)",
      },
    },
    {
      ...request.train,
      onEpoch: (p) =>
        io.err(
          `epoch ${p.epoch}/${p.epochs}  train ${p.trainLoss.toFixed(5)}  val ${p.valLoss.toFixed(5)}${p.best ? '  (best)' : ''}`,
        ),
    },
  );
  await mkdir(path.dirname(path.resolve(base)), { recursive: true });
  await writeFile(`${base}.json`, JSON.stringify(model, null, 1) + '\n');
  io.out(
    `wrote ${base}.json (best epoch ${String(model.training.bestEpoch)}, validation loss ${Number(model.training.bestValLoss).toFixed(5)})`,
  );
  if (request.onnx) await writeOnnx(model, `${base}.onnx`);
  io.out(formatDurationEvaluation(evaluateDurations(cases, o.window, trainingRuntimes(corpus, o), model)));
}

/** Prints the held-out comparison of `model` (or only the baselines) on WfCommons traces. */
export async function evalDurationModel(
  request: { data?: string; window?: number; validation?: number; test?: number },
  model: TrainedSequenceModel | undefined,
  io: CliIO,
): Promise<number> {
  if (model !== undefined && model.training.task !== 'duration') {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `${model.name} is not a duration model (train one with --task duration)`,
    );
  }
  const fromTraining = (key: string): number | undefined => {
    const v = model?.training[key];
    return typeof v === 'number' ? v : undefined;
  };
  const o = resolveDurationDataOptions({
    window: model?.spec.window ?? request.window ?? DEFAULT_DURATION_WINDOW,
    validationFraction: request.validation ?? fromTraining('validationFraction'),
    testFraction: request.test ?? fromTraining('testFraction'),
  });
  const { corpus, cases } = await readCases(request.data ?? defaultDurationData(), o, io);
  const rows = evaluateDurations(cases, o.window, trainingRuntimes(corpus, o), model);
  if (rows.length === 0) {
    io.err('no held-out task has enough earlier runs of its type for this window');
    return 1;
  }
  io.out(formatDurationEvaluation(rows));
  return 0;
}
