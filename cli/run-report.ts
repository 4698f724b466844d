/**
 * What `run` and `replay` print once a run ends: a task table and a one-line verdict.
 */
import { formatDuration } from '../dsl/duration.js';
import type { CheckpointStore, RunStatus } from '../engine/stages.js';
import { resolveTracingOptions, traceLink } from '../plugins/telemetry/tracing/options.js';
import type { CliIO } from './output.js';
import { table } from './output.js';

/** Prints the summary of a finished run; returns the exit code (0 only when it succeeded). */
export async function printRunSummary(
  io: CliIO,
  store: CheckpointStore,
  runId: string,
  status: RunStatus,
  json: boolean,
): Promise<number> {
  const run = await store.getRun(runId);
  const tasks = await store.getTasks(runId);
  const counts: Record<string, number> = {};
  for (const t of tasks) counts[t.status] = (counts[t.status] ?? 0) + 1;
  const durationMs = (run?.finishedAt ?? Date.now()) - (run?.createdAt ?? Date.now());
  if (json) {
    io.out(
      JSON.stringify({
        summary: { runId, status, durationMs, deadlineMissed: Boolean(run?.deadlineMissed), counts },
      }),
    );
    return status === 'succeeded' ? 0 : 1;
  }
  const shown = tasks.length <= 40 ? tasks : tasks.filter((t) => t.status !== 'succeeded').slice(0, 40);
  if (shown.length) {
    const rows = shown.map((t) => [
      t.taskId,
      t.status + (t.deadlineMissed ? ' (late)' : ''),
      String(t.attempt),
      t.startedAt !== undefined && t.finishedAt !== undefined
        ? formatDuration(t.finishedAt - t.startedAt)
        : '-',
      (t.error ?? '').slice(0, 60),
    ]);
    io.out('');
    io.out(table(['task', 'status', 'attempts', 'time', 'error'], rows, new Set([2, 3])));
    if (shown.length < tasks.length)
      io.out(`(${tasks.length - shown.length} more succeeded tasks not shown)`);
  }
  const parts = Object.entries(counts).map(([k, v]) => `${v} ${k}`);
  const late = run?.deadlineMissed
    ? ', MISSED its deadline'
    : run?.deadlineAt !== undefined && status !== 'running'
      ? ', met its deadline'
      : '';
  io.out('');
  io.out(`run ${runId} ${status} in ${formatDuration(durationMs)}: ${parts.join(', ')}${late}`);
  io.out(`details: smartqueue inspect ${runId}`);
  // Traced runs (--trace-exporter): where their trace is, by the ids the task records keep.
  const traceIds = new Set(tasks.flatMap((t) => (t.traceId !== undefined ? [t.traceId] : [])));
  if (traceIds.size) {
    const env = process.env.SMARTQUEUE_TRACE_URL;
    const { traceUrl } = resolveTracingOptions({
      env: env !== undefined ? { SMARTQUEUE_TRACE_URL: env } : {},
    });
    for (const id of traceIds) io.out(`trace:   ${traceLink(traceUrl, id)}`);
  }
  return status === 'succeeded' ? 0 : 1;
}
