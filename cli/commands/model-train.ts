/** `smartqueue model train`: trains a load-forecast model and writes models/<name>.json (+ .onnx). */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { SmartQueueError } from '../../engine/errors.js';
import { loadSeries, type ResampledSeries } from '../../plugins/predictor/onnx/model/data.js';
import { evaluateLoad, summarize } from '../../plugins/predictor/onnx/model/evaluate.js';
import {
  loadExamples,
  resolveLoadDataOptions,
  scaleSteps,
} from '../../plugins/predictor/onnx/model/load-forecast.js';
import { trainSequenceModel } from '../../plugins/predictor/onnx/model/train.js';
import type { CellKind, TrainedSequenceModel } from '../../plugins/predictor/onnx/model/types.js';
import { redactStoreSpec } from '../../runtime/open-store.js';
import type { CliIO } from '../output.js';
import { intOption } from './common.js';
import { DEFAULT_DURATION_WINDOW, trainDurationModel } from './model-duration.js';
import { defaultLoadData, fractionOption, positiveNumberOption, readStoreSeries } from './model-options.js';

interface TrainFlags {
  task: string;
  data?: string;
  fromStore?: string;
  extras: boolean;
  kind: string;
  hidden: number;
  window: number;
  horizon: number;
  epochs: number;
  seed: number;
  step: number;
  rolling: number;
  stride: number;
  batch: number;
  learningRate: number;
  patience: number;
  loss: string;
  huberDelta: number;
  validation: number;
  test: number;
  onnx: boolean;
  out: string;
}

/** Registers `model train`. */
export function registerModelTrain(model: Command, io: CliIO): void {
  model
    .command('train')
    .summary('train an LSTM or GRU load forecaster (or a duration model on WfCommons traces)')
    .option(
      '--task <load|duration>',
      'load: forecast a load series; duration: a handler’s next duration from its last --window ones',
      'load',
    )
    .option(
      '--data <dir or csv>',
      'timestamp,value CSV file, or a folder of them [default: ../shared/data/load]',
    )
    .option(
      '--from-store <spec>',
      'learn from the history SmartQueue recorded in this checkpoint store instead',
    )
    .option(
      '--no-extras',
      'with --from-store: only the busy-workers series (what the onnx predictor consumes)',
    )
    .option('--kind <lstm|gru>', 'recurrent cell', 'lstm')
    .option('--hidden <n>', 'hidden units', intOption('--hidden'), 16)
    .option('--window <n>', 'input steps', intOption('--window'), 24)
    .option('--horizon <n>', 'steps ahead to forecast', intOption('--horizon'), 6)
    .option('--epochs <n>', 'maximum epochs (early stopping may end sooner)', intOption('--epochs'), 50)
    .option('--seed <n>', 'random seed (same seed and data: same weights)', intOption('--seed'), 1)
    .option('--step <seconds>', 'resampling step', intOption('--step'), 300)
    .option('--rolling <n>', 'steps of the rolling mean/std features', intOption('--rolling'), 12)
    .option('--stride <n>', 'steps between training windows', intOption('--stride'), 1)
    .option('--batch <n>', 'mini-batch size', intOption('--batch'), 32)
    .option('--learning-rate <x>', 'Adam learning rate', positiveNumberOption('--learning-rate'), 0.005)
    .option(
      '--patience <n>',
      'epochs without a better validation loss before stopping',
      intOption('--patience'),
      8,
    )
    .option(
      '--loss <mse|huber>',
      'training loss: huber follows the bulk of a spiky series, mse its mean',
      'huber',
    )
    .option(
      '--huber-delta <x>',
      'where huber turns linear (normalized units)',
      positiveNumberOption('--huber-delta'),
      0.2,
    )
    .option(
      '--validation <fraction>',
      'share of each series for early stopping',
      fractionOption('--validation'),
      0.15,
    )
    .option(
      '--test <fraction>',
      'share at the end of each series held out for eval',
      fractionOption('--test'),
      0.15,
    )
    .option('--no-onnx', 'write only the JSON model, not the ONNX file')
    .requiredOption('--out <path>', 'output path without extension, e.g. models/load-lstm')
    .addHelpText(
      'after',
      `
Each series is split in time: training, then validation (early stopping), then test (held out
for \`smartqueue model eval\`). Every window is standardized by the mean and std of the series over
the day before it (as the onnx predictor does live), so one model serves series of any scale.
Writes <out>.json and, unless --no-onnx, <out>.onnx. Progress goes to stderr.

Examples:
  $ smartqueue model train --data ../shared/data/load --kind lstm --out models/load-lstm
  $ smartqueue model train --data cpu.csv --kind gru --hidden 8 --epochs 20 --out models/cpu-gru
  $ smartqueue model train --from-store .smartqueue/state.db --step 60 --out models/own-load
  $ smartqueue model train --task duration --data ../shared/data/wfcommons --kind gru --hidden 8 \\
      --out models/duration-gru

With --task duration, --data is a WfCommons instance or a folder of them; each instance is
split in task order (--validation, --test default 0.15 and 0.3) and --window defaults to 3.`,
    )
    .action(async (flags: TrainFlags, cmd: Command) => {
      const kind = flags.kind as CellKind;
      if (flags.loss !== 'mse' && flags.loss !== 'huber') {
        throw new SmartQueueError('INVALID_ARGUMENT', `--loss must be mse or huber, got "${flags.loss}"`);
      }
      if (kind !== 'lstm' && kind !== 'gru') {
        throw new SmartQueueError('INVALID_ARGUMENT', `--kind must be lstm or gru, got "${flags.kind}"`);
      }
      if (flags.task === 'duration') {
        await trainDuration(flags, cmd, io);
        return;
      }
      if (flags.task !== 'load') {
        throw new SmartQueueError('INVALID_ARGUMENT', `--task must be load or duration, got "${flags.task}"`);
      }
      const dataOptions = resolveLoadDataOptions({
        window: flags.window,
        horizon: flags.horizon,
        rollingSteps: flags.rolling,
        validationFraction: flags.validation,
        testFraction: flags.test,
        trainStride: flags.stride,
      });
      const { series, source } = await readTrainingSeries(flags, io);
      const examples = loadExamples(series, dataOptions);
      io.err(
        `training ${kind} (hidden ${flags.hidden}, window ${flags.window}, horizon ${flags.horizon}) on ${series.length} series: ${examples.train.length} training and ${examples.validation.length} validation windows`,
      );
      const name = path.basename(flags.out.replace(/\.(json|onnx)$/, ''));
      const started = Date.now();
      const { model } = trainSequenceModel(
        examples.train,
        examples.validation,
        {
          name,
          features: examples.features,
          target: `${flags.fromStore ? 'busy workers' : 'series value'} 1..${flags.horizon} steps (${flags.step} s each) ahead`,
          stepSeconds: flags.step,
          training: {
            data: source,
            series: series.map((s) => s.name),
            window: flags.window,
            horizon: flags.horizon,
            rollingSteps: flags.rolling,
            scaling: 'each window standardized by the mean and std of its trailing scaleSteps steps',
            scaleSteps: scaleSteps(flags.window, flags.rolling, flags.step),
            trainStride: flags.stride,
            validationFraction: flags.validation,
            testFraction: flags.test,
            split: 'chronological per series: train, validation, test',
          },
        },
        {
          kind,
          hiddenSize: flags.hidden,
          epochs: flags.epochs,
          seed: flags.seed,
          batchSize: flags.batch,
          learningRate: flags.learningRate,
          patience: flags.patience,
          loss: flags.loss,
          huberDelta: flags.huberDelta,
          onEpoch: (p) =>
            io.err(
              `epoch ${p.epoch}/${p.epochs}  train ${p.trainLoss.toFixed(5)}  val ${p.valLoss.toFixed(5)}${p.best ? '  (best)' : ''}  ${((Date.now() - started) / 1000).toFixed(0)} s`,
            ),
        },
      );
      const base = flags.out.replace(/\.(json|onnx)$/, '');
      await mkdir(path.dirname(path.resolve(base)), { recursive: true });
      await writeFile(`${base}.json`, JSON.stringify(model, null, 1) + '\n');
      io.out(
        `wrote ${base}.json (best epoch ${String(model.training.bestEpoch)}, validation loss ${Number(model.training.bestValLoss).toFixed(5)})`,
      );
      if (flags.onnx) await writeOnnx(model, `${base}.onnx`, io);
      io.out(summarize(evaluateLoad(series, dataOptions, model)));
    });
}

/** `--task duration`: options left at their load defaults take the duration ones. */
async function trainDuration(flags: TrainFlags, cmd: Command, io: CliIO): Promise<void> {
  if (flags.fromStore !== undefined) {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      '--from-store does not record durations per handler yet; use --data',
    );
  }
  const given = (name: string) => cmd.getOptionValueSource(name) !== 'default';
  await trainDurationModel(
    {
      data: flags.data,
      window: given('window') ? flags.window : DEFAULT_DURATION_WINDOW,
      validation: given('validation') ? flags.validation : 0.15,
      test: given('test') ? flags.test : 0.3,
      out: flags.out,
      onnx: flags.onnx,
      train: {
        kind: flags.kind as CellKind,
        hiddenSize: flags.hidden,
        epochs: flags.epochs,
        seed: flags.seed,
        batchSize: flags.batch,
        learningRate: flags.learningRate,
        patience: flags.patience,
        loss: flags.loss as 'mse' | 'huber',
        huberDelta: flags.huberDelta,
      },
    },
    io,
    (model, file) => writeOnnx(model, file, io),
  );
}

async function readTrainingSeries(
  flags: TrainFlags,
  io: CliIO,
): Promise<{ series: ResampledSeries[]; source: string }> {
  if (flags.fromStore !== undefined) {
    const s = await readStoreSeries(flags.fromStore, flags.step, flags.extras, io);
    return { series: [s], source: `store ${redactStoreSpec(flags.fromStore)}` };
  }
  const data = flags.data ?? defaultLoadData();
  const series = await loadSeries(data, flags.step);
  for (const s of series) {
    if (s.filled > 0 || s.merged > 0)
      io.err(`${s.name}: ${s.filled} gap steps interpolated, ${s.merged} duplicate samples averaged`);
  }
  return { series, source: data };
}

/** Exports the ONNX file with the exporter of the `onnx` predictor (loaded only when needed). */
async function writeOnnx(model: TrainedSequenceModel, file: string, io: CliIO): Promise<void> {
  const { exportOnnx } = await import('../../plugins/predictor/onnx/export/index.js');
  await exportOnnx(model, file);
  io.out(`wrote ${file}`);
}
