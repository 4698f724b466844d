import type { Command } from 'commander';
import { Option } from 'commander';
import type { CompiledPlan } from '../../dsl/compiler.js';
import { formatDuration } from '../../dsl/duration.js';
import { loadOnePlan } from '../load-plans.js';
import type { CliIO } from '../output.js';

/** Mermaid ids must be simple: map every task id to `t<n>`. */
export function toMermaid(plan: CompiledPlan): string {
  const key = (id: string) => `t${plan.tasks.get(id)!.order}`;
  const label = (id: string) =>
    `${id}<br/>${formatDuration(plan.tasks.get(id)!.estimateMs)}`.replace(/"/g, '#quot;');
  const lines = ['flowchart TD'];
  for (const id of plan.order) lines.push(`  ${key(id)}["${label(id)}"]`);
  for (const id of plan.order)
    for (const n of plan.tasks.get(id)!.needs) lines.push(`  ${key(n)} --> ${key(id)}`);
  const critical = plan.criticalPath.map(key);
  if (critical.length) {
    lines.push('  classDef critical stroke:#d33,stroke-width:3px');
    lines.push(`  class ${critical.join(',')} critical`);
  }
  return lines.join('\n');
}

export function toDot(plan: CompiledPlan): string {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const critical = new Set(plan.criticalPath);
  const lines = [
    `digraph ${q(plan.ir.name)} {`,
    '  rankdir=LR;',
    '  node [shape=box, fontname="Helvetica"];',
  ];
  for (const id of plan.order) {
    const t = plan.tasks.get(id)!;
    const style = critical.has(id) ? ', color=red, penwidth=2' : '';
    // Escape the id, then join with dot's own line break (`\\n` in the quoted label).
    const label = `${q(id).slice(0, -1)}\\n${formatDuration(t.estimateMs)}"`;
    lines.push(`  ${q(id)} [label=${label}${style}];`);
  }
  for (const id of plan.order) {
    for (const n of plan.tasks.get(id)!.needs) {
      const style = critical.has(id) && critical.has(n) ? ' [color=red, penwidth=2]' : '';
      lines.push(`  ${q(n)} -> ${q(id)}${style};`);
    }
  }
  lines.push('}');
  return lines.join('\n');
}

export function registerGraph(program: Command, io: CliIO): void {
  program
    .command('graph')
    .summary('print the DAG of a workflow as Mermaid or Graphviz dot')
    .description('Prints the dependency graph of a workflow; the critical path is highlighted.')
    .argument('<file>', 'workflow file (.yaml, .ts, .js)')
    .addOption(
      new Option('-f, --format <format>', 'output format').choices(['mermaid', 'dot']).default('mermaid'),
    )
    .option('-w, --workflow <name>', 'which workflow of a multi-workflow file')
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue graph workflows/examples/etl.yaml > etl.mmd\n  $ smartqueue graph etl.yaml --format dot | dot -Tsvg > etl.svg',
    )
    .action(async (file: string, opts: { format: 'mermaid' | 'dot'; workflow?: string }) => {
      const { plan } = await loadOnePlan(io, file, { ...opts, allowInfeasible: true });
      io.out(opts.format === 'dot' ? toDot(plan) : toMermaid(plan));
    });
}
