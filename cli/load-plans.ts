import { SmartQueueError } from '../engine/errors.js';
import { compileFile } from '../dsl/load.js';
import type { CompiledWorkflow } from '../dsl/load.js';
import type { CliIO } from './output.js';
import { printDiagnostics } from './output.js';

/**
 * Compiles a file for a command that needs valid workflows: prints the problems and throws when
 * there are any, and narrows to `--workflow <name>` when given.
 */
export async function loadPlans(
  io: CliIO,
  file: string,
  opts: { workflow?: string; allowInfeasible?: boolean; now?: number },
): Promise<CompiledWorkflow[]> {
  const r = await compileFile(file, {
    allowInfeasible: Boolean(opts.allowInfeasible),
    ...(opts.now !== undefined && { now: opts.now }),
  });
  const errors = printDiagnostics(io, r.diagnostics);
  if (errors)
    throw new SmartQueueError('INVALID_WORKFLOW', `${file}: ${errors} error(s)`, {
      details: { reported: true },
    });
  if (opts.workflow === undefined) return r.compiled;
  const chosen = r.compiled.filter((c) => c.plan.ir.name === opts.workflow);
  if (chosen.length === 0) {
    const names = r.compiled.map((c) => c.plan.ir.name).join(', ');
    throw new SmartQueueError('NOT_FOUND', `${file} has no workflow "${opts.workflow}"; it has: ${names}`);
  }
  return chosen;
}

/** Exactly one workflow of a file (or the one named by --workflow). */
export async function loadOnePlan(
  io: CliIO,
  file: string,
  opts: { workflow?: string; allowInfeasible?: boolean; now?: number },
): Promise<CompiledWorkflow> {
  const all = await loadPlans(io, file, opts);
  if (all.length > 1) {
    const names = all.map((c) => c.plan.ir.name).join(', ');
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `${file} holds ${all.length} workflows (${names}); choose one with --workflow <name>`,
    );
  }
  return all[0]!;
}
