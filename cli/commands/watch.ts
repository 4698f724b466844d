/**
 * `smartqueue watch <run-id>`: follows a run's WatchRun stream on a SmartQueue server and prints
 * its events. Also the shared pieces of the gRPC client verbs (`submit`, `submit-task`): the
 * `--server` option and the connection options (token, TLS), one-line gRPC errors and following a
 * run until it ends.
 */
import * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { SmartQueueError } from '../../engine/errors.js';
import { fromStruct } from '../../plugins/api/grpc/convert.js';
import { createSmartQueueClient } from '../../plugins/api/grpc/client.js';
import type { SmartQueueClient } from '../../plugins/api/grpc/client.js';
import type { RunEvent__Output } from '../../proto/generated/smartqueue/v1/RunEvent.js';
import { addClientOptions, resolveClientConnection } from '../client-connection.js';
import type { ClientConnectionFlags } from '../client-connection.js';
import type { CliIO } from '../output.js';

/** Default address of the gRPC API (`smartqueue serve`). */
export const DEFAULT_SERVER = '127.0.0.1:7070';

/** `--server <host:port>`, default from env SMARTQUEUE_SERVER. */
export function serverOption(): [string, string, string] {
  return [
    '--server <host:port>',
    `SmartQueue gRPC server (env SMARTQUEUE_SERVER)`,
    process.env.SMARTQUEUE_SERVER || DEFAULT_SERVER,
  ];
}

/** How long a unary call may take before DEADLINE_EXCEEDED. */
export const CALL_TIMEOUT_MS = 30_000;

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as grpc.ServiceError).code === 'number' && 'details' in err;
}

/** `--server` and the connection options ({@link clientOptions}) of a client verb. */
export interface ClientFlags extends ClientConnectionFlags {
  server: string;
}

/**
 * Runs `fn` with a client of `opts.server` (with its token and TLS options); a failed call
 * becomes one clear line naming the gRPC status (more lines only for a workflow's several
 * file:line:column errors), and an exit code.
 */
export async function withClient(
  opts: ClientFlags,
  io: CliIO,
  setExit: (code: number) => void,
  fn: (client: SmartQueueClient) => Promise<number>,
): Promise<void> {
  const { server } = opts;
  if (!/^(\[[^\]]+\]|[^\s:/]+):\d{1,5}$/.test(server)) {
    throw new SmartQueueError('INVALID_ARGUMENT', `--server "${server}": expected host:port`);
  }
  const connection = resolveClientConnection(opts);
  const client = createSmartQueueClient(server, {
    ...(connection.credentials && { credentials: connection.credentials }),
    ...(connection.channelOptions && { channelOptions: connection.channelOptions }),
  });
  try {
    setExit(await fn(client));
  } catch (err) {
    if (!isServiceError(err)) throw err;
    const name = grpc.status[err.code] ?? String(err.code);
    const [first = '', ...rest] = (err.details || err.message)
      .replace(/\s*Resolution note:\s*$/, '')
      .split('\n');
    const hint =
      err.code === grpc.status.UNAVAILABLE
        ? /certificate|altnames/i.test(first)
          ? " (check --tls-ca: the CA that signs the server's certificate, and --tls-server-name)"
          : ` (is \`smartqueue serve\` running at ${server}${connection.credentials ? ' with TLS' : ' without TLS'}?)`
        : err.code === grpc.status.UNAUTHENTICATED && connection.token === undefined
          ? ' (pass --token-file or --token, or set SMARTQUEUE_TOKEN)'
          : '';
    io.err(`smartqueue: ${name}: ${first}${hint}`);
    for (const line of rest) io.err(`  ${line}`);
    setExit(err.code === grpc.status.INVALID_ARGUMENT ? 2 : 1);
  } finally {
    client.close();
  }
}

function isoOf(at: RunEvent__Output['at']): string {
  if (!at) return '';
  return new Date(Number(at.seconds) * 1000 + Math.floor(at.nanos / 1e6)).toISOString();
}

/** An event as one JSON object (the `--json` line format). */
export function eventJson(e: RunEvent__Output): Record<string, unknown> {
  return {
    seq: Number(e.seq),
    type: e.type,
    at: isoOf(e.at),
    runId: e.runId,
    ...(e.taskId && { taskId: e.taskId }),
    ...(e.attempt && { attempt: e.attempt }),
    data: fromStruct(e.data, 'data'),
  };
}

/** An event as one human line: time, sequence number, type, task, details. */
export function eventLine(e: RunEvent__Output): string {
  const fields = fromStruct(e.data, 'data');
  const { startedAt, finishedAt } = fields;
  if (typeof startedAt === 'number' && typeof finishedAt === 'number')
    fields.took = `${finishedAt - startedAt}ms`;
  const data = Object.entries(fields)
    .filter(([k]) => !['runId', 'taskId', 'at', 'attempt', 'startedAt', 'finishedAt'].includes(k))
    .map(
      ([k, v]) =>
        `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`,
    )
    .join(' ');
  const task = e.taskId ? ` ${e.taskId}${e.attempt ? `#${e.attempt}` : ''}` : '';
  return `${isoOf(e.at).slice(11, 23)} ${String(e.seq).padStart(4)} ${e.type}${task}${data ? `  ${data}` : ''}`;
}

const TERMINAL = /^run:state:(succeeded|failed|cancelled)$/;

/**
 * Follows WatchRun from `fromSeq` until the run ends; resolves to the exit code (0 only when the
 * run succeeded). Ctrl-C stops watching (exit 130) and says how to resume.
 */
export async function followRemoteRun(
  client: SmartQueueClient,
  io: CliIO,
  runId: string,
  opts: { fromSeq?: number; json?: boolean },
): Promise<number> {
  const abort = new AbortController();
  let last = (opts.fromSeq ?? 1) - 1;
  let end: string | undefined;
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  try {
    for await (const e of client.watchRun({ runId, fromSeq: opts.fromSeq ?? 1 }, { signal: abort.signal })) {
      last = Number(e.seq);
      io.out(opts.json ? JSON.stringify(eventJson(e)) : eventLine(e));
      const m = TERMINAL.exec(e.type);
      if (m) end = m[1];
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
    io.err(`stopped watching ${runId}; resume with: smartqueue watch ${runId} --from ${last + 1}`);
    return 130;
  } finally {
    process.off('SIGINT', onSignal);
  }
  // Resumed past the end of a finished run: the stream is empty, so ask for the status.
  if (end === undefined) {
    const run = await client.getRun({ runId }, { timeoutMs: CALL_TIMEOUT_MS });
    end = String(run.status)
      .replace(/^RUN_STATUS_/, '')
      .toLowerCase();
  }
  if (!opts.json) io.err(`run ${runId} ${end}`);
  return end === 'succeeded' ? 0 : 1;
}

function seqOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--from must be a positive integer');
  return n;
}

export function registerWatch(program: Command, io: CliIO, setExit: (code: number) => void): void {
  const command = program
    .command('watch')
    .summary('follow a run on a SmartQueue server live')
    .description(
      "Streams a run's state changes from a SmartQueue server (gRPC WatchRun): first the recorded ones " +
        'from --from, then live ones, until the run ends. Exits 0 when the run succeeded, 1 when it ' +
        'failed or was cancelled.',
    )
    .argument('<run-id>', 'the run to follow')
    .option(...serverOption())
    .option('--from <seq>', 'first sequence number to show (resume after an interruption)', seqOption)
    .option('--json', 'one JSON object per event: {seq, type, at, runId, taskId, attempt, data}');
  addClientOptions(command)
    .addHelpText(
      'after',
      '\nExamples:\n  $ smartqueue watch run_01HZX3V2\n  $ smartqueue watch run_01HZX3V2 --from 42 --json\n' +
        '  $ SMARTQUEUE_SERVER=queue.internal:7070 smartqueue watch run_01HZX3V2\n' +
        '  $ smartqueue watch run_01HZX3V2 --server 10.0.0.5:7070 --tls-ca ca.pem --tls-server-name queue.internal \\\n' +
        '      --token-file ~/.smartqueue/token',
    )
    .action(async (runId: string, opts: ClientFlags & { from?: number; json?: boolean }) => {
      await withClient(opts, io, setExit, (client) =>
        followRemoteRun(client, io, runId, {
          ...(opts.from !== undefined && { fromSeq: opts.from }),
          ...(opts.json && { json: true }),
        }),
      );
    });
}
