/**
 * `smartqueue model train|eval`: the load-forecast models of the `onnx` predictor, trained and
 * evaluated in TypeScript (see plugins/predictor/onnx/model and models/README.md).
 */
import type { Command } from 'commander';
import type { CliIO } from '../output.js';
import { registerModelEval } from './model-eval.js';
import { registerModelTrain } from './model-train.js';

/** Registers `model` and its subcommands. */
export function registerModel(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const model = program
    .command('model')
    .summary('train and evaluate the load and duration models (LSTM/GRU, exported to ONNX)');
  registerModelTrain(model, io);
  registerModelEval(model, io, setExit);
  for (const cmd of model.commands) cmd.exitOverride().configureOutput(program.configureOutput());
}
