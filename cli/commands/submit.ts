/**
 * `smartqueue submit <file>`: sends a YAML workflow to a SmartQueue server (gRPC SubmitWorkflow)
 * and prints the new run's id; `--watch` then follows it like `smartqueue watch`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parseParamArgs } from '../../dsl/params.js';
import { SmartQueueError } from '../../engine/errors.js';
import type { CliIO } from '../output.js';
import { CALL_TIMEOUT_MS, followRemoteRun, serverOption, withClient } from './watch.js';

interface SubmitOptions {
  server: string;
  param: string[];
  label: string[];
  workflow?: string;
  idempotencyKey?: string;
  watch?: boolean;
  json?: boolean;
}

const repeatable = (v: string, acc: string[]) => [...acc, v];

export function registerSubmit(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('submit')
    .summary('submit a YAML workflow to a SmartQueue server')
    .description(
      'Sends a workflow file to a SmartQueue server (gRPC SubmitWorkflow), which validates and compiles ' +
        'it (errors name file:line:column) and starts a run. Prints the run id on stdout; with --watch, ' +
        'then follows the run and exits 0 only if it succeeded.',
    )
    .argument('<file>', 'workflow file (.yaml or .yml)')
    .option('-p, --param <name=value>', 'set a workflow param (repeatable)', repeatable, [])
    .option('-l, --label <name=value>', 'label the run (repeatable)', repeatable, [])
    .option('-w, --workflow <name>', 'which workflow of a multi-workflow file')
    .option('--idempotency-key <key>', 'safe retries: the same key and file return the original run')
    .option('--watch', 'follow the run until it ends (exit code from its outcome)')
    .option('--json', 'print {"runId", "workflow", "deduplicated"} (and events with --watch) as JSON')
    .option(...serverOption())
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue submit workflows/examples/etl.yaml\n' +
        '  $ smartqueue submit etl.yaml --param date=2026-11-27 --idempotency-key etl-2026-11-27\n' +
        '  $ smartqueue submit etl.yaml --server queue.internal:7070 --watch\n' +
        '  $ RUN=$(smartqueue submit etl.yaml) && smartqueue watch "$RUN"',
    )
    .action(async (file: string, opts: SubmitOptions) => {
      if (!/\.ya?ml$/i.test(file)) {
        throw new SmartQueueError(
          'INVALID_ARGUMENT',
          `${file}: submit sends YAML workflows; run TypeScript workflows with \`smartqueue run\``,
        );
      }
      const params = parseParamArgs(opts.param);
      const labels = parseParamArgs(opts.label);
      let yaml: string;
      try {
        yaml = await readFile(file, 'utf8');
      } catch (err) {
        throw new SmartQueueError('NOT_FOUND', `cannot read ${file}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      await withClient(opts.server, io, setExit, async (client) => {
        const res = await client.submitWorkflow(
          {
            yaml,
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
