import type { Command } from 'commander';
import { formatDuration } from '../../dsl/duration.js';
import { storedWorkflowTasks } from '../../engine/stored-workflow.js';
import type { StoredWorkflow } from '../../engine/stored-workflow.js';
import { SmartQueueError } from '../../engine/errors.js';
import type { TaskRecord } from '../../engine/stages.js';
import { openStore } from '../../runtime/embedded.js';
import { resolveTracingOptions, traceLink } from '../../plugins/telemetry/tracing/options.js';
import type { CliIO } from '../output.js';
import { table } from '../output.js';
import { stateOption, storeOption, applyStoreFlag } from './common.js';

/**
 * The chain of tasks that actually determined the run's end: from the last task to finish, walk
 * back through the need that finished last. Tasks added to the run count too.
 */
export function takenCriticalPath(stored: StoredWorkflow, tasks: TaskRecord[]): string[] {
  const byId = new Map(tasks.map((t) => [t.taskId, t]));
  const needs = new Map(storedWorkflowTasks(stored, tasks).map((t) => [t.id, t.needs]));
  let cur = tasks
    .filter((t) => t.status === 'succeeded' && t.finishedAt !== undefined)
    .sort((a, b) => b.finishedAt! - a.finishedAt!)[0];
  const path: string[] = [];
  while (cur) {
    path.push(cur.taskId);
    const prev = (needs.get(cur.taskId) ?? [])
      .map((n) => byId.get(n))
      .filter((t): t is TaskRecord => t?.finishedAt !== undefined)
      .sort((a, b) => b.finishedAt! - a.finishedAt!)[0];
    cur = prev;
  }
  return path.reverse();
}

export function registerInspect(program: Command, io: CliIO): void {
  program
    .command('inspect')
    .summary('show one run: tasks, attempts, timings, critical path, missed deadlines')
    .argument('<run-id>', 'a run id (see `smartqueue runs`)')
    .option(...stateOption)
    .option(...storeOption)
    .option('--json', 'print JSON')
    .option('--events', "also print the run's event log")
    .option(
      '--trace-url <template>',
      'trace UI link of a traced run, {traceId} replaced [default: http://127.0.0.1:9411/zipkin/traces/{traceId}]; env SMARTQUEUE_TRACE_URL',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue inspect run_lx2k9a0001\n  $ smartqueue inspect run_lx2k9a0001 --events',
    )
    .action(
      async (
        runId: string,
        opts: { state: string; store?: string; json?: boolean; events?: boolean; traceUrl?: string },
      ) => {
        applyStoreFlag(opts);
        const env = process.env.SMARTQUEUE_TRACE_URL;
        const { traceUrl } = resolveTracingOptions({
          ...(opts.traceUrl !== undefined && { explicit: { traceUrl: opts.traceUrl } }),
          env: env !== undefined ? { SMARTQUEUE_TRACE_URL: env } : {},
        });
        const store = await openStore(opts.state === ':memory:' ? false : opts.state, { mustExist: true });
        try {
          const run = await store.getRun(runId);
          if (!run) throw new SmartQueueError('NOT_FOUND', `unknown run ${runId} in ${opts.state}`);
          const tasks = await store.getTasks(runId);
          const stored = run.workflow as StoredWorkflow;
          const order = new Map(storedWorkflowTasks(stored, tasks).map((t, i) => [t.id, i]));
          tasks.sort((a, b) => (order.get(a.taskId) ?? 0) - (order.get(b.taskId) ?? 0));
          const critical = takenCriticalPath(stored, tasks);
          const late = tasks.filter((t) => t.deadlineMissed).map((t) => t.taskId);
          const events = opts.events ? await store.getEvents(runId) : undefined;
          // Traces of the run's attempts (a resumed run has one per process that ran it).
          const traces = [...new Set(tasks.flatMap((t) => (t.traceId !== undefined ? [t.traceId] : [])))].map(
            (id) => traceLink(traceUrl, id),
          );
          if (opts.json) {
            const { workflow: _w, ...rest } = run;
            io.out(
              JSON.stringify(
                {
                  run: rest,
                  tasks,
                  criticalPath: critical,
                  missedDeadlines: late,
                  traces,
                  ...(events && { events }),
                },
                null,
                2,
              ),
            );
            return;
          }
          const took =
            run.finishedAt !== undefined ? formatDuration(run.finishedAt - run.createdAt) : 'still running';
          io.out(`run       ${run.runId}`);
          io.out(`workflow  ${run.workflowName}`);
          io.out(`status    ${run.status} (${took})`);
          io.out(`started   ${new Date(run.createdAt).toISOString()}`);
          if (run.deadlineAt !== undefined) {
            io.out(
              `deadline  ${new Date(run.deadlineAt).toISOString()}${run.deadlineMissed ? '  MISSED' : ''}`,
            );
          }
          if (Object.keys(run.params).length) io.out(`params    ${JSON.stringify(run.params)}`);
          for (const link of traces) io.out(`trace     ${link}`);
          io.out('');
          const rows = tasks.map((t) => [
            t.taskId,
            t.status + (t.deadlineMissed ? ' (late)' : ''),
            String(t.attempt),
            t.workerId ?? '-',
            t.readyAt !== undefined && t.startedAt !== undefined
              ? formatDuration(Math.max(0, t.startedAt - t.readyAt))
              : '-',
            t.startedAt !== undefined && t.finishedAt !== undefined
              ? formatDuration(t.finishedAt - t.startedAt)
              : '-',
            t.finishedAt !== undefined ? `+${formatDuration(t.finishedAt - run.createdAt)}` : '-',
            (t.error ?? '').slice(0, 50),
          ]);
          io.out(
            table(
              ['task', 'status', 'attempts', 'worker', 'waited', 'ran', 'finished', 'error'],
              rows,
              new Set([2, 4, 5, 6]),
            ),
          );
          io.out('');
          io.out(`critical path taken: ${critical.join(' -> ') || '-'}`);
          io.out(
            `missed deadlines: ${[...(run.deadlineMissed ? ['run deadline'] : []), ...late].join(', ') || (run.status === 'running' ? 'none yet' : 'none')}`,
          );
          if (events) {
            io.out('');
            for (const e of events) {
              io.out(
                `${String(e.seq).padStart(5)} ${new Date(e.at).toISOString().slice(11, 23)} ${e.type} ${e.taskId ?? ''}${e.attempt ? ` #${e.attempt}` : ''} ${e.data ? JSON.stringify(e.data) : ''}`.trimEnd(),
              );
            }
          }
        } finally {
          await store.close();
        }
      },
    );
}
