import type { Command } from 'commander';
import { SmartQueueError } from '../../engine/errors.js';
import type { HandlerRegistry } from '../../engine/handler.js';
import type { StoredWorkflow } from '../../engine/engine.js';
import { loadWorkflowFile } from '../../dsl/load.js';
import { openCliRuntime } from '../cli-runtime.js';
import type { CliIO } from '../output.js';
import { followRun } from '../progress.js';
import { printRunSummary } from '../run-report.js';
import { traceOptions } from '../trace-flags.js';
import { progressMode } from './run.js';
import {
  handlersOption,
  intOption,
  stateOption,
  storeOption,
  applyStoreFlag,
  threadHeapOption,
  threadsOption,
} from './common.js';

/** Inline DSL handlers are code, not data: reload them from the module the run came from. */
async function reloadHandlers(stored: StoredWorkflow): Promise<HandlerRegistry | undefined> {
  if (!stored.file || !/\.(m?ts|m?js)$/.test(stored.file)) return undefined;
  const { workflows, diagnostics } = await loadWorkflowFile(stored.file);
  const match = workflows.find((w) => w.ir.name === stored.ir.name);
  if (!match) {
    const why = diagnostics[0]?.message ?? `no workflow "${stored.ir.name}" in it any more`;
    throw new SmartQueueError(
      'FAILED_PRECONDITION',
      `cannot reload the handlers of this run from ${stored.file}: ${why}`,
    );
  }
  return match.handlers;
}

export function registerReplay(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('replay')
    .summary('resume an interrupted run from its checkpoint, or re-run part of it')
    .description(
      'Resumes a run from its checkpoint: tasks whose success was recorded are not run again; tasks that ' +
        'were running get a new attempt; failed, cancelled and pending tasks run. With --from, that task and ' +
        'everything downstream of it run again too.',
    )
    .argument('<run-id>', 'a run id (see `smartqueue runs`)')
    .option('--from <task-id>', 're-run this task and everything downstream of it')
    .option('--dry-run', 'print what would run, run nothing')
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
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue replay run_lx2k9a0001\n  $ smartqueue replay run_lx2k9a0001 --from transform --dry-run',
    )
    .action(
      async (
        runId: string,
        opts: {
          from?: string;
          dryRun?: boolean;
          concurrency?: number;
          threads?: number;
          threadHeap?: number;
          state: string;
          store?: string;
          json?: boolean;
          quiet?: boolean;
          handlers?: string;
        },
      ) => {
        applyStoreFlag(opts);
        const { runtime, attach } = await openCliRuntime(opts, (t) => io.err(t));
        try {
          const { engine } = runtime;
          const plan = await engine.planResume(runId, opts.from);
          if (opts.dryRun) {
            if (opts.json)
              io.out(
                JSON.stringify(
                  { runId, kept: plan.kept, rerun: plan.rerun, redispatched: plan.redispatched },
                  null,
                  2,
                ),
              );
            else {
              io.out(
                `run ${runId} (${plan.record.workflowName}, ${plan.record.status}): ${plan.kept.length} task(s) kept, ${plan.rerun.length} to run`,
              );
              for (const id of plan.rerun)
                io.out(
                  `  run    ${id}${plan.redispatched.includes(id) ? '  (was running: new attempt)' : ''}`,
                );
            }
            return;
          }
          if (plan.rerun.length === 0) {
            io.out(`run ${runId} is complete: nothing to replay (use --from <task> to re-run part of it)`);
            setExit(plan.record.status === 'succeeded' ? 0 : 1);
            return;
          }
          const handlers = await reloadHandlers(plan.stored);
          const mode = progressMode(io, opts);
          if (mode !== 'json' && mode !== 'quiet')
            io.out(`replay ${runId}: ${plan.kept.length} kept, ${plan.rerun.length} to run`);
          const view = followRun(engine, runId, io, mode, {
            total: plan.kept.length + plan.rerun.length,
            alreadyDone: plan.kept.length,
            ...(plan.record.deadlineAt !== undefined && { deadlineAt: plan.record.deadlineAt }),
          });
          attach(view);
          await engine.resumeRun(runId, {
            ...(opts.from !== undefined && { from: opts.from }),
            ...(handlers && { handlers }),
          });
          const status = await engine.waitForRun(runId);
          view.stop();
          setExit(await printRunSummary(io, runtime.store, runId, status, Boolean(opts.json)));
        } finally {
          await runtime.close();
        }
      },
    );
}
