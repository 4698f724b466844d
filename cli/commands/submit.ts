/**
 * `smartqueue submit <file>`: sends a workflow to a SmartQueue server (gRPC SubmitWorkflow) and
 * prints the new run's id; `--watch` then follows it like `smartqueue watch`. YAML goes as text
 * (the server compiles it); a TypeScript-DSL module is compiled here and goes as IR, as does an
 * IR JSON file (`smartqueue plan --ir`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { WorkflowIR } from '../../dsl/ir.js';
import { compileFile, isWorkflowFile } from '../../dsl/load.js';
import { parseParamArgs } from '../../dsl/params.js';
import { SmartQueueError } from '../../engine/errors.js';
import { toStruct } from '../../plugins/api/grpc/convert.js';
import { printDiagnostics } from '../output.js';
import { addClientOptions } from '../client-connection.js';
import type { CliIO } from '../output.js';
import { CALL_TIMEOUT_MS, followRemoteRun, serverOption, withClient } from './watch.js';
import type { ClientFlags } from './watch.js';

interface SubmitOptions extends ClientFlags {
  param: string[];
  label: string[];
  workflow?: string;
  idempotencyKey?: string;
  watch?: boolean;
  json?: boolean;
}

const repeatable = (v: string, acc: string[]) => [...acc, v];

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new SmartQueueError('NOT_FOUND', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Compiles a TypeScript-DSL module here and returns the chosen workflow's IR. Inline handlers
 * (functions in the module) cannot travel to a server: such a workflow is refused, naming them.
 */
async function irOfModule(io: CliIO, file: string, name: string | undefined): Promise<WorkflowIR> {
  const r = await compileFile(file);
  const errors = printDiagnostics(io, r.diagnostics);
  if (errors)
    throw new SmartQueueError('INVALID_WORKFLOW', `${errors} error(s) in ${file}`, {
      details: { reported: true },
    });
  const names = r.compiled.map((c) => c.plan.ir.name);
  const chosen = name === undefined ? r.compiled : r.compiled.filter((c) => c.plan.ir.name === name);
  if (chosen.length !== 1) {
    throw new SmartQueueError(
      name === undefined ? 'INVALID_ARGUMENT' : 'NOT_FOUND',
      name === undefined
        ? `${file} holds ${names.length} workflows (${names.join(', ')}); choose one with --workflow`
        : `${file} has no workflow "${name}"; it has: ${names.join(', ')}`,
    );
  }
  const c = chosen[0]!;
  const inline = c.plan.ir.tasks.filter(
    (t) => t.handler.kind === 'uses' && c.loaded.handlers?.has(t.handler.name),
  );
  if (inline.length) {
    throw new SmartQueueError(
      'INVALID_ARGUMENT',
      `${file}: task(s) ${inline.map((t) => `"${t.id}"`).join(', ')} of ${c.plan.ir.name} run inline functions, ` +
        'which cannot be sent to a server: give them a handler name (`uses`) that the workers register ' +
        '(smartqueue worker --handlers), or run the workflow here with `smartqueue run`',
    );
  }
  return c.plan.ir;
}

export function registerSubmit(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const command = program
    .command('submit')
    .summary('submit a YAML workflow to a SmartQueue server')
    .description(
      'Sends a workflow file to a SmartQueue server (gRPC SubmitWorkflow), which validates and compiles ' +
        'it (errors name file:line:column) and starts a run. Prints the run id on stdout; with --watch, ' +
        'then follows the run and exits 0 only if it succeeded.\n\n' +
        'YAML is sent as text. A TypeScript-DSL module is compiled here and sent as compiled IR (its tasks ' +
        'must name handlers the workers register: inline functions cannot travel); so is a .json file ' +
        'holding IR, as `smartqueue plan --ir` prints it.',
    )
    .argument('<file>', 'workflow file: .yaml/.yml, a TypeScript-DSL module (.ts/.js), or IR JSON (.json)')
    .option('-p, --param <name=value>', 'set a workflow param (repeatable)', repeatable, [])
    .option('-l, --label <name=value>', 'label the run (repeatable)', repeatable, [])
    .option('-w, --workflow <name>', 'which workflow of a multi-workflow file')
    .option('--idempotency-key <key>', 'safe retries: the same key and file return the original run')
    .option('--watch', 'follow the run until it ends (exit code from its outcome)')
    .option('--json', 'print {"runId", "workflow", "deduplicated"} (and events with --watch) as JSON')
    .option(...serverOption());
  addClientOptions(command)
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue submit workflows/examples/etl.yaml\n' +
        '  $ smartqueue submit etl.yaml --param date=2026-11-27 --idempotency-key etl-2026-11-27\n' +
        '  $ smartqueue submit etl.yaml --server queue.internal:7070 --watch\n' +
        '  $ RUN=$(smartqueue submit etl.yaml) && smartqueue watch "$RUN"\n' +
        '  $ smartqueue submit etl.yaml --server queue.internal:7070 --tls-ca ca.pem --token-file ~/.smartqueue/token',
    )
    .action(async (file: string, opts: SubmitOptions) => {
      const isJson = /\.json$/i.test(file);
      if (!isJson && !isWorkflowFile(file)) {
        throw new SmartQueueError(
          'INVALID_ARGUMENT',
          `${file}: submit sends .yaml/.yml workflows, TypeScript-DSL modules (.ts, .js) or IR (.json)`,
        );
      }
      const params = parseParamArgs(opts.param);
      const labels = parseParamArgs(opts.label);
      let source: { yaml: string } | { ir: ReturnType<typeof toStruct> };
      if (/\.ya?ml$/i.test(file)) source = { yaml: await readText(file) };
      else if (isJson) {
        const text = await readText(file);
        let ir: unknown;
        try {
          ir = JSON.parse(text);
        } catch (err) {
          throw new SmartQueueError('INVALID_ARGUMENT', `${file}: not JSON: ${(err as Error).message}`);
        }
        if (!ir || typeof ir !== 'object' || Array.isArray(ir))
          throw new SmartQueueError('INVALID_ARGUMENT', `${file}: expected a workflow IR object`);
        source = { ir: toStruct(ir as Record<string, unknown>) };
      } else source = { ir: toStruct({ ...(await irOfModule(io, file, opts.workflow)) }) };
      await withClient(opts, io, setExit, async (client) => {
        const res = await client.submitWorkflow(
          {
            ...source,
            fileName: path.basename(file),
            workflow: opts.workflow ?? '',
            params,
            labels,
            idempotencyKey: opts.idempotencyKey ?? '',
          },
          { timeoutMs: CALL_TIMEOUT_MS },
        );
        if (opts.json) io.out(JSON.stringify(res));
        else {
          io.out(res.runId);
          io.err(
            `submitted ${res.workflow}${res.deduplicated ? ' (idempotency key seen before: the original run)' : ''}`,
          );
        }
        if (!opts.watch) return 0;
        return followRemoteRun(client, io, res.runId, { ...(opts.json && { json: true }) });
      });
    });
}
