/** `smartqueue model eval`: the model against every baseline on each series' held-out end. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { SmartQueueError } from '../../engine/errors.js';
import { loadSeries } from '../../plugins/predictor/onnx/model/data.js';
import {
  evaluateLoad,
  formatEvaluation,
  type MetricName,
} from '../../plugins/predictor/onnx/model/evaluate.js';
import { HISTORY_COLUMNS } from '../../plugins/predictor/onnx/model/history.js';
import { resolveLoadDataOptions } from '../../plugins/predictor/onnx/model/load-forecast.js';
import type { TrainedSequenceModel } from '../../plugins/predictor/onnx/model/types.js';
import type { CliIO } from '../output.js';
import { intOption } from './common.js';
import { evalDurationModel } from './model-duration.js';
import { defaultLoadData, fractionOption, readStoreSeries } from './model-options.js';

interface EvalFlags {
  task?: string;
  data?: string;
  fromStore?: string;
  model?: string;
  window: number;
  horizon: number;
  step?: number;
  rolling?: number;
  validation?: number;
  test?: number;
  metric?: string;
}

/** Reads and checks a models/<name>.json file. */
export async function readModel(file: string): Promise<TrainedSequenceModel> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new SmartQueueError('NOT_FOUND', `cannot read model ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const m = parsed as Partial<TrainedSequenceModel>;
  if (m.format !== 1 || !m.spec || !m.weights || !m.normalization || !Array.isArray(m.features)) {
    throw new SmartQueueError('INVALID_ARGUMENT', `${file} is not a SmartQueue model (format 1 JSON)`);
  }
  return m as TrainedSequenceModel;
}

/** Registers `model eval`. */
export function registerModelEval(model: Command, io: CliIO, setExit: (code: number) => void): void {
  model
    .command('eval')
    .summary('compare a model with persistence, moving average, EWMA, seasonal naive and Holt-Winters')
    .option(
      '--data <dir or csv>',
      'timestamp,value CSV file, or a folder of them [default: ../shared/data/load]',
    )
    .option(
      '--task <load|duration>',
      "load series, or task durations from WfCommons traces [default: the model's, else load]",
    )
    .option('--from-store <spec>', 'evaluate on the history recorded in this checkpoint store instead')
    .option('--model <json>', 'a trained model (models/<name>.json); without it, only the baselines')
    .option('--window <n>', 'input steps (without --model)', intOption('--window'), 24)
    .option('--horizon <n>', 'steps ahead (without --model)', intOption('--horizon'), 6)
    .option('--step <seconds>', "resampling step [default: the model's, else 300]", intOption('--step'))
    .option('--rolling <n>', "rolling-feature steps [default: the model's, else 12]", intOption('--rolling'))
    .option(
      '--validation <fraction>',
      "validation share [default: the model's, else 0.15]",
      fractionOption('--validation'),
    )
    .option(
      '--test <fraction>',
      "held-out share at the end of each series [default: the model's, else 0.15]",
      fractionOption('--test'),
    )
    .option('--metric <list>', 'metrics to print: mae,rmse,mape', 'mae,rmse,mape')
    .addHelpText(
      'after',
      `
Scores come from the last --test share of every series (after the training and validation
parts the model never trained on). One table per metric: a row per series and step ahead, a
column per forecaster, * marks the best of each row; below each table, how many rows a
baseline won.

Examples:
  $ smartqueue model eval --model models/load-lstm.json
  $ smartqueue model eval --data ../shared/data/load --metric mae
  $ smartqueue model eval --task duration --data ../shared/data/wfcommons --model models/duration-gru.json

With --task duration: MAE, RMSE (ms) and MAPE per instance and over all held-out tasks, against
the handler's mean of its last --window runtimes, its last runtime, EWMA (what the ewma
predictor answers) and the global median.`,
    )
    .action(async (flags: EvalFlags, cmd: Command) => {
      const trained = flags.model !== undefined ? await readModel(flags.model) : undefined;
      const task = flags.task ?? (trained?.training.task === 'duration' ? 'duration' : 'load');
      if (task === 'duration') {
        const given = (name: string) => cmd.getOptionValueSource(name) !== 'default';
        const code = await evalDurationModel(
          {
            data: flags.data,
            window: given('window') ? flags.window : undefined,
            validation: flags.validation,
            test: flags.test,
          },
          trained,
          io,
        );
        if (code !== 0) setExit(code);
        return;
      }
      if (task !== 'load') {
        throw new SmartQueueError('INVALID_ARGUMENT', `--task must be load or duration, got "${task}"`);
      }
      const metrics = (flags.metric ?? 'mae,rmse,mape').split(',').map((m) => m.trim().toLowerCase());
      for (const m of metrics) {
        if (m !== 'mae' && m !== 'rmse' && m !== 'mape') {
          throw new SmartQueueError('INVALID_ARGUMENT', `--metric: unknown metric "${m}" (mae, rmse, mape)`);
        }
      }
      const fromTraining = (key: string): number | undefined => {
        const v = trained?.training[key];
        return typeof v === 'number' ? v : undefined;
      };
      const step = flags.step ?? trained?.stepSeconds ?? 300;
      const options = resolveLoadDataOptions({
        window: trained?.spec.window ?? flags.window,
        horizon: trained?.spec.outputSize ?? flags.horizon,
        rollingSteps: flags.rolling ?? fromTraining('rollingSteps') ?? 12,
        validationFraction: flags.validation ?? fromTraining('validationFraction') ?? 0.15,
        testFraction: flags.test ?? fromTraining('testFraction') ?? 0.15,
      });
      // A model trained with extra history columns needs them; one without must not get them.
      const extras = trained === undefined || trained.features.some((f) => HISTORY_COLUMNS.includes(f));
      const series =
        flags.fromStore !== undefined
          ? [await readStoreSeries(flags.fromStore, step, extras, io)]
          : await loadSeries(flags.data ?? defaultLoadData(), step);
      const rows = evaluateLoad(series, options, trained);
      if (rows.length === 0) {
        io.err('no series is long enough for a held-out part with this window and horizon');
        setExit(1);
        return;
      }
      io.out(formatEvaluation(rows, metrics as MetricName[]));
    });
}
