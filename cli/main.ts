/**
 * The `smartqueue` command line.
 */
import { Command, CommanderError } from 'commander';
import { SmartQueueError } from '../engine/errors.js';
import { registerGraph } from './commands/graph.js';
import { registerImport } from './commands/import.js';
import { registerPlan } from './commands/plan.js';
import { registerInspect } from './commands/inspect.js';
import { registerModel } from './commands/model.js';
import { registerReplay } from './commands/replay.js';
import { registerRun } from './commands/run.js';
import { registerRuns } from './commands/runs.js';
import { registerServe } from './commands/serve.js';
import { registerStore } from './commands/store.js';
import { registerSubmit } from './commands/submit.js';
import { registerSubmitTask } from './commands/submit-task.js';
import { registerValidate } from './commands/validate.js';
import { registerWatch } from './commands/watch.js';
import { registerWorker } from './commands/worker.js';
import type { CliIO } from './output.js';
import { processIO, reportFailure } from './output.js';

const VERSION = '0.1.0';

/** Builds the program; `setExit` receives the exit code a command chose. */
export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command('smartqueue')
    .description('SmartQueue: deadline-aware workflow engine and task queue')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    })
    .exitOverride();
  registerValidate(program, io, setExit);
  registerPlan(program, io);
  registerGraph(program, io);
  registerImport(program, io);
  registerRun(program, io, setExit);
  registerRuns(program, io);
  registerInspect(program, io);
  registerModel(program, io, setExit);
  registerReplay(program, io, setExit);
  registerServe(program, io);
  registerStore(program, io);
  registerSubmit(program, io, setExit);
  registerSubmitTask(program, io, setExit);
  registerWatch(program, io, setExit);
  registerWorker(program, io);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** Runs the CLI with `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof SmartQueueError && err.details.reported) return 1;
    return reportFailure(io, err);
  }
}
