import type { Command } from 'commander';
import { SmartQueueError } from '../../engine/errors.js';
import type { CompiledPlan } from '../../dsl/compiler.js';
import { formatDuration } from '../../dsl/duration.js';
import { loadPlans } from '../load-plans.js';
import type { CliIO } from '../output.js';
import { table } from '../output.js';

const fmt = (ms: number) => (Number.isFinite(ms) ? formatDuration(ms) : '-');

/** The plan as a table: one row per task in topological order. */
export function formatPlan(plan: CompiledPlan): string {
  const rows = plan.order.map((id) => {
    const t = plan.tasks.get(id)!;
    return [
      String(t.order + 1),
      t.critical ? `${id} *` : id,
      t.needs.join(',') || '-',
      formatDuration(t.estimateMs) + (t.estimateSource === 'default' ? '?' : ''),
      formatDuration(t.earliestStartMs),
      fmt(t.lftMs),
      fmt(t.lstMs),
      fmt(t.slackMs),
    ];
  });
  const lines = [
    `workflow ${plan.ir.name}: ${plan.order.length} tasks`,
    '',
    table(['#', 'task', 'needs', 'est', 'start', 'LFT', 'LST', 'slack'], rows, new Set([0, 3, 4, 5, 6, 7])),
    '',
    `critical path: ${plan.criticalPath.join(' -> ')} (${formatDuration(plan.makespanMs)})`,
  ];
  if (plan.deadlineMs !== undefined) {
    lines.push(
      `run deadline: ${formatDuration(plan.deadlineMs)}, total slack ${formatDuration(plan.totalSlackMs!)}`,
    );
  } else lines.push('run deadline: none');
  lines.push('times are from run start; * = on the critical path; ? = default estimate; - = no deadline');
  return lines.join('\n');
}

/** The plan as JSON (Infinity becomes null). */
export function planToJson(plan: CompiledPlan): Record<string, unknown> {
  const num = (n: number) => (Number.isFinite(n) ? n : null);
  return {
    workflow: plan.ir.name,
    makespanMs: plan.makespanMs,
    deadlineMs: plan.deadlineMs ?? null,
    totalSlackMs: plan.totalSlackMs ?? null,
    criticalPath: plan.criticalPath,
    tasks: plan.order.map((id) => {
      const t = plan.tasks.get(id)!;
      return {
        id,
        needs: t.needs,
        estimateMs: t.estimateMs,
        estimateSource: t.estimateSource,
        earliestStartMs: t.earliestStartMs,
        lftMs: num(t.lftMs),
        lstMs: num(t.lstMs),
        slackMs: num(t.slackMs),
        critical: t.critical,
      };
    }),
  };
}

export function registerPlan(program: Command, io: CliIO): void {
  program
    .command('plan')
    .summary('print the compiled plan of a workflow')
    .description(
      'Compiles a workflow and prints its tasks in topological order with estimate, earliest start, ' +
        'latest finish (LFT) and latest start (LST) times, slack, and the critical path.',
    )
    .argument('<file>', 'workflow file (.yaml, .ts, .js)')
    .option('--json', 'print JSON instead of a table')
    .option(
      '--ir',
      'print the compiled IR as JSON (what the gRPC SubmitWorkflow takes in its `ir` field); one workflow only',
    )
    .option('-w, --workflow <name>', 'only this workflow of a multi-workflow file')
    .option('--allow-infeasible', 'plan even when a deadline is already missed by the critical path')
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue plan workflows/examples/etl.yaml\n  $ smartqueue plan etl.yaml --json | jq .criticalPath\n' +
        '  $ smartqueue plan pipeline.ts --ir > pipeline.ir.json',
    )
    .action(
      async (
        file: string,
        opts: { json?: boolean; ir?: boolean; workflow?: string; allowInfeasible?: boolean },
      ) => {
        const compiled = await loadPlans(io, file, opts);
        if (opts.ir) {
          if (compiled.length > 1) {
            throw new SmartQueueError(
              'INVALID_ARGUMENT',
              `${file} holds ${compiled.length} workflows (${compiled.map((c) => c.plan.ir.name).join(', ')}); choose one with --workflow`,
            );
          }
          io.out(JSON.stringify(compiled[0]!.plan.ir, null, 2));
        } else if (opts.json) {
          const plans = compiled.map((c) => planToJson(c.plan));
          io.out(JSON.stringify(plans.length === 1 ? plans[0] : plans, null, 2));
        } else io.out(compiled.map((c) => formatPlan(c.plan)).join('\n\n'));
      },
    );
}
