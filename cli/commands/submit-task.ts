/**
 * `smartqueue submit-task`: adds one task to a namespace's open run (or a given run) on a
 * SmartQueue server (gRPC SubmitTask) and prints its task id and run id.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parseParamArgs } from '../../dsl/params.js';
import { SmartQueueError } from '../../engine/errors.js';
import { toStruct } from '../../plugins/api/grpc/convert.js';
import { addClientOptions } from '../client-connection.js';
import type { CliIO } from '../output.js';
import { CALL_TIMEOUT_MS, followRemoteRun, serverOption, withClient } from './watch.js';
import type { ClientFlags } from './watch.js';

interface SubmitTaskOptions extends ClientFlags {
  handler: string;
  args?: string;
  needs?: string;
  namespace?: string;
  run?: string;
  id?: string;
  priority?: number;
  deadline?: string;
  estimate?: string;
  timeout?: string;
  retries?: number;
  shardKey?: string;
  idempotencyKey?: string;
  metadata: string[];
  json?: boolean;
  watch?: boolean;
}

function intIn(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

function parseArgs(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SmartQueueError('INVALID_ARGUMENT', `--args is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SmartQueueError('INVALID_ARGUMENT', '--args must be a JSON object, e.g. \'{"duration":"2s"}\'');
  return value as Record<string, unknown>;
}

export function registerSubmitTask(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const command = program
    .command('submit-task')
    .summary('submit one task to a SmartQueue server')
    .description(
      "Adds one task to a SmartQueue server (gRPC SubmitTask): into the namespace's open run (created on " +
        'first use) or into --run. Prints "task <task-id> run <run-id>"; --needs names earlier tasks of ' +
        'the same run that must finish first.',
    )
    .requiredOption('--handler <name>', 'handler that runs the task (noop, sleep, http, or a registered one)')
    .option('--args <json>', 'the handler\'s arguments as a JSON object, e.g. \'{"duration":"2s"}\'')
    .option('--needs <ids>', 'comma-separated ids of earlier tasks that must finish first')
    .option('--namespace <name>', 'namespace whose open run takes the task (default "default")')
    .option('--run <run-id>', "add to this live run instead of the namespace's")
    .option('--id <task-id>', 'task id (default: the server assigns one)')
    .option('--priority <0-100>', 'higher runs first (default 50)', intIn('--priority', 0, 100))
    .option(
      '--deadline <when>',
      'latest finish: a duration from the run start (30s, PT5M) or an RFC 3339 time',
    )
    .option('--estimate <duration>', 'expected duration (250ms, 2m), for deadline-aware ordering')
    .option('--timeout <duration>', 'attempt timeout (10s)')
    .option('--retries <n>', 'retries after the first attempt', intIn('--retries', 0, 100))
    .option('--shard-key <key>', 'tasks with the same key go to the same shard')
    .option('--idempotency-key <key>', 'safe retries: the same key and request return the original task')
    .option(
      '-m, --metadata <name=value>',
      'free-form metadata (repeatable)',
      (v: string, a: string[]) => [...a, v],
      [],
    )
    .option('--watch', "follow the task's run until it ends (namespace runs stay open: Ctrl-C to stop)")
    .option('--json', 'print {"taskId", "runId", "deduplicated"} as JSON')
    .option(...serverOption());
  addClientOptions(command)
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue submit-task --handler noop\n' +
        '  $ smartqueue submit-task --namespace ingest --id fetch --handler http --args \'{"url":"https://example.com"}\'\n' +
        '  $ smartqueue submit-task --namespace ingest --id parse --handler sleep --args \'{"duration":"2s"}\' \\\n' +
        '      --needs fetch --priority 80 --deadline 5m --estimate 2s\n' +
        '  $ smartqueue submit-task --handler noop --json --server queue.internal:7070',
    )
    .action(async (opts: SubmitTaskOptions) => {
      const args = opts.args !== undefined ? toStruct(parseArgs(opts.args)) : null;
      const metadata = parseParamArgs(opts.metadata);
      const needs = (opts.needs ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      await withClient(opts, io, setExit, async (client) => {
        const res = await client.submitTask(
          {
            handler: opts.handler,
            args,
            needs,
            namespace: opts.namespace ?? '',
            runId: opts.run ?? '',
            taskId: opts.id ?? '',
            deadline: opts.deadline ?? '',
            estimate: opts.estimate ?? '',
            timeout: opts.timeout ?? '',
            shardKey: opts.shardKey ?? '',
            idempotencyKey: opts.idempotencyKey ?? '',
            metadata,
            ...(opts.priority !== undefined && { priority: opts.priority }),
            ...(opts.retries !== undefined && { retriesMax: opts.retries }),
          },
          { timeoutMs: CALL_TIMEOUT_MS },
        );
        io.out(opts.json ? JSON.stringify(res) : `task ${res.taskId} run ${res.runId}`);
        if (!opts.watch) return 0;
        return followRemoteRun(client, io, res.runId, { ...(opts.json && { json: true }) });
      });
    });
}
