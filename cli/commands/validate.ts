import type { Command } from 'commander';
import { compileFile, findWorkflowFiles } from '../../dsl/load.js';
import type { CliIO } from '../output.js';
import { printDiagnostics } from '../output.js';

export function registerValidate(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('validate')
    .summary('check workflow files without running them')
    .description(
      'Parses and compiles workflow files (YAML, or .ts/.js modules written with the DSL) and reports ' +
        'every problem as file:line:column field: message. Directories are searched recursively. ' +
        'Exits 0 when every workflow is valid, 1 otherwise.',
    )
    .argument('<paths...>', 'workflow files or directories')
    .option('--allow-infeasible', 'report deadlines that the critical path misses as warnings, not errors')
    .option('-q, --quiet', 'print only problems')
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue validate workflows/examples\n  $ smartqueue validate etl.yaml --allow-infeasible',
    )
    .action(async (paths: string[], opts: { allowInfeasible?: boolean; quiet?: boolean }) => {
      const { files, diagnostics } = await findWorkflowFiles(paths);
      let errors = printDiagnostics(io, diagnostics);
      let workflows = 0;
      for (const file of files) {
        const r = await compileFile(file, { allowInfeasible: Boolean(opts.allowInfeasible) });
        const fileErrors = printDiagnostics(io, r.diagnostics);
        errors += fileErrors;
        workflows += r.compiled.length;
        if (!opts.quiet && fileErrors === 0) {
          const names = r.compiled.map((c) => `${c.plan.ir.name} (${c.plan.order.length} tasks)`).join(', ');
          io.out(`ok     ${file}: ${names}`);
        }
      }
      if (!opts.quiet || errors) {
        io.out(`${files.length} file(s), ${workflows} valid workflow(s), ${errors} error(s)`);
      }
      if (files.length === 0 && diagnostics.length === 0) {
        io.err('smartqueue: no workflow files found (.yaml, .yml, .ts, .js)');
        setExit(1);
        return;
      }
      setExit(errors ? 1 : 0);
    });
}
