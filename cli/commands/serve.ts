import type { Command } from 'commander';
import { formatDuration } from '../../dsl/duration.js';
import type { CompiledWorkflow } from '../../dsl/load.js';
import { compileFile, findWorkflowFiles } from '../../dsl/load.js';
import { resolveParams } from '../../dsl/params.js';
import { CronScheduler } from '../../engine/cron.js';
import type { ScheduledEntry } from '../../engine/cron.js';
import { SmartQueueError } from '../../engine/errors.js';
import type { CheckpointStore } from '../../engine/stages.js';
import { openCliRuntime } from '../cli-runtime.js';
import type { CliIO } from '../output.js';
import { printDiagnostics } from '../output.js';
import { handlersOption, intOption, stateOption } from './common.js';

/** Label of runs started by the scheduler: the fire time they stand for (ISO-8601). */
export const SCHEDULED_AT_LABEL = 'smartqueue.io/scheduled-at';

/** When a workflow last fired, from the runs the store recorded for it. */
async function lastFireAt(store: CheckpointStore, workflowName: string): Promise<number | undefined> {
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const r = await store.listRuns({ workflowName, limit: 100, ...(cursor && { cursor }) });
    for (const run of r.runs) {
      const at = run.labels?.[SCHEDULED_AT_LABEL];
      if (at !== undefined) return Date.parse(at);
    }
    if (!r.nextCursor) return undefined;
    cursor = r.nextCursor;
  }
  return undefined;
}

export function registerServe(program: Command, io: CliIO): void {
  program
    .command('serve')
    .summary('start scheduled workflows on time (cron), in this process')
    .description(
      'Loads workflow files and directories, and starts a run of every workflow with a `schedule` at each ' +
        'cron fire time (in its time zone), on the embedded engine. Fire times missed while the server was down ' +
        "are handled per the schedule's catchUp: none (skip), latest (run once for the last one) or all. " +
        'Stops on SIGINT/SIGTERM; runs in progress stay resumable with `smartqueue replay`.',
    )
    .argument('<paths...>', 'workflow files or directories')
    .option('-c, --concurrency <n>', 'attempts run at once', intOption('--concurrency'))
    .option(...stateOption)
    .option(...handlersOption)
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue serve workflows/examples\n  $ smartqueue serve reports/ --state /var/lib/smartqueue/state.db',
    )
    .action(async (paths: string[], opts: { concurrency?: number; state: string; handlers?: string }) => {
      const { files, diagnostics } = await findWorkflowFiles(paths);
      let errors = printDiagnostics(io, diagnostics);
      const scheduled = new Map<string, { file: string; compiled: CompiledWorkflow }>();
      for (const file of files) {
        const r = await compileFile(file, { allowInfeasible: true });
        errors += printDiagnostics(io, r.diagnostics);
        for (const c of r.compiled)
          if (c.plan.ir.schedule) scheduled.set(c.plan.ir.name, { file, compiled: c });
      }
      if (errors)
        throw new SmartQueueError('INVALID_WORKFLOW', `${errors} error(s) in the workflows`, {
          details: { reported: true },
        });
      if (scheduled.size === 0)
        throw new SmartQueueError('INVALID_ARGUMENT', 'none of these workflows has a schedule');
      const { runtime } = await openCliRuntime(opts, (t) => io.out(t));
      const { engine, store } = runtime;
      const clock = () => new Date().toISOString().slice(0, 19).replace('T', ' ');
      engine.events.on('run:state:finished', (e) =>
        io.out(
          `${clock()} run ${e.runId} ${e.status} in ${formatDuration(e.durationMs)}${e.deadlineMissed ? ' (missed its deadline)' : ''}`,
        ),
      );
      const scheduler = new CronScheduler({
        fire: async (name, scheduledAt, reason) => {
          const entry = scheduled.get(name)!;
          // Recompile at fire time: absolute deadlines count from now.
          const fresh = await compileFile(entry.file, { allowInfeasible: true });
          const c = fresh.compiled.find((x) => x.plan.ir.name === name) ?? entry.compiled;
          const runId = await engine.startRun(c.plan, {
            params: resolveParams(c.plan.ir.params),
            labels: {
              [SCHEDULED_AT_LABEL]: new Date(scheduledAt).toISOString(),
              'smartqueue.io/trigger': reason,
            },
            handlers: c.loaded.handlers,
            ...(c.loaded.file !== undefined && { file: c.loaded.file }),
          });
          io.out(
            `${clock()} run ${runId} of ${name} started (${reason} for ${new Date(scheduledAt).toISOString()})`,
          );
        },
        onError: (name, err) =>
          io.err(`${clock()} could not start ${name}: ${err instanceof Error ? err.message : String(err)}`),
      });
      const entries: ScheduledEntry[] = [];
      for (const [name, { compiled }] of scheduled) {
        const last = await lastFireAt(store, name);
        entries.push({
          name,
          schedule: compiled.plan.ir.schedule!,
          ...(last !== undefined && { lastFireAt: last }),
        });
      }
      for (const u of scheduler.upcoming(entries)) {
        const s = scheduled.get(u.name)!.compiled.plan.ir.schedule!;
        io.out(
          `scheduled ${u.name}: "${s.cron}" (${s.timezone}, catchUp ${s.catchUp}), next at ${new Date(u.at).toISOString()}`,
        );
      }
      await scheduler.start(entries);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      io.out('stopping: no new runs; runs in progress stay resumable');
      scheduler.stop();
      await runtime.close();
    });
}
