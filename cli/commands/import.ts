/**
 * `smartqueue import wfcommons <instance.json>`: a recorded scientific workflow (WfCommons) as a
 * SmartQueue workflow file or IR, checked by the project's own loader and compiler before it is
 * written.
 */
import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import type { Command } from 'commander';
import { SmartQueueError } from '../../engine/errors.js';
import type { SourceDiagnostic } from '../../engine/errors.js';
import { compileWorkflow } from '../../dsl/compiler.js';
import { formatDuration } from '../../dsl/duration.js';
import { wfcommonsMakespans } from '../../dsl/import/makespan.js';
import { importWfCommonsFile, WFCOMMONS_SCHEMA_VERSIONS } from '../../dsl/import/wfcommons.js';
import type { WfCommonsImport } from '../../dsl/import/wfcommons.js';
import { workflowToYaml } from '../../dsl/import/workflow-yaml.js';
import { loadYamlText } from '../../dsl/load.js';
import type { CliIO } from '../output.js';
import { printDiagnostics } from '../output.js';
import { intOption } from './common.js';

interface ImportOptions {
  scale: number;
  deadlineFactor?: number;
  workers?: number;
  out?: string;
  format: 'yaml' | 'ir';
  name?: string;
}

function numberOption(name: string, min: number, inclusive: boolean): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || (inclusive ? n < min : n <= min))
      throw new InvalidArgumentError(`${name} must be a number ${inclusive ? '>=' : '>'} ${min}`);
    return n;
  };
}

/** Problems of the written workflow, found by loading it back as a user would. */
function checkOutput(
  text: string,
  imported: WfCommonsImport,
  format: 'yaml' | 'ir',
  shown: string,
): SourceDiagnostic[] {
  if (format === 'ir') {
    const source = { file: shown, locate: () => ({ line: 1, column: 1 }) };
    return compileWorkflow(imported.ir!, source).diagnostics;
  }
  const loaded = loadYamlText(text, shown);
  const diagnostics = [...loaded.diagnostics];
  for (const w of loaded.workflows) {
    diagnostics.push(...compileWorkflow(w.ir, w.source, { taskIndex: w.taskIndex }).diagnostics);
  }
  if (loaded.workflows.length !== 1 && diagnostics.length === 0) {
    diagnostics.push({
      file: shown,
      line: 1,
      column: 1,
      path: '',
      message: 'no workflow read back',
      severity: 'error',
    });
  }
  return diagnostics;
}

const seconds = (ms: number) => formatDuration(ms);

/** The summary printed on stderr (stdout may carry the workflow itself). */
function summary(file: string, r: WfCommonsImport, opts: ImportOptions): string[] {
  const inst = r.instance!;
  const lines = [
    `imported ${file} (WfCommons schema ${inst.schemaVersion}): ${r.tasks.length} tasks, ${inst.edges} dependencies`,
    `recorded: critical path ${seconds(r.criticalPathMs)}, total work ${seconds(r.totalWorkMs)}` +
      (inst.recordedMakespanMs !== undefined
        ? `, makespan ${seconds(inst.recordedMakespanMs)} (with the workflow system's overheads${inst.machines?.cores ? `, ${inst.machines.cores} cores` : ''})`
        : ''),
  ];
  if (opts.scale !== 1) lines.push(`durations scaled by ${opts.scale}`);
  if (r.deadlineMs !== undefined)
    lines.push(`run deadline ${seconds(r.deadlineMs)} (${opts.deadlineFactor} × lower bound)`);
  return lines;
}

export function registerImport(program: Command, io: CliIO): void {
  const importCmd = program
    .command('import')
    .summary('turn workflows of other systems into SmartQueue workflows')
    .description('Converts a workflow description from another format into a SmartQueue workflow file.');
  importCmd
    .command('wfcommons')
    .summary('import a WfCommons (WfFormat) workflow instance')
    .description(
      'Turns a WfCommons instance (a recorded run of a scientific workflow such as Montage, Epigenomics or ' +
        `1000Genome; WfFormat ${WFCOMMONS_SCHEMA_VERSIONS.join(' or ')}) into a SmartQueue workflow: one \`sleep\` ` +
        'task per task, lasting its recorded runtime times --scale and estimated at that duration, with ' +
        'its dependencies and recorded priority. Task ids that are not valid SmartQueue ids are rewritten ' +
        '(the original id becomes the task name). The result is loaded and compiled before it is written; ' +
        'problems name the file, line, column and JSON path. A summary goes to stderr.',
    )
    .argument('<instance>', 'WfCommons instance (.json)')
    .option(
      '--scale <factor>',
      'multiply recorded runtimes by this factor',
      numberOption('--scale', 0, false),
      1,
    )
    .option(
      '--deadline-factor <f>',
      'set a run deadline of f × the makespan lower bound (the critical path, or with --workers max(critical path, work / workers))',
      numberOption('--deadline-factor', 1, true),
    )
    .option(
      '--workers <n>',
      'workers the deadline assumes; also prints simulated makespans (LST and FIFO ordering) on n workers',
      intOption('--workers'),
    )
    .option('-o, --out <file>', 'write the workflow to this file instead of stdout')
    .option('--format <format>', 'yaml (a workflow file) or ir (the compiled IR as JSON)', 'yaml')
    .option('--name <name>', 'workflow name (default: the instance name)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ smartqueue import wfcommons montage-chameleon-2mass-005d-001.json --scale 0.001 --out montage.yaml\n' +
        '  $ smartqueue import wfcommons epigenomics.json --scale 0.01 --deadline-factor 1.5 --workers 4 -o epi.yaml\n' +
        '  $ smartqueue import wfcommons blast.json --format ir > blast.ir.json\n' +
        '\nInstances: https://github.com/wfcommons/WfInstances',
    )
    .action(async (file: string, opts: ImportOptions) => {
      if (opts.format !== 'yaml' && opts.format !== 'ir') {
        throw new SmartQueueError(
          'INVALID_ARGUMENT',
          `--format must be yaml or ir, got "${String(opts.format)}"`,
        );
      }
      const importOptions = {
        scale: opts.scale,
        ...(opts.deadlineFactor !== undefined && { deadlineFactor: opts.deadlineFactor }),
        ...(opts.workers !== undefined && { workers: opts.workers }),
        ...(opts.name !== undefined && { name: opts.name }),
      };
      const r = await importWfCommonsFile(file, importOptions);
      const errors = printDiagnostics(io, r.diagnostics);
      if (errors || !r.ir) {
        throw new SmartQueueError('INVALID_WORKFLOW', `${file}: ${errors} error(s)`, {
          details: { reported: true },
        });
      }
      const header = [
        `Imported by \`smartqueue import wfcommons\` from ${file}`,
        `(WfCommons schema ${r.instance!.schemaVersion}; durations = recorded runtimes × ${opts.scale}).`,
      ];
      const text = opts.format === 'ir' ? JSON.stringify(r.ir, null, 2) + '\n' : workflowToYaml(r.ir, header);
      const problems = checkOutput(text, r, opts.format, opts.out ?? '<output>');
      if (printDiagnostics(io, problems) > 0) {
        throw new SmartQueueError(
          'INVALID_WORKFLOW',
          `${file}: the imported workflow does not load (see above); nothing written`,
          { details: { reported: true } },
        );
      }
      for (const line of summary(file, r, opts)) io.err(line);
      if (opts.workers !== undefined) {
        // Simulated with the recorded runtimes whatever the scale, so the figures compare with the trace.
        const exact = opts.scale === 1 ? r : await importWfCommonsFile(file, { ...importOptions, scale: 1 });
        const m = wfcommonsMakespans(exact, { workers: [opts.workers], policies: ['lst', 'fifo'] }).rows[0]!;
        io.err(
          `simulated on ${opts.workers} workers with recorded runtimes: LST ${seconds(m.makespanMs.lst!)}, ` +
            `FIFO ${seconds(m.makespanMs.fifo!)}, lower bound ${seconds(m.lowerBoundMs)}`,
        );
      }
      if (opts.out !== undefined) {
        await writeFile(opts.out, text);
        io.err(`wrote ${opts.out}`);
      } else io.out(text.replace(/\n$/, ''));
    });
  importCmd.exitOverride().configureOutput(program.configureOutput());
  for (const cmd of importCmd.commands) cmd.exitOverride().configureOutput(program.configureOutput());
}
