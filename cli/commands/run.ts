import type { Command } from 'commander';
import { resolveParams, parseParamArgs } from '../../dsl/params.js';
import { DEFAULT_STATE_PATH } from '../../runtime/embedded.js';
import { openCliRuntime } from '../cli-runtime.js';
import { loadOnePlan } from '../load-plans.js';
import type { CliIO } from '../output.js';
import { followRun } from '../progress.js';
import type { ProgressMode } from '../progress.js';
import { printRunSummary } from '../run-report.js';
import { traceOptions } from '../trace-flags.js';
import type { TraceFlags } from '../trace-flags.js';
import {
  handlersOption,
  intOption,
  stateOption,
  storeOption,
  applyStoreFlag,
  threadHeapOption,
  threadsOption,
} from './common.js';

interface RunOptions extends TraceFlags {
  param: string[];
  shards?: number;
  concurrency?: number;
  threads?: number;
  threadHeap?: number;
  state: string;
  store?: string;
  json?: boolean;
  quiet?: boolean;
  workflow?: string;
  allowInfeasible?: boolean;
  handlers?: string;
}

/** How progress is shown: JSON lines, a live line on a terminal, or plain lines. */
export function progressMode(io: CliIO, opts: { json?: boolean; quiet?: boolean }): ProgressMode {
  if (opts.json) return 'json';
  if (opts.quiet) return 'quiet';
  return io.isTTY ? 'tty' : 'lines';
}

export function registerRun(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('run')
    .summary('run a workflow to completion on this machine')
    .description(
      'Runs a workflow on the embedded engine (SQLite checkpoints, local workers) with a live progress view, ' +
        'then prints a summary. Every step is checkpointed, so an interrupted run can be resumed with ' +
        '`smartqueue replay <run-id>`. Exits 0 only if the run succeeded.',
    )
    .argument('<file>', 'workflow file (.yaml, .ts, .js)')
    .option(
      '-p, --param <name=value>',
      'set a workflow param (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--shards <n>', 'number of shard heaps', intOption('--shards'))
    .option('-c, --concurrency <n>', 'attempts run at once', intOption('--concurrency'))
    .option(...stateOption)
    .option(...storeOption)
    .option(...handlersOption)
    .option(...threadsOption)
    .option(...threadHeapOption)
    .option(...traceOptions.exporter)
    .option(...traceOptions.endpoint)
    .option(...traceOptions.service)
    .option(...traceOptions.sample)
    .option(...traceOptions.batchDelay)
    .option('--json', 'print events and the summary as JSON lines')
    .option('-q, --quiet', 'print only the summary')
    .option('-w, --workflow <name>', 'which workflow of a multi-workflow file')
    .option('--allow-infeasible', 'run even when a deadline is already missed by the critical path')
    .addHelpText(
      'after',
      `\nExamples:\n  $ smartqueue run workflows/examples/etl.yaml\n  $ smartqueue run etl.yaml --param date=2026-11-27 --concurrency 8\n  $ smartqueue run etl.yaml --state :memory:   # no checkpoints on disk\n  $ smartqueue run etl.yaml --handlers ./handlers.ts   # tasks may "uses" its exports\n\nState file default: ${DEFAULT_STATE_PATH}`,
    )
    .action(async (file: string, opts: RunOptions) => {
      applyStoreFlag(opts);
      const compiled = await loadOnePlan(io, file, opts);
      // Checked before anything starts, so a bad --param fails fast with one clear line.
      const params = resolveParams(compiled.plan.ir.params, parseParamArgs(opts.param));
      const { runtime, attach } = await openCliRuntime(opts, (t) => io.err(t));
      try {
        const { engine } = runtime;
        const runId = engine.options.coordinator.nextId('run');
        const mode = progressMode(io, opts);
        if (mode !== 'json' && mode !== 'quiet')
          io.out(`run ${runId}: ${compiled.plan.ir.name}, ${compiled.plan.order.length} tasks`);
        const deadlineAt =
          compiled.plan.deadlineMs !== undefined ? Date.now() + compiled.plan.deadlineMs : undefined;
        const view = followRun(engine, runId, io, mode, {
          total: compiled.plan.order.length,
          ...(deadlineAt !== undefined && { deadlineAt }),
        });
        attach(view);
        const onSignal = () => {
          view.stop();
          io.err(
            `\ninterrupted: resume with  smartqueue replay ${runId}${opts.state !== DEFAULT_STATE_PATH ? ` --state ${opts.state}` : ''}`,
          );
          void runtime.close().finally(() => process.exit(130));
        };
        process.once('SIGINT', onSignal);
        await engine.startRun(compiled.plan, {
          runId,
          params,
          handlers: compiled.loaded.handlers,
          ...(compiled.loaded.file !== undefined && { file: compiled.loaded.file }),
        });
        const status = await engine.waitForRun(runId);
        process.off('SIGINT', onSignal);
        view.stop();
        setExit(await printRunSummary(io, runtime.store, runId, status, Boolean(opts.json)));
      } finally {
        await runtime.close();
      }
    });
}
